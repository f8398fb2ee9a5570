"""``pulbench plot``: score raw result folders and draw the kind's comparison plots."""

from __future__ import annotations

from pathlib import Path

import click

from pul_bench.benchmarks import get_benchmark
from pul_bench.commands.evaluate import protocol_option
from pul_bench.kinds import Options, kind_of
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
    success, precision and per-attribute plots (GOT-10k: its success plot), legends sorted by
    score."""
    bench = get_benchmark(benchmark, data_root(required=False))
    table, written = kind_of(bench).plot(bench, list(result_dirs),
                                         root or bench.default_root(annotations_only=True), out,
                                         Options(convention=convention, protocol=protocol))
    click.echo(table)
    click.echo(f"wrote {out / 'performance.json'} and {len(written)} plot files in {out}",
               err=True)
