"""TC learning and the supervised baselines end to end at toy scale on real frames, plus the
labeled-data readers and the label geometry of the augmentation."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch

from pul_bench.checkpoint import load_checkpoint, save_checkpoint
from pul_bench.errors import InputError, PulBenchError
from pul_bench.models.siamese import build_backbone
from pul_train.labeled import check_disjoint, open_labeled
from pul_train.proposals import CACHE_ENV
from pul_train.recipe import load_recipe
from pul_train.supervised import noisy_boxes
from pul_train.tc import TCTask, shift_search
from pul_train.trainer import train


def test_shift_moves_the_label_with_the_content():
    x = np.zeros((255, 255, 3), np.uint8)
    x[127, 127] = 255  # the target's centre
    for seed in range(5):
        out, centre = shift_search(x, np.random.default_rng(seed), 8)
        row, col = np.unravel_index(out[..., 0].argmax(), out.shape[:2])
        assert (row - 127, col - 127) == tuple(centre)


def test_noisy_boxes_move_centres_by_exactly_the_offset():
    boxes = np.tile([10.0, 20.0, 30.0, 40.0], (50, 1))
    moved = noisy_boxes(boxes, 30.0, np.random.default_rng(0))
    np.testing.assert_allclose(np.hypot(*(moved[:, :2] - boxes[:, :2]).T), 30.0)
    assert np.array_equal(moved[:, 2:], boxes[:, 2:])


def test_shared_labeled_sequences_read_as_written(data_root: Path):
    seqs = open_labeled(data_root / "train_labeled")
    # every sequence the shared indices list is read, with as many frames and boxes as listed
    listed = {r["seq"]: int(r["n_frames"]) for r in
              csv.DictReader((data_root / "train_labeled" / "index.csv").open())}
    listed |= {r["name"]: int(r["n_frames"]) for r in
               csv.DictReader((data_root / "extra_shared_index.csv").open())
               if r["split"] == "train_labeled"}
    assert {s.name: len(s.frames) for s in seqs} == listed
    assert all(len(s.boxes) == len(s.frames) for s in seqs)
    person = next(s for s in seqs if s.name == "uav_person11")
    assert len(person.frames) == 121 and person.frames[0].name == "000001.jpg"
    np.testing.assert_allclose(person.boxes[0], [275.5, 116.5, 20.5, 41.0])
    check_disjoint(seqs, [data_root / "sequences" / "otb", data_root / "sequences" / "vot"])


def test_reader_layouts_nan_rows_and_bad_lines(tmp_path: Path):
    import cv2

    def seq(folder: Path, n: int, img: str = "img") -> Path:
        (folder / img).mkdir(parents=True) if img else folder.mkdir(parents=True)
        for i in range(n):
            cv2.imwrite(str(folder / img / f"{i + 1:08d}.jpg"), np.zeros((8, 8, 3), np.uint8))
        return folder

    otb = seq(tmp_path / "otb" / "Walker", 3)
    (otb / "groundtruth_rect.txt").write_text("1,1,5,5\nNaN,NaN,NaN,NaN\n3,3,4,4\n")
    s = open_labeled(tmp_path / "otb")[0]
    np.testing.assert_allclose(s.boxes[0], [0, 0, 5, 5])  # OTB is 1-based
    assert list(s.valid()) == [0, 2]
    got = seq(tmp_path / "got" / "train" / "GOT-10k_Train_000001", 3, "")
    (got / "groundtruth.txt").write_text("1,1,5,5\n2,2,5,5\n3,3,5,5\n")
    (got / "absence.label").write_text("0\n1\n0\n")
    g = open_labeled(tmp_path / "got")[0]
    assert list(g.valid()) == [0, 2] and g.boxes[2, 0] == 3
    las = seq(tmp_path / "lasot" / "cat" / "cat-1", 2)
    (las / "groundtruth.txt").write_text("1,1,5,5\n2,2,5,5\n")
    (las / "full_occlusion.txt").write_text("0,0")
    (las / "out_of_view.txt").write_text("0,1")
    assert list(open_labeled(tmp_path / "lasot")[0].valid()) == [0]
    (otb / "groundtruth_rect.txt").write_text("1,1,5,5\n2,x,5,5\n3,3,4,4\n")
    with pytest.raises(InputError, match=r"groundtruth_rect.txt:2"):
        open_labeled(tmp_path / "otb")
    with pytest.raises(PulBenchError, match="evaluation sequence"):
        check_disjoint(open_labeled(tmp_path / "got"), [tmp_path / "got" / "train"])


@pytest.fixture()
def bd_checkpoint(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    path = tmp_path / "bd.pt"
    save_checkpoint(path, build_backbone("alexnet").state_dict(), {"architecture": "alexnet"})
    return path


def _recipe(path: Path, text: str):
    path.write_text(text)
    return load_recipe(path)


@pytest.mark.slow
def test_tc_mines_once_and_trains_nr_and_bce_on_the_same_pairs(
        data_root: Path, tmp_path: Path, bd_checkpoint: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    clips = tmp_path / "clips"
    clips.mkdir()
    (clips / "cup").symlink_to(data_root / "unlabeled" / "cup")
    base = f"""task: tc
