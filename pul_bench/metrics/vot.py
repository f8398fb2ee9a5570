"""VOT supervised-experiment measures: region overlap, accuracy, failures, robustness, EAO.

Conventions (VOT2016-2019 baseline experiment):

* A result file has one line per frame: ``1`` (initialised), ``2`` (failure), ``0`` (skipped
  after a failure), or a region (4-value box or 8-value polygon). ``1.0``/``2.0`` also parse.
* Overlap is the IoU of the two regions clipped to the image, computed with shapely under the
  VOT region library's pixel rule (see :func:`overlaps`).
* Accuracy ignores special frames and the ``burnin`` frames starting at each (re)initialisation;
  a run's accuracy is its mean overlap, a sequence's the mean over runs, the dataset's the
  frame-weighted mean over sequences (as vot-toolkit aggregates it).
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

from pul_bench.errors import InputError
from pul_bench.io import read_table

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


def read_trajectory(path: str | Path) -> Trajectory:
    """Read a VOT result file; a bad line or an unknown special code names the file and line."""
    path = Path(path)
    table = read_table(path, (1, 4, 8), allow_nan=True)
    if len(table) == 0:
        raise InputError(path, "empty result file")
    single = np.isnan(table[:, 1:]).all(axis=1) & np.isfinite(table[:, 0])
    status = np.full(len(table), REGION, dtype=np.int64)
    codes = table[single, 0]
    bad = single & ~np.isin(table[:, 0], (SKIP, INIT, FAILURE))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(path, f"unknown status code {table[i, 0]:g} (expected 0, 1 or 2)", i + 1)
    status[single] = codes.astype(np.int64)
    polygons = table.copy()
    is_box = ~single & np.isnan(table[:, 4:]).all(axis=1)
    x, y, w, h = (table[is_box, i] for i in range(4))
    polygons[is_box] = np.stack([x, y, x + w, y, x + w, y + h, x, y + h], axis=1)
    polygons[single] = np.nan
    return Trajectory(status=status, polygons=polygons)


def format_trajectory(status: np.ndarray, boxes: np.ndarray) -> str:
    """Result-file text: a special code, or ``x,y,w,h`` with 4 decimals, per frame."""
    lines = []
    for s, b in zip(status, boxes, strict=True):
        lines.append(f"{int(s)}" if s != REGION else ",".join(f"{v:.4f}" for v in b))
    return "\n".join(lines) + "\n"


def overlaps(pred: np.ndarray, gt: np.ndarray, size: tuple[int, int],
             pixels: bool = True) -> np.ndarray:
    """IoU per frame of (N, 8) polygons, both clipped to the image; NaN rows give 0.

    With ``pixels`` (the VOT toolkits' rule) a region covers every pixel its outline touches:
    the VOT region library rounds the vertices and fills pixel rows and columns inclusively,
    so a ``w``-wide box covers about ``w + 1`` pixels. Here that is the region's Minkowski sum
    with one pixel, and the image is the pixel grid ``[-0.5, w - 0.5] x [-0.5, h - 0.5]``.
    Without it, the outlines are intersected as they are, inside ``[0, w] x [0, h]``.
    """
    pred = np.asarray(pred, dtype=np.float64)
    gt = np.asarray(gt, dtype=np.float64)
    out = np.zeros(len(pred))
    ok = np.isfinite(pred).all(axis=1) & np.isfinite(gt).all(axis=1)
    if not ok.any():
        return out
    w, h = float(size[0]), float(size[1])
    frame = shapely.box(-0.5, -0.5, w - 0.5, h - 0.5) if pixels else shapely.box(0, 0, w, h)
    a = shapely.intersection(_regions(pred[ok], pixels), frame)
    b = shapely.intersection(_regions(gt[ok], pixels), frame)
    inter = shapely.area(shapely.intersection(a, b))
    union = shapely.area(a) + shapely.area(b) - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        out[ok] = np.where(union > 0, inter / union, 0.0)
    return out


_PIXEL = np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]])


def _regions(rows: np.ndarray, pixels: bool) -> np.ndarray:
    corners = rows.reshape(len(rows), 4, 2)
    if pixels:  # convex hull of the 4 shifted copies = Minkowski sum with the unit pixel
        points = (corners[:, None] + _PIXEL[None, :, None]).reshape(len(rows), 16, 2)
        return shapely.convex_hull(shapely.multipoints(points))
    geoms = shapely.polygons(corners)
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():  # self-intersecting output: measure its valid part
        geoms[invalid] = shapely.make_valid(geoms[invalid])
    return geoms


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
        raise InputError(path or Path("<trajectory>"),
                         f"{len(traj)} result lines for {len(gt)} ground-truth frames")
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
    with np.errstate(invalid="ignore", divide="ignore"):
        curve = (wv * np.nan_to_num(means)).sum(axis=0) / wv.sum(axis=0)
    curve[0] = 1.0
    return curve


def eao(curve: np.ndarray, interval: tuple[int, int]) -> float:
    """Mean of the curve over sequence lengths ``low..high`` (1-based, inclusive).

    NaN when the curve stops before ``high``: the longest sequence is shorter than the
    interval, so the expected overlap there is undefined (only failed fragments reach it).
    """
    low, high = interval
    if len(curve) < high:
        return float("nan")
    return float(np.nanmean(curve[low - 1 : high]))
