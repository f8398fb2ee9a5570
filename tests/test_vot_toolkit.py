"""Round trip with vot-toolkit 0.7.4: it runs our tracker through our TraX server on the shared
VOT sequences, offline, and our scores of its result files agree with its analysis.

Conventions that differ (stated, not hidden): vot-toolkit rasterises a result rectangle as
``w`` pixels (x .. x+w-1) but a ground-truth polygon with both ends included (~``w + 1``
pixels), while our default pixel rule gives both ``w + 1`` (pysot's rule); it averages accuracy
per sequence and weights sequences by length, where the MATLAB toolkit (and we) pool frames; its
EAO differs from the official one (fragments stop before the failure, interval shifted by one
frame), so EAO is only checked to be a number from both.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pul_bench.analysis.vot import score
from pul_bench.benchmarks import Benchmark
from pul_bench.commands.vot_toolkit import ini_entry
from pul_bench.datasets.vot import load_sequences
from pul_bench.metrics import vot as M
from pul_bench.results import read_trajectory, vot_run_files

pytest.importorskip("vot", reason="vot-toolkit (extra 'vot') is not installed")
pytest.importorskip("trax", reason="vot-trax (extra 'vot') is not installed")

STACK = """title: pul_bench round trip on the shared VOT sequences
experiments:
  baseline:
    type: supervised
    repetitions: 15
    skip_initialize: 5
    analyses:
      - type: supervised_average_ar
        sensitivity: 30
      - type: supervised_eao_score
        low: 10
        high: 100
"""


def _vot(*args: str, cwd: Path, env: dict) -> None:
    cmd = [sys.executable, "-c", "from vot.utilities.cli import main; main()", *args]
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.slow
def test_vot_toolkit_runs_our_tracker_and_agrees(vot_sequences: Path, tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "identity.yaml").write_text(
        "name: identity\ndescription: reports the initial box\n"
        "factory: pul_bench.tracker:IdentityTracker\ndeterministic: true\n")
    ws = tmp_path / "ws"
    seq_root = ws / "sequences"
    seq_root.mkdir(parents=True)
    names = (vot_sequences / "list.txt").read_text().split()
    (seq_root / "list.txt").write_text("\n".join(names) + "\n")
    for name in names:  # link the shared data; a 'sequence' file points at color/
        (seq_root / name).mkdir()
        os.symlink(vot_sequences / name / "color", seq_root / name / "color")
        os.symlink(vot_sequences / name / "groundtruth.txt", seq_root / name / "groundtruth.txt")
        (seq_root / name / "sequence").write_text("channels.color=color/%08d.jpg\nfps=30\n")
    (ws / "stack.yaml").write_text(STACK)
    env = {**os.environ, "PULBENCH_TRACKERS": str(specs), "VOT_RESULTS_BINARY": "false"}
    _vot("initialize", str(ws / "stack.yaml"), "--workspace", str(ws), "--nodownload",
         cwd=ws, env=env)
    os.environ["PULBENCH_TRACKERS"] = str(specs)
    try:
        (ws / "trackers.ini").write_text(ini_entry("identity"))
    finally:
        del os.environ["PULBENCH_TRACKERS"]
    _vot("evaluate", "--workspace", str(ws), "identity", cwd=ws, env=env)
    _vot("analysis", "--workspace", str(ws), "identity", "--format", "json", cwd=ws, env=env)

    report = json.loads(next((ws / "analysis").glob("*.json")).read_text())
    (ar, eao), = [report["results"]["baseline"]["results"]]
    vt_accuracy, vt_failures, _, vt_length = ar[0]
    results = ws / "results" / "identity"
    # deterministic: vot-toolkit stopped after 3 identical runs, as our runner does
    assert sorted(p.name for p in (results / "baseline" / "bag").glob("bag_0*.txt")) == [
        "bag_001.txt", "bag_002.txt", "bag_003.txt"]

    bench = Benchmark(name="vot_short", kind="vot", description="", eao_interval=(10, 100))
    ours = score(bench, [results], vot_sequences)["identity"]
    # failures: ours is the total; vot-toolkit reports the frame-weighted mean per sequence
    per_seq = {n: sum(line.strip() == "2" for line in (results / "baseline" / n /
                                                        f"{n}_001.txt").read_text().splitlines())
               for n in names}
    assert sum(per_seq.values()) == ours["failures"]
    lengths = {n: len((vot_sequences / n / "groundtruth.txt").read_text().split()) for n in names}
    weighted = sum(per_seq[n] * lengths[n] for n in names) / ours["frames"]
    assert weighted == pytest.approx(vt_failures, abs=1e-9)
    # accuracy: same frames and burn-in; the overlap rules differ by the +1-pixel rectangle
    assert ours["accuracy"] == pytest.approx(vt_accuracy, abs=0.01)
    # continuous overlaps, aggregated vot-toolkit's way, agree closely
    seq_acc = []
    for seq in load_sequences(vot_sequences, names)[0]:
        runs = [M.score_run(read_trajectory(f), seq.polygons, seq.size, pixels=False)
                for f in vot_run_files(results, seq.name)]
        seq_acc.append((np.nanmean([r.accuracy for r in runs]), len(seq)))
    vt_style = sum(a * n for a, n in seq_acc) / sum(n for _, n in seq_acc)
    assert vt_style == pytest.approx(vt_accuracy, abs=0.002)
    assert 0 < eao[0][0] < 1 and 0 < ours["eao"] < 1


def test_trax_regions_become_boxes() -> None:
    """The fast-path check of the TraX server's one conversion (the slow test runs it)."""
    import trax

    from pul_bench.interop.trax import region_to_box

    assert region_to_box(trax.Rectangle.create(1, 2, 3, 4)).tolist() == [1, 2, 3, 4]
    polygon = trax.Polygon.create([(1, 1), (5, 1), (5, 3), (1, 3)])
    assert np.allclose(region_to_box(polygon), [1, 1, 4, 2])


def test_write_replaces_the_trackers_section_and_keeps_the_others(tmp_path: Path) -> None:
    from pul_bench.cli import main

    ini = tmp_path / "trackers.ini"
    ini.write_text("[other]\nlabel = other\n")
    for _ in range(2):
        main(["vot-toolkit", "csrt", "--write", str(ini)])
    text = ini.read_text()
    assert text.count("[csrt]") == 1 and text.startswith("[other]\nlabel = other\n\n[csrt]")
    assert "-m pul_bench.interop.trax csrt" in text
