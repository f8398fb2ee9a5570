"""``pulbench plot``: score raw OTB result folders and draw the comparison plots."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from pul_bench.benchmarks import Benchmark, get_benchmark
from pul_bench.commands.evaluate import protocol_args, protocol_option
from pul_bench.errors import PulBenchError
from pul_bench.io import write_json
from pul_bench.paths import data_root


@click.command("plot")
@click.argument("benchmark")
@click.argument("result_dirs", nargs=-1, required=True,
                type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="Folder for the plots (PNG and PDF) and performance.json.")
@click.option("--root", type=click.Path(path_type=Path, file_okay=False),
              help="Annotations (images not needed; default: the shared data's copy).")
@click.option("--convention", type=click.Choice(["matlab", "pysot", "got10k"]), default=None,
              help="Whose numbers to reproduce (default: matlab).")
@protocol_option
def plot_cmd(benchmark: str, result_dirs: tuple[Path, ...], out: Path, root: Path | None,
             convention: str | None, protocol: str) -> None:
    """Score RESULT_DIRS (folder name = tracker name) on BENCHMARK and plot them together:
    success, precision and per-attribute plots, legends sorted by score."""
    from pul_bench.analysis.otb import format_table, score
    from pul_bench.plots import plot_all

    bench = get_benchmark(benchmark, data_root(required=False))
    if bench.kind == "got10k":
        protocol_args(bench, protocol)  # refuses --protocol tre/sre, as eval and score do
        _plot_got10k(bench, result_dirs, out, root, convention)
        return
    if bench.kind != "otb":
        raise PulBenchError(f"plot draws OTB one-pass plots; {bench.name!r} is a {bench.kind} "
                            "benchmark")
    names = [d.name for d in result_dirs]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise PulBenchError(f"result folders must have distinct names (tracker names): "
                            f"{', '.join(twice)} given twice")
    root = root or bench.default_root(annotations_only=True)
    scores = score(bench=bench, result_dirs=list(result_dirs), root=root, convention=convention,
                   protocol=protocol, curve_bands=True)
    covered = [set(s["per_sequence"]) for s in scores.values()]
    common = set.intersection(*covered)
    if any(c != common for c in covered):
        # curves are only comparable on the same sequences: rescore on those all trackers have
        if not common:
            raise PulBenchError("the result folders share no sequence; nothing to compare")
        order = [n for n in next(iter(scores.values()))["per_sequence"] if n in common]
        click.echo(f"trackers cover different sequences; comparing on the {len(order)} they "
                   "all have", err=True)
        bench = dataclasses.replace(bench, sequences=tuple(order))
        scores = score(bench=bench, result_dirs=list(result_dirs), root=root,
                       convention=convention, protocol=protocol, curve_bands=True)
    write_json(out / "performance.json", scores)
    written = plot_all(scores, out, bench.name, protocol=protocol,
                       norm_precision=bench.layout in ("lasot", "trackingnet"))
    click.echo(format_table(scores))
    click.echo(f"wrote {out / 'performance.json'} and {len(written)} plot files in {out}",
               err=True)


def _plot_got10k(bench: Benchmark, result_dirs: tuple[Path, ...], out: Path,
                 root: Path | None, convention: str | None) -> None:
    """GOT-10k's success plot (101 thresholds), legend by AO, as got10k's ``plot_curves``."""
    from pul_bench.analysis.got10k import format_table, score
    from pul_bench.plots import save, success_plot

    scores = score(bench, list(result_dirs), root or bench.default_root(annotations_only=True),
                   convention)
    write_json(out / "performance.json", scores)
    as_auc = {name: {**s, "auc": s["ao"]} for name, s in scores.items()}
    save(success_plot(as_auc, f"Success plots on {bench.name.upper()} (legend: AO)"),
         out / "success")
    click.echo(format_table(scores))
