"""OTB-layout sequences (images + ``groundtruth_rect*.txt``) and the MATLAB toolkit's
annotation-only layout (``anno/<Seq>.txt``). Converts the files' 1-based boxes to 0-based."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class OTBSequence:
    """One evaluated target.

    ``groundtruth`` is (N, 4) float64, 0-based ``[x, y, w, h]``; ``valid`` is False on rows the
    MATLAB toolkit treats as unannotated (any file value <= 0 or NaN). ``frames`` lists the N
    evaluated image files (empty for an annotation-only root); ``start_frame`` is the 1-based
    number of the first evaluated image in the original sequence.
    """

    name: str
    groundtruth: np.ndarray
    valid: np.ndarray
    frames: list[Path] = field(default_factory=list)
    start_frame: int = 1
    attributes: dict[str, bool] = field(default_factory=dict)
