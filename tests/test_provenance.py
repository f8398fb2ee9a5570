"""Results are never mixed across set-ups: a results folder records the spec's arguments and
the checkpoint's content hash, for OTB and VOT alike, and only a run that could build its
tracker records anything."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pul_bench.benchmarks import Benchmark, get_benchmark
from pul_bench.cli import main
from pul_bench.errors import PulBenchError
from pul_bench.experiments import ope, supervised
from pul_bench.paths import REPO_ROOT

OTB = get_benchmark("otb")
VOT_SHORT = Benchmark(name="vot_short", kind="vot", description="test", eao_interval=(10, 100))
WEIGHTS = REPO_ROOT / "trackers" / "weights"


def short_otb(otb_sequences: Path, root: Path, n: int = 6,
              names: tuple[str, ...] = ("Football1",)) -> Path:
    """The first ``n`` frames of ``names`` as an OTB folder (images linked, not copied)."""
    for name in names:
        seq = root / name
        (seq / "img").mkdir(parents=True)
        gt = (otb_sequences / name / "groundtruth_rect.txt").read_text().splitlines()[:n]
        (seq / "groundtruth_rect.txt").write_text("\n".join(gt) + "\n")
        for i in range(1, n + 1):
            (seq / "img" / f"{i:04d}.jpg").symlink_to(otb_sequences / name / "img"
                                                      / f"{i:04d}.jpg")
    return root


def short_vot(vot_sequences: Path, root: Path, n: int = 10,
              names: tuple[str, ...] = ("ball1",)) -> Path:
    """The first ``n`` frames of ``names`` as a VOT folder (images linked, not copied)."""
    (root).mkdir(parents=True)
    (root / "list.txt").write_text("".join(f"{name}\n" for name in names))
    for name in names:
        seq = root / name
        (seq / "color").mkdir(parents=True)
        gt = (vot_sequences / name / "groundtruth.txt").read_text().splitlines()[:n]
        (seq / "groundtruth.txt").write_text("\n".join(gt) + "\n")
        for i in range(1, n + 1):
            (seq / "color" / f"{i:08d}.jpg").symlink_to(vot_sequences / name / "color"
                                                        / f"{i:08d}.jpg")
    return root


@pytest.fixture
def otb_root(otb_sequences: Path, tmp_path: Path) -> Path:
    return short_otb(otb_sequences, tmp_path / "otb")


@pytest.fixture
def vot_root(vot_sequences: Path, tmp_path: Path) -> Path:
    return short_vot(vot_sequences, tmp_path / "vot")


def test_vot_rerun_with_another_checkpoint_is_refused(vot_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    supervised.evaluate(VOT_SHORT, "alexpul-bd", vot_root, out)
    record = out / "results" / "vot_short" / "alexpul-bd" / "run.json"
    assert json.loads(record.read_text())["tracker"] == "alexpul-bd"
    with pytest.raises(PulBenchError, match="results of a different set-up") as err:
        supervised.evaluate(VOT_SHORT, "alexpul-bd", vot_root, out,
                            checkpoint=WEIGHTS / "alexpul-tcl20.pt")
    assert "weights sha256" in str(err.value)


def test_retrained_checkpoint_at_the_same_path_is_detected(otb_root: Path,
                                                           tmp_path: Path) -> None:
    ckpt = tmp_path / "retrained.pt"
    shutil.copy(WEIGHTS / "alexpul-bd.pt", ckpt)
    out = tmp_path / "out"
    ope.evaluate(OTB, "alexpul-bd", otb_root, out, checkpoint=ckpt)
    shutil.copy(WEIGHTS / "alexpul-tcl20.pt", ckpt)  # what `pul_train ... --export` does
    with pytest.raises(PulBenchError, match="results of a different set-up") as err:
        ope.evaluate(OTB, "alexpul-bd", otb_root, out, checkpoint=ckpt)
    message = str(err.value)
    # one short paragraph naming what changed, not two dicts
    assert "weights sha256" in message and "{" not in message and len(message) < 600


@pytest.mark.slow
def test_same_weights_at_another_path_are_accepted(otb_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = ope.evaluate(OTB, "alexpul-bd", otb_root, out)
    result = out / "results" / "otb" / "alexpul-bd" / "Football1.txt"
    before = result.stat().st_mtime_ns
    copy = tmp_path / "elsewhere" / "same.pt"
    copy.parent.mkdir()
    shutil.copy(WEIGHTS / "alexpul-bd.pt", copy)
    again = ope.evaluate(OTB, "alexpul-bd", otb_root, out, checkpoint=copy)
    assert again == first and result.stat().st_mtime_ns == before


def test_record_from_before_the_hash_is_read_by_path(otb_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    ope.evaluate(OTB, "alexpul-bd", otb_root, out)
    record = out / "results" / "otb" / "alexpul-bd" / "run.json"
    old = json.loads(record.read_text())
    del old["checkpoint_sha256"], old["weights_sha256"]  # what the path-only record held
    record.write_text(json.dumps(old))
    ope.evaluate(OTB, "alexpul-bd", otb_root, out)
    record.write_text(json.dumps({**old, "checkpoint": str(tmp_path / "other.pt")}))
    with pytest.raises(PulBenchError, match="checkpoint sha256 none"):
        ope.evaluate(OTB, "alexpul-bd", otb_root, out)


def test_spec_arguments_are_part_of_the_set_up(otb_root: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    ope.evaluate(OTB, "alexpul-bd", otb_root, out)
    specs = tmp_path / "specs"
    specs.mkdir()
    spec = (REPO_ROOT / "trackers" / "siamfc.yaml").read_text()
    (specs / "alexpul-bd.yaml").write_text(
        spec.replace("name: siamfc", "name: alexpul-bd")
        .replace("weights/siamfc.pt", str(WEIGHTS / "alexpul-bd.pt"))
        .replace("window_influence: 0.176", "window_influence: 0.3"))
    monkeypatch.setenv("PULBENCH_TRACKERS", str(specs))
    with pytest.raises(PulBenchError, match="args.window_influence"):
        ope.evaluate(OTB, "alexpul-bd", otb_root, out)


@pytest.mark.parametrize("kind", ["otb", "vot"])
def test_failed_eval_leaves_nothing_that_blocks_a_corrected_run(
        kind: str, otb_root: Path, vot_root: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture) -> None:
    not_weights = tmp_path / "notes.pt"
    not_weights.write_text("these are not weights\n")
    bench, root = ("otb", otb_root) if kind == "otb" else ("vot_short", vot_root)
    runner = ope if kind == "otb" else supervised
    b = OTB if kind == "otb" else VOT_SHORT
    out = tmp_path / "out"
    with pytest.raises(PulBenchError, match="notes.pt"):
        runner.evaluate(b, "alexpul-bd", root, out, checkpoint=not_weights)
    with pytest.raises(PulBenchError, match="checkpoint not found"):
        runner.evaluate(b, "alexpul-bd", root, out, checkpoint=tmp_path / "typo.pt")
    assert not (out / "results" / bench / "alexpul-bd" / "run.json").exists()
    scores = runner.evaluate(b, "alexpul-bd", root, out)  # the corrected run goes ahead
    assert "alexpul-bd" in scores


def test_cli_refusal_is_one_readable_paragraph(otb_root: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out"
    args = ["eval", "otb", "alexpul-bd", "--root", str(otb_root), "--out", str(out)]
    main(args)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main([*args, "--checkpoint", str(WEIGHTS / "alexpul-tcl10.pt")])
    assert exit_.value.code != 0
    err = capsys.readouterr().err
    assert "Traceback" not in err and "different set-up" in err
    assert len(err.strip().splitlines()) <= 3 and len(err) < 800


@pytest.mark.slow
def test_vot_scores_merge_into_the_benchmark_report(vot_root: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from pul_bench import plots

    out = tmp_path / "out"
    first = supervised.evaluate(VOT_SHORT, "identity", vot_root, out, resamples=0)
    drawn: list[set[str]] = []
    draw = plots.vot_plots
    monkeypatch.setattr(plots, "vot_plots", lambda results, *a, **k: (
        drawn.append(set(results)), draw(results, *a, **k))[1])
    supervised.evaluate(VOT_SHORT, "kcf", vot_root, out, resamples=0)
    assert drawn == [{"identity", "kcf"}]  # both trackers on the same figures
    report = out / "reports" / "vot_short"
    perf = json.loads((report / "performance.json").read_text())
    assert set(perf) == {"identity", "kcf"}
    assert perf["identity"]["robustness"] == pytest.approx(first["identity"]["robustness"])
    assert (report / "eao_curve.png").stat().st_size > 0
