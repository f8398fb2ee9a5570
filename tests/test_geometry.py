"""One geometry for every crop: BD's patches, temporal mining's and supervised training's
exemplars and the tracker's own exemplar show the same pixels for the same box on a real frame."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pul_bench.datasets.vot import read_groundtruth
from pul_bench.geometry import box_to_polygon, context_size, exemplar_crop, polygon_to_box
from pul_bench.registry import create
from pul_train.bd import BDConfig, BDTask
from pul_train.mining import BatchMiner, Start
from pul_train.supervised import EXEMPLAR, INSTANCE
from pul_train.supervised import _crop as supervised_crop
from pul_train.video import open_videos

# the 20x20 box, a wide box, and one that sticks out of the frame (mean-colour padding)
BOXES = np.array([[150.0, 110.0, 20.0, 20.0], [106.5, 80.25, 70.0, 24.0], [-10.0, 5.0, 40.0, 30.0]])


def _tracker_exemplar(tracker, image: np.ndarray, box: np.ndarray,  # noqa: ANN001
                      monkeypatch: pytest.MonkeyPatch) -> np.ndarray:
    """The (127, 127, 3) crop SiamFCTracker.init feeds its network, caught at the network."""
    seen = []
    embed = tracker.net.embed

    def spy(x):  # noqa: ANN001, ANN202
        seen.append(x[0].permute(1, 2, 0).float().numpy())
        return embed(x)

    with monkeypatch.context() as m:
        m.setattr(tracker.net, "embed", spy)
        tracker.init(image, box)
    return seen[0]


def test_bd_mining_and_tracking_crop_the_same_pixels(data_root: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    video = next(v for v in open_videos(data_root / "unlabeled", "folders") if v.name == "tree")
    frame = video.frames[0]
    image = frame.read()
    tracker = create("siamfc-random", device="cpu", optimize=False)

    bd = object.__new__(BDTask)  # only the crop step of BD, with the recipe defaults
    bd.cfg = BDConfig()
    stored = bd._crop_frame((frame, BOXES))
    p = bd.cfg.patch_size
    off = (stored.shape[1] - p) // 2  # BD embeds (and its unaugmented view is) the centre
    mined = BatchMiner(tracker).run(video, [Start(0, 0, tuple(b)) for b in BOXES], 1)["z"]

    for k, box in enumerate(BOXES):
        ours = _tracker_exemplar(tracker, image, box, monkeypatch)
        assert ours.shape == (p, p, 3)
        bd_patch = stored[k, off:off + p, off:off + p].astype(np.float64)
        # the same map on the same pixel grid, so the same pixels but for OpenCV's fixed-point
        # rounding of the sample positions (12 of 48,387 values one grey level apart); the old
        # BD crop, 1.08 px and 0.26% off, was 3 levels off on average (37 at most) for box 0
        diff = np.abs(bd_patch - ours)
        assert diff.max() <= 1 and diff.mean() < 0.01, (k, diff.max(), diff.mean())
        # mining resamples on the device in float and rounds: at most one grey level apart
        diff = np.abs(mined[k].astype(np.float64) - ours)
        assert diff.max() <= 1 and diff.mean() < 0.1, (k, diff.max(), diff.mean())
        # supervised training cuts its exemplars the tracker's way too, and the centre of its
        # search crop (same context, same scale) is the exemplar again
        np.testing.assert_array_equal(supervised_crop(frame.path, box, EXEMPLAR), ours)
        m = (INSTANCE - EXEMPLAR) // 2
        centre = supervised_crop(frame.path, box, INSTANCE)[m:m + p, m:m + p]
        diff = np.abs(centre.astype(np.float64) - ours)
        assert diff.max() <= 1 and diff.mean() < 0.01, (k, diff.max(), diff.mean())


def test_exemplar_crop_is_the_context_square_pixel_for_pixel() -> None:
    image = np.zeros((100, 200, 3), np.uint8)
    image[40:60, 90:110] = 255  # a 20x20 white square
    box = [90.0, 40.0, 20.0, 20.0]
    assert context_size(box, 0.5) == 40.0  # pad 0.5 * (20 + 20) = 20: sqrt(40 * 40)
    expected = np.zeros((40, 40, 3), np.uint8)
    expected[10:30, 10:30] = 255  # the square is the middle half of its context square
    np.testing.assert_array_equal(exemplar_crop(image, box, 0.5, 40), expected)
    # twice as wide at the same output size: half the scale, every pixel the mean of two columns
    # (and two rows) that are both inside or both outside the square
    expected[:] = 0
    expected[15:25, 15:25] = 255
    np.testing.assert_array_equal(exemplar_crop(image, box, 0.5, 40, zoom=2.0), expected)


def test_polygons_and_boxes_round_trip_on_real_vot_regions(vot_sequences: Path) -> None:
    polygons = read_groundtruth(vot_sequences / "ball1" / "groundtruth.txt")
    boxes = polygon_to_box(polygons)
    xs, ys = polygons[:, 0::2], polygons[:, 1::2]
    # the bounds touch the polygon on all four sides
    np.testing.assert_allclose(boxes[:, 0], xs.min(1))
    np.testing.assert_allclose(boxes[:, 0] + boxes[:, 2], xs.max(1))
    np.testing.assert_allclose(boxes[:, 1] + boxes[:, 3], ys.max(1))
    assert (boxes[:, 2:] > 0).all()
    np.testing.assert_array_equal(polygon_to_box(box_to_polygon(boxes)), boxes)
