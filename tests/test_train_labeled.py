"""The shared train_labeled folders as an OTB-kind benchmark (``train-labeled``): frames through
``frames.txt``, 0-based boxes, NaN rows scored by the OTB rules, bad files named."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from pul_bench.analysis.otb import score
from pul_bench.benchmarks import get_benchmark
from pul_bench.cli import cli
from pul_bench.datasets.otb import load_otb, read_boxes
from pul_bench.errors import InputError
from pul_bench.metrics.ope import OVERLAP_THRESHOLDS
from pul_train.labeled import open_labeled


@pytest.fixture(scope="module")
def labeled(data_root: Path) -> Path:
    return data_root / "train_labeled"


def _copy(src: Path, dst: Path) -> Path:
    """A copy of one sequence folder whose images are links to the shared ones."""
    dst.mkdir(parents=True)
    (dst / "img").mkdir()
    for f in (src / "img").iterdir():
        (dst / "img" / f.name).symlink_to(f)
    for name in ("groundtruth.txt", "frames.txt"):
        shutil.copy(src / name, dst / name)
    return dst


def test_reads_every_shared_sequence_as_the_training_reader_does(labeled: Path) -> None:
    bench = get_benchmark("train-labeled")
    seqs, missing = load_otb(bench, bench.default_root())
    assert not missing and len(seqs) == 10
    assert sum(len(s) for s in seqs) == 1313  # the shared README's count
    training = {s.name: s for s in open_labeled(labeled)}
    for s in seqs:
        numbers = [int(v) for v in (labeled / s.name / "frames.txt").read_text().split()]
        assert [f.name for f in s.frames] == [f"{k:06d}.jpg" for k in numbers]
        assert s.start_frame == numbers[0]
        np.testing.assert_array_equal(s.groundtruth, read_boxes(labeled / s.name /
                                                                "groundtruth.txt"))
        # the supervised baselines trained on exactly these frames and boxes
        assert [f.name for f in training[s.name].frames] == [f.name for f in s.frames]
        np.testing.assert_array_equal(training[s.name].boxes, s.groundtruth)


def test_out_of_view_rows_follow_the_otb_rules(labeled: Path, tmp_path: Path) -> None:
    """A NaN ground-truth row is never an overlap success and always a precision success; a
    result 10 px right of the truth has inclusive-pixel IoU (w - 10) / (w + 10) elsewhere."""
    root = tmp_path / "tl"
    seq = _copy(labeled / "uav_truck2", root / "uav_truck2")
    gt = read_boxes(seq / "groundtruth.txt")
    gt[20:25] = np.nan
    np.savetxt(seq / "groundtruth.txt", gt, delimiter=",", fmt="%.2f")
    res = tmp_path / "Shifted"
    res.mkdir()
    filled = np.where(np.isnan(gt), 50.0, gt)
    # result files count pixels from 1, as OTB's do; the ground truth here counts from 0
    np.savetxt(res / "uav_truck2.txt", filled + [1 + 7.3, 1, 0, 0], delimiter=",", fmt="%.4f")
    bench = dataclasses.replace(get_benchmark("train-labeled"), sequences=("uav_truck2",))
    out = score(bench, [res], root, resamples=0)["Shifted"]["per_sequence"]["uav_truck2"]
    valid = np.isfinite(gt).all(1)
    overlap = np.where(valid, np.maximum(gt[:, 2] - 7.3, 0) / (gt[:, 2] + 7.3), -1.0)
    overlap[0] = 1.0  # the first frame is the initialisation
    assert out["auc"] == pytest.approx(np.mean([(overlap > t).mean()
                                                for t in OVERLAP_THRESHOLDS]), abs=1e-12)
    assert out["dp20"] == 1.0


def test_bad_frame_lists_name_the_file_and_line(labeled: Path, tmp_path: Path) -> None:
    bench = dataclasses.replace(get_benchmark("train-labeled"), sequences=("uav_truck2",))
    seq = _copy(labeled / "uav_truck2", tmp_path / "a" / "uav_truck2")
    lines = (seq / "frames.txt").read_text().split()
    (seq / "frames.txt").write_text("\n".join(lines[:-1]) + "\n")
    with pytest.raises(InputError, match=r"frames\.txt: 64 frame numbers for 65"):
        load_otb(bench, tmp_path / "a")
    (seq / "frames.txt").write_text("\n".join([*lines[:2], "x7", *lines[3:]]) + "\n")
    with pytest.raises(InputError, match=r"frames\.txt:3: not a frame number"):
        load_otb(bench, tmp_path / "a")
    (seq / "frames.txt").write_text("\n".join([*lines[:-1], "999"]) + "\n")
    with pytest.raises(InputError, match="1 of the 65 listed frames have no image"):
        load_otb(bench, tmp_path / "a")


def test_eval_runs_a_tracker_on_it(tmp_path: Path) -> None:
    r = CliRunner().invoke(cli, ["eval", "train-labeled", "kcf", "--sequences", "uav_truck2",
                                 "--out", str(tmp_path), "--bootstrap", "0", "--json"])
    assert r.exit_code == 0, r.output
    result = next(tmp_path.rglob("uav_truck2.txt"))
    assert len(read_boxes(result)) == 65
