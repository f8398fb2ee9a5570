"""Committed raw results standing in for a checkpoint kept out of git (seeds 2 and 3, Fig. 6):
``pulbench report --keep`` packs what ran (run.json and kept.tar.xz), and a later report without
the checkpoint scores the copy exactly as it scored the run, but only while the manifest names
that checkpoint's sha256 and the copy holds every run."""

from __future__ import annotations

import json
import shutil
import tarfile
from pathlib import Path

import pytest

from pul_bench.checkpoint import update_manifest
from pul_bench.errors import InputError
from pul_bench.paths import REPO_ROOT
from pul_bench.reports import evaluation
from pul_bench.reports.build import run_report
from pul_bench.reports.recipe import load_recipe

pytestmark = pytest.mark.slow  # every test here builds a report from kept runs

RECIPE = """
title: kept results
scale: "test scale, no training"
data:
  otb: {benchmark: otb, root: sequences/otb, sequences: [dtb_SnowBoarding4]}
  vot: {benchmark: vot, root: sequences/vot, sequences: [ball1], eao_interval: [20, 100]}
  pairs: {benchmark: otb, root: sequences/otb, sequences: [dtb_SnowBoarding4],
          localise: {pairs: 3, gap: 10, seed: 1}}
sections:
  - kind: table
    id: tab
    title: kept table
    metrics:
      - {data: otb, metric: auc}
      - {data: vot, metric: accuracy}
      - {data: pairs, metric: loc_error, label: peak error}
    groups: [A]
    rows:
      - {label: net, cells: [kept-net]}
"""


def _cell(out: Path) -> dict:
    return json.loads((out / "report.json").read_text())["sections"][0]["rows"][0]["cells"][0]


@pytest.fixture()
def setup(data_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    specs = tmp_path / "specs"
    specs.mkdir()
    ckpt = tmp_path / "kept-net.pt"
    shutil.copy(REPO_ROOT / "trackers" / "weights" / "siamfc.pt", ckpt)
    spec = (REPO_ROOT / "trackers" / "siamfc.yaml").read_text()
    spec = spec.replace("name: siamfc", "name: kept-net").replace(
        "checkpoint: weights/siamfc.pt", f"checkpoint: {ckpt}")
    (specs / "kept-net.yaml").write_text(spec.replace("train: pul_train", "train: make kept-net #"))
    monkeypatch.setenv("PULBENCH_TRACKERS", str(specs))
    manifest = specs / "weights" / "MANIFEST.yaml"  # the manifest beside the spec file
    manifest.parent.mkdir()
    update_manifest(manifest, "kept-net", ckpt, section="uncommitted")
    (tmp_path / "kept.yaml").write_text(RECIPE)
    return {"tmp": tmp_path, "ckpt": ckpt, "manifest": manifest, "data": data_root,
            "recipe": load_recipe(tmp_path / "kept.yaml"), "kept": tmp_path / "kept"}


def _members(folder: Path) -> list[str]:
    """What a kept folder packs (it holds nothing else beside its set-up record)."""
    assert sorted(p.name for p in folder.iterdir()) == [evaluation.KEPT_ARCHIVE, "run.json"]
    with tarfile.open(folder / evaluation.KEPT_ARCHIVE) as tar:
        return tar.getnames()


def _report(s: dict, name: str, keep: bool = False) -> dict:
    run_report(s["recipe"], s["data"], s["tmp"] / name, s["tmp"] / f"runs-{name}",
               kept=s["kept"], keep=keep)
    return _cell(s["tmp"] / name)


def test_kept_results_stand_in_for_an_absent_checkpoint(setup: dict) -> None:
    s = setup
    ran = _report(s, "ran", keep=True)
    assert ran["status"] == "ok"
    otb = s["kept"] / "results" / "otb" / "kept-net"
    assert _members(otb) == ["dtb_SnowBoarding4.txt"]  # timings are not scores: not committed
    vot = s["kept"] / "results" / "vot" / "kept-net"
    assert "baseline/ball1/ball1_001.txt" in _members(vot)
    assert not [n for n in _members(vot) if "_time." in n]
    assert _members(s["kept"] / "localise" / "otb" / "kept-net") == ["pairs.json"]
    packed = (otb / evaluation.KEPT_ARCHIVE).read_bytes()
    evaluation.pack_kept(s["tmp"] / "runs-ran" / "results" / "otb" / "kept-net", otb)
    assert (otb / evaluation.KEPT_ARCHIVE).read_bytes() == packed  # git sees no change

    s["ckpt"].unlink()  # as on a clone: the checkpoint was never committed
    again = _report(s, "again")
    assert again["status"] == "ok"
    assert again["scores"] == ran["scores"]
    assert not (s["tmp"] / "runs-again").exists()  # nothing ran

    # an incomplete copy does not stand in; the complete ones still do
    lost = s["tmp"] / "runs-ran" / "results" / "vot" / "kept-net" / "baseline" / "ball1"
    (lost / "ball1_001.txt").unlink()
    evaluation.pack_kept(lost.parents[1], vot)
    cell = _report(s, "incomplete")
    assert cell["ours"]["VOT accuracy"] is None and "vot" not in cell["scores"]
    assert cell["ours"]["OTB AUC"] == ran["ours"]["OTB AUC"]
    report = json.loads((s["tmp"] / "incomplete" / "report.json").read_text())
    assert [n["tracker"] for n in report["not_ready"]] == ["kept-net"]

    other = s["tmp"] / "other" / "kept-net.pt"  # retrained: the manifest lists another file
    other.parent.mkdir()
    shutil.copy(REPO_ROOT / "trackers" / "weights" / "alexpul-bd.pt", other)
    update_manifest(s["manifest"], "kept-net", other, section="uncommitted")
    cell = _report(s, "stale")
    assert cell["status"] == "not trained" and cell["scores"] == {}
    assert cell["train"] == "make kept-net"


def test_a_damaged_kept_archive_is_one_error_naming_it(setup: dict) -> None:
    s = setup
    _report(s, "ran", keep=True)
    archive = s["kept"] / "results" / "otb" / "kept-net" / evaluation.KEPT_ARCHIVE
    archive.write_bytes(archive.read_bytes()[:100])
    with pytest.raises(InputError, match=r"kept-net/kept\.tar\.xz: not a readable results archive"):
        _report(s, "damaged")
