"""VOT supervised-experiment measures: region overlap, accuracy, failures, robustness, EAO.

Conventions (VOT2016-2019 baseline experiment):

* A result file has one line per frame: ``1`` (initialised), ``2`` (failure), ``0`` (skipped
  after a failure), or a region (4-value box or 8-value polygon). ``1.0``/``2.0`` also parse
  (:func:`pul_bench.results.read_trajectory` reads it into a :class:`Trajectory`).
* Overlap is the IoU of the two regions clipped to the image, counted in pixels exactly as the
  VOT region library rasterises them (the MATLAB toolkit's and pysot-toolkit's rule; a 4-value
  box spans ``x .. x + w``), or optionally of the outlines themselves (see :func:`overlaps`).
* Accuracy ignores special frames and the ``burnin`` frames starting at each (re)initialisation;
  a frame's overlap is averaged over the runs where it counts, and accuracy is the mean over
  all such frames of all sequences (the MATLAB toolkit's and pysot-toolkit's pooling; a run's
  own accuracy is its mean overlap).
* Robustness as published is failures per 100 frames over the whole dataset.
* EAO follows the official MATLAB toolkit (which pysot-toolkit reproduces): fragments run from
  each (re)initialisation to the next one, a fragment ending in a failure counts zeros up to the
  longest sequence, and the expected-overlap curve is averaged over the lengths ``[low, high]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely

from pul_bench.errors import RowCountError

REGION, SKIP, INIT, FAILURE = -1, 0, 1, 2
BURNIN = 10
SKIP_INITIALIZE = 5


@dataclass
class Trajectory:
    """One run on one sequence: ``status`` (N,) int (``REGION`` or a special code) and
    ``polygons`` (N, 8) float, NaN on special frames."""

    status: np.ndarray
    polygons: np.ndarray

    def __len__(self) -> int:
        return len(self.status)

    def same_as(self, other: Trajectory, tol: float = 1e-4) -> bool:
        """True if both runs are identical up to ``tol`` pixels (the determinism test)."""
        if len(self) != len(other) or not np.array_equal(self.status, other.status):
            return False
        region = self.status == REGION
        return bool(np.allclose(self.polygons[region], other.polygons[region], atol=tol,
                                equal_nan=True))


def overlaps(pred: np.ndarray, gt: np.ndarray, size: tuple[int, int],
             pixels: bool = True) -> np.ndarray:
    """IoU per frame of (N, 8) polygons; NaN rows give 0.

    With ``pixels`` (the VOT toolkits' rule) both regions are rasterised exactly as the VOT
    region library does it (see :func:`_raster_iou`) and only pixel columns ``0..w`` and rows
    ``0..h`` count: the bounds ``[w, h]`` the MATLAB toolkit passes (pysot's EAO passes
    ``[w - 1, h - 1]``, which moves VOT2018 EAO by 1e-4). Without it the outlines are
    intersected as they are, inside ``[0, w] x [0, h]`` (got10k's ``poly_iou``).
    """
    pred = np.asarray(pred, dtype=np.float64)
    gt = np.asarray(gt, dtype=np.float64)
    out = np.zeros(len(pred))
    ok = np.isfinite(pred).all(axis=1) & np.isfinite(gt).all(axis=1)
    if not ok.any():
        return out
    w, h = float(size[0]), float(size[1])
    if pixels:
        out[ok] = _raster_iou(pred[ok].reshape(-1, 4, 2).astype(np.float32),
                              gt[ok].reshape(-1, 4, 2).astype(np.float32), w, h)
        return out
    frame = shapely.box(0, 0, w, h)
    a = shapely.intersection(_polygons(pred[ok]), frame)
    b = shapely.intersection(_polygons(gt[ok]), frame)
    inter = shapely.area(shapely.intersection(a, b))
    union = shapely.area(a) + shapely.area(b) - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        out[ok] = np.where(union > 0, inter / union, 0.0)
    return out


def _polygons(rows: np.ndarray) -> np.ndarray:
    geoms = shapely.polygons(rows.reshape(len(rows), 4, 2))
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():  # self-intersecting output: measure its valid part
        geoms[invalid] = shapely.make_valid(geoms[invalid])
    return geoms


def _raster_iou(a: np.ndarray, b: np.ndarray, right: float, bottom: float) -> np.ndarray:
    """IoU of (N, 4, 2) float32 quadrilaterals as the VOT region library computes it.

    This is ``compute_polygon_overlap`` of the region library's ``region.c`` with its default
    (non-legacy) rasterisation, which the MATLAB toolkit's ``region_overlap`` and pysot's
    ``vot_overlap`` call with float32 vertices and a 4-value box given as ``x .. x + w``:

    * each region's extent is floored/ceiled, cut to ``[0, right] x [0, bottom]``; a degenerate
      extent (area ratio under 1e-10) or extents whose intersection has zero area give 0;
    * both regions are drawn on the pixel window spanned by the two cut extents: vertices are
      rounded (half away from zero), and on each pixel row every non-horizontal edge whose
      rounded ends enclose the row (ends included) gives the column ``trunc(x_i + (row - y_i)
      / (y_j - y_i) * (x_j - x_i))``; sorted columns are filled pairwise, both ends included,
      clipped to the window, and two equal columns are a touching vertex whose first one is
      dropped (so a lone apex pixel stays empty);
    * IoU is intersecting pixels over union pixels, computed in float32.

    All of it runs on every row of every frame at once; axis-aligned regions (result boxes)
    fill their rows without the per-edge work.
    """
    out = np.zeros(len(a))
    limit = np.array([right, bottom], np.float32)
    zero = np.float32(0)
    lo_a, hi_a = np.maximum(np.floor(a.min(1)), zero), np.minimum(np.ceil(a.max(1)), limit)
    lo_b, hi_b = np.maximum(np.floor(b.min(1)), zero), np.minimum(np.ceil(b.max(1)), limit)
    origin = np.minimum(lo_a, lo_b)
    size = np.trunc(np.maximum(hi_a, hi_b) - origin).astype(np.int64) + 1
    ext_a, ext_b = hi_a - lo_a, hi_b - lo_b
    area_a, area_b = ext_a[:, 0] * ext_a[:, 1], ext_b[:, 0] * ext_b[:, 1]
    ext_i = np.minimum(hi_a, hi_b) - np.maximum(lo_a, lo_b)
    area_i = ext_i[:, 0] * ext_i[:, 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        tiny = (area_a.astype(np.float64) / area_b < 1e-10) | (area_b.astype(np.float64)
                                                               / area_a < 1e-10)
        box_iou = area_i / (area_a + area_b - area_i)
    box_iou = np.where(zero > box_iou, zero, box_iou)  # C's MAX(0, x) keeps NaN
    go = np.flatnonzero(~tiny & (size >= 1).all(axis=1) & (box_iou != 0))
    if not go.size:
        return out
    width, height = size[go, 0], size[go, 1]
    spans = []
    for q in (a, b):
        v = (q[go] - origin[go, None, :]).astype(np.float64)
        v = np.copysign(np.floor(np.abs(v) + 0.5), v)  # C round(): half away from zero
        spans.append(_polygon_spans(v, width, height))
    (top_a, n_a, row_a, s_a), (top_b, n_b, row_b, s_b) = spans
    # pair the rows both regions cover
    top = np.maximum(top_a, top_b)
    n = np.maximum(np.minimum(top_a + n_a, top_b + n_b) - top, 0)
    frame, step = _ranges(n)
    ia = np.cumsum(n_a)[frame] - n_a[frame] + (top - top_a)[frame] + step
    ib = np.cumsum(n_b)[frame] - n_b[frame] + (top - top_b)[frame] + step
    both = sum(np.maximum(np.minimum(s_a[ia, i, 1], s_b[ib, j, 1])
                          - np.maximum(s_a[ia, i, 0], s_b[ib, j, 0]) + 1, 0)
               for i in (0, 1) for j in (0, 1))
    m = len(go)
    inter = np.bincount(frame, both, m)
    union = (np.bincount(row_a, _span_lengths(s_a), m)
             + np.bincount(row_b, _span_lengths(s_b), m) - inter)
    with np.errstate(invalid="ignore", divide="ignore"):
        out[go] = np.where(union > 0, inter.astype(np.float32) / union.astype(np.float32), 0)
    return out


def _ranges(n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For counts ``n``: the owner index of each of ``sum(n)`` items and its rank within it."""
    owner = np.repeat(np.arange(len(n)), n)
    return owner, np.arange(len(owner)) - np.repeat(np.cumsum(n) - n, n)


def _span_lengths(spans: np.ndarray) -> np.ndarray:
    return np.maximum(spans[:, :, 1] - spans[:, :, 0] + 1, 0).sum(axis=1)


def _polygon_spans(v: np.ndarray, width: np.ndarray, height: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Filled pixel runs of rounded (M, 4, 2) quadrilaterals in their windows.

    Returns each frame's first row and row count (the rows its vertices span inside the window;
    other rows hold no column), each row's frame, and (rows, 2, 2) runs ``[first, last]``
    (``[0, -1]`` when empty; the two runs of a row are disjoint).
    """
    x, y = v[..., 0], v[..., 1]
    top = np.maximum(y.min(1), 0).astype(np.int64)
    count = np.maximum(np.minimum(y.max(1), height - 1).astype(np.int64) - top + 1, 0)
    frame, step = _ranges(count)
    row = (top[frame] + step).astype(np.float64)
    w = width[frame].astype(np.float64)
    spans = np.zeros((len(row), 2, 2))
    spans[:, :, 1] = -1
    # axis-aligned: the two vertical edges give columns left and right on every row
    aligned = (((x[:, 0] == x[:, 3]) & (x[:, 1] == x[:, 2]) & (y[:, 0] == y[:, 1])
                & (y[:, 2] == y[:, 3])) | ((x[:, 0] == x[:, 1]) & (x[:, 2] == x[:, 3])
                                           & (y[:, 1] == y[:, 2]) & (y[:, 3] == y[:, 0])))
    flat = y.min(1) == y.max(1)  # no edge crosses a row, so no pixel
    left, right = x.min(1)[frame], x.max(1)[frame]
    fill = (aligned & ~flat)[frame] & (left != right) & (left < w) & (right >= 0)
    spans[fill, 0, 0] = np.maximum(left[fill], 0)
    spans[fill, 0, 1] = np.minimum(right[fill], w[fill] - 1)
    rest = np.flatnonzero(~aligned[frame])
    if rest.size:
        spans[rest] = _edge_spans(x, y, frame[rest], row[rest], w[rest])
    return top, count, frame, spans


def _edge_spans(x: np.ndarray, y: np.ndarray, frame: np.ndarray, row: np.ndarray,
                w: np.ndarray) -> np.ndarray:
    """Runs of general quadrilaterals on the given rows: region.c's scanline, row-parallel."""
    xj, yj = np.roll(x, 1, axis=1), np.roll(y, 1, axis=1)
    dx, dy = (xj - x)[frame], (yj - y)[frame]
    x0, y0 = x[frame], y[frame]
    p = row[:, None]
    cut = (dy != 0) & (np.minimum(y, yj)[frame] <= p) & (p <= np.maximum(y, yj)[frame])
    with np.errstate(invalid="ignore", divide="ignore"):
        col = np.where(cut, np.trunc(x0 + (p - y0) / dy * dx), np.inf)
    n = cut.sum(1)
    c0, c1, c2, c3 = col.T  # sorting network: absent columns (inf) go last
    c0, c1 = np.minimum(c0, c1), np.maximum(c0, c1)
    c2, c3 = np.minimum(c2, c3), np.maximum(c2, c3)
    c0, c2 = np.minimum(c0, c2), np.maximum(c0, c2)
    c1, c3 = np.minimum(c1, c3), np.maximum(c1, c3)
    c1, c2 = np.minimum(c1, c2), np.maximum(c1, c2)
    spans = np.zeros((len(row), 2, 2))
    spans[:, :, 1] = -1
    # two columns (most rows): one run unless they are equal or it lies outside the window
    two = (n == 2) & (c0 != c1) & (c0 < w) & (c1 >= 0)
    spans[two, 0, 0] = np.maximum(c0[two], 0)
    spans[two, 0, 1] = np.minimum(c1[two], w[two] - 1)
    more = np.flatnonzero(n > 2)
    if more.size:
        spans[more] = _fill_loop(np.stack([c0, c1, c2, c3], axis=1)[more], n[more], w[more])
    return spans


def _fill_loop(cols: np.ndarray, n: np.ndarray, w: np.ndarray) -> np.ndarray:
    """region.c's fill loop over up to 4 sorted columns per row: equal neighbours skip one
    (a touching vertex), a run starting right of the window ends the row, a pair fills."""
    spans = np.zeros((len(n), 2, 2))
    spans[:, :, 1] = -1
    i = np.zeros(len(n), np.int64)
    filled = np.zeros(len(n), np.int64)
    live = np.ones(len(n), bool)
    k = np.arange(len(n))
    for _ in range(3):
        live &= i < n - 1
        a, b = cols[k, np.minimum(i, 3)], cols[k, np.minimum(i + 1, 3)]
        same = live & (a == b)
        live &= same | (a < w)
        pair = live & ~same
        for slot in (0, 1):
            s = pair & (b >= 0) & (filled == slot)
            spans[s, slot, 0] = np.maximum(a[s], 0)
            spans[s, slot, 1] = np.minimum(b[s], w[s] - 1)
        filled += pair & (b >= 0)
        i += same + 2 * pair
    # the second run may start on the first one's last pixel: count that pixel once
    spans[:, 1, 0] = np.maximum(spans[:, 1, 0], spans[:, 0, 1] + 1)
    return spans


def accuracy_mask(status: np.ndarray, burnin: int = BURNIN) -> np.ndarray:
    """Frames that count for accuracy: regions outside the burn-in after each (re)init."""
    mask = status == REGION
    for i in np.flatnonzero(status == INIT):
        mask[i : i + burnin] = False
    return mask


@dataclass
class RunScore:
    """Per-run numbers the dataset measures are built from."""

    overlaps: np.ndarray  # (N,) IoU, 0 on special frames
    valid: np.ndarray  # (N,) bool, counts for accuracy
    failures: np.ndarray  # (N,) bool, failure frames

    @property
    def accuracy(self) -> float:
        return float(self.overlaps[self.valid].mean()) if self.valid.any() else float("nan")


def score_run(traj: Trajectory, gt: np.ndarray, size: tuple[int, int], burnin: int = BURNIN,
              pixels: bool = True, path: Path | None = None) -> RunScore:
    """Overlaps, accuracy mask and failures of one run against (N, 8) ground truth."""
    if len(traj) != len(gt):
        raise RowCountError(path or Path("<trajectory>"),
                            f"{len(traj)} result lines for {len(gt)} ground-truth frames",
                            len(gt) + 1 if len(traj) > len(gt) else None)
    ov = overlaps(traj.polygons, gt, size, pixels)
    ov[traj.status != REGION] = 0.0
    return RunScore(overlaps=ov, valid=accuracy_mask(traj.status, burnin),
                    failures=traj.status == FAILURE)


def _fragments(ov: np.ndarray, failures: np.ndarray, skip: int) -> list[tuple[np.ndarray, bool]]:
    """Split a run into (overlaps, ends_in_failure) fragments the way the MATLAB toolkit does:
    each fragment starts at a (re)initialisation and includes the next re-initialisation frame;
    the last one runs to the end of the sequence."""
    n = len(ov)
    points = [0] + [int(f) + skip for f in np.flatnonzero(failures) if f + skip <= n]
    out = [(ov[a : b + 1], True) for a, b in zip(points[:-1], points[1:], strict=True)]
    out.append((ov[points[-1] :], False))
    return out


def expected_overlap_curve(runs: list[tuple[RunScore, float]], max_len: int,
                           skip: int = SKIP_INITIALIZE) -> np.ndarray:
    """Expected average overlap for every sequence length 1..``max_len``.

    ``runs`` pairs each run with its weight (1 / repetitions of its sequence). Entry ``k-1`` is
    the weighted mean, over fragments at least ``k`` frames long (failed fragments are padded
    with zeros, so they always are), of the fragment's mean overlap over frames 2..k; entry 0
    is 1 by definition.
    """
    num, den = expected_overlap_sums(runs, max_len, skip)
    with np.errstate(invalid="ignore", divide="ignore"):
        curve = num / den
    curve[0] = 1.0
    return curve


def expected_overlap_sums(runs: list[tuple[RunScore, float]], max_len: int,
                          skip: int = SKIP_INITIALIZE) -> tuple[np.ndarray, np.ndarray]:
    """The weighted sums whose ratio is :func:`expected_overlap_curve`: (numerator,
    denominator), ``max_len`` each. Sums of several sequences' runs add up, so a bootstrap
    over sequences recomputes the curve from per-sequence sums."""
    if not runs:
        return np.zeros(max_len), np.zeros(max_len)
    rows, weights = [], []
    for run, weight in runs:
        for frag, failed in _fragments(run.overlaps, run.failures, skip):
            row = np.full(max_len, 0.0 if failed else np.nan)
            frag = frag[:max_len]
            row[: len(frag)] = frag
            rows.append(row)
            weights.append(weight if len(frag) else 0.0)
    frags = np.asarray(rows)
    w = np.asarray(weights)[:, None]
    valid = ~np.isnan(frags)
    csum = np.cumsum(np.nan_to_num(frags[:, 1:]), axis=1)
    means = np.concatenate([np.ones((len(frags), 1)), csum / np.arange(1, max_len)], axis=1)
    wv = w * valid
    return (wv * np.nan_to_num(means)).sum(axis=0), wv.sum(axis=0)


def eao(curve: np.ndarray, interval: tuple[int, int]) -> float:
    """Mean of the curve over sequence lengths ``low..high`` (1-based, inclusive).

    NaN when the curve stops before ``high``: the longest sequence is shorter than the
    interval, so the expected overlap there is undefined (only failed fragments reach it).
    """
    low, high = interval
    if len(curve) < high:
        return float("nan")
    return float(np.nanmean(curve[low - 1 : high]))
