"""``pulbench report``: a small report regenerated from real sequences, its JSON checked against
scores computed independently (the scorers on the raw files, or plain numpy)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from pul_bench.analysis import otb as otb_analysis
from pul_bench.analysis import stats
from pul_bench.analysis import vot as vot_analysis
from pul_bench.benchmarks import get_benchmark
from pul_bench.datasets.otb import load_otb
from pul_bench.errors import InputError
from pul_bench.reports.build import run_report
from pul_bench.reports.recipe import load_recipe

SEQS = ["Crossing", "Football1"]
RECIPE = """
title: tiny report
scale: "test scale, no training"
data:
  otb: {benchmark: otb, root: sequences/otb, sequences: [Crossing, Football1]}
  vot: {benchmark: vot, root: sequences/vot, sequences: [ball1], eao_interval: [20, 100]}
sections:
  - kind: table
    id: tab
    title: tiny table
    metrics:
      - {data: otb, metric: auc}
      - {data: otb, metric: dp20}
      - {data: vot, metric: eao}
    groups: [A]
    rows:
      - label: identity
        cells: [{tracker: identity, paper: [0.25, null, 0.1]}]
      - label: kcf
        cells: [kcf]
      - label: ghost
        cells: [{tracker: identity, checkpoint: no/such/ghost.pt, train: "make ghost"}]
  - kind: compare
    id: cmp
    title: tiny compare
    data: otb
    published: reference/otb/results
    published_trackers: [KCF, SiamFC-3s_CFNetRelease]
    annotations: reference/otb
    trackers: [identity]
  - kind: clip-length
    id: clips
    title: tiny clips
    data: otb
    lengths: [10, 50]
    max_clips: 2
    trackers: [identity]
  - kind: curve
    id: noise
    title: tiny curve
    data: otb
    metric: auc
    x_label: noise
    series:
      - {label: BCE, tracker: identity, x: [1, 2], checkpoint: "no/such/n{x}.pt"}
    references: [identity]
