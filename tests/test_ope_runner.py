"""`pulbench eval` on real OTB sequences: results, scores, plots, resume, bad input."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from pul_bench.analysis.otb import score
from pul_bench.benchmarks import get_benchmark
from pul_bench.cli import main
from pul_bench.errors import InputError, PulBenchError
from pul_bench.experiments.ope import evaluate
from pul_bench.io import read_table
from pul_bench.registry import _registered, register
from pul_bench.tracker import Tracker

OTB2015 = get_benchmark("otb2015")
OTB = get_benchmark("otb")


class _Drifting(Tracker):
    """Moves the box by a sub-pixel step per frame; can stop dead on a chosen sequence, as a
    killed run would. Records which sequences it initialised (by first-frame path)."""

    started: list[str] = []
    interrupt_on: str | None = None

    def init(self, image: np.ndarray, box: np.ndarray) -> None:
        self.box = np.asarray(box, dtype=float).copy()
        self.frame = 0

    def update(self, image: np.ndarray) -> np.ndarray:
        self.box = self.box + [0.1, -1 / 3, 0.0, 0.0]
        return self.box.copy()

    def track(self, frames, box, progress=None):  # noqa: ANN001, ANN201
        seq = Path(frames[0]).parent.parent.name
        type(self).started.append(seq)
        if seq == type(self).interrupt_on:
            raise KeyboardInterrupt
        return super().track(frames, box, progress)


@pytest.fixture
def drifting() -> type[_Drifting]:
    _Drifting.started = []
    _Drifting.interrupt_on = None
    register("drifting", _Drifting, "test tracker")
    yield _Drifting
    _registered.pop("drifting", None)


def _gt_file_rows(otb_sequences: Path, name: str) -> np.ndarray:
    return read_table(otb_sequences / name / "groundtruth_rect.txt", 4)


def test_eval_kcf_end_to_end(otb_sequences: Path, tmp_path: Path,
                             capsys: pytest.CaptureFixture) -> None:
    main(["eval", "otb2015", "kcf", "--root", str(otb_sequences), "--out", str(tmp_path),
          "--sequences", "Crossing,Football1"])
    table = capsys.readouterr().out
    res = tmp_path / "results" / "otb2015" / "kcf"
    for name, n in (("Crossing", 120), ("Football1", 74)):
        boxes = read_table(res / f"{name}.txt", 4, allow_nan=False)
        assert boxes.shape == (n, 4)
        # 1-based on disk: frame 1 is exactly the file's first ground-truth row
        np.testing.assert_array_equal(boxes[0], _gt_file_rows(otb_sequences, name)[0])
        times = read_table(res / "times" / f"{name}_time.txt", 1)
        assert times.shape == (n, 1) and np.all(times > 0)
    perf = json.loads((tmp_path / "reports" / "otb2015" / "performance.json").read_text())
    two = dataclasses.replace(OTB2015, sequences=("Crossing", "Football1"))
    again = score(bench=two, result_dirs=[res], root=otb_sequences)
    assert perf["kcf"]["auc"] == again["kcf"]["auc"] and perf["kcf"]["n_sequences"] == 2
    assert set(perf["kcf"]["per_sequence"]) == {"Crossing", "Football1"}
    # KCF follows the pedestrian on Crossing (far above the identity floor on it)
    assert perf["kcf"]["per_sequence"]["Crossing"]["auc"] > 0.4
    assert f"{perf['kcf']['auc']:.3f}" in table
    for stem in ("success", "precision", "attributes"):
        for ext in ("png", "pdf"):
            assert (tmp_path / "reports" / "otb2015" / f"{stem}.{ext}").stat().st_size > 1000


def test_results_are_lossless_and_merge_into_performance(otb_sequences: Path, tmp_path: Path,
                                                         drifting: type[_Drifting]) -> None:
    scores = evaluate(OTB, "drifting", otb_sequences, tmp_path, sequences=["Football1"])
    rows = read_table(tmp_path / "results" / "otb" / "drifting" / "Football1.txt", 4)
    gt1 = _gt_file_rows(otb_sequences, "Football1")[0]
    box = gt1 - [1, 1, 0, 0]
    expected = [box]
    for _ in range(73):
        box = box + [0.1, -1 / 3, 0.0, 0.0]
        expected.append(box)
    np.testing.assert_array_equal(rows, np.array(expected) + [1, 1, 0, 0])  # bit for bit
    evaluate(OTB, "identity", otb_sequences, tmp_path, sequences=["Football1"])
    perf = json.loads((tmp_path / "reports" / "otb" / "performance.json").read_text())
    assert set(perf) == {"drifting", "identity"}
    assert perf["drifting"] == json.loads(json.dumps(scores["drifting"]))


def test_interrupted_run_resumes_without_redoing_or_losing(otb_sequences: Path, tmp_path: Path,
                                                           drifting: type[_Drifting]) -> None:
    seqs = ["Football1", "dtb_MountainBike6", "Crossing"]
    drifting.interrupt_on = "dtb_MountainBike6"
    with pytest.raises(KeyboardInterrupt):
        evaluate(OTB, "drifting", otb_sequences, tmp_path, sequences=seqs)
    res = tmp_path / "results" / "otb" / "drifting"
    assert sorted(p.name for p in res.glob("*.txt")) == ["Football1.txt"]
    assert not list(res.glob(".*.tmp")) and not list((res / "times").glob(".*.tmp"))
    before = (res / "Football1.txt").stat().st_mtime_ns, (res / "Football1.txt").read_bytes()

    drifting.interrupt_on, drifting.started = None, []
    scores = evaluate(OTB, "drifting", otb_sequences, tmp_path, sequences=seqs)
    assert drifting.started == ["dtb_MountainBike6", "Crossing"]
    assert before == ((res / "Football1.txt").stat().st_mtime_ns,
                      (res / "Football1.txt").read_bytes())
    assert scores["drifting"]["n_sequences"] == 3

    (res / "Crossing.txt").unlink()  # a lost file is redone, and only that one
    drifting.started = []
    evaluate(OTB, "drifting", otb_sequences, tmp_path, sequences=seqs)
    assert drifting.started == ["Crossing"]


@pytest.mark.slow
def test_workers_give_the_same_files(otb_sequences: Path, tmp_path: Path) -> None:
    seqs = ["Football1", "Crossing"]
    evaluate(OTB, "kcf", otb_sequences, tmp_path / "serial", sequences=seqs)
    evaluate(OTB, "kcf", otb_sequences, tmp_path / "parallel", workers=2, sequences=seqs)
    for s in seqs:
        a = tmp_path / "serial" / "results" / "otb" / "kcf" / f"{s}.txt"
        b = tmp_path / "parallel" / "results" / "otb" / "kcf" / f"{s}.txt"
        assert a.read_bytes() == b.read_bytes()


def _copy_with_corrupt_frame(otb_sequences: Path, root: Path, name: str, frame: str) -> Path:
    """Symlink ``name``'s images into ``root``, except ``frame``, which is replaced by junk."""
    src = otb_sequences / name
    (root / name / "img").mkdir(parents=True)
    shutil.copy(src / "groundtruth_rect.txt", root / name)
    for f in sorted((src / "img").iterdir()):
        (root / name / "img" / f.name).symlink_to(f)
    bad = root / name / "img" / frame
    bad.unlink()
    bad.write_bytes(b"\xff\xd8\xff\xe0 this is not a JPEG any more" * 10)
    return bad


