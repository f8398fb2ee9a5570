"""OTB TRE and SRE: run starts and shifted boxes against the MATLAB toolkit's definitions and
published runs, scoring as genPerfMat.m pools runs, and a real resumable run."""

from __future__ import annotations

import csv
import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest
import scipy.stats as sps
from PIL import Image

from pul_bench import plots, protocols
from pul_bench.analysis.otb import score
from pul_bench.benchmarks import get_benchmark
from pul_bench.cli import main
from pul_bench.datasets.otb import load_otb, read_boxes
from pul_bench.errors import PulBenchError
from pul_bench.experiments.ope import evaluate
from pul_bench.metrics.ope import OVERLAP_THRESHOLDS
from pul_bench.results import format_otb_boxes

OTB2015 = get_benchmark("otb2015")
#: IVT's published TRE/SRE runs (source and meaning of each field inside the file).
PUBLISHED = json.loads((Path(__file__).parent / "fixtures" / "otb_ivt_tre_sre.json").read_text())


def _bench(*names: str):
    return dataclasses.replace(OTB2015, sequences=names)


def test_tre_starts_match_the_published_runs_of_49_sequences(otb_reference: Path) -> None:
    runs = PUBLISHED["tre_starts"]["runs"]
    seqs, missing = load_otb(_bench(*runs), otb_reference)
    assert not missing and len(seqs) == 49
    for s in seqs:
        starts = protocols.tre_starts(s, protocols.find_init_omit(s.name, [
            otb_reference / "initOmit"]))
        assert [r + 1 for r in starts] == runs[s.name], s.name


def test_tre_starts_by_hand_from_splitseqtre(otb_reference: Path) -> None:
    # Basketball, 725 frames, initOmit 8-27, 619-628, 639-659: 674 allowed starts, of which
    # E = 655 leave 20 frames (the last, frame 706); run k starts at candidate
    # floor(1 + k*655/19), run 20 at candidate 655. Candidate i is frame i up to 7, i + 20 up
    # to frame 618, i + 30 up to 638, then i + 51.
    (s,), _ = load_otb(_bench("Basketball"), otb_reference)
    omit = protocols.find_init_omit("Basketball", [otb_reference / "initOmit"])
    assert omit.tolist() == [[8, 27], [619, 628], [639, 659]]
    picks = [math.floor(1 + k * 655 / 19) for k in range(19)] + [655]

    def frame(i: int) -> int:
        return i if i <= 7 else i + 20 if i + 20 <= 618 else i + 30 if i + 30 <= 638 else i + 51

    assert [r + 1 for r in protocols.tre_starts(s, omit)] == [frame(i) for i in picks]
    # Tiger1's one-pass sequence starts at frame 6 (initOmit "1 5"): so does its first run.
    (t,), _ = load_otb(_bench("Tiger1"), otb_reference)
    first = protocols.tre_starts(t, protocols.find_init_omit("Tiger1", [
        otb_reference / "initOmit"]))
    assert t.start_frame == 6 and first[0] == 0 and len(first) == 20


def test_shift_box_by_hand_from_shiftinitbb() -> None:
    # ceil(0.1*30) = 3 (the Python port's round(0.1*w + 0.5) would move it by 4)
    box = [100.0, 50.0, 30.0, 25.0]
    assert protocols.shift_box(box, "left", 480, 640) == [97.0, 50.0, 30.0, 25.0]
    assert protocols.shift_box(box, "down", 480, 640) == [100.0, 53.0, 30.0, 25.0]
    # corners: round(x - 3) = 97, round(y - 2.5) = 48 (halves away from zero), br kept
    assert protocols.shift_box(box, "topLeft", 480, 640) == [97.0, 48.0, 33.0, 27.0]
    assert protocols.shift_box(box, "bottomRight", 480, 640) == [100.0, 50.0, 33.0, 28.0]
    # scale 0.8 about the centre (115, 62.5): round([103, 52.5, 24, 20])
    assert protocols.shift_box(box, "scale_8", 480, 640) == [103.0, 53.0, 24.0, 20.0]
    # clipped to a 60 x 120 image: x >= 1 (w kept), right edge <= 120, bottom edge <= 60
    assert protocols.shift_box([2.0, 40.0, 30.0, 25.0], "left", 60, 120) == [1.0, 40.0, 30.0,
                                                                              21.0]
    assert protocols.shift_box([100.0, 5.0, 30.0, 25.0], "scale_12", 60, 120) == [
        97.0, 3.0, 24.0, 30.0]