"""


@pytest.fixture(scope="module")
def report(data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("report")
    (tmp / "tiny.yaml").write_text(RECIPE)
    recipe = load_recipe(tmp / "tiny.yaml")
    run_report(recipe, data_root, tmp / "out", tmp / "runs")
    return {"tmp": tmp, "recipe": recipe, "data_root": data_root,
            "json": json.loads((tmp / "out" / "report.json").read_text())}


def _section(report: dict, sid: str) -> dict:
    return next(s for s in report["json"]["sections"] if s["id"] == sid)


def _otb(data_root: Path) -> tuple[list, object]:
    bench = dataclasses.replace(get_benchmark("otb"), sequences=tuple(SEQS))
    seqs, _ = load_otb(bench, data_root / "sequences" / "otb")
    return seqs, bench


@pytest.mark.slow
def test_table_matches_scorers(report: dict) -> None:
    rows = {r["label"]: r["cells"][0] for r in _section(report, "tab")["rows"]}
    data_root, runs = report["data_root"], report["tmp"] / "runs"
    seqs, bench = _otb(data_root)
    # kcf: the OTB scorer on the raw files the report left in the shared runs folder
    kcf = otb_analysis.score(bench, [runs / "results" / "otb" / "kcf"],
                             data_root / "sequences" / "otb")["kcf"]
    assert rows["kcf"]["ours"]["OTB AUC"] == pytest.approx(kcf["auc"], abs=1e-12)
    assert rows["kcf"]["ours"]["OTB DP@20"] == pytest.approx(kcf["dp20"], abs=1e-12)
    # identity: its boxes are the first ground-truth box, scored in memory
    ident = otb_analysis.score_results(
        seqs, {"i": {s.name: np.tile(s.groundtruth[0], (len(s), 1)) for s in seqs}})["i"]
    assert rows["identity"]["ours"]["OTB AUC"] == pytest.approx(ident["auc"], abs=1e-12)
    assert rows["identity"]["paper"] == {"OTB AUC": 0.25, "OTB DP@20": None, "VOT EAO": 0.1}
    vot_bench = dataclasses.replace(get_benchmark("vot"), sequences=("ball1",),
                                    eao_interval=(20, 100))
    vot = vot_analysis.score(vot_bench,
                             [runs / "results" / "vot" / "identity"],
                             data_root / "sequences" / "vot")["identity"]
    assert rows["identity"]["ours"]["VOT EAO"] == pytest.approx(vot["eao"], abs=1e-12)
    assert rows["identity"]["scores"]["vot"]["eao_interval"] == [20, 100]
    assert 0 < rows["identity"]["ours"]["OTB AUC"] < rows["kcf"]["ours"]["OTB AUC"]
    ghost = rows["ghost"]
    assert ghost["status"] == "not trained" and ghost["train"] == "make ghost"
    assert set(ghost["ours"].values()) == {None}


@pytest.mark.slow
def test_compare_matches_published_scores(report: dict) -> None:
    sec = _section(report, "cmp")
    data_root = report["data_root"]
    assert sec["sequences"] == SEQS and sec["cut"] == {}
    ref = data_root / "reference" / "otb"
    bench = dataclasses.replace(get_benchmark("otb2015"), sequences=tuple(SEQS))
    for name in ("KCF", "SiamFC-3s_CFNetRelease"):
        # scored against the official annotation files, not the sequence folders' copies
        want = otb_analysis.score(bench, [ref / "results" / name], ref)[name]
        got = sec["trackers"][f"{name} (published)"]
        assert got["auc"] == pytest.approx(want["auc"], abs=1e-12)
        assert got["dp20"] == pytest.approx(want["dp20"], abs=1e-12)
    assert sec["trackers"]["identity (ours)"]["source"] == "ours"


@pytest.mark.slow
def test_clip_length_matches_numpy(report: dict) -> None:
    sec = _section(report, "clips")
    seqs, _ = _otb(report["data_root"])
    for length in (10, 50):
        per_clip, per_seq = [], []
        for s in seqs:
            windows = len(s) // length
            mine = []
            for start in sorted({0, (windows - 1) * length}):  # max_clips 2: first and last
                gt = s.groundtruth[start:start + length]
                c = gt[:, :2] + (gt[:, 2:] - 1) / 2  # MATLAB toolkit centre
                err = np.hypot(*(c - c[0]).T)
                ok = (err <= 20) | ~s.valid[start:start + length]
                mine.append(ok.mean())
            per_clip += mine
            per_seq.append(np.mean(mine))
        assert sec["clips"][str(length)]["count"] == len(per_clip)
        got = sec["trackers"][0]["lengths"][str(length)]
        assert got["dp20"] == pytest.approx(np.mean(per_clip), abs=1e-12)
        # a bootstrap over 2 sequences (each with its clips) draws one of them twice in a
        # quarter of the resamples each, so its 2.5% and 97.5% points are their clip means
        assert got["dp20_ci"] == pytest.approx([min(per_seq), max(per_seq)], abs=1e-12)
    assert sec["clips"]["10"]["starts_1based"]["Crossing"] == [1, 111]


@pytest.mark.slow
def test_missing_checkpoints_marked_never_scored(report: dict) -> None:
    sec = _section(report, "noise")
    points = sec["series"][0]["points"]
    assert [p["status"] for p in points] == ["not trained", "not trained"]
    assert all(p["value"] is None for p in points)
    assert sec["references"][0]["status"] == "ok"
    md = (report["tmp"] / "out" / "report.md").read_text()
    assert "make ghost" in md and "not trained" in md and "test scale, no training" in md
    assert {n["checkpoint"] for n in report["json"]["not_ready"]} == {
        "no/such/ghost.pt", "no/such/n1.pt", "no/such/n2.pt"}


@pytest.mark.slow
def test_figures_and_reuse(report: dict) -> None:
    out, runs = report["tmp"] / "out", report["tmp"] / "runs"
    for sec in report["json"]["sections"]:
        assert sec["figures"], sec["id"]
        for f in sec["figures"]:
            assert (out / f).stat().st_size > 1000
    kept = runs / "results" / "otb" / "kcf" / "Crossing.txt"
    before = kept.stat().st_mtime_ns
    run_report(report["recipe"], report["data_root"], out, runs)
    assert kept.stat().st_mtime_ns == before  # finished results are reused, not recomputed
    assert json.loads((out / "report.json").read_text())["sections"] == \
        report["json"]["sections"]


def test_bad_recipe_names_file_and_line(tmp_path: Path) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text(RECIPE.replace("    max_clips: 2\n", "    max_clips: 2\n    colour: red\n"))
    with pytest.raises(InputError, match=r"bad\.yaml:\d+: unknown key 'colour' in "
                                         r"clip-length section"):
        load_recipe(f)


@pytest.mark.slow
def test_intervals_and_verdicts(report: dict) -> None:
    rows = {r["label"]: r["cells"][0] for r in _section(report, "tab")["rows"]}
    kcf = rows["kcf"]
    assert kcf["ours_ci"]["OTB AUC"] == kcf["scores"]["otb"]["auc_ci"]
    lo, hi = kcf["ours_ci"]["OTB AUC"]
    assert lo <= kcf["ours"]["OTB AUC"] <= hi
    (auc_pair, _) = _section(report, "tab")["comparisons"]
    assert (auc_pair["a"], auc_pair["b"], auc_pair["metric"]) == ("kcf", "identity", "auc")
    assert auc_pair["delta"] == pytest.approx(kcf["ours"]["OTB AUC"]
                                              - rows["identity"]["ours"]["OTB AUC"], abs=1e-12)
    # two sequences: no Wilcoxon outcome can reach 5%, and the caption says so
    assert auc_pair["detectable"] is None and not auc_pair["significant"]
    md = (report["tmp"] / "out" / "report.md").read_text()
    assert "too few sequences for any difference to be significant" in md
    assert f"{kcf['ours']['OTB AUC']:.3f} [{lo:.2f}, {hi:.2f}]" in md
    cmp = _section(report, "cmp")["comparisons"]
    assert [(c["a"], c["b"]) for c in cmp] == [("identity (ours)", "KCF (published)"),
                                              ("identity (ours)",
                                               "SiamFC-3s_CFNetRelease (published)")]


def _second_seed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch | None, name: str,
                 factory: str, args: str = "{}") -> Path:
    """A tracker spec folder holding ``name`` (a stand-in for a training seed); put on the
    tracker search path when ``monkeypatch`` is given."""
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / f"{name}.yaml").write_text(f"name: {name}\ndescription: d\nfactory: {factory}\n"
                                        f"args: {args}\ndeterministic: true\n")
    if monkeypatch is not None:
        monkeypatch.setenv("PULBENCH_TRACKERS", str(specs))
    return specs


SEEDS_RECIPE = """
title: seeds report
scale: "test scale, no training"
data:
  otb: {benchmark: otb, root: sequences/otb, sequences: [Crossing, Football1]}
