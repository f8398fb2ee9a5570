"""Intervals, paired tests and seed aggregation on the published OTB2015 and VOT2018 results,
each checked against an independent computation (scipy, or the score itself recomputed)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from scipy import stats as sps

from pul_bench.analysis import otb, stats, vot
from pul_bench.benchmarks import get_benchmark
from pul_bench.cli import cli
from pul_bench.errors import PulBenchError
from pul_bench.metrics import vot as M
from pul_bench.results import read_trajectory, vot_run_files


@pytest.fixture(scope="module")
def results(otb_reference: Path) -> Path:
    return otb_reference / "results"


@pytest.fixture(scope="module")
def published(otb_reference: Path, results: Path) -> dict:
    """ATOM, KCF, SRDCF, DaSiamRPN, SiamRPN on OTB2015 with the default intervals."""
    names = ["ATOM", "KCF", "SRDCF", "DaSiamRPN", "SiamRPN"]
    return otb.score(get_benchmark("otb2015"), [results / n for n in names], otb_reference)


def _per_seq(scores: dict, tracker: str, metric: str = "auc") -> np.ndarray:
    return np.array([v[metric] for v in scores[tracker]["per_sequence"].values()])


def _scipy_interval(data: tuple[np.ndarray, ...], statistic, resamples: int = 20000) -> list:
    res = sps.bootstrap(data, statistic, paired=True, vectorized=True, n_resamples=resamples,
                        method="percentile", confidence_level=0.95,
                        rng=np.random.default_rng(12345))
    return [res.confidence_interval.low, res.confidence_interval.high]


def test_atom_beats_kcf_and_delta_is_the_per_sequence_mean(published: dict) -> None:
    a, b = _per_seq(published, "ATOM"), _per_seq(published, "KCF")
    values = {t: {s: v["auc"] for s, v in published[t]["per_sequence"].items()}
              for t in ("ATOM", "KCF")}
    (pair,) = stats.compare(values, "auc")
    assert pair["n_sequences"] == 100
    assert pair["delta"] == pytest.approx(float(np.mean(a - b)), abs=1e-12)
    # the per-sequence AUCs average to the published dataset AUCs (no curve is all zero)
    assert pair["delta"] == pytest.approx(published["ATOM"]["auc"] - published["KCF"]["auc"],
                                          abs=1e-12)
    assert pair["significant"] and pair["p_holm"] == pair["p_value"] < 1e-6
    assert pair["ci"][0] > 0.1
    assert pair["verdict"].startswith("ATOM better than KCF: ΔAUC +0.190 [+0.")
    assert pair["verdict"].endswith("100 sequences")


def test_paired_interval_agrees_with_scipy_bootstrap(published: dict) -> None:
    a, b = _per_seq(published, "ATOM"), _per_seq(published, "SiamRPN")
    (pair,) = stats.paired_columns((a - b)[:, None], resamples=20000, seed=3)
    ours = pair["ci"]
    ref = _scipy_interval((a, b), lambda x, y, axis: np.mean(x - y, axis=axis))
    assert ours == pytest.approx(ref, abs=0.003)
    assert ours[0] > 0  # ATOM's AUC lead over SiamRPN (0.035) is outside the noise


def test_score_intervals_agree_with_scipy_bootstrap(published: dict) -> None:
    for tracker in ("ATOM", "KCF"):
        s = published[tracker]
        for metric in ("auc", "dp20", "norm_prec"):
            ref = _scipy_interval((_per_seq(published, tracker, metric),),
                                  lambda x, axis: np.mean(x, axis=axis))
            assert s[f"{metric}_ci"] == pytest.approx(ref, abs=0.004), (tracker, metric)
            assert s[f"{metric}_ci"][0] < s[metric] < s[f"{metric}_ci"][1]
        assert s["bootstrap"] == {"resamples": 2000, "seed": 0, "level": 0.95}


def test_wilcoxon_p_equals_the_normal_approximation_by_hand(published: dict) -> None:
    d = _per_seq(published, "SRDCF") - _per_seq(published, "SiamRPN")
    d = d[d != 0]
    n = len(d)
    ranks = sps.rankdata(np.abs(d))
    w_plus = ranks[d > 0].sum()
    _, ties = np.unique(ranks, return_counts=True)
    var = n * (n + 1) * (2 * n + 1) / 24 - (ties**3 - ties).sum() / 48
    z = (w_plus - n * (n + 1) / 4) / np.sqrt(var)
    assert stats.wilcoxon_p(d) == pytest.approx(2 * sps.norm.sf(abs(z)), rel=1e-9)
    assert stats.wilcoxon_p(np.zeros(5)) == 1.0


def test_holm_by_hand(published: dict) -> None:
    assert stats.holm([0.01, 0.04, 0.03, 0.2]) == pytest.approx([0.04, 0.09, 0.09, 0.2])
    values = {t: {s: v["auc"] for s, v in published[t]["per_sequence"].items()}
              for t in ("ATOM", "DaSiamRPN", "SiamRPN")}
    pairs = stats.compare(values, "auc")
    assert [(p["a"], p["b"]) for p in pairs] == [("ATOM", "DaSiamRPN"), ("ATOM", "SiamRPN"),
                                                 ("DaSiamRPN", "SiamRPN")]
    p = [q["p_value"] for q in pairs]
    order = np.argsort(p)
    hand = np.empty(3)
    running = 0.0
    for i, k in enumerate(order):
        running = max(running, min(1.0, (3 - i) * p[k]))
        hand[k] = running
    assert [q["p_holm"] for q in pairs] == pytest.approx(hand.tolist(), rel=1e-12)
    assert all(q["p_holm"] >= q["p_value"] for q in pairs)


def test_same_seed_same_interval(otb_reference: Path, results: Path) -> None:
    bench = get_benchmark("otb2015")
    first = otb.score(bench, [results / "KCF"], otb_reference, resamples=500, seed=7)["KCF"]
    again = otb.score(bench, [results / "KCF"], otb_reference, resamples=500, seed=7)["KCF"]
    other = otb.score(bench, [results / "KCF"], otb_reference, resamples=500, seed=8)["KCF"]
    assert first["auc_ci"] == again["auc_ci"] and first["dp20_ci"] == again["dp20_ci"]
    assert first["auc_ci"] != other["auc_ci"]
    none = otb.score(bench, [results / "KCF"], otb_reference, resamples=0)["KCF"]
    assert "auc_ci" not in none and none["auc"] == first["auc"]


@pytest.mark.slow
def test_vot_eao_replicates_recompute_the_curve(vot2018_reference: Path) -> None:
    """Each bootstrap EAO equals the EAO of the resampled dataset scored from scratch."""
    seqs, _ = vot.load_sequences(vot2018_reference, get_benchmark("vot2018").sequences)
    folder = vot2018_reference / "results" / "DaSiamRPN"
    interval = (100, 356)
    full = vot.score_tracker(seqs, folder, interval, resamples=0)
    runs = {s.name: [(M.score_run(read_trajectory(f), s.polygons, s.size, path=f), 1.0)
                     for f in vot_run_files(folder, s.name)] for s in seqs}
    max_len = max(len(s) for s in seqs)
    sums = [M.expected_overlap_sums(runs[s.name], max_len) for s in seqs]
    counts = stats.resample_counts(len(seqs), 2, seed=5)
    replicates = vot.eao_replicates(counts, sums, [len(s) for s in seqs], interval)
    for row, value in zip(counts, replicates, strict=True):
        drawn = [s for s, c in zip(seqs, row, strict=True) for _ in range(c)]
        redo = vot.score_tracker(drawn, folder, interval, resamples=0)
        assert value == pytest.approx(redo.scores["eao"], abs=1e-12)
    identity = vot.eao_replicates(np.ones((1, len(seqs)), int), sums, [len(s) for s in seqs],
                                  interval)
    assert identity[0] == pytest.approx(full.scores["eao"], abs=1e-12)


def test_vot_intervals_and_compare(vot2018_reference: Path) -> None:
    bench = get_benchmark("vot2018")
    dirs = [vot2018_reference / "results" / n for n in ("DaSiamRPN", "LightTrack")]
    scores = vot.score(bench, dirs, vot2018_reference)
    das = scores["DaSiamRPN"]
    assert das["eao"] == pytest.approx(0.3826, abs=5e-5)  # published 0.383, unchanged
    for key in ("accuracy", "robustness", "eao"):
        assert das[f"{key}_ci"][0] < das[key] < das[f"{key}_ci"][1]
    rows = list(das["per_sequence"].values())
    num = np.array([r["accuracy"] * r["accuracy_frames"] for r in rows])
    den = np.array([r["accuracy_frames"] for r in rows], dtype=float)
    assert num.sum() / den.sum() == pytest.approx(das["accuracy"], abs=1e-12)
    ref = _scipy_interval((num, den), lambda x, y, axis: x.sum(axis=axis) / y.sum(axis=axis))
    assert das["accuracy_ci"] == pytest.approx(ref, abs=0.004)
    assert sum(r["failures"] for r in rows) == das["failures"] == 59
    values = {t: {s: stats.sequence_value(e, "failures") for s, e in v["per_sequence"].items()}
              for t, v in scores.items()}
    (pair,) = stats.compare(values, "failures")
    assert pair["delta"] == pytest.approx((59 - 38) / 60, abs=1e-12)
    assert pair["verdict"].startswith("LightTrack better than DaSiamRPN: Δfailures -0.350")


def test_two_level_bootstrap_on_a_seed_family(published: dict) -> None:
    """ATOM, DaSiamRPN and SiamRPN stand in for three seeds of one tracker."""
    fam = {"X": "ATOM", "X-s2": "DaSiamRPN", "X-s3": "SiamRPN"}
    scores = {k: published[v] for k, v in fam.items()} | {"KCF": published["KCF"]}
    assert stats.seed_groups(list(scores)) == {"X": ["X", "X-s2", "X-s3"], "KCF": ["KCF"]}
    agg = stats.aggregate_seeds(scores, ["auc"], resamples=4000, seed=1)
    x = agg["X"]
    aucs = [published[v]["auc"] for v in fam.values()]
    assert x["auc"] == pytest.approx(np.mean(aucs), abs=1e-12)
    assert x["auc_seed_sd"] == pytest.approx(np.std(aucs, ddof=1), abs=1e-12)
    assert x["n_seeds"] == 3 and x["n_sequences"] == 100
    # an independent, loop-by-loop two-level bootstrap gives the same interval
    values = np.array([_per_seq(published, v) for v in fam.values()])
    rng = np.random.default_rng(99)
    reps = [values[rng.integers(0, 3, 3)][:, rng.integers(0, 100, 100)].mean()
            for _ in range(4000)]
    assert x["auc_ci"] == pytest.approx(np.percentile(reps, [2.5, 97.5]), abs=0.006)
    assert agg["KCF"]["auc_seed_sd"] == 0.0 and agg["KCF"]["auc"] == published["KCF"]["auc"]


def test_merged_seeds_average_curves_and_attributes(published: dict) -> None:
    """A seed family's curves and per-attribute scores are the means over its seeds, like its
    AUC (the first seed's curve beside the mean AUC would plot one seed as the family)."""
    seeds = [published[v] for v in ("ATOM", "DaSiamRPN", "SiamRPN")]
    merged = stats.merge_seeds(seeds, resamples=0)
    for key in ("success_curve", "precision_curve"):
        assert merged[key] == pytest.approx(np.mean([s[key] for s in seeds], axis=0), abs=1e-12)
    attr, metric = next((a, m) for a, v in seeds[0]["per_attribute"].items() for m in v
                        if isinstance(v[m], float))
    assert merged["per_attribute"][attr][metric] == pytest.approx(
        np.mean([s["per_attribute"][attr][metric] for s in seeds]), abs=1e-12)
    assert merged["auc"] == pytest.approx(np.mean([s["auc"] for s in seeds]), abs=1e-12)


def _families(seed_sd: float) -> tuple[np.ndarray, np.ndarray]:
    """A (3 seeds) and B (2 seeds) on 10 sequences: A leads by 0.05 on every sequence up to
    0.002 noise, and each seed shifts all sequences by its own offset (``seed_sd`` apart)."""
    rng = np.random.default_rng(11)
    base = rng.uniform(0.3, 0.8, 10)
    a = base + 0.05 + seed_sd * np.array([-1.0, 0.0, 1.0])[:, None] + rng.normal(0, 0.002, (3, 10))
    b = base + seed_sd * np.array([-0.7, 0.7])[:, None] + rng.normal(0, 0.002, (2, 10))
    return a, b


def _as_values(**families: np.ndarray) -> dict[str, dict[str, list[float]]]:
    return {t: {f"q{s}": v[:, s].tolist() for s in range(v.shape[1])}
            for t, v in families.items()}


def test_one_seed_each_is_the_plain_paired_comparison() -> None:
    a, b = _families(0.08)
    lists = _as_values(A=a[:1], B=b[:1])
    plain = {t: {q: v[0] for q, v in seq.items()} for t, seq in lists.items()}
    (one,) = stats.compare(lists, "auc", resamples=500, seed=5)
    assert one == stats.compare(plain, "auc", resamples=500, seed=5)[0]
    (col,) = stats.paired_columns((a[0] - b[0])[:, None], resamples=500, seed=5)
    assert {k: one[k] for k in col} == col and one["n_seeds_a"] == one["n_seeds_b"] == 1
    # identical seeds add no seed variation: the two-level resampling gives the same numbers
    (twins,) = stats.compare(_as_values(A=a[[0, 0]], B=b[:1]), "auc", resamples=500, seed=5)
    assert twins["n_seeds_a"] == 2
    for key in ("delta", "ci", "se", "p_value"):
        assert twins[key] == pytest.approx(one[key], abs=1e-12), key


def test_two_level_paired_interval_holds_the_seed_variation() -> None:
    a, b = _families(0.08)
    (two,) = stats.compare(_as_values(A=a, B=b), "auc", resamples=400, seed=3)
    means = {t: {f"q{s}": float(v[:, s].mean()) for s in range(10)} for t, v in (("A", a),
                                                                             ("B", b))}
    (flat,) = stats.compare(means, "auc", resamples=400, seed=3)
    assert (two["n_seeds_a"], two["n_seeds_b"], flat["n_seeds_a"]) == (3, 2, 1)
    assert two["delta"] == pytest.approx(flat["delta"], abs=1e-12)
    assert two["p_value"] == flat["p_value"]  # Wilcoxon on the per-sequence seed means
    width = two["ci"][1] - two["ci"][0]
    assert width > 5 * (flat["ci"][1] - flat["ci"][0])
    # the same resampling, one resample and one drawn sequence at a time, from one generator:
    # sequences first, then A's seeds, then B's
    rng = np.random.default_rng(3)
    seqs = rng.integers(0, 10, (400, 10))
    seeds_a, seeds_b = rng.integers(0, 3, (400, 3)), rng.integers(0, 2, (400, 2))
    reps = [np.mean([a[seeds_a[r], s].mean() - b[seeds_b[r], s].mean() for s in seqs[r]])
            for r in range(400)]
    lo, hi = np.percentile(reps, [2.5, 97.5])
    assert width == pytest.approx(hi - lo, abs=1e-12)
    assert two["ci"] == pytest.approx([lo, hi], abs=1e-12)
    assert two["se"] == pytest.approx(np.std(reps, ddof=1), abs=1e-12)
    # with seeds this far apart, the 0.05 lead on every sequence is no longer certain
    assert flat["ci"][0] > 0.04 and two["ci"][0] < 0 < two["ci"][1] and not two["significant"]


def test_two_level_paired_comparison_is_deterministic() -> None:
    values = _as_values(A=_families(0.03)[0], B=_families(0.03)[1], C=_families(0.01)[0])
    first = stats.compare(values, "auc", resamples=300, seed=8)
    assert stats.compare(values, "auc", resamples=300, seed=8) == first
    assert stats.compare(values, "auc", resamples=300, seed=9)[0]["ci"] != first[0]["ci"]
    values["C"]["q0"] = values["C"]["q0"][:2]
    with pytest.raises(PulBenchError, match="C: per-seed values of different lengths"):
        stats.compare(values, "auc")


def test_merged_seeds_keep_their_per_seed_values() -> None:
    a, b = _families(0.05)
    seeds = [{"auc": float(row.mean()),
              "per_sequence": {f"q{s}": {"auc": float(v)} for s, v in enumerate(row)}}
             for row in a]
    merged = stats.merge_seeds(seeds, resamples=50)
    assert stats.sequence_values(merged, "auc") == _as_values(A=a)["A"]
    assert stats.sequence_values(seeds[0], "auc") == {f"q{s}": v for s, v in enumerate(a[0])}
    values = {"A": stats.sequence_values(merged, "auc"), "B": _as_values(B=b)["B"]}
    assert stats.compare(values, "auc", seed=2) == stats.compare(_as_values(A=a, B=b), "auc",
                                                                  seed=2)


def test_detectable_difference_formula() -> None:
    # written out so that scoring need not import scipy.stats; every bit is scipy's
    assert stats.DETECTABLE_Z == float(sps.norm.ppf(1 - stats.ALPHA / 2) + sps.norm.ppf(0.8))
    assert stats.DETECTABLE_Z == pytest.approx(1.959964 + 0.841621, abs=1e-5)
    assert stats.detectable_difference(0.01) == pytest.approx(0.028016, abs=1e-5)


def test_compare_and_score_through_the_cli(results: Path, tmp_path: Path) -> None:
    out = CliRunner().invoke(cli, ["compare", "otb2015", str(results / "ATOM"),
                                   str(results / "KCF"), str(results / "SRDCF"), "--json",
                                   "--bootstrap", "500"])
    assert out.exit_code == 0, out.output
    pairs = json.loads(out.stdout)
    assert len(pairs) == 3
    for p in pairs:
        assert {"a", "b", "metric", "n_sequences", "delta", "ci", "p_value", "p_holm",
                "significant"} <= set(p)
    assert pairs[0]["significant"] and pairs[0]["p_holm"] == pytest.approx(
        min(1.0, 3 * pairs[0]["p_value"]), rel=1e-12)  # the smallest of three p-values
    out = CliRunner().invoke(cli, ["compare", "otb2015", str(results / "ATOM"),
                                   str(results / "KCF"), "--json", "--bootstrap", "0"])
    (alone,) = json.loads(out.stdout)
    assert alone["ci"] is None and alone["significant"]  # Wilcoxon alone decides
    assert alone["p_value"] == alone["p_holm"] < pairs[0]["p_holm"]
    fam = tmp_path / "fam"
    fam.mkdir()
    (fam / "KCF").symlink_to(results / "KCF")
    (fam / "KCF-s2").symlink_to(results / "CSK")
    (fam / "ATOM").symlink_to(results / "ATOM")
    out = CliRunner().invoke(cli, ["score", "otb2015", *map(str, sorted(fam.iterdir())),
                                   "--seed-families", "--bootstrap", "300", "--seed", "4"])
    assert out.exit_code == 0, out.output
    assert re.search(r"^KCF +2 +100 +0\.\d{3} \[0\.\d\d, 0\.\d\d\] ±0\.\d{3}", out.stdout, re.M)
    out = CliRunner().invoke(cli, ["compare", "otb2015", *map(str, sorted(fam.iterdir())),
                                   "--seed-families", "--bootstrap", "300"])
    assert out.exit_code == 0, out.output
    assert "ATOM better than KCF (2 seeds): ΔAUC +" in out.output


@pytest.mark.slow
def test_compare_evaluates_tracker_names_resumably(otb_sequences: Path, tmp_path: Path
                                                   ) -> None:
    root = tmp_path / "root"
    root.mkdir()
    for name in ("Crossing", "Football1", "dtb_MountainBike6"):
        (root / name).symlink_to(otb_sequences / name)
    args = ["compare", "otb", "identity", "kcf", "--root", str(root), "--out",
            str(tmp_path / "runs"), "--json", "--bootstrap", "200"]
    out = CliRunner().invoke(cli, args)
    assert out.exit_code == 0, out.output
    (pair,) = json.loads(out.stdout)
    assert (pair["a"], pair["b"], pair["n_sequences"]) == ("identity", "kcf", 3)
    assert not pair["significant"]  # three sequences cannot show a difference
    made = tmp_path / "runs" / "results" / "otb" / "kcf" / "Crossing.txt"
    stamp = made.stat().st_mtime_ns
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 0 and made.stat().st_mtime_ns == stamp


def test_too_few_sequences_are_never_significant(published: dict) -> None:
    """ATOM beats KCF by 0.19 AUC, yet on 5 sequences no Wilcoxon p can be below 2/2^5."""
    values = {t: dict(list(published_otb_auc(published, t).items())[:5]) for t in ("ATOM", "KCF")}
    (pair,) = stats.compare(values, "auc")
    assert pair["p_value"] >= stats.smallest_p(5) == 0.0625
    assert pair["detectable"] is None and not pair["significant"]
    assert "too few sequences" in pair["verdict"]
    values = {t: dict(list(published_otb_auc(published, t).items())[:30]) for t in ("ATOM", "KCF")}
    assert stats.compare(values, "auc")[0]["detectable"] is not None


def test_a_verdict_says_when_the_interval_and_the_test_split(published: dict) -> None:
    """On OTB2015's first 8 sequences ATOM − KCF is +0.134 AUC with an interval above 0, while
    the Wilcoxon p is 0.078: "undecided" with the split named, not "no detectable difference"
    (which the first 10 sequences of DaSiamRPN − SiamRPN, +0.014 [-0.060, +0.074], do read)."""
    def first(n: int, *names: str) -> dict:
        return {t: dict(list(published_otb_auc(published, t).items())[:n]) for t in names}
    (split,) = stats.compare(first(8, "ATOM", "KCF"), "auc")
    assert split["ci"][0] > 0 and split["p_holm"] >= 0.05 and not split["significant"]
    assert split["verdict"].startswith("ATOM vs KCF: undecided, the interval excludes 0 but "
                                       "the Holm-corrected Wilcoxon p does not (ΔAUC +0.134")
    (plain,) = stats.compare(first(10, "DaSiamRPN", "SiamRPN"), "auc")
    assert plain["ci"][0] < 0 < plain["ci"][1] and plain["p_holm"] >= 0.05
    assert plain["verdict"].startswith("DaSiamRPN vs SiamRPN: no detectable difference (")


def published_otb_auc(published: dict, tracker: str) -> dict[str, float]:
    return {s: v["auc"] for s, v in published[tracker]["per_sequence"].items()}


def _got10k_layout(tmp: Path, otb_reference: Path, trackers: tuple[str, ...], n: int) -> Path:
    """A GOT-10k val layout of ``n`` OTB2015 sequences (annotations as ground truth, target
    always visible) with the published OTB results of ``trackers`` as one-run results."""
    from pul_bench.datasets.otb import read_boxes

    root = tmp / "val"
    names = []
    for anno in sorted((otb_reference / "anno").glob("*.txt")):
        gt = read_boxes(anno)
        files = [otb_reference / "results" / t / anno.name for t in trackers]
        if not all(f.is_file() and len(read_boxes(f)) == len(gt) for f in files):
            continue
        d = root / anno.stem
        d.mkdir(parents=True)
        np.savetxt(d / "groundtruth.txt", gt, delimiter=",", fmt="%.4f")
        np.savetxt(d / "cover.label", np.full(len(gt), 8), fmt="%d")
        (d / "meta_info.ini").write_text("[METAINFO]\nresolution: (2000, 2000)\n")
        for t, f in zip(trackers, files, strict=True):
            (tmp / t / anno.stem).mkdir(parents=True)
            (tmp / t / anno.stem / f"{anno.stem}_001.txt").symlink_to(f)
        names.append(anno.stem)
        if len(names) == n:
            break
    (root / "list.txt").write_text("\n".join(names) + "\n")
    return root


def test_got10k_intervals_pool_frames(otb_reference: Path, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from pul_bench.analysis import got10k

    root = _got10k_layout(tmp_path, otb_reference, ("ATOM", "KCF"), 12)
    (tmp_path / "manifests").mkdir()
    (tmp_path / "manifests" / "got10k-otb12.yaml").write_text(
        "name: got10k-otb12\nkind: got10k\nlayout: got10k\nsplit: val\n")
    monkeypatch.setenv("PULBENCH_DATASETS", str(tmp_path / "manifests"))
    bench = get_benchmark("got10k-otb12")
    scores = got10k.score(bench, [tmp_path / "ATOM", tmp_path / "KCF"], root,
                          resamples=20000, seed=2)
    for s in scores.values():
        rows = list(s["per_sequence"].values())
        num = np.array([r["ao"] * r["frames"] for r in rows])
        den = np.array([r["frames"] for r in rows], dtype=float)
        assert num.sum() / den.sum() == pytest.approx(s["ao"], abs=1e-12)  # frame-pooled AO
        ref = _scipy_interval((num, den), lambda x, y, axis: x.sum(axis=axis) / y.sum(axis=axis))
        assert s["ao_ci"] == pytest.approx(ref, abs=0.005)
    out = CliRunner().invoke(cli, ["compare", "got10k-otb12", str(tmp_path / "ATOM"),
                                   str(tmp_path / "KCF"), "--root", str(root), "--json"])
    assert out.exit_code == 0, out.output
    (pair,) = json.loads(out.stdout)
    assert pair["metric"] == "ao" and pair["n_sequences"] == 12
    want = np.mean([scores["ATOM"]["per_sequence"][q]["ao"] - v["ao"]
                    for q, v in scores["KCF"]["per_sequence"].items()])
    assert pair["delta"] == pytest.approx(want, abs=1e-12)


def test_seeded_resample_counts_are_drawn_once_and_read_only() -> None:
    """Every tracker scored on the same sequences shares one seeded count matrix: the same
    draws as a fresh generator of that seed, and read-only, so no caller can change another's."""
    a = stats.resample_counts(7, 50, 3)
    np.testing.assert_array_equal(a, stats.resample_counts(7, 50, np.random.default_rng(3)))
    assert stats.resample_counts(7, 50, 3) is a
    assert not a.flags.writeable
    assert (a.sum(axis=1) == 7).all()
    assert not np.array_equal(a, stats.resample_counts(7, 50, 4))
