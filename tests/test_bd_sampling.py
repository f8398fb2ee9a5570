"""BD batches that match the method: same-frame overlapping proposals are never each other's
negatives (masked out of NT-Xent, or kept out of one mini-batch), AHM still ranks by Alg. 1."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from pul_train.ahm import ahm_batches, spread_batches
from pul_train.bd import FALSE_NEG_IOU, BDTask, nt_xent
from pul_train.recipe import load_recipe
from pul_train.trainer import train

CLIPS = ("tree", "realshort", "carphone", "cup", "bikes")


def _hand_masked_nt_xent(views: list[list[float]], t: float, exclude: set[tuple[int, int]]
                         ) -> float:
    """Textbook NT-Xent over 2n views (twin of i is i + n mod 2n), leaving out of view i's
    denominator every view of a patch paired with i's patch in ``exclude``."""
    unit = [[x / math.sqrt(sum(c * c for c in v)) for x in v] for v in views]
    m, n = len(unit), len(unit) // 2
    total = 0.0
    for i in range(m):
        twin = (i + n) % m
        keep = [k for k in range(m) if k != i and (i % n, k % n) not in exclude]
        sims = {k: sum(a * b for a, b in zip(unit[i], unit[k], strict=True)) / t for k in keep}
        total += -math.log(math.exp(sims[twin]) / sum(math.exp(s) for s in sims.values()))
    return total / m


def test_masked_pairs_leave_the_nt_xent_denominator() -> None:
    z1 = [[1.0, 0.0, 0.0], [0.9, 0.2, 0.1], [0.0, 1.0, -1.0], [-1.0, 0.5, 0.0]]
    z2 = [[0.8, 0.1, 0.0], [1.0, 0.1, 0.2], [0.1, 1.0, -0.8], [-0.9, 0.4, 0.2]]
    ex = torch.zeros(4, 4, dtype=torch.bool)
    ex[0, 1] = ex[1, 0] = True  # patches 0 and 1: one object seen twice
    got = nt_xent(torch.tensor(z1), torch.tensor(z2), 0.5, ex).item()
    want = _hand_masked_nt_xent(z1 + z2, 0.5, {(0, 1), (1, 0)})
    assert math.isclose(got, want, rel_tol=1e-5)
    assert got < nt_xent(torch.tensor(z1), torch.tensor(z2), 0.5).item() - 0.05


def test_spread_batches_hold_one_patch_per_frame() -> None:
    groups = np.repeat(np.arange(30), 4)  # 30 frames x 4 proposals
    gen = torch.Generator().manual_seed(0)
    batches = spread_batches(groups, 12, 10, gen)
    assert len(batches) == 10
    flat = torch.cat(batches).numpy()
    assert len(np.unique(flat)) == len(flat)  # disjoint
    for b in batches:
        assert len(b) == 12 and len(set(groups[b.numpy()])) == 12


def test_ahm_neighbours_from_other_frames_keep_alg1_ranking() -> None:
    g = torch.Generator().manual_seed(1)
    emb = torch.randn(60, 8, generator=g)
    groups = np.arange(60) // 3
    # near-duplicates: the three patches of frame 0 are one object; plain AHM groups them
    emb[1] = emb[0] + 0.01
    emb[2] = emb[0] - 0.01
    plain = ahm_batches(emb, 4, 60, expansion=15, generator=torch.Generator().manual_seed(2))
    assert any(len(set(groups[b.numpy()])) < 4 for b in plain)
    spread = ahm_batches(emb, 4, 60, expansion=15, generator=torch.Generator().manual_seed(2),
                         groups=groups)
    z = torch.nn.functional.normalize(emb, dim=1)
    scores = []
    for b in spread:
        assert len(set(groups[b.numpy()])) == 4
        anchor, near = int(b[0]), b[1:]
        # Alg. 1 over the allowed neighbours: the most similar patch of each other frame
        sims = (z[anchor] @ z.t()).numpy()
        allowed = [j for j in np.argsort(-sims, kind="stable") if groups[j] != groups[anchor]]
        best, seen = [], {groups[anchor]}
        for j in allowed:
            if groups[j] not in seen:
                best.append(j)
                seen.add(groups[j])
            if len(best) == 3:
                break
        assert sorted(best) == sorted(near.tolist())
        scores.append(float(sims[near.numpy()].sum()))
    assert scores == sorted(scores, reverse=True)  # anchors ranked densest first