sections:
  - kind: table
    id: tab
    title: seeds table
    metrics:
      - {data: otb, metric: auc}
    groups: [A]
    rows:
      - label: identity
        cells: [identity]
      - label: kcf
        cells: [{tracker: kcf, seeds: 2}]
  - kind: compare
    id: cmp
    title: seeds beside published results
    data: otb
    published: reference/otb/results
    published_trackers: [KCF]
    trackers: [{tracker: kcf, seeds: 2}]
"""


@pytest.mark.slow
def test_seeds_are_merged(data_root: Path, tmp_path: Path, monkeypatch) -> None:
    """kcf with 'seeds: 2' is kcf and kcf-s2 (here a CSRT spec, so that the seeds differ)."""
    specs = _second_seed(tmp_path, None, "kcf-s2", "pul_bench.trackers.opencv:OpenCVTracker",
                         "{algorithm: csrt}")
    (tmp_path / "seeds.yaml").write_text(SEEDS_RECIPE)
    bad = tmp_path / "bad.yaml"
    bad.write_text(SEEDS_RECIPE.replace("tracker: kcf, seeds: 2", "tracker: identity, seeds: 2"))
    with pytest.raises(InputError, match=r"bad\.yaml:\d+: unknown tracker 'identity-s2'"):
        load_recipe(bad)  # every seed must be a registered tracker
    monkeypatch.setenv("PULBENCH_TRACKERS", str(specs))
    run_report(load_recipe(tmp_path / "seeds.yaml"), data_root, tmp_path / "out",
               tmp_path / "runs")
    sec = json.loads((tmp_path / "out" / "report.json").read_text())["sections"][0]
    kcf = sec["rows"][1]["cells"][0]
    seqs, bench = _otb(data_root)
    runs = tmp_path / "runs" / "results" / "otb"
    single = otb_analysis.score(bench, [runs / "kcf", runs / "kcf-s2"],
                                data_root / "sequences" / "otb")
    aucs = [single[t]["auc"] for t in ("kcf", "kcf-s2")]
    assert aucs[0] != aucs[1]
    assert kcf["ours"]["OTB AUC"] == pytest.approx(np.mean(aucs), abs=1e-12)
    assert kcf["scores"]["otb"]["n_seeds"] == 2
    assert kcf["scores"]["otb"]["auc_seed_sd"] == pytest.approx(np.std(aucs, ddof=1), abs=1e-12)
    lo, hi = kcf["ours_ci"]["OTB AUC"]
    assert lo <= np.mean(aucs) <= hi
    md = (tmp_path / "out" / "report.md").read_text()
    assert "1/2 training seed(s) per tracker" in md
    # the row-above comparison resamples the family's seeds too, as the claims section does
    (pair,) = sec["comparisons"]
    assert (pair["n_seeds_a"], pair["n_seeds_b"]) == (2, 1)
    # beside published results the family is named with its seeds and every score, SR@0.5
    # included, is the mean over seeds with its interval
    cmp = json.loads((tmp_path / "out" / "report.json").read_text())["sections"][1]
    ours = cmp["trackers"]["kcf (2 seeds) (ours)"]
    assert ours["auc"] == pytest.approx(np.mean(aucs), abs=1e-12)
    assert ours["sr50"] == pytest.approx(np.mean([single[t]["sr50"] for t in single]), abs=1e-12)
    lo, hi = ours["sr50_ci"]
    assert lo <= ours["sr50"] <= hi
    assert "| kcf (2 seeds) | ours (pul_bench) |" in md
    assert "a seed family's curve is the mean of its seeds' curves, without a band" in md



CLIP_SEEDS_RECIPE = """
title: clip seeds report
scale: "test scale, no training"
data:
  otb: {benchmark: otb, root: sequences/otb, sequences: [Diving, Football1]}
