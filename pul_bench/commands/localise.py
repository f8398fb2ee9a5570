"""``pulbench localise``: the network's localisation error on fixed labeled frame pairs."""

from __future__ import annotations

from pathlib import Path

import click

from pul_bench.analysis import stats
from pul_bench.benchmarks import get_benchmark
from pul_bench.errors import PulBenchError
from pul_bench.io import json_text
from pul_bench.kinds import kind_of
from pul_bench.paths import data_root


@click.command("localise")
@click.argument("benchmark")
@click.argument("trackers", nargs=-1, required=True)
@click.option("--root", type=click.Path(path_type=Path, file_okay=False),
              help="Benchmark folder with images (default: the shared data's copy).")
@click.option("--pairs", "per_sequence", type=int, default=20, show_default=True,
              help="Frame pairs drawn per sequence.")
@click.option("--gap", type=int, default=10, show_default=True,
              help="Frames between template and search frame.")
@click.option("--pair-seed", type=int, default=0, show_default=True,
              help="Seed of the pair draw (--seed is the bootstrap's seed).")
@click.option("--seed", type=int, default=stats.DEFAULT_SEED, show_default=True,
              help="Seed of the bootstrap resampling, as in score and compare.")
@click.option("--checkpoint", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="Weights to use instead of the spec's (one tracker only).")
@click.option("--bootstrap", type=click.IntRange(min=0), default=stats.DEFAULT_RESAMPLES,
              show_default=True,
              help="Bootstrap resamples over sequences for intervals (0: none).")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def localise_cmd(benchmark: str, trackers: tuple[str, ...], root: Path | None,
                 per_sequence: int, gap: int, pair_seed: int, seed: int,
                 checkpoint: Path | None, bootstrap: int, as_json: bool) -> None:
    """Peak-to-centre error of Siamese TRACKERS on seeded (t, t + gap) pairs of BENCHMARK, an
    OTB-layout benchmark whose labeled sequences give the pairs (e.g. otb).

    \b
    Per pair: exemplar from the true box at t, search region where the tracker would look
    (around the target's position at t), raw unit-scale response, distance of its peak to the
    true centre at t + gap over the target size sqrt(w*h), clipped at 1. Lower is better.
    Every tracker sees the same pairs; with two or more, each pair of trackers gets a paired
    comparison over sequences (bootstrap interval, Wilcoxon, Holm).
    """
    from pul_bench.analysis.localisation import mean_error, peak_errors, sample_pairs, summarise
    from pul_bench.datasets.otb import load_otb
    from pul_bench.registry import get_spec

    if checkpoint is not None and len(trackers) != 1:
        raise PulBenchError("--checkpoint applies to exactly one tracker")
    bench = get_benchmark(benchmark, data_root(required=False))
    kind_of(bench).require(bench, "localise")
    root = root or bench.default_root()
    seqs, _ = load_otb(bench, root)
    pairs = sample_pairs(seqs, per_sequence, gap, pair_seed)
    if not pairs:
        raise PulBenchError(f"no sequence under {root} is longer than {gap} annotated frames")
    out: dict = {"pairs": len(pairs), "gap": gap, "pair_seed": pair_seed, "seed": seed,
                 "trackers": {}}
    for name in trackers:
        tracker = get_spec(name).create(checkpoint=checkpoint, benchmark=bench.name)
        per_seq = summarise(pairs, peak_errors(tracker, seqs, pairs))
        error, ci = mean_error(per_seq, bootstrap, seed)
        out["trackers"][name] = {
            "error": error, "error_ci": ci,
            "hit50": sum(v["hit50"] for v in per_seq.values()) / len(per_seq),
            "n_sequences": len(per_seq), "per_sequence": per_seq}
    if len(trackers) > 1:
        values = {t: {s: v["error"] for s, v in r["per_sequence"].items()}
                  for t, r in out["trackers"].items()}
        out["comparisons"] = stats.compare(values, "loc_error", resamples=max(bootstrap, 1),
                                          seed=seed)
    click.echo(json_text(out) if as_json else _table(out))


def _table(out: dict) -> str:
    lines = [f"localisation error on {out['pairs']} pairs (gap {out['gap']}, pair seed "
             f"{out['pair_seed']}); lower is better",
             f"{'tracker':<24} {'error [95% CI]':<24} {'hit@0.5':>7} {'seqs':>5}"]
    for name, r in out["trackers"].items():
        lines.append(f"{name:<24} {stats.format_ci(r['error'], r['error_ci']):<24} "
                     f"{r['hit50']:7.3f} {r['n_sequences']:5d}")
    lines += [p["verdict"] for p in out.get("comparisons", [])]
    return "\n".join(lines)
