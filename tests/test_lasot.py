"""LaSOT scoring on the real test-split annotations and the published ATOM / DiMP-50 raw results
(../shared/data/reference/lasot), checked against the published numbers and the toolkit's rules."""

from __future__ import annotations

import json
import re
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from pul_bench.analysis.otb import score
from pul_bench.benchmarks import get_benchmark
from pul_bench.cli import cli
from pul_bench.datasets.lasot import ATTRIBUTES
from pul_bench.datasets.otb import load_otb
from pul_bench.errors import InputError

SAMPLE = ["airplane-1", "monkey-17"]  # monkey-17: the toolkit's own truncation example


@pytest.fixture(scope="module")
def lasot(data_root: Path) -> Path:
    return data_root / "reference" / "lasot"


@pytest.fixture(scope="module")
def scores(lasot: Path) -> dict:
    return score(get_benchmark("lasot"), [lasot / "results" / "ATOM", lasot / "results" / "DiMP50"],
                 lasot, resamples=0)


def test_published_atom_and_dimp50_are_reproduced(scores: dict) -> None:
    atom, dimp = scores["ATOM"], scores["DiMP50"]
    assert atom["n_sequences"] == dimp["n_sequences"] == 280 and atom["missing"] == []
    assert round(atom["auc"], 3) == 0.514  # published success AUC
    assert round(atom["dp20"], 3) == 0.505  # published precision
    assert abs(dimp["auc"] - 0.569) <= 0.003  # published as a 5-run mean; this file is one run
    assert 0 < atom["norm_prec"] < 1 and dimp["norm_prec"] > atom["norm_prec"]


def test_fourteen_attributes_in_the_toolkits_order(scores: dict, lasot: Path) -> None:
    flags = np.array([np.loadtxt(lasot / "anno" / "att" / f"{s}.txt", delimiter=",")
                      for s in get_benchmark("lasot").sequences])
    per_att = scores["ATOM"]["per_attribute"]
    assert list(per_att) == list(ATTRIBUTES)
    assert [per_att[a]["n"] for a in ATTRIBUTES] == flags.sum(axis=0).astype(int).tolist()


def test_absent_frames_count_as_failures(lasot: Path, tmp_path: Path) -> None:
    """Ground truth scored against itself: every present, annotated frame overlaps fully (a
    success below threshold 1), absent frames fail, and the denominator is the full length."""
    gt_dir = tmp_path / "GroundTruth"
    gt_dir.mkdir()
    names = ["airplane-1", "fox-20", "goldfish-10"]
    for n in names:
        shutil.copy(lasot / "anno" / f"{n}.txt", gt_dir / f"{n}.txt")
    per_seq = score(get_benchmark("lasot"), [gt_dir], lasot, resamples=0)["GroundTruth"][
        "per_sequence"]
    assert any(np.loadtxt(lasot / "anno" / "absent" / f"{n}.txt").any() for n in names)
    for n in names:
        gt = np.loadtxt(lasot / "anno" / f"{n}.txt", delimiter=",")
        absent = np.loadtxt(lasot / "anno" / "absent" / f"{n}.txt").astype(bool)
        present = ~absent & (gt > 0).all(axis=1)
        assert per_seq[n]["auc"] == pytest.approx(20 / 21 * present.sum() / len(gt), abs=1e-12)
        assert per_seq[n]["dp20"] == pytest.approx((~absent).sum() / len(gt), abs=1e-12)


def test_official_layout_scores_as_the_annotation_copy(lasot: Path, scores: dict,
                                                       tmp_path: Path) -> None:
    """``<class>/<class>-<n>/`` with groundtruth.txt, full_occlusion.txt, out_of_view.txt, img/."""
    root = tmp_path / "LaSOT"
    for n in SAMPLE:
        d = root / n.rsplit("-", 1)[0] / n
        (d / "img").mkdir(parents=True)
        shutil.copy(lasot / "anno" / f"{n}.txt", d / "groundtruth.txt")
        absent = np.loadtxt(lasot / "anno" / "absent" / f"{n}.txt").astype(int)
        half = np.arange(len(absent)) % 2 == 0  # split the flags over the two files
        (d / "full_occlusion.txt").write_text(",".join(map(str, absent * half)))
        (d / "out_of_view.txt").write_text(",".join(map(str, absent * ~half)))
        for k in range(1, len(absent) + 2):  # one image more than annotated, as monkey-17
            (d / "img" / f"{k:08d}.jpg").touch()
    out = score(get_benchmark("lasot"), [lasot / "results" / "ATOM"], root, resamples=0)["ATOM"]
    assert out["n_sequences"] == 2 and len(out["missing"]) == 278
    for n in SAMPLE:
        assert out["per_sequence"][n] == scores["ATOM"]["per_sequence"][n]
    assert set(out["per_attribute"]) <= set(ATTRIBUTES)


