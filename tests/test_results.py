"""pul_bench.results: every result format is written exactly as its reader (and the official
toolkits) read it back, on real boxes and published files."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest

from pul_bench import results
from pul_bench.benchmarks import get_benchmark
from pul_bench.datasets.otb import OTBSequence, load_otb
from pul_bench.errors import InputError, PulBenchError
from pul_bench.io import read_table


def test_published_vot_trajectories_are_written_byte_for_byte(vot2018_reference: Path) -> None:
    """Every published VOT2018 result file (vot-toolkit's format: codes and 4-decimal boxes;
    60 per tracker) is what format_trajectory writes for the trajectory read from it."""
    files = sorted((vot2018_reference / "results").glob("*/baseline/*/*_001.txt"))
    assert {f.parts[-4] for f in files} >= {"DaSiamRPN", "LightTrack"}
    for f in files:
        traj = results.read_trajectory(f)
        boxes = read_table(f, (1, 4))[:, :4]
        assert results.format_trajectory(traj.status, boxes).encode() == f.read_bytes(), f
    assert results.vot_run_files(vot2018_reference / "results" / "DaSiamRPN", "ball1") == [
        vot2018_reference / "results" / "DaSiamRPN" / "baseline" / "ball1" / "ball1_001.txt"]


def test_otb_boxes_and_times_round_trip_losslessly(tmp_path: Path, otb_sequences: Path) -> None:
    seqs, _ = load_otb(get_benchmark("otb"), otb_sequences, ["Crossing", "Girl"])
    rng = np.random.default_rng(0)
    written = {}
    for s in seqs:
        boxes = s.groundtruth + rng.normal(0, 3, s.groundtruth.shape)  # full-precision floats
        times = rng.uniform(0, 0.1, len(s))
        results.write_otb_run(tmp_path / "kcf" / f"{s.name}.txt", boxes, times)
        written[s.name] = boxes
        stored = read_table(tmp_path / "kcf" / "times" / f"{s.name}_time.txt", 1)[:, 0]
        assert np.array_equal(stored, times)
    read, lacking = results.read_otb_results(tmp_path / "kcf", seqs)
    assert lacking == [] and sorted(read) == ["Crossing", "Girl"]
    for name, boxes in written.items():
        assert np.array_equal(read[name], boxes + [1, 1, 0, 0])  # bit for bit, 1-based
    assert results.count_rows(tmp_path / "kcf" / "Girl.txt") == len(written["Girl"])


def test_trackingnet_zip_holds_each_sequence_at_the_top(tmp_path: Path,
                                                        otb_sequences: Path) -> None:
    seqs, _ = load_otb(get_benchmark("otb"), otb_sequences, ["Crossing", "Girl"])
    for s in seqs:
        results.write_otb_run(tmp_path / "t" / f"{s.name}.txt", s.groundtruth, np.zeros(len(s)))
    out = results.write_trackingnet_submission(tmp_path / "t", seqs, tmp_path / "t.zip")
    with zipfile.ZipFile(out) as z:
        assert sorted(z.namelist()) == ["Crossing.txt", "Girl.txt"]
        got = np.loadtxt(io.StringIO(z.read("Girl.txt").decode()), delimiter=",")
    girl = next(s for s in seqs if s.name == "Girl")
    assert np.array_equal(got, girl.groundtruth + [1, 1, 0, 0])
    absent = OTBSequence("Dog1", girl.groundtruth, girl.valid)
    with pytest.raises(PulBenchError, match="no results for 1 of 3 sequences"):
        results.write_trackingnet_submission(tmp_path / "t", [*seqs, absent], tmp_path / "u.zip")


def test_got10k_repetitions_keep_earlier_time_columns(tmp_path: Path,
                                                      otb_sequences: Path) -> None:
    (seq,), _ = load_otb(get_benchmark("otb"), otb_sequences, ["Crossing"])
    folder = tmp_path / "T" / "Crossing"
    t1, t2 = np.full(len(seq), 0.01), np.full(len(seq), 0.02)
    results.write_got10k_run(folder, "Crossing", 1, seq.groundtruth, t1)
    results.write_got10k_run(folder, "Crossing", 2, seq.groundtruth + 0.5, t2)
    times = read_table(folder / "Crossing_time.txt", 2)
    assert np.array_equal(times, np.stack([t1, t2], axis=1))
    runs = results.got10k_run_files(tmp_path / "T", "Crossing")
    assert [p.name for p in runs] == ["Crossing_001.txt", "Crossing_002.txt"]
    assert np.allclose(read_table(runs[1], 4), seq.groundtruth + 0.5, atol=5e-4)
    short = runs[0].read_text().splitlines()[:-1]
    runs[0].write_text("\n".join(short) + "\n")  # got10k refuses a file one row short
    with pytest.raises(InputError, match=re.escape(f"{runs[0]}:{len(seq)}: {len(seq) - 1} boxes "
                                                   f"for {len(seq)} frames")):
        results.read_got10k_run(runs[0], len(seq))
    out = results.write_got10k_submission(tmp_path / "T", ["Crossing"], tmp_path / "g.zip")
    with zipfile.ZipFile(out) as z:
        assert sorted(z.namelist()) == ["Crossing/Crossing_001.txt", "Crossing/Crossing_002.txt",
                                        "Crossing/Crossing_time.txt"]