sections:
  - kind: clip-length
    id: clips
    title: clips over seeds
    data: otb
    lengths: [50]
    max_clips: 2
    trackers: [kcf, kcf-s2, {tracker: kcf, seeds: 2, label: both}]
"""


@pytest.mark.filterwarnings("error::UserWarning")  # one clip length: no singular x-axis
@pytest.mark.slow
def test_clip_length_seed_family_is_the_per_clip_seed_mean(data_root: Path, tmp_path: Path,
                                                          monkeypatch) -> None:
    """kcf with 'seeds: 2' (kcf-s2 a CSRT spec) scores each clip by the mean of kcf's and
    kcf-s2's DP@20 on it, reusing their clip runs."""
    _second_seed(tmp_path, monkeypatch, "kcf-s2", "pul_bench.trackers.opencv:OpenCVTracker",
                 "{algorithm: csrt}")
    (tmp_path / "clips.yaml").write_text(CLIP_SEEDS_RECIPE)
    run_report(load_recipe(tmp_path / "clips.yaml"), data_root, tmp_path / "out",
               tmp_path / "runs")
    sec = json.loads((tmp_path / "out" / "report.json").read_text())["sections"][0]
    got = {t["label"]: t["lengths"]["50"] for t in sec["trackers"]}
    one, two, both = got["kcf"]["scores"], got["kcf-s2"]["scores"], got["both"]["scores"]
    assert set(both["per_sequence"]) == set(one["per_sequence"]) and len(one["per_sequence"]) == 3
    for clip, v in both["per_sequence"].items():
        want = (one["per_sequence"][clip]["dp20"] + two["per_sequence"][clip]["dp20"]) / 2
        assert v["dp20"] == pytest.approx(want, abs=1e-12)
    assert got["both"]["dp20"] == pytest.approx((got["kcf"]["dp20"] + got["kcf-s2"]["dp20"]) / 2,
                                                abs=1e-12)
    assert got["kcf"]["dp20"] != got["kcf-s2"]["dp20"]
    lo, hi = got["both"]["dp20_ci"]
    assert lo <= got["both"]["dp20"] <= hi
    md = (tmp_path / "out" / "report.md").read_text()
    assert "a tracker with 2 training seeds scores each clip by the mean over its seeds" in md

BENCHMARKS_RECIPE = """
title: published results on LaSOT and UAV123
scale: "none: published raw results only"
data:
  lasot: {benchmark: lasot, root: reference/lasot}
  uav: {benchmark: uav123, root: reference/uav123, sequences: [uav6, uav2, bird1_1]}
sections:
  - kind: compare
    id: lasot
    title: LaSOT
    data: lasot
    published: reference/lasot/results
    trackers: []
    published_scores: {ATOM: {auc: 0.514, dp20: 0.505}}
  - kind: compare
    id: uav
    title: UAV123
    data: uav
    published: PUBLISHED
    trackers: []
"""


