"""``pulbench submit``: pack a results folder for a benchmark whose test split is scored by its
own evaluation server (GOT-10k test, TrackingNet test)."""

from __future__ import annotations

from pathlib import Path

import click

from pul_bench.benchmarks import get_benchmark
from pul_bench.kinds import kind_of
from pul_bench.paths import data_root


@click.command("submit")
@click.argument("benchmark")
@click.argument("result_dir", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("--root", type=click.Path(path_type=Path, file_okay=False),
              help="The split's folder (sequence list and annotations).")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="The zip file to write.")
def submit_cmd(benchmark: str, result_dir: Path, root: Path | None, out: Path) -> None:
    """Write RESULT_DIR as the evaluation server of BENCHMARK takes it (a zip)."""
    bench = get_benchmark(benchmark, data_root(required=False))
    if root is None:
        root = bench.default_root(annotations_only=True)
    path = kind_of(bench).submit(bench, result_dir, root, out)
    click.echo(f"wrote {path}")
