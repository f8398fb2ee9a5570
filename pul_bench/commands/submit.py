"""``pulbench submit``: pack a results folder for a benchmark whose test split is scored by its
own evaluation server (GOT-10k test, TrackingNet test)."""

from __future__ import annotations

from pathlib import Path

import click

from pul_bench import results
from pul_bench.benchmarks import get_benchmark
from pul_bench.errors import PulBenchError
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
    if bench.kind == "got10k":
        from pul_bench.datasets.got10k import load_got10k

        seqs, missing = load_got10k(bench, root)
        results.require_all(root, f"the {bench.name} split lacks", missing,
                            len(seqs) + len(missing))
        path = results.write_got10k_submission(result_dir, [s.name for s in seqs], out)
    elif bench.layout == "trackingnet":
        from pul_bench.datasets.otb import load_otb

        chunk, missing = load_otb(bench, root)
        if not chunk:
            raise PulBenchError(f"no {bench.name} sequences under {root}")
        results.require_all(root, f"the {bench.name} chunk lacks", missing,
                            len(chunk) + len(missing))
        path = results.write_trackingnet_submission(result_dir, chunk, out)
    else:
        raise PulBenchError(f"{bench.name} is scored locally (`pulbench score`); no server "
                            "submission format")
    click.echo(f"wrote {path}")