def test_sre_boxes_match_the_published_runs(otb_sequences: Path, otb_reference: Path) -> None:
    published = PUBLISHED["sre_first_box"]["runs"]
    seqs, missing = load_otb(_bench(*published), otb_sequences)
    assert not missing
    for s in seqs:
        with Image.open(s.frames[0]) as im:
            size = (im.height, im.width)
        runs = protocols.runs(s, "sre", protocols.find_init_omit(s.name, [
            otb_reference / "initOmit"]), size)
        assert [r.k for r in runs] == list(range(1, 13))
        for run, shift in zip(runs, protocols.SHIFTS, strict=True):
            cx, cy, sw, sh = published[s.name][shift]
            x, y, w, h = run.init_box
            x, y = x + 1, y + 1  # the toolkit's 1-based box
            # IVT reports the size as a 32 px template scale (4 decimals) and the centre
            # x + w/2 rounded as MATLAB rounds
            assert abs(32 * sw - w) < 0.01 and abs(32 * sh - h) < 0.01, (s.name, shift)
            assert (cx, cy) == (math.floor(x + w / 2 + 0.5), math.floor(y + h / 2 + 0.5)), \
                (s.name, shift)


def _inclusive_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """calcRectInt.m, written out: pixels counted inclusively."""
    iw = np.maximum(0, np.minimum(a[:, 0] + a[:, 2] - 1, b[:, 0] + b[:, 2] - 1)
                    - np.maximum(a[:, 0], b[:, 0]) + 1)
    ih = np.maximum(0, np.minimum(a[:, 1] + a[:, 3] - 1, b[:, 1] + b[:, 3] - 1)
                    - np.maximum(a[:, 1], b[:, 1]) + 1)
    inter = iw * ih
    return inter / (a[:, 2] * a[:, 3] + b[:, 2] * b[:, 3] - inter)


def _genperfmat_curve(anno: np.ndarray, runs: list[tuple[int, np.ndarray]]) -> np.ndarray:
    """One sequence's TRE/SRE success curve as genPerfMat.m computes it (1-based boxes):
    success counts summed over the runs, divided by the summed run lengths."""
    counts = np.zeros(len(OVERLAP_THRESHOLDS))
    total = 0
    for start, res in runs:
        gt, res = anno[start:], res.copy()
        for i in range(1, len(res)):
            if (np.isnan(res[i]).any() or res[i, 2] <= 0 or res[i, 3] <= 0) \
                    and not np.isnan(gt[i]).any():
                res[i] = res[i - 1]
        res[0] = gt[0]
        ok = (gt > 0).all(axis=1)
        overlap = np.full(len(gt), -1.0)
        overlap[ok] = _inclusive_iou(res[ok], gt[ok])
        counts += [(overlap > t).sum() for t in OVERLAP_THRESHOLDS]
        total += len(gt)
    return counts / total


def _stand_in_tre_runs(folder: Path, otb_reference: Path, names: tuple[str, ...],
                       tracker: str = "KCF") -> dict[str, np.ndarray]:
    """Write TRE runs made of a real tracker's boxes (run k: its published one-pass result
    from the run's start frame on); return each sequence's curve as genPerfMat.m has it."""
    seqs, _ = load_otb(_bench(*names), otb_reference)
    omit = [otb_reference / "initOmit"]
    folder.mkdir(parents=True)
    expected = {}
    for s in seqs:
        kcf = read_boxes(otb_reference / "results" / tracker / f"{s.name}.txt")
        starts = protocols.tre_starts(s, protocols.find_init_omit(s.name, omit))
        for k, a in enumerate(starts, 1):
            (folder / f"{s.name}_{k}.txt").write_text(format_otb_boxes(kcf[a:] - [1, 1, 0, 0]))
        expected[s.name] = _genperfmat_curve(s.groundtruth + [1, 1, 0, 0],
                                             [(a, kcf[a:]) for a in starts])
    return expected


def test_tre_scoring_pools_runs_as_genperfmat(tmp_path: Path, otb_reference: Path) -> None:
    names = ("Girl", "Crossing", "Basketball", "Coke")
    folder = tmp_path / "KCF" / "tre"
    expected = _stand_in_tre_runs(folder, otb_reference, names)
    got = score(_bench(*names), [tmp_path / "KCF"], otb_reference, protocol="tre",
                resamples=0)["KCF"]
    assert got["protocol"] == "tre" and got["n_sequences"] == 4
    for name, curve in expected.items():
        assert got["per_sequence"][name]["auc"] == pytest.approx(curve.mean(), abs=1e-12)
    assert got["success_curve"] == pytest.approx(np.mean(list(expected.values()), axis=0),
                                                 abs=1e-12)
    # one run missing: the sequence is listed, not scored from a partial set
    (folder / "Coke_7.txt").unlink()
    partial = score(_bench(*names), [tmp_path / "KCF"], otb_reference, protocol="tre",
                    resamples=0)["KCF"]
    assert partial["missing"] == ["Coke"] and "Coke" not in partial["per_sequence"]