@pytest.fixture(scope="module")
def clips(data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("bd_sampling")
    (base / "clips").mkdir()
    for clip in CLIPS:
        (base / "clips" / clip).symlink_to(data_root / "unlabeled" / clip)
    return base


def _recipe(clips: Path, tmp: Path, bd: str, epochs: int = 1) -> Path:
    path = tmp / "r.yaml"
    path.write_text(f"""task: bd
backbone: tiny_net:build
epochs: {epochs}
seed: 2
data: {{root: {clips / 'clips'}, kind: folders, stride: 20}}
runtime: {{device: cpu, workers: 1, threads: 1}}
bd: {{patches_per_video: 12, batch_size: 12, patch_size: 32, ahm_start_epoch: null, {bd}}}
""")
    return path


TINY_NET = '''
from torch import nn

def build():
    return nn.Sequential(nn.Conv2d(3, 8, 5, 2), nn.ReLU(), nn.Conv2d(8, 16, 3))
'''


@pytest.fixture()
def tiny(clips: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (clips / "tiny_net.py").write_text(TINY_NET)
    monkeypatch.syspath_prepend(str(clips))
    monkeypatch.setenv("PUL_TRAIN_CACHE", str(clips / "cache"))


def _plan(recipe: Path) -> tuple[BDTask, list[np.ndarray], np.ndarray]:
    r = load_recipe(recipe)
    task = BDTask(r, r.data.root, torch.device("cpu"), False)
    task.prepare(compute=True)
    plan = task.epoch_batches(0, task.build_model())
    chosen = task._patch_set(0)
    return task, plan, task._patch_overlaps(chosen)


@pytest.mark.slow
def test_paper_batches_hold_overlapping_negatives_across_clips_batches_none(
        clips: Path, tmp_path: Path, tiny: None) -> None:
    task, plan, overlap = _plan(_recipe(clips, tmp_path, "sampling: paper"))
    same_frame_hits = sum(int((overlap[np.ix_(b, b)] > FALSE_NEG_IOU).sum()) for b in plan)
    assert same_frame_hits > 0 and task.stats["overlap_neg"] > 0  # the problem, measured
    assert task.stats["overlap_neg_loss"] == task.stats["overlap_neg"]

    task, plan, overlap = _plan(_recipe(clips, tmp_path, "sampling: across_clips, "
                                                         "frames_per_video: 4"))
    assert len(plan) >= 3
    for b in plan:
        frames = task.patch_frame[b]
        assert len(set(frames)) == len(b)  # one patch per frame ...
        assert not (overlap[np.ix_(b, b)] > FALSE_NEG_IOU).any()  # ... so no overlapping pair
    assert task.stats == {"overlap_neg": 0.0, "overlap_neg_loss": 0.0}


@pytest.mark.slow
def test_mask_iou_excludes_exactly_the_overlapping_same_frame_pairs(
        clips: Path, tmp_path: Path, tiny: None) -> None:
    task, plan, overlap = _plan(_recipe(clips, tmp_path, "mask_iou: 0.3"))
    batch = task.make_batch(0, 0, plan[0])
    want = overlap[np.ix_(plan[0], plan[0])] > 0.3
    assert want.any()
    np.testing.assert_array_equal(batch["exclude"].numpy(), want)
    assert task.stats["overlap_neg"] > 0 and task.stats["overlap_neg_loss"] == 0.0


@pytest.mark.slow
def test_overlap_shares_are_logged_per_epoch(clips: Path, tmp_path: Path, tiny: None) -> None:
    recipe = load_recipe(_recipe(clips, tmp_path, "mask_iou: 0.3", epochs=2))
    train(recipe, tmp_path / "run", progress=False)
    rows = list(csv.DictReader((tmp_path / "run" / "log.csv").open()))
    assert len(rows) == 2
    assert all(float(r["overlap_neg"]) > 0 and float(r["overlap_neg_loss"]) == 0 for r in rows)


def test_cpu_recipes_train_on_no_evaluation_sequence(data_root: Path) -> None:
    """Every AlexNet CPU recipe reads all shared unlabeled clips, none of them an evaluated
    video."""
    from pul_train.trainer import resolve_root
    from pul_train.video import open_videos

    def key(name: str) -> str:
        return "".join(c for c in name.lower() if c.isalnum())

    evaluated = {key(d.name) for kind in ("otb", "vot")
                 for d in (data_root / "sequences" / kind).iterdir() if d.is_dir()}
    for name in ("alexpul-bd", "alexpul-bd-ahm", "alexpul-tcl10", "alexpul-tcl20"):
        recipe = load_recipe(name)
        videos = open_videos(resolve_root(recipe, data_root), recipe.data.kind)
        assert len(videos) == sum(d.is_dir() for d in (data_root / "unlabeled").iterdir())
        assert not {key(v.name) for v in videos} & evaluated, name
        assert not any(key(v.name).endswith(e) or e.endswith(key(v.name)) for v in videos
                       for e in evaluated), name
