"""``pulbench eval`` and ``pulbench score``: one verb each, dispatched through the benchmark's
kind (:mod:`pul_bench.kinds`), which runs, scores and tabulates it and refuses, naming it, any
shared option it does not honour (e.g. ``--protocol tre`` outside OTB).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from pul_bench.analysis import stats
from pul_bench.benchmarks import Benchmark, get_benchmark
from pul_bench.errors import PulBenchError, RowCountError
from pul_bench.io import json_text
from pul_bench.kinds import Options, kind_of
from pul_bench.paths import data_root, repeated, safe_name
from pul_bench.protocols import PROTOCOLS
from pul_bench.tracker import PRECISIONS

CONVENTIONS = ("matlab", "pysot", "got10k", "vot")


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


def score_folders(bench: Benchmark, result_dirs: list[Path], root: Path | None,
                  options: Options) -> dict[str, Any]:
    """The scores of ``bench``'s kind on ``root``, else on the default annotations. Results made
    by ``eval --root DIR`` have DIR's frame counts: when they do not fit the default
    annotations (a cut sequence, such as the shared Human3), the error says to pass that root."""
    default = root is None
    root = root or bench.default_root(annotations_only=True)
    try:
        return kind_of(bench).score(bench, result_dirs, root, options)
    except RowCountError as e:
        if not default:
            raise
        try:
            images = f" (eval's default is --root {bench.default_root()})"
        except PulBenchError:
            images = ""
        raise PulBenchError(f"{e}; scored against {root}, the default annotations: results "
                            f"made by eval --root DIR are scored with the same --root DIR"
                            f"{images}") from None


def sequence_names(text: str | None) -> list[str] | None:
    """``--sequences A,B``: the names, each a plain name (it becomes a result file's name) and
    given once. A repeat is refused rather than dropped: it is most likely a slip for another
    sequence, and scoring a different list than the one typed would hide that."""
    if not text:
        return None
    names = [safe_name(s.strip(), "--sequences: sequence") for s in text.split(",") if s.strip()]
    twice = repeated(names)
    if twice:
        raise PulBenchError(f"--sequences names {', '.join(twice)} more than once; list each "
                            "sequence once")
    return names


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
              help="Network trackers: inference precision (default: the spec's; auto: bf16 on "
              "CUDA, fp16 on GPUs without bf16, fp32 on a CPU). Part of the set-up identity: "
              "results do not mix.")
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
    bench = get_benchmark(benchmark, data_root(required=False))
    kind = kind_of(bench)
    scores = kind.run(bench, tracker, root or bench.default_root(), out,
                      Options(resamples=resamples, seed=seed, protocol=protocol),
                      workers=workers, sequences=sequence_names(sequences),
                      checkpoint=checkpoint,
                      overrides={"device": device, "precision": precision}, shard=shard)
    if shard is not None:
        return  # the runner said what the shard did and how to score the whole
    click.echo(json_text(scores) if as_json else kind.table(scores))


@click.command("score")
@click.argument("benchmark")
@click.argument("result_dirs", nargs=-1, required=True,
                type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("--root", type=click.Path(path_type=Path, file_okay=False),
              help="Annotations (images not needed; default: the shared data's copy).")
@click.option("--convention", type=click.Choice(CONVENTIONS), default=None,
              help="Whose numbers to reproduce (default: matlab for OTB, vot for VOT).")
@click.option("--json", "as_json", is_flag=True, help="Print the scores as JSON.")
@click.option("--seed-families", "seeds", is_flag=True,
              help="Also aggregate seed families: folders X, X-s2, X-s3... are seeds of X "
                   "(pul_train's --seeds trains them).")
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
    With --seed-families, seed families are also reported as the mean over seeds, its two-level
    (seeds, then sequences) interval and the seed-to-seed spread (JSON: under ``seeds``).
    """
    bench = get_benchmark(benchmark, data_root(required=False))
    kind = kind_of(bench)
    scores = score_folders(bench, list(result_dirs), root,
                           Options(convention=convention, resamples=resamples, seed=seed,
                                   strict=strict, seeds=seeds, protocol=protocol))
    if not seeds:
        click.echo(json_text(scores) if as_json else kind.table(scores))
        return
    metrics = kind.seed_metrics
    families = stats.aggregate_seeds(scores, metrics, resamples, seed)
    if as_json:
        click.echo(json_text({"trackers": scores, "seeds": families}))
    else:
        click.echo(kind.table(scores) + "\n\n" + stats.format_seeds(families, metrics))