@pytest.mark.slow
def test_compare_sections_on_lasot_and_uav123(data_root: Path, tmp_path: Path) -> None:
    """Compare sections score each benchmark by its own rules (LaSOT: absent frames fail;
    UAV123: NaN ground-truth rows), as 'pulbench score' does, with verdicts between published
    trackers and all three curve figures. UAV123 has no published raw results in the shared
    data: its two folders are made from the real annotations (the first box held; the ground
    truth moved 4 px right)."""
    uav = data_root / "reference" / "uav123"
    names = ("uav6", "uav2", "bird1_1")
    pub = tmp_path / "uav-results"
    for folder in ("FirstBox", "Shift4"):
        (pub / folder).mkdir(parents=True)
    for name in names:
        gt = np.loadtxt(uav / "anno" / f"{name}.txt", delimiter=",")
        held = np.tile(gt[0], (len(gt), 1))
        np.savetxt(pub / "FirstBox" / f"{name}.txt", held, fmt="%g", delimiter=",")
        np.savetxt(pub / "Shift4" / f"{name}.txt", gt + [4, 0, 0, 0], fmt="%g", delimiter=",")
    (tmp_path / "b.yaml").write_text(BENCHMARKS_RECIPE.replace("PUBLISHED", str(pub)))
    run_report(load_recipe(tmp_path / "b.yaml"), data_root, tmp_path / "out", tmp_path / "runs")
    sections = {s["id"]: s for s in
                json.loads((tmp_path / "out" / "report.json").read_text())["sections"]}
    lasot = data_root / "reference" / "lasot"
    cases = (("lasot", "lasot", lasot, [lasot / "results" / t for t in ("ATOM", "DiMP50")]),
             ("uav", "uav123", uav, [pub / "FirstBox", pub / "Shift4"]))
    for sid, bench_name, root, dirs in cases:
        bench = get_benchmark(bench_name)
        if sid == "uav":
            bench = dataclasses.replace(bench, sequences=names)
        want = otb_analysis.score(bench, dirs, root)
        sec = sections[sid]
        for d in dirs:
            got = sec["trackers"][f"{d.name} (published)"]
            for key in ("auc", "dp20", "norm_prec", "auc_ci"):
                assert got[key] == pytest.approx(want[d.name][key], abs=1e-12), (sid, key)
        (pair,) = sec["published_comparisons"]
        a, b = sorted(want, key=lambda t: -want[t]["auc"])
        assert (pair["a"], pair["b"]) == (f"{a} (published)", f"{b} (published)")
        per_a, per_b = want[a]["per_sequence"], want[b]["per_sequence"]
        assert pair["delta"] == pytest.approx(
            np.mean([per_a[q]["auc"] - per_b[q]["auc"] for q in per_a]), abs=1e-12)
        assert sec["comparisons"] == []  # no trackers of ours
        assert [f for f in sec["figures"] if f.endswith(".png")] == [
            f"{sid}-success.png", f"{sid}-precision.png", f"{sid}-norm-precision.png"]
    assert round(sections["lasot"]["trackers"]["ATOM (published)"]["auc"], 3) == 0.514
    assert sections["lasot"]["published_comparisons"][0]["significant"]
    assert len(sections["lasot"]["sequences"]) == 280
    md = (tmp_path / "out" / "report.md").read_text()
    assert "- DiMP50 (published) better than ATOM (published): ΔAUC +0.05" in md
    assert "`pulbench score lasot` scores them" in md and "| airplane-1 | 0." in md
    # three sequences: no verdict can be significant, and the caption says so
    assert "too few sequences for any difference to be significant" in md


TRE_RECIPE = """
title: TRE in a report
scale: "test scale, no training"
data:
  otb: {benchmark: otb2015, root: sequences/otb, sequences: [Football1], protocol: tre}
sections:
  - kind: table
    id: tre
    title: TRE AUC
    metrics: [{data: otb, metric: auc}]
    groups: [A]
    rows:
      - {label: kcf, cells: [kcf]}
"""


@pytest.mark.slow
def test_recipe_data_source_runs_a_protocol(data_root: Path, tmp_path: Path) -> None:
    """'protocol: tre' runs and scores the toolkit's 20 TRE runs; VOT data cannot take it."""
    (tmp_path / "tre.yaml").write_text(TRE_RECIPE)
    run_report(load_recipe(tmp_path / "tre.yaml"), data_root, tmp_path / "out",
               tmp_path / "runs")
    cell = json.loads((tmp_path / "out" / "report.json").read_text())["sections"][0]
    cell = cell["rows"][0]["cells"][0]
    result_dir = tmp_path / "runs" / "results" / "otb2015" / "kcf"
    assert len(list((result_dir / "tre").glob("Football1_*.txt"))) == 20
    bench = dataclasses.replace(get_benchmark("otb2015"), sequences=("Football1",))
    want = otb_analysis.score(bench, [result_dir], data_root / "sequences" / "otb",
                              protocol="tre")["kcf"]["auc"]
    assert cell["scores"]["otb"]["auc"] == pytest.approx(want, abs=1e-12)
    bad = tmp_path / "bad.yaml"
    bad.write_text(TRE_RECIPE.replace("benchmark: otb2015, root: sequences/otb, "
                                      "sequences: [Football1]",
                                      "benchmark: vot, root: sequences/vot"))
    with pytest.raises(InputError, match=r"bad\.yaml:\d+: 'protocol: tre' applies to OTB-kind"):
        load_recipe(bad)


