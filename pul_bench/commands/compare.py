"""``pulbench compare``: paired, per-sequence comparisons with a verdict for every pair.

Each argument is a result folder (folder name = tracker name, as for ``score``) or, when no
such folder exists, a tracker name: that tracker is first evaluated (resumably) into
``<out>/results/<BENCH>/<TRACKER>`` by the same runner as ``pulbench eval``. Every pair is
compared on the sequences both cover; see :mod:`pul_bench.analysis.stats` for the tests.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import click

from pul_bench.analysis import stats
from pul_bench.benchmarks import get_benchmark
from pul_bench.commands.evaluate import (
    CONVENTIONS,
    bootstrap_options,
    protocol_option,
    score_folders,
)
from pul_bench.errors import PulBenchError
from pul_bench.io import json_text
from pul_bench.kinds import Options, kind_of
from pul_bench.paths import data_root


@click.command("compare")
@click.argument("benchmark")
@click.argument("trackers", nargs=-1, required=True)
@click.option("--metric", help="Per-sequence score to compare: auc (OTB default), dp20, "
              "norm_prec; accuracy (VOT default), robustness, failures; ao (GOT-10k "
              "default), sr50, sr75.")
@click.option("--root", type=click.Path(path_type=Path, file_okay=False),
              help="Benchmark folder (default: the shared data's copy; images are only "
              "needed for trackers that must be evaluated first).")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=Path("runs"),
              show_default=True, help="Runs folder for trackers given by name.")
@click.option("--workers", type=int, default=1, show_default=True,
              help="Sequences run in parallel when a tracker must be evaluated.")
@click.option("--convention", type=click.Choice(CONVENTIONS), default=None,
              help="Scoring convention (default: matlab for OTB, vot for VOT).")
@click.option("--seed-families", "seeds", is_flag=True,
              help="Treat folders X, X-s2, X-s3... as seeds of X: X's per-sequence value is "
                   "the mean over its seeds, and the interval resamples each family's seeds "
                   "as well as the sequences (pul_train's --seeds trains them).")
@click.option("--json", "as_json", is_flag=True, help="Print the pairs as a JSON list.")
@bootstrap_options
@protocol_option
def compare_cmd(benchmark: str, trackers: tuple[str, ...], metric: str | None,
                root: Path | None, out: Path, workers: int, convention: str | None,
                seeds: bool, as_json: bool, resamples: int, seed: int, protocol: str) -> None:
    """Compare TRACKERS pairwise on BENCHMARK: mean per-sequence difference A - B with its
    paired-bootstrap 95% interval, the Wilcoxon signed-rank p-value (Holm-corrected for more
    than two trackers) and a one-line verdict per pair. With --protocol tre|sre (OTB kinds)
    a sequence's value pools its 20 TRE or 12 SRE runs, as the MATLAB toolkit scores them."""
    bench = get_benchmark(benchmark, data_root(required=False))
    kind = kind_of(bench)
    kind.require(bench, "compare")
    # the trackers run first and the folders are scored without intervals: compare's own
    # paired bootstrap (--bootstrap, --seed) draws them
    run = Options(resamples=0, protocol=protocol)
    kind.check(bench, dataclasses.replace(run, convention=convention, seeds=seeds))
    metric = metric or kind.compare_metrics[0]
    if metric not in kind.compare_metrics:
        raise PulBenchError(f"--metric {metric!r} has no per-sequence value on {kind.title} "
                            f"benchmarks; use one of {', '.join(kind.compare_metrics)}")
    if len(trackers) < 2:
        raise PulBenchError("compare needs at least two trackers")
    dirs = []
    for name in trackers:
        if Path(name).is_dir():
            dirs.append(Path(name))
            continue
        if os.sep in name or "/" in name or Path(name).exists():  # a path, not a tracker name
            raise PulBenchError(f"{name}: no such result folder (a tracker name has no "
                                "'/'; for a tracker to evaluate first give its name alone)")
        kind.run(bench, name, root or bench.default_root(), out, run, workers=workers)
        dirs.append(out / "results" / bench.name / name)
    scores = score_folders(bench, dirs, root, dataclasses.replace(run, convention=convention))
    values = {t: {seq: stats.sequence_value(e, metric) for seq, e in s["per_sequence"].items()}
              for t, s in scores.items()}
    if seeds:
        values = _seed_values(values)
    if len(values) < 2:
        raise PulBenchError(f"compare needs at least two trackers; got {', '.join(values)}")
    pairs = stats.compare(values, metric, resamples, seed)
    if as_json:
        click.echo(json_text(pairs))
        return
    families = any(p[k] > 1 for p in pairs for k in ("n_seeds_a", "n_seeds_b"))
    click.echo(f"{bench.name}{' ' + protocol.upper() if protocol != 'ope' else ''}: {metric}, "
               f"{len(values)} trackers, {len(pairs)} pair(s); "
               f"Δ = first named − second named, mean over common sequences"
               + (" of the means over seeds" if families else "")
               + " [95% paired-bootstrap interval"
               + (" over sequences, then each family's seeds" if families else "")
               + f", {resamples} resamples, seed {seed}]; p: two-sided Wilcoxon signed-rank"
               + (" on the per-sequence seed means" if families else "")
               + (", Holm-corrected" if len(pairs) > 1 else ""))
    for p in pairs:
        click.echo(p["verdict"])


def _seed_values(values: dict[str, dict[str, float]]) -> dict[str, dict[str, list[float]]]:
    """Each seed family's per-seed values of each sequence all its seeds cover (what
    :func:`pul_bench.analysis.stats.compare` resamples over seeds)."""
    out = {}
    for base, names in stats.seed_groups(list(values)).items():
        common = [s for s in values[names[0]] if all(s in values[n] for n in names)]
        label = f"{base} ({len(names)} seeds)" if len(names) > 1 else base
        out[label] = {s: [values[n][s] for n in names] for s in common}
    return out