def test_compare_pairs_the_pooled_tre_values(tmp_path: Path, otb_reference: Path,
                                              capsys: pytest.CaptureFixture) -> None:
    names = ("Girl", "Crossing", "Basketball", "Coke", "Dog1", "Football1", "Diving", "Tiger1")
    curves = {t: _stand_in_tre_runs(tmp_path / t / "tre", otb_reference, names, t)
              for t in ("SRDCF", "KCF")}
    main(["compare", "otb2015", str(tmp_path / "SRDCF"), str(tmp_path / "KCF"), "--root",
          str(otb_reference), "--protocol", "tre", "--json", "--bootstrap", "500"])
    (pair,) = json.loads(capsys.readouterr().out)
    diffs = np.array([curves["SRDCF"][n].mean() - curves["KCF"][n].mean() for n in names])
    assert (pair["a"], pair["b"], pair["n_sequences"]) == ("SRDCF", "KCF", len(names))
    assert pair["delta"] == pytest.approx(diffs.mean(), abs=1e-12)
    assert pair["p_value"] == pytest.approx(sps.wilcoxon(diffs).pvalue, rel=1e-12)
    main(["compare", "otb2015", str(tmp_path / "SRDCF"), str(tmp_path / "KCF"), "--root",
          str(otb_reference), "--protocol", "tre", "--bootstrap", "0"])
    assert capsys.readouterr().out.startswith("otb2015 TRE: auc, 2 trackers")
    with pytest.raises(SystemExit):
        main(["compare", "vot2018", "a", "b", "--protocol", "sre"])
    assert "--protocol sre applies to OTB benchmarks, not vot2018" in capsys.readouterr().err


def test_plot_command_draws_tre(tmp_path: Path, otb_reference: Path,
                                capsys: pytest.CaptureFixture, monkeypatch) -> None:
    titles: list[str] = []
    drawn = plots.success_plot
    monkeypatch.setattr(plots, "success_plot",
                        lambda scores, title, styles=None: titles.append(title)
                        or drawn(scores, title, styles))
    expected = _stand_in_tre_runs(tmp_path / "KCF" / "tre", otb_reference, ("Girl", "Coke"))
    main(["plot", "otb2015", str(tmp_path / "KCF"), "--out", str(tmp_path / "plots"), "--root",
          str(otb_reference), "--protocol", "tre"])
    assert "otb2015 TRE scores (matlab convention)" in capsys.readouterr().out
    perf = json.loads((tmp_path / "plots" / "performance.json").read_text())["KCF"]
    assert perf["protocol"] == "tre" and sorted(perf["per_sequence"]) == ["Coke", "Girl"]
    assert perf["auc"] == pytest.approx(np.mean(list(expected.values())), abs=1e-12)
    assert titles == ["Success plots of TRE on OTB2015 (2 sequences)"]
    assert (tmp_path / "plots" / "success.png").is_file()


def test_sre_of_identical_runs_is_the_toolkits_one_pass_score(tmp_path: Path,
                                                                otb_reference: Path) -> None:
    # Twelve copies of one result pool to that result's one-pass curve, so the SRE scorer must
    # give the MATLAB toolkit's own per-sequence output for KCF.
    with open(otb_reference / "matlab_toolkit_per_sequence.csv", newline="") as f:
        official = {r["sequence"]: r for r in csv.DictReader(f) if r["tracker"] == "KCF"}
    names = ("Girl", "Crossing", "Dog1", "Tiger2")
    folder = tmp_path / "KCF" / "sre"
    folder.mkdir(parents=True)
    for name in names:
        text = (otb_reference / "results" / "KCF" / f"{name}.txt").read_text()
        for k in range(1, 13):
            (folder / f"{name}_{k}.txt").write_text(text)
    got = score(_bench(*names), [tmp_path / "KCF"], otb_reference, protocol="sre",
                resamples=0)["KCF"]
    for name in names:
        assert got["per_sequence"][name]["auc"] == pytest.approx(
            float(official[name]["auc"]), abs=5e-7)
        assert got["per_sequence"][name]["dp20"] == pytest.approx(
            float(official[name]["dp20"]), abs=5e-7)


