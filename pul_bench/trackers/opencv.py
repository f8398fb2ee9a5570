"""Classic correlation-filter baselines from OpenCV (contrib): KCF and CSRT.

They need no checkpoint, so every fresh install can run and score a real tracker. OpenCV wants
BGR images and integer rectangles; this wrapper converts from the package's RGB images and
float 0-based boxes, and keeps the previous box when OpenCV reports a lost target (it then
returns an all-zero rectangle, which would otherwise count as a jump to the image corner).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import cv2
import numpy as np

from pul_bench.errors import PulBenchError
from pul_bench.tracker import Box, Tracker

#: algorithm name -> (tracker constructor, parameter-struct constructor)
ALGORITHMS: dict[str, tuple[Callable[..., Any], Callable[[], Any]]] = {
    "kcf": (cv2.TrackerKCF_create, cv2.TrackerKCF_Params),
    "csrt": (cv2.TrackerCSRT_create, cv2.TrackerCSRT_Params),
}


class OpenCVTracker(Tracker):
    """An OpenCV tracker (``algorithm`` 'kcf' or 'csrt'); ``params`` set fields of its Params.

    Both algorithms are deterministic: the same frames give the same boxes on every run.
    """

    deterministic: ClassVar[bool | None] = True

    def __init__(self, algorithm: str = "kcf", params: dict[str, Any] | None = None) -> None:
        if algorithm not in ALGORITHMS:
            raise PulBenchError(
                f"unknown OpenCV tracker {algorithm!r}; choose one of {sorted(ALGORITHMS)}")
        self.algorithm = algorithm
        self.name = algorithm
        make_params = ALGORITHMS[algorithm][1]
        self._params = make_params()
        allowed = sorted(a for a in dir(self._params) if not a.startswith("_"))
        for key, value in (params or {}).items():
            if key not in allowed:
                raise PulBenchError(
                    f"{algorithm}: unknown parameter {key!r}; allowed: {', '.join(allowed)}")
            setattr(self._params, key, value)
        self._tracker: Any = None
        self._box = np.zeros(4)

    def init(self, image: np.ndarray, box: Sequence[float]) -> None:
        """Start a fresh OpenCV tracker on ``box`` (rounded to whole pixels, at least 1x1)."""
        self._box = np.asarray(box, dtype=np.float64).reshape(4).copy()
        x, y, w, h = (int(round(v)) for v in self._box)
        self._tracker = ALGORITHMS[self.algorithm][0](self._params)
        self._tracker.init(_bgr(image), (x, y, max(w, 1), max(h, 1)))

    def update(self, image: np.ndarray) -> Box:
        """The new box, or the previous one where OpenCV reports the target lost."""
        ok, rect = self._tracker.update(_bgr(image))
        if ok and rect[2] > 0 and rect[3] > 0:
            self._box = np.asarray(rect, dtype=np.float64)
        return self._box.copy()


def _bgr(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2BGR)
