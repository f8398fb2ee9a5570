"""The supervised (reset) experiment on the real VOT sequences: failures, re-inits, resume."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest

from pul_bench import results
from pul_bench.benchmarks import Benchmark
from pul_bench.cli import main
from pul_bench.experiments.supervised import evaluate, run_sequence
from pul_bench.metrics import vot as M
from pul_bench.registry import all_specs, get_spec, register
from pul_bench.tracker import IdentityTracker, Tracker

SHORT = Benchmark(name="vot_short", kind="vot", description="test", eao_interval=(10, 100))
OFFICIAL = Benchmark(name="vot_official", kind="vot", description="test",
                     eao_interval=(100, 356))


class CountingIdentity(IdentityTracker):
    """Identity tracker that counts the frames it is shown (to prove resume skips work)."""

    calls = 0

    def update(self, image: np.ndarray) -> np.ndarray:
        CountingIdentity.calls += 1
        return super().update(image)


class Jitter(Tracker):
    """A stochastic tracker: the initial box plus random sub-pixel noise."""

    deterministic = None

    def init(self, image: np.ndarray, box) -> None:
        self.box = np.asarray(box, float)

    def update(self, image: np.ndarray) -> np.ndarray:
        return self.box + np.random.default_rng().uniform(-0.5, 0.5, 4)


class SilentlyDeterministic(IdentityTracker):
    """Deterministic but does not say so: the runner must notice after 3 identical runs."""

    deterministic = None


register("test-identity", CountingIdentity, deterministic=True)
register("test-jitter", Jitter)
register("test-silent", SilentlyDeterministic)


def test_identity_run_fails_reinitialises_and_resumes(vot_sequences: Path,
                                                      tmp_path: Path) -> None:
    scores = evaluate(SHORT, "test-identity", vot_sequences, tmp_path)["test-identity"]
    folder = tmp_path / "results" / "vot_short" / "test-identity" / "baseline"
    lines = (folder / "ball1" / "ball1_001.txt").read_text().splitlines()
    assert len(lines) == 105 and lines[0] == "1"
    i = lines.index("2")  # first failure, then 4 skipped frames and a re-initialisation
    assert lines[i + 1 : i + 6] == ["0", "0", "0", "0", "1"]
    assert (folder / "ball1" / "ball1_001_time.value").is_file()
    assert not (folder / "ball1" / "ball1_002.txt").exists()  # deterministic: one run
    assert scores["failures"] > 2 and scores["frames"] == 301
    assert not math.isnan(scores["eao"]) and 0 < scores["eao"] < 1
    report = tmp_path / "reports" / "vot_short"
    assert json.loads((report / "performance.json").read_text())["test-identity"]["eao"] == \
        pytest.approx(scores["eao"])
    for stem in ("eao_curve", "ar_plot", "eao_ranking"):
        assert (report / f"{stem}.png").stat().st_size > 0
        assert (report / f"{stem}.pdf").stat().st_size > 0

    # resume: only the deleted sequence runs again, and gives the same file
    bag = (folder / "bag" / "bag_001.txt").read_text()
    (folder / "bag" / "bag_001.txt").unlink()
    CountingIdentity.calls = 0
    again = evaluate(SHORT, "test-identity", vot_sequences, tmp_path)["test-identity"]
    assert 0 < CountingIdentity.calls < 196
    assert (folder / "bag" / "bag_001.txt").read_text() == bag
    assert again == scores


def test_official_interval_is_longer_than_the_shared_sequences(vot_sequences: Path,
                                                                tmp_path: Path) -> None:
    scores = evaluate(OFFICIAL, "test-identity", vot_sequences, tmp_path)["test-identity"]
    assert math.isnan(scores["eao"])  # the longest sequence (196) ends before 356
    assert scores["accuracy"] > 0


@pytest.fixture()
def short_root(vot_sequences: Path, tmp_path: Path) -> Path:
    """The first 20 frames of ball1 in a VOT folder (images linked, not copied)."""
    root = tmp_path / "short"
    seq = root / "ball1"
    (seq / "color").mkdir(parents=True)
    (root / "list.txt").write_text("ball1\n")
    gt = (vot_sequences / "ball1" / "groundtruth.txt").read_text().splitlines()[:20]
    (seq / "groundtruth.txt").write_text("\n".join(gt) + "\n")
    for i in range(1, 21):
        os.symlink(vot_sequences / "ball1" / "color" / f"{i:08d}.jpg",
                   seq / "color" / f"{i:08d}.jpg")
    return root


def test_stochastic_tracker_runs_15_times(short_root: Path, tmp_path: Path) -> None:
    evaluate(SHORT, "test-jitter", short_root, tmp_path / "out")
    files = sorted((tmp_path / "out" / "results" / "vot_short" / "test-jitter" / "baseline"
                    / "ball1").glob("ball1_0*.txt"))
    assert [f.name for f in files][-1] == "ball1_015.txt" and len(files) == 15


def test_unlabelled_deterministic_tracker_stops_after_3_identical_runs(
        short_root: Path, tmp_path: Path) -> None:
    from pul_bench.datasets.vot import load_sequences

    (seq,), _ = load_sequences(short_root, need_images=True)
    n = run_sequence(get_spec("test-silent"), None, seq, tmp_path / "ball1", deterministic=None)
    assert n == 3 and not (tmp_path / "ball1" / "ball1_004.txt").exists()


def test_corrupt_result_is_reported_not_overwritten(short_root: Path, tmp_path: Path) -> None:
    from pul_bench.errors import PulBenchError

    folder = tmp_path / "results" / "vot_short" / "test-identity" / "baseline" / "ball1"
    folder.mkdir(parents=True)
    (folder / "ball1_001.txt").write_text("1\nabc\n")
    with pytest.raises(PulBenchError, match=r"ball1_001.txt:2: non-numeric"):
        evaluate(SHORT, "test-identity", short_root, tmp_path)
    assert (folder / "ball1_001.txt").read_text() == "1\nabc\n"


@pytest.mark.skipif("kcf" not in all_specs(), reason="the OpenCV KCF tracker is not registered")
@pytest.mark.slow
def test_cli_eval_kcf_on_real_sequences(vot_sequences: Path, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture) -> None:
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    (manifests / "short.yaml").write_text(
        "name: vot_short\nkind: vot\ndescription: short interval\neao_interval: [10, 100]\n")
    monkeypatch.setenv("PULBENCH_DATASETS", str(manifests))
    main(["eval", "vot_short", "kcf", "--root", str(vot_sequences), "--out",
          str(tmp_path / "out"), "--json"])
    scores = json.loads(capsys.readouterr().out)["kcf"]
    assert scores["failures"] >= 1 and not math.isnan(scores["eao"])
    run = results.read_trajectory(tmp_path / "out" / "results" / "vot_short" / "kcf" / "baseline"
                            / "ball1" / "ball1_001.txt")
    assert (run.status == M.FAILURE).sum() >= 1 and (run.status == M.INIT).sum() >= 2