#: the six shortest shared OTB-layout sequences (702 frames), and three of them
SIX = ("dtb_SnowBoarding4", "Football1", "Human3", "dtb_MountainBike6", "Crossing", "uav_building5")
THREE = SIX[:3]
#: the three shortest train_labeled sequences (208 frames)
TL = ("uavdt_S0310", "uav_truck2", "windingRope")
CLAIMS_RECIPE = f"""
title: claims report
scale: "test scale, no training"
data:
  three: {{benchmark: otb, root: sequences/otb, sequences: [{", ".join(THREE)}]}}
  six: {{benchmark: otb, root: sequences/otb, sequences: [{", ".join(SIX)}]}}
  tl: {{benchmark: train-labeled, root: train_labeled, sequences: [{", ".join(TL)}]}}
""" + """
sections:
  - kind: claims
    id: claims
    title: claims on three sequences
    data: three
    metric: auc
    claims:
      - {label: "csrt >= kcf", a: csrt, b: kcf, relation: ">="}
      - {label: "kcf >= csrt", a: kcf, b: csrt, relation: ">="}
      - {label: "kcf >= identity", a: kcf, b: identity, relation: ">="}
      - {label: "csrt > kcf", a: csrt, b: kcf, relation: ">"}
      - label: "ghost > identity"
        a: {tracker: identity, checkpoint: no/such/ghost.pt, train: "make ghost"}
        b: identity
        relation: ">"
  - kind: claims
    id: six
    title: one claim on six sequences
    data: six
    metric: auc
    claims:
      - {label: "csrt > identity", a: csrt, b: identity, relation: ">"}
  - kind: claims
    id: pooled
    title: one claim on three OTB-layout and three train_labeled sequences
    data: three
    pooled: [tl]
    metric: auc
    claims:
      - {label: "csrt > kcf, pooled", a: csrt, b: kcf, relation: ">"}
"""