def test_long_result_is_cut_with_a_note_and_strict_refuses(lasot: Path, scores: dict,
                                                           tmp_path: Path,
                                                           capsys: pytest.CaptureFixture) -> None:
    res = tmp_path / "ATOM"
    res.mkdir()
    for n in SAMPLE:
        shutil.copy(lasot / "results" / "ATOM" / f"{n}.txt", res / f"{n}.txt")
    rows = len((lasot / "anno" / "airplane-1.txt").read_text().split())
    with open(res / "airplane-1.txt", "a") as f:
        f.write("1,1,10,10\n")
    out = score(get_benchmark("lasot"), [res], lasot, resamples=0)["ATOM"]
    assert re.search(rf"note: .*airplane-1.txt:{rows + 1}: .*cut", capsys.readouterr().err)
    assert out["per_sequence"]["airplane-1"] == scores["ATOM"]["per_sequence"]["airplane-1"]
    with pytest.raises(InputError, match=rf"airplane-1.txt:{rows + 1}: "):
        score(get_benchmark("lasot"), [res], lasot, resamples=0, strict=True)
    with open(res / "monkey-17.txt", "w") as f:  # shorter than the ground truth: the toolkit fails
        f.write("1,1,10,10\n")
    with pytest.raises(InputError, match=r"monkey-17.txt:1: only 1 boxes"), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")
        score(get_benchmark("lasot"), [res], lasot, resamples=0)


def test_cli_score_lasot_json(lasot: Path, scores: dict) -> None:
    out = CliRunner().invoke(cli, ["score", "lasot", str(lasot / "results" / "ATOM"), "--json",
                                   "--bootstrap", "0"])
    assert out.exit_code == 0, out.output
    got = json.loads(out.stdout)["ATOM"]
    assert (got["auc"], got["dp20"], got["norm_prec"]) == (
        scores["ATOM"]["auc"], scores["ATOM"]["dp20"], scores["ATOM"]["norm_prec"])
    assert len(got["per_sequence"]) == 280 and len(got["per_attribute"]) == 14
    assert got["benchmark"] == "lasot"
    out = CliRunner().invoke(cli, ["score", "lasot", str(lasot / "results" / "ATOM"),
                                   "--bootstrap", "0"])
    title, _, atom = out.stdout.splitlines()[:3]
    assert title == "lasot one-pass scores (matlab convention)"  # not 'OTB ...'
    assert atom.split()[:3] == ["ATOM", f"{got['auc']:.3f}", f"{got['dp20']:.3f}"]


def test_plots_include_normalised_precision_and_attributes(lasot: Path, tmp_path: Path) -> None:
    out = CliRunner().invoke(cli, ["plot", "lasot", str(lasot / "results" / "ATOM"),
                                   str(lasot / "results" / "DiMP50"), "--out", str(tmp_path)])
    assert out.exit_code == 0, out.output
    for stem in ("success", "precision", "norm_precision", "attributes"):
        assert (tmp_path / f"{stem}.png").stat().st_size > 0, stem
        assert (tmp_path / f"{stem}.pdf").is_file(), stem
    perf = json.loads((tmp_path / "performance.json").read_text())
    assert len(perf["DiMP50"]["norm_precision_curve"]) == 51
    assert perf["DiMP50"]["norm_precision_curve"][20] == perf["DiMP50"]["norm_prec"]


@pytest.mark.parametrize("flags", ["0\n2\n", "0\n", "01\n"])
def test_bad_absent_flags_name_the_file(lasot: Path, tmp_path: Path, flags: str) -> None:
    (tmp_path / "anno" / "absent").mkdir(parents=True)
    gt = "\n".join((lasot / "anno" / "airplane-1.txt").read_text().splitlines()[:2]) + "\n"
    (tmp_path / "anno" / "airplane-1.txt").write_text(gt)
    (tmp_path / "anno" / "absent" / "airplane-1.txt").write_text(flags)
    with pytest.raises(InputError, match=r"absent/airplane-1.txt: expected 2 flags"):
        load_otb(get_benchmark("lasot"), tmp_path)


def test_eval_on_the_official_layout(otb_sequences: Path, tmp_path: Path) -> None:
    """``pulbench eval lasot`` on a LaSOT-layout folder (real frames and boxes of OTB's Crossing
    standing in for airplane-1, 5 frames flagged out of view): runs, scores, plots."""
    d = tmp_path / "LaSOT" / "airplane" / "airplane-1"
    (d / "img").mkdir(parents=True)
    gt = (otb_sequences / "Crossing" / "groundtruth_rect.txt").read_text().replace("\t", ",")
    (d / "groundtruth.txt").write_text(gt)
    n = len(gt.split())
    (d / "full_occlusion.txt").write_text(",".join("0" * n))
    (d / "out_of_view.txt").write_text(",".join("1" if 50 <= k < 55 else "0" for k in range(n)))
    for k, img in enumerate(sorted((otb_sequences / "Crossing" / "img").glob("*.jpg")), 1):
        (d / "img" / f"{k:08d}.jpg").symlink_to(img)
    out = CliRunner().invoke(cli, ["eval", "lasot", "kcf", "--root", str(tmp_path / "LaSOT"),
                                   "--sequences", "airplane-1", "--out", str(tmp_path / "runs"),
                                   "--json", "--bootstrap", "0"])
    assert out.exit_code == 0, out.output
    s = json.loads(out.stdout)["kcf"]
    assert s["n_sequences"] == 1 and s["dp20"] <= (n - 5) / n  # absent frames fail
    reports = tmp_path / "runs" / "reports" / "lasot"
    for stem in ("success", "precision", "norm_precision"):
        assert (reports / f"{stem}.png").is_file(), stem
