"""``pulbench eval`` and ``pulbench score``: one verb each, dispatched on the benchmark's kind.

Each kind supplies two modules with the same small contract:

* ``pul_bench.experiments.<runner>.evaluate(bench, tracker, root, out, workers, sequences,
  checkpoint, overrides, shard) -> dict`` runs (resumably) and scores; the dict is
  ``{tracker: scores}`` (empty for a shard, which scores nothing).
* ``pul_bench.analysis.<kind>.score(bench, result_dirs, root, convention) -> dict`` and
  ``format_table(scores) -> str``.
"""

from __future__ import annotations

import importlib
import json
import os
import re
from collections.abc import Callable
from pathlib import Path

import click

from pul_bench.analysis import stats
from pul_bench.benchmarks import Benchmark, get_benchmark
from pul_bench.experiments.common import runner
from pul_bench.protocols import PROTOCOLS
from pul_bench.tracker import PRECISIONS

ANALYSES = {"otb": "pul_bench.analysis.otb", "vot": "pul_bench.analysis.vot",
            "got10k": "pul_bench.analysis.got10k"}
CONVENTIONS = ("matlab", "pysot", "got10k", "vot")
#: Scores aggregated over seed families (per-sequence scores exist for these).
SEED_METRICS = {"otb": ("auc", "dp20", "norm_prec"), "vot": ("accuracy", "robustness"),
                "got10k": ("ao", "sr50", "sr75")}


def bootstrap_options(command: Callable) -> Callable:
    """``--bootstrap B`` and ``--seed``: the resampling behind every interval and test."""
    command = click.option("--seed", type=int, default=stats.DEFAULT_SEED, show_default=True,
                           help="Seed of the bootstrap resampling (same seed, same intervals)."
                           )(command)
    return click.option("--bootstrap", "resamples", type=click.IntRange(min=0),
                        default=stats.DEFAULT_RESAMPLES, show_default=True,
                        help="Bootstrap resamples over sequences for the 95% intervals "
                        "(0: no intervals).")(command)


def protocol_option(command: Callable) -> Callable:
    """``--protocol ope|tre|sre``: the OTB toolkit's one-pass, temporal or spatial runs."""
    return click.option("--protocol", type=click.Choice(PROTOCOLS), default="ope",
                        show_default=True,
                        help="OTB runs: one-pass, temporal (20 start frames) or spatial "
                        "(12 shifted initial boxes) robustness.")(command)


def protocol_args(bench: Benchmark, protocol: str) -> dict[str, str]:
    """Keyword arguments selecting ``protocol`` (OTB only; nothing for the default)."""
    if protocol == "ope":
        return {}
    if bench.kind != "otb":
        raise click.UsageError(f"--protocol {protocol} applies to OTB benchmarks, not "
                               f"{bench.name}")
    return {"protocol": protocol}


def _split(seqs: str | None) -> list[str] | None:
    return [s.strip() for s in seqs.split(",") if s.strip()] if seqs else None


def _shard(ctx: click.Context, param: click.Parameter, value: str | None
           ) -> tuple[int, int] | None:
    """``K/N`` (1-based) as (K, N); ``auto``: this Slurm array task's place in its array."""
    if value is None:
        return None
    if value == "auto":
        env = os.environ
        try:
            task, count = int(env["SLURM_ARRAY_TASK_ID"]), int(env["SLURM_ARRAY_TASK_COUNT"])
            first = int(env["SLURM_ARRAY_TASK_MIN"])
            step = int(env.get("SLURM_ARRAY_TASK_STEP", "1"))
        except (KeyError, ValueError):
            raise click.BadParameter("auto needs a Slurm job array (SLURM_ARRAY_TASK_ID, "
                                     "_COUNT and _MIN); elsewhere give K/N") from None
        k, n = (task - first) // max(step, 1) + 1, count
    else:
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", value)
        if match is None:
            raise click.BadParameter(f"{value!r}: expected K/N, e.g. 2/8, or auto")
        k, n = int(match[1]), int(match[2])
    if not 1 <= k <= n:
        raise click.BadParameter(f"shard {k}/{n}: K must be from 1 to N")
    return k, n


@click.command("eval")
@click.argument("benchmark")
@click.argument("tracker")
@click.option("--root", type=click.Path(path_type=Path, file_okay=False),
              help="Benchmark folder with images (default: the shared data's copy).")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=Path("runs"),
              show_default=True, help="Output folder: results/, performance.json, plots.")