@pytest.fixture(scope="module")
def claims(data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Checkpoint-free trackers on short shared OTB sequences: csrt beats identity on all six
    and kcf on all three, while kcf beats identity on two of the three but loses on Human3."""
    tmp = tmp_path_factory.mktemp("claims")
    (tmp / "claims.yaml").write_text(CLAIMS_RECIPE)
    run_report(load_recipe(tmp / "claims.yaml"), data_root, tmp / "out", tmp / "runs")
    out = json.loads((tmp / "out" / "report.json").read_text())
    return {"tmp": tmp, "data_root": data_root, "json": out,
            "md": (tmp / "out" / "report.md").read_text(),
            "sections": {s["id"]: s for s in out["sections"]}}


@pytest.mark.slow
def test_claims_equal_stats_compare_on_the_per_sequence_scores(claims: dict) -> None:
    """Δ, interval and Holm p of each claim are stats.compare's on the raw results' scores."""
    runs = claims["tmp"] / "runs" / "results" / "otb"
    root = claims["data_root"] / "sequences" / "otb"
    for sid, n_claims, names in (("claims", 4, THREE), ("six", 1, SIX)):
        sec = claims["sections"][sid]
        bench = dataclasses.replace(get_benchmark("otb"), sequences=names)
        scored = otb_analysis.score(bench, [runs / t for t in ("csrt", "kcf", "identity")],
                                    root)
        values = {t: {q: e["auc"] for q, e in s["per_sequence"].items()}
                  for t, s in scored.items()}
        ready = [c for c in sec["claims"] if c["comparison"]]
        assert len(ready) == n_claims and len(values["csrt"]) == len(names)
        pairs = list(dict.fromkeys((c["a"]["tracker"], c["b"]["tracker"]) for c in ready))
        want = {(w["a"], w["b"]): w for w in stats.compare(values, "auc", pairs=pairs)}
        for c in ready:
            w = want[c["a"]["tracker"], c["b"]["tracker"]]
            got = c["comparison"]
            assert got["n_sequences"] == w["n_sequences"] == len(names)
            for key in ("delta", "p_value", "p_holm", "se"):
                assert got[key] == pytest.approx(w[key], abs=1e-12), (c["label"], key)
            assert got["ci"] == pytest.approx(w["ci"], abs=1e-12)
            assert c["a"]["value"] - c["b"]["value"] == pytest.approx(got["delta"], abs=1e-12)


@pytest.mark.slow
def test_pooled_claims_pair_the_sequences_of_both_sources(claims: dict) -> None:
    """A pooled claim is stats.compare over both sources' sequences, named <data key>/<seq>."""
    values: dict[str, dict[str, float]] = {"csrt": {}, "kcf": {}}
    for key, bench, names in (("three", "otb", THREE), ("tl", "train-labeled", TL)):
        runs = claims["tmp"] / "runs" / "results" / bench
        b = dataclasses.replace(get_benchmark(bench), sequences=names)
        root = claims["data_root"] / ("sequences/otb" if bench == "otb" else "train_labeled")
        for t, sc in otb_analysis.score(b, [runs / "csrt", runs / "kcf"], root).items():
            values[t].update({f"{key}/{q}": e["auc"] for q, e in sc["per_sequence"].items()})
    want = stats.compare(values, "auc", pairs=[("csrt", "kcf")])[0]
    sec = claims["sections"]["pooled"]
    got = sec["claims"][0]["comparison"]
    assert sec["pooled"] == ["tl"] and got["n_sequences"] == 6
    for key in ("delta", "p_value", "se"):
        assert got[key] == pytest.approx(want[key], abs=1e-12)
    assert got["ci"] == pytest.approx(want["ci"], abs=1e-12)
    a = sec["claims"][0]["a"]["value"]
    assert a == pytest.approx(np.mean(list(values["csrt"].values())), abs=1e-12)
    assert "train_labeled" in claims["md"]  # the caption names both sources


@pytest.mark.slow
def test_claim_outcomes_follow_the_rule(claims: dict) -> None:
    by = {c["label"]: c for s in claims["sections"].values() for c in s["claims"]}
    assert by["csrt >= kcf"]["outcome"] == "holds" and by["csrt >= kcf"]["comparison"]["ci"][0] > 0
    assert by["kcf >= csrt"]["outcome"] == "contradicted"
    consistent = by["kcf >= identity"]
    lo, hi = consistent["comparison"]["ci"]
    assert lo < 0 < hi and consistent["outcome"] == "undecided"
    assert consistent["reading"] == "consistent (a is not shown worse), equality not excluded"
    # '>' needs the Wilcoxon test too, which three sequences can never pass
    strict = by["csrt > kcf"]
    assert strict["comparison"]["ci"][0] > 0 and strict["comparison"]["p_holm"] >= 0.05
    assert strict["outcome"] == "undecided" and strict["reading"].startswith("undecided: the")
    det = 2.8 * strict["comparison"]["se"]
    assert strict["to_decide"]["detectable"] == pytest.approx(det, rel=1e-3)
    # 3 * (det / delta)^2 is below 1; with Holm over the three distinct comparisons (csrt
    # against kcf is tested once for both of its claims) Wilcoxon needs 7: 3 * 2 / 2^7 < 0.05
    assert strict["to_decide"]["sequences"] == 7
    six = by["csrt > identity"]
    assert six["outcome"] == "holds" and six["comparison"]["p_holm"] < 0.05
    assert six["to_decide"] is None
    assert "| csrt > identity | +" in claims["md"] and "| holds |" in claims["md"]
    assert "≈7 sequences" in claims["md"]
    for sid in ("claims", "six"):
        assert [f for f in claims["sections"][sid]["figures"]] == [f"{sid}.png", f"{sid}.pdf"]
        assert (claims["tmp"] / "out" / f"{sid}.png").stat().st_size > 1000


@pytest.mark.slow
def test_claim_with_a_missing_checkpoint_is_not_ready(claims: dict) -> None:
    ghost = next(c for c in claims["sections"]["claims"]["claims"]
                 if c["label"] == "ghost > identity")
    assert ghost["outcome"] == "not trained" and ghost["comparison"] is None
    assert ghost["a"]["train"] == "make ghost" and ghost["a"]["value"] is None
    assert [n["checkpoint"] for n in claims["json"]["not_ready"]] == ["no/such/ghost.pt"]
    assert "| ghost > identity | – | – | – × 1/1 | not trained |" in claims["md"]
    assert "make ghost" in claims["md"]


@pytest.mark.parametrize(("old", "new", "message"), [
    ('relation: ">="}', 'relation: "=>"}', r"relation must be one of \['>', '>='\]"),
    ("    data: three\n", "    data: four\n", r"'data: four' is not one of the recipe's data"),
    ('b: kcf, relation: ">="}', 'b: kfc, relation: ">="}', r"unknown tracker 'kfc'"),
    ('a: kcf, b: csrt, relation: ">="}', 'a: kcf, b: {tracker: kcf, label: csrt}, relation: ">="}',
     r"two different entries are both named 'csrt'"),
    ('{label: "csrt > kcf", a: csrt, b: kcf, relation: ">"}',
     '{label: "csrt > kcf", a: csrt, b: kcf}',
     r"claims\[\] lacks required key\(s\) \['relation'\]"),
])
def test_bad_claims_name_file_and_line(tmp_path: Path, old: str, new: str, message: str) -> None:
    f = tmp_path / "bad.yaml"
    text = CLAIMS_RECIPE.replace(old, new, 1)
    assert text != CLAIMS_RECIPE
    f.write_text(text)
    line = next(i for i, s in enumerate(text.splitlines(), 1) if new.strip().split("\n")[0] in s)
    with pytest.raises(InputError, match=rf"bad\.yaml:{line}: {message}"):
        load_recipe(f)


@pytest.mark.slow
def test_claim_on_a_seed_family_pairs_per_sequence_seed_means(data_root: Path, tmp_path: Path,
                                                             monkeypatch) -> None:
    """identity with 'seeds: 2' (identity-s2: the same tracker) has per-sequence seed means
    equal to identity's and no seed-to-seed variation, so kcf against it (two-level, over
    sequences and seeds) is kcf against identity; the caption says how seed families are
    paired."""
    _second_seed(tmp_path, monkeypatch, "identity-s2", "pul_bench.tracker:IdentityTracker")
    recipe = CLAIMS_RECIPE.split("sections:")[0] + """sections:
  - kind: claims
    id: seeds
    title: a seed family
    data: three
    metric: auc
    claims:
      - {label: "kcf >= identity x2", a: kcf, b: {tracker: identity, seeds: 2}, relation: ">="}
      - {label: "kcf >= identity", a: kcf, b: identity, relation: ">="}
"""
    (tmp_path / "seeds.yaml").write_text(recipe)
    run_report(load_recipe(tmp_path / "seeds.yaml"), data_root, tmp_path / "out",
               tmp_path / "runs")
    family, single = json.loads((tmp_path / "out" / "report.json").read_text())[
        "sections"][0]["claims"]
    assert family["b"]["name"] == "identity (2 seeds)" and family["b"]["seeds"] == 2
    for key in ("delta", "ci", "se", "p_value", "n_sequences"):
        assert family["comparison"][key] == pytest.approx(single["comparison"][key], abs=1e-12)
    assert (family["comparison"]["n_seeds_b"], single["comparison"]["n_seeds_b"]) == (2, 1)
    md = (tmp_path / "out" / "report.md").read_text()
    assert "| 3 × 1/2 |" in md and "then, within each side independently, its seeds" in md
    assert "leave out the seed-to-seed" not in md


@pytest.mark.parametrize(("metric", "delta", "against"), [
    ("auc", -0.035, True), ("auc", 0.035, False), ("loc_error", 0.035, True),
    ("loc_error", -0.035, False)])
def test_undecided_claim_says_when_delta_points_against_it(metric: str, delta: float,
                                                           against: bool) -> None:
    """An undecided '>' claim whose Δ lies on the losing side would, with more sequences, be
    contradicted, not confirmed: the 'to decide' text says so (AUC: Δ < 0; peak error: Δ > 0)."""
    from pul_bench.reports.claims import claim_outcome
    from pul_bench.reports.model import Evaluated
    from pul_bench.reports.recipe import Claim, Entry

    claim = Claim("a > b", Entry("kcf"), Entry("csrt"), ">")
    ok = Evaluated("ok", {metric: 0.5})
    pair = {"delta": delta, "ci": [delta - 0.06, delta + 0.06], "se": 0.03, "significant": False,
            "n_sequences": 10}
    out = claim_outcome(claim, pair, 5, {"kcf": ok, "csrt": ok}, metric)
    assert out.outcome == "undecided" and out.to_decide["against"] is against
    assert ("would contradict it" in out.to_decide_text) is against


def test_negligible_delta_says_no_practical_number_decides_it() -> None:
    """|Δ| far below what the sequences detect: the text says 100× the sequences would not decide
    it, instead of quoting a count like 173,821 (the JSON keeps the computed count)."""
    from pul_bench.reports.claims import claim_outcome
    from pul_bench.reports.model import Evaluated
    from pul_bench.reports.recipe import Claim, Entry

    claim = Claim("a >= b", Entry("kcf"), Entry("csrt"), ">=")
    ok = Evaluated("ok", {"auc": 0.5})
    pair = {"delta": -0.001, "ci": [-0.116, 0.108], "se": 0.054, "significant": False,
            "n_sequences": 10}
    out = claim_outcome(claim, pair, 5, {"kcf": ok, "csrt": ok}, "auc")
    assert out.to_decide["sequences"] > 1000
    assert out.to_decide_text == ("detectable ±0.151; |Δ| = 0.001: over 1000 sequences "
                                     "(100× these) would still not decide it")