backbone: alexnet
epochs: 1
data: {{root: {clips}, kind: folders, stride: 40}}
proposals: {{candidates: 100, keep: 16}}
runtime: {{device: cpu, workers: 1}}
tc:
  init: {bd_checkpoint}
  tracker: siamfc-random
  lengths: [2]
  pairs_dir: {tmp_path / 'mined'}
  per_frame: 2
  batch_size: 4
  nr:
    samples: 4
"""
    out = train(_recipe(tmp_path / "nr.yaml", base), tmp_path / "nr", progress=False)
    shards = sorted((tmp_path / "mined").rglob("pairs-*.npz"))
    assert shards and (shards[0].parent / "contact_sheet.png").is_file()
    stamp = shards[0].stat().st_mtime_ns
    bce = train(_recipe(tmp_path / "bce.yaml", base + "  loss: bce\n"), tmp_path / "bce",
                progress=False)
    assert shards[0].stat().st_mtime_ns == stamp  # reused, not mined again
    init, _ = load_checkpoint(bd_checkpoint)
    for summary in (out, bce):
        assert np.isfinite(summary["log"][-1]["loss"])
        trained, meta = load_checkpoint(summary["model"])
        assert meta["architecture"] == "alexnet" and meta["lengths"] == [2]
        assert any(not torch.equal(trained[k], init[k]) for k in init)
    assert out["log"][-1]["phase"] == "tc-nr" and bce["log"][-1]["phase"] == "tc-bce"
    # a learning curve's sizes: seeded subsets of the same pairs, each inside the next
    kept = []
    for n in (2, 3):
        task = TCTask(_recipe(tmp_path / f"m{n}.yaml", base + f"  max_pairs: {n}\n"), clips,
                      torch.device("cpu"), False)
        task.prepare(compute=False)
        kept.append(set(task.keep.tolist()))
    assert len(kept[0]) == 2 and len(kept[1]) == 3 and kept[0] < kept[1]
    assert shards[0].stat().st_mtime_ns == stamp


@pytest.mark.slow
def test_supervised_noisy_nr_run(data_root: Path, tmp_path: Path):
    recipe = _recipe(tmp_path / "sup.yaml", """task: supervised
backbone: alexnet
epochs: 1
data: {root: train_labeled, kind: folders}
runtime: {device: cpu, workers: 1}
supervised: {loss: nr, noise_px: 30, pairs_per_epoch: 4, batch_size: 2, nr: {samples: 4}}
""")
    summary = train(recipe, tmp_path / "run", data_root=data_root, progress=False)
    weights, meta = load_checkpoint(summary["model"])
    labeled = sorted(p.parent.name for p in (data_root / "train_labeled").glob("*/img"))
    assert meta["noise_px"] == 30 and meta["loss"] == "nr" and sorted(meta["sequences"]) == labeled
    assert summary["log"][0]["images"] == 8 and np.isfinite(summary["log"][0]["loss"])
