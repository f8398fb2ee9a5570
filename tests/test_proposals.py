"""EdgeBox proposals on real frames: inside the image, NMS-clean, cached, drawable."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import pul_train.proposals as proposals
from pul_bench.errors import InputError
from pul_bench.plots import draw_proposals
from pul_bench.tracker import read_image
from pul_train.proposals import ProposalSettings, frame_proposals, nms
from pul_train.video import FrameRef


def _iou_matrix(b: np.ndarray) -> np.ndarray:
    x1, y1, x2, y2 = b[:, 0], b[:, 1], b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.clip(np.minimum(x2[:, None], x2) - np.maximum(x1[:, None], x1), 0, None)
    ih = np.clip(np.minimum(y2[:, None], y2) - np.maximum(y1[:, None], y1), 0, None)
    inter = iw * ih
    area = b[:, 2] * b[:, 3]
    return inter / (area[:, None] + area - inter)


@pytest.mark.parametrize("clip", ["cup", "vtest", "carphone"])
def test_real_frame_proposals_inside_and_nms_clean(data_root: Path, tmp_path: Path,
                                                   clip: str) -> None:
    frame = FrameRef(data_root / "unlabeled" / clip / "00000011.jpg")
    h, w = read_image(frame.path).shape[:2]
    boxes = frame_proposals([frame], cache_dir=tmp_path, progress=False)[0]
    assert boxes.shape[1] == 5 and 10 <= len(boxes) <= 64
    x, y, bw, bh = boxes[:, :4].T
    assert (x >= 0).all() and (y >= 0).all() and (x + bw <= w + 1e-3).all()
    assert (y + bh <= h + 1e-3).all() and (bw >= 16).all() and (bh >= 16).all()
    iou = _iou_matrix(boxes[:, :4].astype(np.float64))
    np.fill_diagonal(iou, 0.0)
    assert iou.max() < 0.6
    assert (np.diff(boxes[:, 4]) <= 0).all()  # best first


def test_cache_is_reused_and_keyed_by_settings(data_root: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    frame = FrameRef(data_root / "unlabeled" / "tree" / "00000001.jpg")
    first = frame_proposals([frame], cache_dir=tmp_path, progress=False)[0]

    def boom(*args: object) -> None:
        raise AssertionError("recomputed a cached frame")

    monkeypatch.setattr(proposals, "edge_boxes", boom)
    again = frame_proposals([frame], cache_dir=tmp_path, progress=False)[0]
    np.testing.assert_array_equal(first, again)
    with pytest.raises(AssertionError, match="recomputed"):  # other settings: another key
        frame_proposals([frame], ProposalSettings(keep=10), cache_dir=tmp_path, progress=False)


def test_parallel_matches_serial(data_root: Path, tmp_path: Path) -> None:
    frames = [FrameRef(data_root / "unlabeled" / "carphone" / f"{i:08d}.jpg") for i in (1, 11)]
    par = frame_proposals(frames, cache_dir=tmp_path / "a", workers=2, progress=False)
    ser = frame_proposals(frames, cache_dir=tmp_path / "b", workers=1, progress=False)
    for p, s in zip(par, ser, strict=True):
        np.testing.assert_array_equal(p, s)


def test_nms_drops_overlaps_at_threshold() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 0, 10, 10], [20, 20, 5, 5], [0, 0, 10, 5]], float)
    scores = np.array([0.9, 0.8, 0.7, 0.6])
    # box 1 overlaps box 0 by 90/110 = 0.82; box 3 by exactly 0.5
    assert nms(boxes, scores, 0.6).tolist() == [0, 2, 3]
    assert nms(boxes, scores, 0.5).tolist() == [0, 2]


def test_missing_edge_model_is_an_input_error(data_root: Path, tmp_path: Path) -> None:
    frame = FrameRef(data_root / "unlabeled" / "tree" / "00000001.jpg")
    settings = ProposalSettings(edge_model=str(tmp_path / "model.yml.gz"))
    with pytest.raises(InputError, match="model.yml.gz"):
        frame_proposals([frame], settings, cache_dir=tmp_path, progress=False)


def test_draw_marks_the_best_box_in_red() -> None:
    image = np.zeros((50, 60, 3), np.uint8)
    out = draw_proposals(image, np.array([[10, 10, 20, 20, 1.0], [0, 0, 30, 30, 0.5]]))
    assert tuple(out[10, 15]) == (255, 0, 0) and image.max() == 0
