"""TrackingNet's evaluation-server submission: a zip of ``<seq>.txt`` files at its top level,
one ``x,y,w,h`` row per frame, comma-separated, in the annotation files' coordinates (the
``pulbench eval`` result files are written in those). Splits with ground truth are scored
locally by :mod:`pul_bench.analysis.otb` (success, precision, normalised precision)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from pul_bench.benchmarks import Benchmark
from pul_bench.datasets.otb import load_otb, match_names, read_boxes
from pul_bench.errors import InputError, PulBenchError
from pul_bench.io import atomic_path


def write_submission(bench: Benchmark, result_dir: str | Path, root: str | Path,
                     out: str | Path) -> Path:
    """Zip one OTB-format result file per sequence of the chunk under ``root``; every sequence
    must have one, with as many rows as the chunk has frames (where its frames are present)."""
    result_dir, out = Path(result_dir), Path(out)
    seqs, _ = load_otb(bench, root)
    if not seqs:
        raise PulBenchError(f"no {bench.name} sequences under {root}")
    files = {p.stem: p for p in result_dir.glob("*.txt")}
    found = match_names([s.name for s in seqs], files)
    lacking = [s.name for s in seqs if s.name not in found]
    if lacking:
        raise PulBenchError(f"{result_dir}: no results for {len(lacking)} of {len(seqs)} "
                            f"sequences (first: {lacking[0]}); the server needs all of them")
    with atomic_path(out) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for s in seqs:
            path = files[found[s.name]]
            boxes = read_boxes(path)
            n = len(s.frames) or len(s)
            if len(boxes) != n:
                raise InputError(path, f"{len(boxes)} boxes but {s.name} has {n} frames")
            z.writestr(f"{s.name}.txt", "".join(
                ",".join(np.format_float_positional(v, trim="-") for v in row) + "\n"
                for row in boxes))
    return out
