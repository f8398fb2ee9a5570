"""The localisation measure (``pulbench localise``) on the shared OTB-layout sequences."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pul_bench.analysis.localisation import Pair, peak_errors, sample_pairs, summarise
from pul_bench.benchmarks import get_benchmark
from pul_bench.cli import main
from pul_bench.datasets.otb import load_otb
from pul_bench.registry import get_spec

SEQS = ["Crossing", "Girl", "Dog1"]


@pytest.fixture(scope="module")
def seqs(otb_sequences: Path):
    return load_otb(get_benchmark("otb"), otb_sequences, SEQS)[0]


def test_pairs_are_seeded_annotated_and_independent_of_other_sequences(seqs) -> None:
    pairs = sample_pairs(seqs, 5, 10, seed=3)
    assert pairs == sample_pairs(seqs, 5, 10, seed=3) != sample_pairs(seqs, 5, 10, seed=4)
    assert len(pairs) == 15 and all(p.search - p.template == 10 for p in pairs)
    by_name = {s.name: s for s in seqs}
    assert all(by_name[p.sequence].valid[[p.template, p.search]].all() for p in pairs)
    alone = sample_pairs([s for s in seqs if s.name == "Girl"], 5, 10, seed=3)
    assert alone == [p for p in pairs if p.sequence == "Girl"]


def test_peak_maps_back_to_the_target_centre(seqs) -> None:
    """Template and search from the same frame: a trained network peaks on the target, and
    the peak mapped back to the frame lands within a few pixels of the true centre."""
    tracker = get_spec("alexpul").create(benchmark="otb")
    pairs = [Pair(s.name, t, t) for s in seqs for t in (0, 30)]
    errors = peak_errors(tracker, seqs, pairs)
    assert errors[:, 1].max() < 0.15, errors


@pytest.mark.slow
def test_trained_network_localises_better_than_random_weights(seqs) -> None:
    pairs = sample_pairs(seqs, 4, 10, seed=0)
    mean = {}
    for name in ("alexpul", "siamfc-random"):
        per_seq = summarise(pairs, peak_errors(get_spec(name).create(benchmark="otb"), seqs,
                                               pairs))
        assert set(per_seq) == set(SEQS) and all(v["pairs"] == 4 for v in per_seq.values())
        mean[name] = np.mean([v["error"] for v in per_seq.values()])
    assert mean["alexpul"] < mean["siamfc-random"] - 0.3, mean


@pytest.mark.slow
def test_cli_gives_interval_and_refuses_a_tracker_without_response(
        otb_sequences: Path, capsys, tmp_path: Path) -> None:
    root = tmp_path / "otb"
    root.mkdir()
    for name in ("Crossing", "Football1", "Diving", "Girl"):
        (root / name).symlink_to(otb_sequences / name)
    argv = ["localise", "otb", "alexpul", "--root", str(root), "--pairs", "3", "--bootstrap",
            "200", "--json"]
    main(argv)
    out = json.loads(capsys.readouterr().out)
    r = out["trackers"]["alexpul"]
    assert out["pairs"] == 12 and r["n_sequences"] == 4 and out["pair_seed"] == 0
    assert r["error_ci"][0] <= r["error"] <= r["error_ci"][1]
    main([*argv, "--seed", "7"])  # the bootstrap's seed, as in score: same pairs, other interval
    again = json.loads(capsys.readouterr().out)["trackers"]["alexpul"]
    assert again["error"] == r["error"] and again["error_ci"] != r["error_ci"]
    main([*argv, "--pair-seed", "7"])  # other pairs
    assert json.loads(capsys.readouterr().out)["trackers"]["alexpul"]["error"] != r["error"]
    with pytest.raises(SystemExit) as exit_:
        main(["localise", "otb", "kcf", "--root", str(root), "--pairs", "1"])
    assert exit_.value.code == 2 and "no response map" in capsys.readouterr().err
