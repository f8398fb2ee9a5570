"""Box overlap and centre distance for (N, 4) ``[x, y, w, h]`` arrays, row by row.

Two pixel conventions exist and published numbers depend on which one a toolkit used:

* ``inclusive=True`` is the MATLAB OTB toolkit's (``calcRectInt.m``): a box covers the pixels
  ``x .. x + w - 1``, so the intersection width is ``min(right) - max(left) + 1``. The ratio is
  left unclipped, as there (a box narrower than a pixel can push it outside [0, 1]).
* ``inclusive=False`` is the continuous one of pysot and got10k: a box spans ``[x, x + w)``;
  the ratio is clipped to [0, 1].

Every function is vectorised; NaN boxes give NaN, which fails every threshold comparison.
"""

from __future__ import annotations

import numpy as np


def iou(a: np.ndarray, b: np.ndarray, inclusive: bool = False, eps: float = 0.0) -> np.ndarray:
    """Intersection over union of matching rows of ``a`` and ``b`` (both (N, 4)).

    ``eps`` is added to the union (got10k adds machine epsilon); a zero union gives 0.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    one = 1.0 if inclusive else 0.0
    left = np.maximum(a[:, 0], b[:, 0])
    top = np.maximum(a[:, 1], b[:, 1])
    right = np.minimum(a[:, 0] + a[:, 2] - one, b[:, 0] + b[:, 2] - one)
    bottom = np.minimum(a[:, 1] + a[:, 3] - one, b[:, 1] + b[:, 3] - one)
    inter = np.maximum(0.0, right - left + one) * np.maximum(0.0, bottom - top + one)
    union = a[:, 2] * a[:, 3] + b[:, 2] * b[:, 3] - inter + eps
    with np.errstate(divide="ignore", invalid="ignore"):
        out = inter / union
    if inclusive:
        return out
    out = np.where(union == 0, 0.0, out)
    return np.clip(out, 0.0, 1.0)


def centers(boxes: np.ndarray) -> np.ndarray:
    """(N, 2) box centres as all three OTB toolkits define them: ``x + (w - 1) / 2``."""
    boxes = np.asarray(boxes, dtype=np.float64)
    return boxes[:, :2] + (boxes[:, 2:4] - 1.0) / 2.0


def center_error(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distance in pixels between the centres of matching rows."""
    d = centers(a) - centers(b)
    return np.sqrt(np.sum(d * d, axis=1))


def normalized_center_error(boxes: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Centre distance with both centres divided by the ground truth's (w, h), as pysot does.

    pysot adds 1e-16 to the size so a zero-size ground truth gives a huge, not infinite, error.
    """
    size = np.asarray(gt, dtype=np.float64)[:, 2:4] + 1e-16
    d = centers(boxes) / size - centers(gt) / size
    return np.sqrt(np.sum(d * d, axis=1))
