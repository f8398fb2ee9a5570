"""Temporal mining on a real unlabeled clip with a random-weight SiamFC (the procedure, not the
weights, is under test)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from pul_bench.errors import InputError, PulBenchError
from pul_bench.registry import create
from pul_train.mining import BatchMiner, MiningConfig, PairSet, contact_sheet, mine, plan_tracks
from pul_train.proposals import CACHE_ENV, ProposalSettings
from pul_train.video import open_videos

CFG = MiningConfig(length=3, stride=60, per_frame=2, shard=3, seed=4)
PROPOSALS = ProposalSettings(candidates=100, keep=16)


@pytest.fixture(scope="module")
def clip(data_root: Path, tmp_path_factory: pytest.TempPathFactory):
    mp = pytest.MonkeyPatch()
    mp.setenv(CACHE_ENV, str(tmp_path_factory.mktemp("proposals")))
    yield [v for v in open_videos(data_root / "unlabeled", "folders") if v.name == "cup"]
    mp.undo()


@pytest.fixture(scope="module")
def tracker():
    return create("siamfc-random", device="cpu")


def test_plan_is_seeded_and_stays_inside_the_video(clip):
    a = plan_tracks(clip, CFG, PROPOSALS, progress=False)
    assert a == plan_tracks(clip, CFG, PROPOSALS, progress=False)
    assert a != plan_tracks(clip, MiningConfig(**{**CFG.__dict__, "seed": 5}), PROPOSALS,
                            progress=False)
    assert all(s.frame % CFG.stride == 0 and s.frame + CFG.length < len(clip[0].frames)
               for s in a)
    assert len(a) == CFG.per_frame * len({s.frame for s in a})


@pytest.mark.slow
def test_batched_tracks_follow_the_siamfc_tracker(clip, tracker):
    starts = plan_tracks(clip, CFG, PROPOSALS, progress=False)[:4]
    batched = BatchMiner(tracker).run(clip[0], starts, CFG.length)
    for k, s in enumerate(starts):
        tracker.init(clip[0].frames[s.frame].read(), s.box)
        for step in range(1, CFG.length + 1):
            box = tracker.update(clip[0].frames[s.frame + step].read())
        # device-side bilinear crops vs OpenCV's fixed-point ones: sub-pixel differences
        np.testing.assert_allclose(batched["box_last"][k], box, atol=0.5)
    assert batched["z"].shape == (4, 127, 127, 3) and batched["x"].shape == (4, 255, 255, 3)
    assert batched["peaks"].shape == (4, CFG.length)
    assert ((batched["confidence"] >= 0) & (batched["confidence"] <= 1)).all()


def test_forked_tracks_share_the_network_not_the_state(clip, tracker):
    """Mining's tracks are :meth:`SiamFCTracker.fork`s: stepping one leaves the others alone."""
    frames = clip[0].frames
    a, b = tracker.fork(), tracker.fork()
    assert a.net is tracker.net
    a.init(frames[0].read(), (40.0, 40.0, 30.0, 30.0))
    b.init(frames[0].read(), (90.0, 60.0, 20.0, 40.0))
    center_b = b.center.copy()
    a.follow(a.responses(frames[1].read()))
    np.testing.assert_array_equal(b.center, center_b)
    assert not np.array_equal(a.center, b.center)


@pytest.mark.slow
def test_mine_stores_pairs_once_and_resumes(clip, tracker, tmp_path):
    out = mine(tracker, clip, tmp_path / "m", CFG, PROPOSALS, batch=4, progress=False)
    shards = sorted(out.glob("pairs-*.npz"))
    pairs = PairSet([out])
    n = len(plan_tracks(clip, CFG, PROPOSALS, progress=False))
    assert len(pairs) == n and len(shards) == -(-n // CFG.shard)
    z, x = pairs.pair(n - 1)
    assert z.shape == (127, 127, 3) and x.shape == (255, 255, 3)
    assert (pairs.pair_lengths() == CFG.length).all()
    before = {p.name: p.stat().st_mtime_ns for p in shards}
    last_x = x
    shards[-1].unlink()  # an interrupted run: the last shard is missing
    mine(tracker, clip, out, CFG, PROPOSALS, batch=1, progress=False)
    after = {p.name: p.stat().st_mtime_ns for p in sorted(out.glob("pairs-*.npz"))}
    assert all(after[k] == before[k] for k in list(before)[:-1])  # finished shards untouched
    again = PairSet([out])
    np.testing.assert_allclose(again.field("box_last"), pairs.field("box_last"), atol=1e-3)
    assert np.abs(again.pair(n - 1)[1].astype(int) - last_x).mean() < 1.0
    sheet = contact_sheet(again, tmp_path / "sheet.png", count=4)
    assert sheet.stat().st_size > 10_000
    with pytest.raises(PulBenchError, match="different mining run"):
        mine(tracker, clip, out, MiningConfig(**{**CFG.__dict__, "length": 4}), PROPOSALS,
             progress=False)


def test_damaged_shard_names_the_file(clip, tracker, tmp_path):
    out = mine(tracker, clip, tmp_path / "m", MiningConfig(length=2, stride=200, per_frame=1),
               PROPOSALS, progress=False)
    shard = next(out.glob("pairs-*.npz"))
    shard.write_bytes(shard.read_bytes()[:100])
    with pytest.raises(InputError, match=shard.name):
        PairSet([out])


@pytest.mark.slow
def test_confidence_of_huge_logits_is_finite_and_silent(clip, tmp_path):
    """A network whose responses reach -1e3 and beyond (CIResNet-22 with SiamDW's head scale)
    mines without an overflow warning, its confidences in [0, 1] (exp overflowed before)."""
    loud = create("siamfc-random", device="cpu")
    loud.net.head_scale *= -1e6  # every logit far below zero
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = mine(loud, clip, tmp_path / "m", MiningConfig(length=2, stride=200, per_frame=1),
                   PROPOSALS, progress=False)
    conf = PairSet([out]).field("confidence")
    assert len(conf) and np.isfinite(conf).all() and ((conf >= 0) & (conf <= 1)).all()