@pytest.mark.slow
def test_corrupt_jpeg_names_the_file_and_keeps_other_sequences(otb_sequences: Path,
                                                               tmp_path: Path) -> None:
    root = tmp_path / "otb"
    bad = _copy_with_corrupt_frame(otb_sequences, root, "Crossing", "0050.jpg")
    (root / "Football1").symlink_to(otb_sequences / "Football1")
    out = tmp_path / "out"
    with pytest.raises(PulBenchError) as err:
        evaluate(OTB, "identity", root, out, workers=2)
    msg = str(err.value)
    assert "1 of 2 sequences failed" in msg and str(bad) in msg and "cannot decode" in msg
    res = out / "results" / "otb" / "identity"
    assert read_table(res / "Football1.txt", 4).shape == (74, 4)
    assert not (res / "Crossing.txt").exists()

    bad.unlink()
    bad.symlink_to(otb_sequences / "Crossing" / "img" / "0050.jpg")
    before = (res / "Football1.txt").stat().st_mtime_ns
    scores = evaluate(OTB, "identity", root, out)
    assert scores["identity"]["n_sequences"] == 2
    assert (res / "Football1.txt").stat().st_mtime_ns == before


def test_wrong_row_count_in_existing_result_is_an_error(otb_sequences: Path,
                                                        tmp_path: Path) -> None:
    res = tmp_path / "results" / "otb" / "identity"
    res.mkdir(parents=True)
    (res / "Football1.txt").write_text("1,2,3,4\n" * 10)
    with pytest.raises(InputError, match=r"Football1.txt: has 10 rows but Football1 has 74"):
        evaluate(OTB, "identity", otb_sequences, tmp_path, sequences=["Football1"])


def test_results_of_another_setup_are_not_resumed(otb_sequences: Path, tmp_path: Path) -> None:
    evaluate(OTB, "identity", otb_sequences, tmp_path, sequences=["Football1"])
    record = tmp_path / "results" / "otb" / "identity" / "run.json"
    made_by = json.loads(record.read_text())
    record.write_text(json.dumps({**made_by, "args": {"scale": 2}}))
    with pytest.raises(PulBenchError, match="results of a different set-up"):
        evaluate(OTB, "identity", otb_sequences, tmp_path, sequences=["Football1"])


def test_bad_names_are_clear_errors(otb_sequences: Path, tmp_path: Path,
                                    capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["eval", "otb", "kfc", "--root", str(otb_sequences), "--out", str(tmp_path)])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "unknown tracker 'kfc'" in err and "kcf" in err and "Traceback" not in err
    with pytest.raises(PulBenchError, match="sequences not found under .*: Nope"):
        evaluate(OTB, "identity", otb_sequences, tmp_path, sequences=["Nope"])
    assert not (tmp_path / "results").exists()
