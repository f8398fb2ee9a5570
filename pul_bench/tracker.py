"""The tracker interface every plugin implements, and the one-pass frame loop.

Images are RGB ``uint8`` arrays of shape (H, W, 3). Boxes are ``[x, y, w, h]`` floats in
0-based pixel coordinates (the top-left pixel's corner is (0, 0)). Files on disk may use other
conventions (OTB is 1-based); they are converted once, where they are read or written.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np

from pul_bench.errors import InputError

Box = np.ndarray  # shape (4,), float64, [x, y, w, h], 0-based

# Inference precisions of network trackers (``auto`` is resolved by each: bf16 on CUDA, fp16 on
# GPUs without bf16, fp32 on a CPU); part of a results folder's set-up, and the choices of
# --precision and report recipes.
PRECISIONS = ("fp32", "bf16", "fp16")


class Tracker:
    """Base class: override :meth:`init` and :meth:`update`.

    ``name`` is the registry name; ``deterministic`` tells the VOT experiment it may stop after
    one repetition (it still checks this itself after three identical runs).
    """

    name: str = "tracker"
    deterministic: ClassVar[bool | None] = None

    def init(self, image: np.ndarray, box: Sequence[float]) -> None:
        """Start tracking the object in ``box`` on the first ``image``."""
        raise NotImplementedError

    def update(self, image: np.ndarray) -> Box:
        """Return the object's box in the next ``image``."""
        raise NotImplementedError

    def track(
        self,
        frames: Sequence[str | Path],
        box: Sequence[float],
        progress: Callable[[int], None] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Run one pass over image files; return (N, 4) boxes and (N,) seconds per frame.

        Frame 0's box is the given one; its time is that of ``init``.
        """
        n = len(frames)
        boxes = np.zeros((n, 4), dtype=np.float64)
        times = np.zeros(n, dtype=np.float64)
        for i, f in enumerate(frames):
            image = read_image(f)
            t0 = time.perf_counter()
            if i == 0:
                self.init(image, np.asarray(box, dtype=np.float64))
                boxes[0] = box
            else:
                boxes[i] = np.asarray(self.update(image), dtype=np.float64).reshape(4)
            times[i] = time.perf_counter() - t0
            if progress is not None:
                progress(1)
        return boxes, times


class IdentityTracker(Tracker):
    """Reports the initial box on every frame: a floor for scores and a fixture for tests."""

    name = "identity"
    deterministic = True

    def init(self, image: np.ndarray, box: Sequence[float]) -> None:
        self.box = np.asarray(box, dtype=np.float64).copy()

    def update(self, image: np.ndarray) -> Box:
        return self.box.copy()


def read_image(path: str | Path) -> np.ndarray:
    """Read an image file as RGB uint8; a missing or corrupt file is an :class:`InputError`."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "image file not found")
    import cv2  # here, not at the top: scoring imports this module but reads no image

    data = np.fromfile(str(path), dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise InputError(path, "cannot decode image (corrupt or not an image)")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