def test_tre_and_sre_need_the_matlab_convention_and_initomit(tmp_path: Path,
                                                              otb_reference: Path) -> None:
    (tmp_path / "KCF" / "tre").mkdir(parents=True)
    with pytest.raises(PulBenchError, match="MATLAB OTB toolkit only"):
        score(_bench("Girl"), [tmp_path / "KCF"], otb_reference, convention="pysot",
              protocol="tre")
    with pytest.raises(PulBenchError, match="no sequence has all its TRE runs"):
        score(_bench("Girl"), [tmp_path / "KCF"], otb_reference, protocol="tre")
    root = tmp_path / "root"
    (root / "anno").mkdir(parents=True)
    (root / "anno" / "Girl.txt").write_bytes((otb_reference / "anno" / "Girl.txt").read_bytes())
    # the shared annotation copy is where the benchmark value says, not an environment lookup
    no_copy = dataclasses.replace(_bench("Girl"), data=tmp_path / "nowhere")
    with pytest.raises(PulBenchError, match="initOmit"):
        score(no_copy, [tmp_path / "KCF"], root, protocol="tre")
    assert protocols.init_omit_dirs(_bench("Girl"), root) == [
        get_benchmark("otb2015", otb_reference.parents[1]).annotation_copy() / "initOmit"]


def _files(folder: Path) -> dict[str, tuple[int, str]]:
    return {p.name: (p.stat().st_mtime_ns, p.read_text()) for p in sorted(folder.glob("*.txt"))}


@pytest.mark.slow
def test_tre_run_resumes_run_by_run(tmp_path: Path, otb_sequences: Path,
                                    capsys: pytest.CaptureFixture) -> None:
    bench = _bench("Football1")
    first = evaluate(bench, "kcf", otb_sequences, tmp_path, resamples=0, protocol="tre")["kcf"]
    folder = tmp_path / "results" / "otb2015" / "kcf" / "tre"
    before = _files(folder)
    assert len(before) == 20 and len(_files(folder / "times")) == 20
    (s,), _ = load_otb(bench, otb_sequences)
    starts = protocols.tre_starts(s, np.zeros((0, 2)))  # Football1 has no initOmit file
    for k, a in enumerate(starts, 1):
        rows = read_boxes(folder / f"Football1_{k}.txt")
        assert len(rows) == len(s) - a
        assert rows[0] == pytest.approx(s.groundtruth[a] + [1, 1, 0, 0])  # init box reported
    # a killed run: two runs lost; only those are redone, to the same boxes and scores
    for k in (5, 17):
        (folder / f"Football1_{k}.txt").unlink()
    again = evaluate(bench, "kcf", otb_sequences, tmp_path, resamples=0, protocol="tre")["kcf"]
    after = _files(folder)
    assert {n: v[1] for n, v in after.items()} == {n: v[1] for n, v in before.items()}
    redone = {n for n in after if after[n][0] != before[n][0]}
    assert redone == {"Football1_5.txt", "Football1_17.txt"}
    assert again["success_curve"] == first["success_curve"]
    report = tmp_path / "reports" / "otb2015" / "tre"
    assert json.loads((report / "performance.json").read_text())["kcf"]["protocol"] == "tre"
    assert (report / "success.png").is_file()
    # and `pulbench score --protocol tre` reads the same folder to the same numbers
    capsys.readouterr()
    main(["score", "otb2015", str(folder.parent), "--root", str(otb_sequences), "--protocol",
          "tre", "--json", "--bootstrap", "0"])
    assert json.loads(capsys.readouterr().out)["kcf"]["auc"] == first["auc"]


@pytest.mark.slow
def test_sre_run_starts_from_the_shifted_boxes(tmp_path: Path, otb_sequences: Path,
                                               monkeypatch) -> None:
    titles: list[str] = []
    drawn = plots.success_plot
    monkeypatch.setattr(plots, "success_plot",
                        lambda scores, title, styles=None: titles.append(title)
                        or drawn(scores, title, styles))
    bench = _bench("Football1")
    got = evaluate(bench, "kcf", otb_sequences, tmp_path, resamples=0, protocol="sre")["kcf"]
    folder = tmp_path / "results" / "otb2015" / "kcf" / "sre"
    (s,), _ = load_otb(bench, otb_sequences)
    runs = protocols.runs(s, "sre", np.zeros((0, 2)), (288, 352))
    for r in runs:
        rows = read_boxes(folder / f"Football1_{r.k}.txt")
        assert len(rows) == len(s)
        assert rows[0] == pytest.approx(np.add(r.init_box, [1, 1, 0, 0]))
    assert got["protocol"] == "sre" and got["n_sequences"] == 1
    assert titles == ["Success plots of SRE on OTB2015 (1 sequences)"]
    assert (tmp_path / "reports" / "otb2015" / "sre" / "success.png").is_file()
