"""All box geometry in one place: box <-> polygon, the SiamFC context square, square crops on one
exact frame -> crop map, and box overlap and centre distance.

Boxes are 0-based ``[x, y, w, h]`` in continuous image coordinates (as :mod:`pul_bench.tracker`):
pixel (i, j) covers [j, j+1) x [i, i+1), so its centre is (j + 0.5, i + 0.5) and a box's centre
is ``(x + w / 2, y + h / 2)``. Polygons are ``x1, y1, ..., x4, y4`` corner lists (VOT regions).

**Crops.** A crop of side ``size`` (frame pixels, any real value) centred on ``center`` = (cx, cy)
is resampled to ``out_size`` pixels; the frame point (X, Y) lands at

    u = (X - cx) * out_size / size + out_size / 2        (same for Y -> v)

in crop coordinates. The crop is one affine warp with that exact map (bilinear, the area outside
the frame filled with a given colour, e.g. the frame's mean colour as SiamFC pads), so a box lands
in the crop exactly where the map puts it, without the one-pixel rounding of corner-based crops.
:func:`crop_batch` does the same for a batch of tensors on any device (batched temporal mining).
BD patches, mined pairs, supervised pairs and the tracker all cut their exemplars with
:func:`exemplar_crop` geometry, so training sees exactly what tracking sees.

**Overlap.** Two pixel conventions exist and published numbers depend on which one a toolkit used:

* ``inclusive=True`` is the MATLAB OTB toolkit's (``calcRectInt.m``): a box covers the pixels
  ``x .. x + w - 1``, so the intersection width is ``min(right) - max(left) + 1``. The ratio is
  left unclipped, as there (a box narrower than a pixel can push it outside [0, 1]).
* ``inclusive=False`` is the continuous one of pysot and got10k: a box spans ``[x, x + w)``;
  the ratio is clipped to [0, 1].

Overlap functions are vectorised over (N, 4) rows; NaN boxes give NaN, which fails every
threshold comparison.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # torch and cv2 are only needed by the crops; scoring never imports them
    import torch

# ---- boxes and polygons ------------------------------------------------------------------------


def box_to_polygon(boxes: np.ndarray) -> np.ndarray:
    """(N, 4) ``x,y,w,h`` -> (N, 8) corner polygons (clockwise from top-left)."""
    boxes = np.asarray(boxes, dtype=np.float64)
    x, y, w, h = (boxes[:, i] for i in range(4))
    return np.stack([x, y, x + w, y, x + w, y + h, x, y + h], axis=1)


def polygon_to_box(polygons: np.ndarray) -> np.ndarray:
    """(N, 2k) ``x1,y1,...`` polygons -> (N, 4) axis-aligned bounds ``x,y,w,h``: how
    vot-toolkit turns a region into the rectangle a tracker is initialised with."""
    polygons = np.asarray(polygons, dtype=np.float64)
    xs, ys = polygons[:, 0::2], polygons[:, 1::2]
    x0, y0 = xs.min(axis=1), ys.min(axis=1)
    return np.stack([x0, y0, xs.max(axis=1) - x0, ys.max(axis=1) - y0], axis=1)


def polygon_to_box_pysot(polygons: np.ndarray) -> np.ndarray:
    """(N, 8) quadrilaterals -> (N, 4) ``x,y,w,h`` as pysot's test scripts initialise a tracker
    (``get_axis_aligned_bbox``): centred on the mean of the 4 corners, the bounds scaled by
    ``sqrt(A1 / A2)`` (A1: the area of the rectangle spanned by the first three corners, A2:
    that of the bounds) plus 1 px; returned as ``centre - size / 2``, so that a tracker taking
    the centre as ``x + w / 2`` starts where pysot's trackers (``x + (w - 1) / 2`` of
    ``cx - (w - 1) / 2``) start."""
    p = np.asarray(polygons, dtype=np.float64)
    xs, ys = p[:, 0::2], p[:, 1::2]
    center = np.stack([xs.mean(axis=1), ys.mean(axis=1)], axis=1)
    bounds = np.stack([xs.max(axis=1) - xs.min(axis=1), ys.max(axis=1) - ys.min(axis=1)], axis=1)
    a1 = np.linalg.norm(p[:, 0:2] - p[:, 2:4], axis=1) * np.linalg.norm(p[:, 2:4] - p[:, 4:6],
                                                                        axis=1)
    size = np.sqrt(a1 / bounds.prod(axis=1))[:, None] * bounds + 1
    return np.concatenate([center - size / 2, size], axis=1)


def box_center(boxes: np.ndarray | Sequence[float]) -> np.ndarray:
    """Continuous centre ``(x + w / 2, y + h / 2)`` of a box (4,) or of boxes (..., 4)."""
    b = np.asarray(boxes, dtype=np.float64)
    return b[..., :2] + b[..., 2:4] / 2


def context_size(boxes: np.ndarray | Sequence[float], context: float) -> np.ndarray:
    """Side of SiamFC's exemplar square: ``sqrt((w + p) * (h + p))`` with ``p = context * (w + h)``
    (a float array of shape ``boxes.shape[:-1]``; a 20x20 box with context 0.5 gives 40)."""
    b = np.asarray(boxes, dtype=np.float64)
    w, h = b[..., 2], b[..., 3]
    pad = context * (w + h)
    return np.sqrt((w + pad) * (h + pad))


# ---- crops -------------------------------------------------------------------------------------


def crop_matrix(center: Sequence[float], size: float, out_size: int) -> np.ndarray:
    """2x3 affine matrix taking frame pixel indices to crop pixel indices (OpenCV convention)."""
    s = out_size / size
    cx, cy = center
    # index = coordinate - 0.5 on both sides of the map above
    return np.array([[s, 0.0, (0.5 - cx) * s + out_size / 2 - 0.5],
                     [0.0, s, (0.5 - cy) * s + out_size / 2 - 0.5]])


def crop_square(image: np.ndarray, center: Sequence[float], size: float, out_size: int,
                fill: Sequence[float]) -> np.ndarray:
    """The ``size``-pixel square around ``center`` resampled to (out_size, out_size, C)."""
    import cv2  # here: 0.1-0.3 s of start-up that scoring does not need

    return cv2.warpAffine(image, crop_matrix(center, size, out_size), (out_size, out_size),
                          flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=tuple(float(f) for f in fill))


def exemplar_crop(image: np.ndarray, box: Sequence[float], context: float, out_size: int,
                  zoom: float = 1.0, fill: Sequence[float] | None = None) -> np.ndarray:
    """SiamFC's context square around ``box``, ``zoom`` times wider, resampled to ``out_size``
    and padded with ``fill`` (default: the frame's mean colour).

    With ``zoom = out_size / exemplar_size`` this is the search crop whose central
    ``exemplar_size`` pixels are exactly the exemplar crop (same scale, same pixel grid when
    ``out_size - exemplar_size`` is even).
    """
    if fill is None:
        fill = image.reshape(-1, image.shape[-1]).mean(axis=0)
    return crop_square(image, box_center(box), float(context_size(box, context)) * zoom,
                       out_size, fill)


def crop_pyramid(image: np.ndarray, center: Sequence[float], sizes: Sequence[float],
                 out_size: int, fill: Sequence[float]) -> np.ndarray:
    """Crops of several sizes around one centre (the scale search): (N, out, out, C)."""
    return np.stack([crop_square(image, center, s, out_size, fill) for s in sizes])


def crop_batch(images: torch.Tensor, centers: torch.Tensor, sizes: torch.Tensor, out_size: int,
               fill: torch.Tensor) -> torch.Tensor:
    """Batched :func:`crop_square` on tensors: images (B, C, H, W) float, centers (B, 2) as
    (cx, cy), sizes (B,), fill (B, C) -> (B, C, out, out). Same geometry, bilinear."""
    import torch
    import torch.nn.functional as F

    b, c, h, w = images.shape
    dtype, dev = images.dtype, images.device
    centers = centers.to(dev, dtype).reshape(b, 2)
    sizes = sizes.to(dev, dtype).reshape(b, 1)
    fill = fill.to(dev, dtype).reshape(b, c, 1, 1)
    # crop pixel centre u + 0.5 -> frame coordinate -> grid_sample's [-1, 1] (align_corners=False)
    t = (torch.arange(out_size, device=dev, dtype=dtype) + 0.5) / out_size - 0.5
    xs = (centers[:, :1] + t * sizes) * (2 / w) - 1
    ys = (centers[:, 1:] + t * sizes) * (2 / h) - 1
    grid = torch.stack(torch.broadcast_tensors(xs[:, None, :], ys[:, :, None]), dim=-1)
    out = F.grid_sample(images - fill, grid, mode="bilinear", padding_mode="zeros",
                        align_corners=False)
    return out + fill


# ---- overlap and centre distance ---------------------------------------------------------------


@np.errstate(over="ignore", invalid="ignore")  # a box at 1e308 just fails
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


@np.errstate(over="ignore", invalid="ignore")  # a box at 1e308 just fails
def center_error(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distance in pixels between the centres of matching rows."""
    d = centers(a) - centers(b)
    return _norm2(d)


@np.errstate(over="ignore", invalid="ignore")  # a box at 1e308 just fails
def normalized_center_error(boxes: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Centre distance with both centres divided by the ground truth's (w, h), as pysot does.

    pysot adds 1e-16 to the size so a zero-size ground truth gives a huge, not infinite, error.
    """
    size = np.asarray(gt, dtype=np.float64)[:, 2:4] + 1e-16
    d = centers(boxes) / size - centers(gt) / size
    return _norm2(d)


def _norm2(d: np.ndarray) -> np.ndarray:
    """Row lengths of (N, 2) ``d``: the same bits as ``sqrt(sum(d * d, axis=1))`` (a sum of two
    terms is one addition either way), without numpy's slow two-element row reductions."""
    return np.sqrt(d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1])
