"""OpenCV KCF/CSRT baselines on real OTB frames: colour order, determinism, lost-target handling."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from pul_bench.errors import PulBenchError
from pul_bench.io import read_table
from pul_bench.registry import create
from pul_bench.trackers.opencv import OpenCVTracker


def _sequence(otb_sequences: Path, name: str, n: int) -> tuple[list[Path], np.ndarray]:
    gt = read_table(otb_sequences / name / "groundtruth_rect.txt", 4)[:n]
    gt[:, :2] -= 1  # OTB files are 1-based
    frames = sorted((otb_sequences / name / "img").glob("*.jpg"))[:n]
    return frames, gt


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    lo = np.maximum(a[:, :2], b[:, :2])
    hi = np.minimum(a[:, :2] + a[:, 2:], b[:, :2] + b[:, 2:])
    inter = np.prod(np.clip(hi - lo, 0, None), axis=1)
    return inter / (a[:, 2] * a[:, 3] + b[:, 2] * b[:, 3] - inter)


def _raw_opencv(tracker: OpenCVTracker, frames: list[Path], box: np.ndarray) -> list:
    """OpenCV itself, fed BGR frames from cv2.imread, with the wrapper's own parameters."""
    make = {"kcf": cv2.TrackerKCF_create, "csrt": cv2.TrackerCSRT_create}[tracker.algorithm]
    raw = make(tracker._params)
    raw.init(cv2.imread(str(frames[0])), tuple(int(round(v)) for v in box))
    return [raw.update(cv2.imread(str(f))) for f in frames[1:]]


@pytest.mark.parametrize("name", ["kcf", "csrt"])
def test_matches_opencv_fed_bgr_and_is_deterministic(otb_sequences: Path, name: str) -> None:
    frames, gt = _sequence(otb_sequences, "Crossing", 40)
    tracker = create(name)
    assert tracker.deterministic is True and tracker.name == name
    boxes, times = tracker.track(frames, gt[0])
    again, _ = create(name).track(frames, gt[0])
    np.testing.assert_array_equal(boxes, again)
    raw = _raw_opencv(tracker, frames, gt[0])
    for i, (ok, rect) in enumerate(raw, start=1):
        if ok:
            np.testing.assert_array_equal(boxes[i], rect)
    assert times.shape == (40,) and np.all(times > 0)
    # a real tracker on an easy walk: it follows the pedestrian over these 40 frames
    assert _iou(boxes, gt).mean() > 0.5


def test_rgb_is_converted_to_bgr(otb_sequences: Path) -> None:
    """Feeding OpenCV the RGB array unconverted changes the colour features, and the boxes."""
    frames, gt = _sequence(otb_sequences, "Crossing", 40)
    ours, _ = create("csrt").track(frames, gt[0])
    swapped = OpenCVTracker("csrt")
    swapped.init(cv2.imread(str(frames[0])), gt[0])  # BGR given where RGB is expected
    wrong = [swapped.update(cv2.imread(str(f))) for f in frames[1:]]
    assert not np.array_equal(ours[1:], np.array(wrong))


def test_lost_target_keeps_previous_box(otb_sequences: Path) -> None:
    """OpenCV's default KCF reports the target lost (an all-zero rect) early on Crossing."""
    frames, gt = _sequence(otb_sequences, "Crossing", 30)
    tracker = OpenCVTracker("kcf")  # OpenCV defaults: detect_thresh 0.5
    boxes, _ = tracker.track(frames, gt[0])
    raw = _raw_opencv(tracker, frames, gt[0])
    lost = [i for i, (ok, _) in enumerate(raw, start=1) if not ok]
    assert lost, "expected OpenCV's KCF to lose the target in these frames"
    for i in lost:
        np.testing.assert_array_equal(boxes[i], boxes[i - 1])
    assert np.all(boxes[:, 2:] > 0)


def test_bad_configuration_is_a_clear_error() -> None:
    with pytest.raises(PulBenchError, match="unknown OpenCV tracker 'mosse'"):
        OpenCVTracker("mosse")
    with pytest.raises(PulBenchError, match="unknown parameter 'detect_threshold'.*detect_thresh"):
        OpenCVTracker("kcf", {"detect_threshold": 0.2})