@click.option("--workers", type=int, default=1, show_default=True,
              help="Sequences run in parallel processes.")
@click.option("--sequences", help="Comma-separated subset of sequence names.")
@click.option("--checkpoint", type=click.Path(path_type=Path),
              help="Use this checkpoint instead of the tracker spec's (for a model of several "
                   "files, e.g. NanoTrack's, the folder holding them).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]),
              help="Network trackers: where the network runs (default: the spec's; auto: "
              "cuda if available). Recorded in run.json, not part of the set-up identity.")
@click.option("--precision", type=click.Choice(["auto", *PRECISIONS]),
              help="Network trackers: inference precision (default: the spec's; auto: fp16 on "
              "CUDA, fp32 on a CPU). Part of the set-up identity: results do not mix.")
@click.option("--shard", callback=_shard, metavar="K/N|auto",
              help="Run only shard K of N (1-based; sorted sequence names, every N-th from the "
              "K-th), e.g. one task of a Slurm job array (auto). Shards share --out and score "
              "nothing; the same eval without --shard scores them afterwards.")
@click.option("--json", "as_json", is_flag=True, help="Print the scores as JSON.")
@bootstrap_options
@protocol_option
def eval_cmd(benchmark: str, tracker: str, root: Path | None, out: Path, workers: int,
             sequences: str | None, checkpoint: Path | None, device: str | None,
             precision: str | None, shard: tuple[int, int] | None, as_json: bool,
             resamples: int, seed: int, protocol: str) -> None:
    """Run TRACKER on BENCHMARK, write raw results, score them and plot.

    Sequences already finished in --out are skipped, so an interrupted run resumes.
    """
    bench = get_benchmark(benchmark)
    analysis = importlib.import_module(ANALYSES[bench.kind])
    scores = runner(bench.kind).evaluate(
        bench=bench, tracker=tracker, root=root or bench.default_root(), out=out,
        workers=workers, sequences=_split(sequences), checkpoint=checkpoint,
        resamples=resamples, seed=seed, overrides={"device": device, "precision": precision},
        shard=shard, **protocol_args(bench, protocol))
    if shard is not None:
        return  # the runner said what the shard did and how to score the whole
    click.echo(json.dumps(scores, indent=2) if as_json else analysis.format_table(scores))


@click.command("score")
@click.argument("benchmark")
@click.argument("result_dirs", nargs=-1, required=True,
                type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("--root", type=click.Path(path_type=Path, file_okay=False),
              help="Annotations (images not needed; default: the shared data's copy).")
@click.option("--convention", type=click.Choice(CONVENTIONS), default=None,
              help="Whose numbers to reproduce (default: matlab for OTB, vot for VOT).")
@click.option("--json", "as_json", is_flag=True, help="Print the scores as JSON.")
@click.option("--seeds", is_flag=True,
              help="Also aggregate seed families: folders X, X-s2, X-s3... are seeds of X.")
@click.option("--strict", is_flag=True,
              help="Refuse a result file whose length differs from the ground truth, even "
              "where the benchmark's toolkit scores it (with a warning) on the common frames.")
@bootstrap_options
@protocol_option
def score_cmd(benchmark: str, result_dirs: tuple[Path, ...], root: Path | None,
              convention: str | None, as_json: bool, seeds: bool, strict: bool,
              resamples: int, seed: int, protocol: str) -> None:
    """Score existing raw-result folders (folder name = tracker name) on BENCHMARK.

    Each score comes with a 95% bootstrap interval over sequences (JSON: ``<score>_ci``).
    With --seeds, seed families are also reported as the mean over seeds, its two-level
    (seeds, then sequences) interval and the seed-to-seed spread (JSON: under ``seeds``).
    """
    bench = get_benchmark(benchmark)
    analysis = importlib.import_module(ANALYSES[bench.kind])
    scores = analysis.score(bench=bench, result_dirs=list(result_dirs),
                            root=root or bench.default_root(annotations_only=True),
                            convention=convention, resamples=resamples, seed=seed,
                            **protocol_args(bench, protocol),
                            **({"strict": True} if strict else {}))
    if not seeds:
        click.echo(json.dumps(scores, indent=2) if as_json else analysis.format_table(scores))
        return
    metrics = SEED_METRICS[bench.kind]
    families = stats.aggregate_seeds(scores, metrics, resamples, seed)
    if as_json:
        click.echo(json.dumps({"trackers": scores, "seeds": families}, indent=2))
    else:
        click.echo(analysis.format_table(scores) + "\n\n" + stats.format_seeds(families, metrics))
