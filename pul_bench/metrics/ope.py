"""One-pass-evaluation (OTB) curves and the scores read off them.

A per-frame overlap counts as a success at threshold t when it is ``> t``; a centre error
counts when it is ``<= t``. Frames a toolkit excludes carry the value -1 (never an overlap
success, always a precision success), exactly as the MATLAB toolkit stores them.
"""

from __future__ import annotations

import numpy as np


def matlab_colon(start: float, step: float, stop: float) -> np.ndarray:
    """``start:step:stop`` as MATLAB computes it, bit for bit.

    MATLAB fills the first half as ``start + k*step`` and the second half backwards as
    ``stop - (n - k)*step`` (the middle element is ``(start + stop)/2``). ``np.arange`` and
    ``np.linspace`` differ from it in the last bit at 0.6, 0.65, 0.7, 0.85 and 0.95 for
    ``0:0.05:1``, which changes counts whenever an overlap equals a threshold exactly.
    """
    n = int(round((stop - start) / step))
    k = np.arange(n + 1, dtype=np.float64)
    out = np.where(k < n / 2, start + k * step, stop - (n - k) * step)
    if n % 2 == 0:
        out[n // 2] = (start + stop) / 2
    return out


#: The MATLAB toolkit's overlap thresholds, ``0:0.05:1``.
OVERLAP_THRESHOLDS = matlab_colon(0.0, 0.05, 1.0)
#: Centre-error thresholds in pixels, ``0:50``; DP@20 is the value at index 20.
PRECISION_THRESHOLDS = np.arange(51, dtype=np.float64)
#: Normalised centre-error thresholds (pysot), ``0, 0.01, .., 0.5``; the score is at 0.2.
NORM_PRECISION_THRESHOLDS = np.arange(51, dtype=np.float64) / 100


def success_curves(overlaps: np.ndarray, starts: np.ndarray,
                   thresholds: np.ndarray = OVERLAP_THRESHOLDS) -> np.ndarray:
    """(S, T) fraction of frames whose overlap is strictly above each (ascending) threshold.

    ``overlaps`` stacks S non-empty sequences; ``starts`` holds each one's first index.
    """
    at_most, total = _cumulative_counts(overlaps, starts, thresholds, nan_below=True)
    return (total - at_most) / total


def precision_curves(errors: np.ndarray, starts: np.ndarray,
                     thresholds: np.ndarray = PRECISION_THRESHOLDS) -> np.ndarray:
    """(S, T) fraction of frames whose centre error is at most each (ascending) threshold."""
    at_most, total = _cumulative_counts(errors, starts, thresholds, nan_below=False)
    return at_most / total


def _cumulative_counts(values: np.ndarray, starts: np.ndarray, thresholds: np.ndarray,
                       nan_below: bool) -> tuple[np.ndarray, np.ndarray]:
    """(S, T) counts of each sequence's values ``<= thresholds[j]``, and (S, 1) lengths.

    O(N log T): each value is binned by exact comparison (bin j: ``t[j-1] < v <= t[j]``), and
    per-sequence bin counts are accumulated. Counts, not fractions, keep every fraction one
    exact division. NaN goes below every threshold if ``nan_below``, else above all of them,
    so that the caller never counts it as a success.
    """
    values = np.asarray(values, dtype=np.float64)
    starts = np.asarray(starts, dtype=np.intp)
    n_bins = len(thresholds) + 1
    bins = np.searchsorted(thresholds, values, side="left")
    bins[np.isnan(values)] = 0 if nan_below else n_bins - 1
    seq = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, len(values))))
    counts = np.bincount(seq * n_bins + bins, minlength=len(starts) * n_bins)
    counts = np.cumsum(counts.reshape(len(starts), n_bins), axis=1)
    return counts[:, :-1], counts[:, -1:]


def mean_curve(curves: np.ndarray, drop_empty: bool = False) -> np.ndarray:
    """Average per-sequence curves (one row each) into the benchmark's curve.

    ``drop_empty`` leaves out all-zero rows before averaging, as the MATLAB toolkit's
    ``plotDrawSave.m`` does (``aa(sum(aa,2)>eps,:)``).
    """
    curves = np.asarray(curves, dtype=np.float64)
    if drop_empty:
        curves = curves[curves.sum(axis=1) > np.finfo(np.float64).eps]
    if len(curves) == 0:
        return np.zeros(curves.shape[1])
    return curves.mean(axis=0)


def auc(success: np.ndarray) -> float:
    """Area under the success curve: its mean over the 21 thresholds (the OTB 'AUC')."""
    return float(np.mean(success))


def dp20(precision: np.ndarray) -> float:
    """Distance precision at 20 pixels."""
    return float(precision[20])


def norm_precision(norm_prec: np.ndarray) -> float:
    """Normalised precision at 0.2 of the target size."""
    return float(norm_prec[20])


def sr50(success: np.ndarray) -> float:
    """Success rate at overlap threshold 0.5 (index 10 of the 21 thresholds)."""
    return float(success[10])
