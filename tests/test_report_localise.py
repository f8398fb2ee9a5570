"""Fig. 6's localisation measure in report recipes: a data source with ``localise`` gives
``loc_error`` (one seed, or the mean of a seed family with its two-level interval) equal to
:mod:`pul_bench.analysis.localisation` run directly, measured once per pair and then reused."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from pul_bench.analysis import localisation, stats
from pul_bench.benchmarks import get_benchmark
from pul_bench.datasets.otb import load_otb
from pul_bench.errors import InputError
from pul_bench.paths import REPO_ROOT
from pul_bench.registry import get_spec
from pul_bench.reports.build import run_report
from pul_bench.reports.recipe import load_recipe

SEQS = ["Crossing", "Football1"]
RECIPE = """
title: localisation report
scale: "test scale, no training"
data:
  pairs: {benchmark: otb, root: sequences/otb, sequences: [Crossing, Football1],
          localise: {pairs: 3, gap: 10, seed: 1}}
sections:
  - kind: table
    id: tab
    title: peak error table
    metrics: [{data: pairs, metric: loc_error, label: peak error}]
    groups: [A]
    rows:
      - {label: siamfc, cells: [siamfc]}
  - kind: curve
    id: curve
    title: peak error curve
    data: pairs
    metric: loc_error
    x_label: x
    series:
      - {label: random, tracker: siamfc-random, x: [0], seeds: 2}
"""


def _direct(name: str, seqs: list, pairs: list) -> list[float]:
    """Per-sequence errors of one tracker, from the analysis module alone."""
    tracker = get_spec(name).create(benchmark="otb")
    per_seq = localisation.summarise(pairs, localisation.peak_errors(tracker, seqs, pairs))
    return [per_seq[s]["error"] for s in SEQS]


@pytest.mark.slow
def test_report_loc_error_equals_the_analysis_and_is_reused(
        data_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    seed2 = yaml.safe_load((REPO_ROOT / "trackers" / "siamfc.yaml").read_text())
    seed2.update(name="siamfc-random-s2", description="random weights, seed 1",
                 checkpoint=None, train=None)
    seed2["args"]["seed"] = 1
    (specs / "siamfc-random-s2.yaml").write_text(yaml.safe_dump(seed2))
    monkeypatch.setenv("PULBENCH_TRACKERS", str(specs))
    (tmp_path / "loc.yaml").write_text(RECIPE)
    recipe = load_recipe(tmp_path / "loc.yaml")
    run_report(recipe, data_root, tmp_path / "out", tmp_path / "runs")
    sections = json.loads((tmp_path / "out" / "report.json").read_text())["sections"]

    seqs, _ = load_otb(get_benchmark("otb"), data_root / "sequences" / "otb", SEQS)
    pairs = localisation.sample_pairs(seqs, 3, 10, seed=1)
    assert len(pairs) == 6
    cell = sections[0]["rows"][0]["cells"][0]
    values = _direct("siamfc", seqs, pairs)
    assert cell["ours"]["peak error"] == pytest.approx(np.mean(values), abs=1e-12)
    assert cell["ours_ci"]["peak error"] == pytest.approx(stats.interval(values), abs=1e-12)

    point = sections[1]["series"][0]["points"][0]
    per_seed = np.array([_direct(n, seqs, pairs) for n in ("siamfc-random", "siamfc-random-s2")])
    assert not np.array_equal(per_seed[0], per_seed[1])
    assert point["value"] == pytest.approx(per_seed.mean(), abs=1e-12)
    assert point["ci"] == pytest.approx(stats.two_level(per_seed)["ci"], abs=1e-12)
    assert point["scores"]["n_seeds"] == 2 and point["scores"]["pairs"] == 6

    # a second report measures nothing: every pair's error is read back from the runs folder
    def refuse(*_: object) -> None:
        raise AssertionError("a cached pair was measured again")

    monkeypatch.setattr(localisation, "peak_errors", refuse)
    run_report(recipe, data_root, tmp_path / "out2", tmp_path / "runs")
    again = json.loads((tmp_path / "out2" / "report.json").read_text())["sections"]
    assert again[1]["series"][0]["points"][0]["value"] == point["value"]
    cached = tmp_path / "runs" / "localise" / "otb" / "siamfc" / "pairs.json"
    assert len(json.loads(cached.read_text())) == 6


def test_localise_recipes_are_checked_at_their_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    for old, new, message in [
        ("metric: loc_error\n    x_label", "metric: auc\n    x_label",
         "'metric: auc' is not a metric of data with 'localise'"),
        ("localise: {pairs: 3, gap: 10, seed: 1}}", "}",
         "'metric: loc_error' is not a metric of otb benchmarks"),
        ("localise: {pairs: 3, gap: 10, seed: 1}", "localise: {pairs: 0}",
         "pairs must be >= 1"),
        ("localise: {pairs", "protocol: tre, localise: {pairs",
         "'localise' applies to OTB-kind benchmarks without 'protocol'"),
        ("x: [0], seeds: 2}", "x: [0], seeds: 2, checkpoint: a.pt}",
         "'seeds' evaluates each seed's own checkpoint"),
        ("x: [0], seeds: 2}", "x: [0], seeds: 3}", "unknown tracker 'siamfc-random-s2'"),
    ]:
        assert old in RECIPE
        bad.write_text(RECIPE.replace(old, new))
        with pytest.raises(InputError, match=rf"bad\.yaml:\d+: .*{message}"):
            load_recipe(bad)


@pytest.mark.slow
def test_fig6_recipe_names_every_seed_checkpoint() -> None:
    """Fig. 6 in nr-vs-bce: tracking AUC on all shared OTB-layout sequences and loc_error on
    seeded pairs of the same, the same points in both, three seeds per BCE and NR point, each
    seed a spec whose checkpoint is what scripts/train_fig6.sh writes."""
    recipe = load_recipe(REPO_ROOT / "reports" / "nr-vs-bce.yaml")
    fig6 = {s.id: s for s in recipe.sections if s.id.startswith("fig6")}
    assert sorted(fig6) == ["fig6", "fig6-localisation"]
    auc, loc = fig6["fig6"], fig6["fig6-localisation"]
    assert (auc.metric, loc.metric) == ("auc", "loc_error")
    assert recipe.data[auc.data].sequences is None and recipe.data[auc.data].localise is None
    assert recipe.data[loc.data].sequences is None and recipe.data[loc.data].localise is not None
    assert auc.series == loc.series
    seeds = {s.label: {e.seeds for _, e in s.points} for s in auc.series}
    assert seeds == {"BCE": {3}, "NR": {3}, "NR, Monte-Carlo form": {1}}
    for x, entry in (p for s in auc.series for p in s.points):
        for k, e in enumerate(entry.seed_entries(), 1):
            assert e.tracker == entry.tracker + ("" if k == 1 else f"-s{k}")
            assert get_spec(e.tracker).checkpoint == REPO_ROOT / "runs" / "weights" / \
                f"{e.tracker}.pt"
            assert f"noise_px={x:g} " in get_spec(e.tracker).train


@pytest.mark.slow
def test_claims_on_loc_error_read_lower_as_better(data_root: Path, tmp_path: Path) -> None:
    """On peak error 'a > b' means a's error is smaller: siamfc beside random weights holds
    (Δ below 0 on both sequences), the reverse claim is contradicted, and Δ is still a − b."""
    path = tmp_path / "claims.yaml"
    path.write_text(RECIPE.split("sections:")[0] + """sections:
  - kind: claims
    id: c
    title: claims
    data: pairs
    metric: loc_error
    claims:
      - {label: trained >= random, a: siamfc, b: siamfc-random, relation: ">="}
      - {label: random >= trained, a: siamfc-random, b: siamfc, relation: ">="}
""")
    run_report(load_recipe(path), data_root, tmp_path / "out", tmp_path / "runs")
    good, bad = json.loads((tmp_path / "out" / "report.json").read_text())[
        "sections"][0]["claims"]
    seqs, _ = load_otb(get_benchmark("otb"), data_root / "sequences" / "otb", SEQS)
    pairs = localisation.sample_pairs(seqs, 3, 10, seed=1)
    delta = np.mean(np.subtract(_direct("siamfc", seqs, pairs),
                                _direct("siamfc-random", seqs, pairs)))
    assert delta < 0 and good["comparison"]["delta"] == pytest.approx(delta, abs=1e-9)
    assert good["comparison"]["ci"][1] < 0
    assert (good["outcome"], bad["outcome"]) == ("holds", "contradicted")
    assert "lower is better" in (tmp_path / "out" / "report.md").read_text()
