"""Score OTB one-pass results the way a chosen toolkit does, to its last digit.

Result files are ``<dir>/<Seq>.txt``, one ``x,y,w,h`` row per evaluated frame, 1-based (the
OTB text format; any of comma/tab/space separators); the folder name is the tracker name.
File names are matched to sequences case- and separator-insensitively (``jogging_1``,
``Jogging.1``, ``human4_2``, ``blurBody``). A Tiger1 file may also hold all 354 annotated
frames; its first 5 rows are then dropped, since the one-pass run starts at frame 6.

Conventions (``--convention``), each difference in one line:

* ``matlab`` (default, the official OTB toolkit): frame 1 is replaced by the ground truth; a
  result row with a NaN or a width/height <= 0 takes the previous row's box; overlaps count
  pixels inclusively (right = x + w - 1); thresholds are MATLAB's ``0:0.05:1``; a ground-truth
  row with any value <= 0 is an overlap failure and a precision success; sequences whose curve
  is all zero are left out of averages.
* ``pysot``: frame 1 is scored as the tracker gave it; NaN or empty boxes are failures;
  continuous overlap (right = x + w, clipped to [0, 1]); thresholds ``np.arange(0, 1.05, .05)``;
  only ground-truth rows with w or h <= 0 are overlap failures, and only rows whose centre has
  a coordinate <= 0 are precision successes.
* ``got10k``: frame 1 replaced by the ground truth; NaN rows are failures (TLD: AUC 0.357 vs
  0.406 with matlab); continuous overlap with machine epsilon added to the union; thresholds
  ``np.linspace(0, 1, 21)``; every frame counts, whatever its ground truth.

Normalised precision (centre error over the ground-truth size, at 0.2) is pysot's definition;
the other conventions compute it with their own frame handling.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pul_bench import protocols, results
from pul_bench.analysis import stats
from pul_bench.benchmarks import Benchmark
from pul_bench.datasets.otb import OTBSequence, load_otb
from pul_bench.errors import PulBenchError
from pul_bench.geometry import center_error, centers, iou, normalized_center_error
from pul_bench.metrics import ope

CONVENTIONS = ("matlab", "pysot", "got10k")
_THRESHOLDS = {
    "matlab": ope.OVERLAP_THRESHOLDS,
    "pysot": np.arange(0, 1.05, 0.05),
    "got10k": np.linspace(0, 1, 21),
}
_TO_FILE = np.array([1.0, 1.0, 0.0, 0.0])  # 0-based -> the 1-based values the toolkits read


def score(bench: Benchmark, result_dirs: Sequence[str | Path], root: str | Path,
          convention: str | None = None, resamples: int = stats.DEFAULT_RESAMPLES,
          seed: int = stats.DEFAULT_SEED, strict: bool = False, protocol: str = "ope",
          curve_bands: bool = False) -> dict[str, Any]:
    """Score every result folder on ``bench``'s sequences found under ``root``.

    Returns ``{tracker: {auc, dp20, norm_prec, sr50, success_curve, precision_curve,
    norm_precision_curve, per_sequence, per_attribute, missing, n_sequences, convention,
    benchmark}}`` (``benchmark``: ``bench.name``, which titles :func:`format_table`);
    ``missing`` lists the benchmark's sequences absent from ``root`` or from that folder.
    With ``resamples`` > 0 (bootstrap resamples, seeded by ``seed``) the scores also carry
    ``auc_ci``, ``dp20_ci``, ``norm_prec_ci``, ``sr50_ci`` (95% intervals ``[lo, hi]``) and
    ``bootstrap``. A result file
    whose length differs from the ground truth is scored as the benchmark's toolkit scores it
    (``bench.truncate``), with a warning; ``strict`` refuses it instead. With ``protocol``
    ``tre`` or ``sre`` the runs in ``<folder>/<protocol>/`` are scored (see
    :mod:`pul_bench.protocols`), in the MATLAB toolkit's convention only. ``curve_bands``
    (for plots) adds each curve's pointwise 95% band, ``<curve>_ci: [lows, highs]``, from the
    same resamples; it is off by default since it costs one more matrix product per tracker.
    """
    convention = _check_convention(bench, convention)
    if protocol not in protocols.PROTOCOLS:
        raise PulBenchError(f"unknown protocol {protocol!r}; use one of "
                            f"{', '.join(protocols.PROTOCOLS)}")
    if protocol != "ope" and convention != "matlab":
        raise PulBenchError(f"{protocol.upper()} is defined by the MATLAB OTB toolkit only, not "
                            f"in the {convention} convention ({bench.name})")
    seqs, absent = load_otb(bench, root)
    if not seqs:
        raise PulBenchError(f"no {bench.name} sequences found under {root}")
    order = [s.name for s in seqs] + absent if bench.sequences is None else bench.sequences
    out: dict[str, Any] = {}
    first_rows = None  # TRE/SRE runs' first rows: the same for every folder, read once
    for d in map(Path, result_dirs):
        if not d.is_dir():
            raise PulBenchError(f"{d}: no such result folder")
        if d.name in out:
            raise PulBenchError(f"two result folders are named {d.name!r} (the folder name is "
                                "the tracker name); rename one")
        if protocol == "ope":
            boxes, no_file = results.read_otb_results(d, seqs, bench.truncate, strict)
        else:
            if first_rows is None:
                omit = protocols.init_omit_dirs(bench, root)
                first_rows = {s.name: protocols.run_starts(
                    s, protocol, protocols.find_init_omit(s.name, omit)) for s in seqs}
            boxes, run_starts, no_file = results.read_runs(d / protocol, seqs, first_rows,
                                                           protocol)
        if not boxes:
            raise PulBenchError(f"{d}: no result file for any of the {len(seqs)} {bench.name} "
                                f"sequences under {root}")
        lacking = set(absent) | set(no_file)
        lacking = [n for n in order if n in lacking]
        scores = (_score_tracker(seqs, boxes, convention, lacking, resamples, seed, curve_bands)
                  if protocol == "ope" else
                  {**_score_runs(seqs, boxes, run_starts, lacking, resamples, seed, curve_bands),
                   "protocol": protocol})
        out[d.name] = {**scores, "benchmark": bench.name}
    return out


def score_results(sequences: Sequence[OTBSequence], results: Mapping[str, Mapping[str, Any]],
                  convention: str = "matlab", missing: Sequence[str] = (),
                  resamples: int = stats.DEFAULT_RESAMPLES,
                  seed: int = stats.DEFAULT_SEED, curve_bands: bool = False) -> dict[str, Any]:
    """Score in-memory results: ``{tracker: {sequence: (N, 4) 0-based boxes}}``.

    Same output as :func:`score`; sequences a tracker has no boxes for are listed as missing.
    """
    if convention not in CONVENTIONS:
        raise PulBenchError(f"unknown OTB convention {convention!r}; use one of {CONVENTIONS}")
    out: dict[str, Any] = {}
    for tracker, per_seq in results.items():
        boxes: dict[str, np.ndarray] = {}
        for s in sequences:
            if s.name in per_seq:
                b = np.asarray(per_seq[s.name], dtype=np.float64).reshape(-1, 4)
                if len(b) != len(s):
                    raise PulBenchError(f"{tracker}: {len(b)} boxes for {s.name}, which has "
                                        f"{len(s)} frames")
                boxes[s.name] = b + _TO_FILE
        lacking = [s.name for s in sequences if s.name not in boxes]
        if not boxes:
            raise PulBenchError(f"{tracker}: no boxes for any sequence")
        out[tracker] = _score_tracker(sequences, boxes, convention, list(missing) + lacking,
                                      resamples, seed, curve_bands)
    return out


def _curves(gt: np.ndarray, valid: np.ndarray, boxes: np.ndarray, starts: np.ndarray,
            convention: str, absent: np.ndarray | None = None
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(success, precision, normalised precision) curves, (S, T) each, of S sequences
    stacked frame-wise; ``starts`` holds each sequence's first row.

    ``gt`` and ``boxes`` hold the files' 1-based values (the toolkits' validity rules are
    stated on them); ``valid`` is the MATLAB toolkit's 'every value > 0' mask of ``gt``.
    Frames flagged ``absent`` (LaSOT) fail every threshold: the LaSOT toolkit (and pysot)
    removes them but divides by the full sequence length.
    """
    n = len(gt)
    res = np.array(boxes, dtype=np.float64)
    if convention == "matlab":
        bad = np.isnan(res).any(axis=1) | (res[:, 2] <= 0) | (res[:, 3] <= 0)
        bad &= ~np.isnan(gt).any(axis=1)
        bad[starts] = False
        # each bad row takes the latest good row's box, as the toolkit's forward loop does
        res = res[np.maximum.accumulate(np.where(bad, 0, np.arange(n)))]
        res[starts] = gt[starts]
        overlap = np.full(n, -1.0)
        overlap[valid] = iou(res[valid], gt[valid], inclusive=True)
        err = np.where(valid, center_error(res, gt), -1.0)
        norm_err = np.where(valid, normalized_center_error(res, gt), -1.0)
    elif convention == "pysot":
        sized = (gt[:, 2] > 0) & (gt[:, 3] > 0)
        overlap = np.full(n, -1.0)
        overlap[sized] = iou(res[sized], gt[sized])
        gt_centers = centers(gt)
        err = np.where((gt_centers > 0).all(axis=1), center_error(res, gt), -1.0)
        norm_err = np.where((gt_centers / (gt[:, 2:4] + 1e-16) > 0).all(axis=1),
                            normalized_center_error(res, gt), -1.0)
    elif convention == "got10k":
        res[starts] = gt[starts]
        overlap = iou(res, gt, eps=np.finfo(np.float64).eps)
        err = center_error(res, gt)
        norm_err = normalized_center_error(res, gt)
    else:
        raise PulBenchError(f"unknown OTB convention {convention!r}; use one of {CONVENTIONS}")
    if absent is not None:
        overlap[absent] = -1.0
        err[absent] = norm_err[absent] = np.inf
    return (ope.success_curves(overlap, starts, _THRESHOLDS[convention]),
            ope.precision_curves(err, starts, ope.PRECISION_THRESHOLDS),
            ope.precision_curves(norm_err, starts, ope.NORM_PRECISION_THRESHOLDS))


def format_table(scores: Mapping[str, Mapping[str, Any]]) -> str:
    """A plain-text table, best AUC first, followed by the sequences each tracker lacks;
    titled by the scores' benchmark (``OTB`` for in-memory scores, which name none)."""
    if not scores:
        return "no scores"
    names = sorted(scores, key=lambda t: (-scores[t]["auc"], t))
    width = max(12, *(len(t) for t in names))
    conv = {scores[t].get("convention", "matlab") for t in names}
    keys = ("auc", "dp20", "norm_prec", "sr50")
    cell, note = stats.table_intervals([scores[t] for t in names])
    run = "/".join(sorted({scores[t].get("protocol", "ope").upper() for t in names}))
    bench = "/".join(sorted({scores[t].get("benchmark", "OTB") for t in names}))
    lines = [f"{bench} {run.replace('OPE', 'one-pass')} scores ({', '.join(sorted(conv))} "
             "convention)",
             f"{'tracker':<{width}}  " + "  ".join(f"{h:>{cell}}" for h in
                                                   ("AUC", "DP@20", "NormP", "SR@0.5"))
             + f"  {'seqs':>5}"]
    for t in names:
        s = scores[t]
        cells = stats.ci_cells(s, keys, cell)
        lines.append(f"{t:<{width}}  {cells}  {s['n_sequences']:5d}")
    if note:
        lines.append(note)
    for t in names:
        if scores[t]["missing"]:
            miss = scores[t]["missing"]
            lines.append(f"{t}: {len(miss)} sequence(s) missing, not scored: {', '.join(miss)}")
    return "\n".join(lines)


def _check_convention(bench: Benchmark, convention: str | None) -> str:
    if bench.kind != "otb":
        raise PulBenchError(f"benchmark {bench.name!r} is of kind {bench.kind!r}, not otb")
    convention = convention or bench.convention or "matlab"
    if convention not in CONVENTIONS:
        raise PulBenchError(f"convention {convention!r} does not apply to OTB benchmarks; use "
                            f"one of {', '.join(CONVENTIONS)}")
    return convention


def _score_tracker(seqs: Sequence[OTBSequence], boxes: Mapping[str, np.ndarray],
                   convention: str, missing: Sequence[str],
                   resamples: int = stats.DEFAULT_RESAMPLES,
                   seed: int = stats.DEFAULT_SEED, curve_bands: bool = False) -> dict[str, Any]:
    """Scores of one tracker from its 1-based boxes on the sequences it has results for.

    With ``resamples`` > 0, each headline score gets ``<score>_ci: [lo, hi]``, a 95% bootstrap
    interval over the sequences that recomputes the score (dropped empty curves included);
    ``curve_bands`` adds each curve's pointwise band (see :func:`score`)."""
    scored = [s for s in seqs if s.name in boxes]
    lengths = np.array([len(boxes[s.name]) for s in scored])  # a short file cuts the gt
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    absent = None
    if any(s.absent is not None for s in scored):
        absent = np.concatenate([np.zeros(n, bool) if s.absent is None else s.absent[:n]
                                 for s, n in zip(scored, lengths, strict=True)])
    succ, prec, norm = _curves(
        np.concatenate([s.groundtruth[:n] for s, n in zip(scored, lengths, strict=True)])
        + _TO_FILE,
        np.concatenate([s.valid[:n] for s, n in zip(scored, lengths, strict=True)]),
        np.concatenate([boxes[s.name] for s in scored]), starts, convention, absent)
    return _summarise(scored, succ, prec, norm, convention, missing, resamples, seed,
                      curve_bands)


def _summarise(scored: Sequence[OTBSequence], succ: np.ndarray, prec: np.ndarray,
               norm: np.ndarray, convention: str, missing: Sequence[str], resamples: int,
               seed: int, curve_bands: bool = False) -> dict[str, Any]:
    """The scores read off the (S, T) success, precision and normalised-precision curves of
    the ``scored`` sequences (one-pass, or each sequence's TRE/SRE runs pooled)."""
    drop = convention == "matlab"
    success, precision = ope.mean_curve(succ, drop), ope.mean_curve(prec, drop)
    norm_precision = ope.mean_curve(norm, drop)
    per_attribute: dict[str, dict[str, float | int]] = {}
    for att in dict.fromkeys(a for s in scored for a in s.attributes):  # file column order
        rows = [i for i, s in enumerate(scored) if s.attributes.get(att)]
        if rows:
            per_attribute[att] = {"auc": ope.auc(ope.mean_curve(succ[rows], drop)),
                                  "dp20": ope.dp20(ope.mean_curve(prec[rows], drop)),
                                  "norm_prec": ope.norm_precision(
                                      ope.mean_curve(norm[rows], drop)),
                                  "n": len(rows)}
    ci: dict[str, dict[str, Any]] = {k: {} for k in ("auc", "dp20", "norm_prec", "sr50")}
    bands: dict[str, list[list[float]]] = {}
    if resamples > 0:
        counts = stats.resample_counts(len(scored), resamples, seed).astype(np.float64)
        named = {"success_curve": succ, "precision_curve": prec, "norm_precision_curve": norm}
        keeps = {k: c.sum(axis=1) > np.finfo(np.float64).eps if drop else np.ones(len(c), bool)
                 for k, c in named.items()}
        for key, curve, column in (("auc", "success_curve", None),
                                   ("dp20", "precision_curve", 20),
                                   ("norm_prec", "norm_precision_curve", 20),
                                   ("sr50", "success_curve", 10)):
            keep, curves = keeps[curve], named[curve]
            value = curves.mean(axis=1) if column is None else curves[:, column]
            ci[key][f"{key}_ci"] = stats.percentile_interval(
                stats.ratio_samples(counts, np.where(keep, value, 0.0), keep))
        ci["sr50"]["bootstrap"] = {"resamples": resamples, "seed": seed, "level": stats.LEVEL}
        if curve_bands:
            # every resample's three mean curves at all thresholds in one matrix product (kept
            # curves over kept counts), then each threshold's percentile interval
            means = stats.ratio_samples(counts, np.hstack(
                [named[k] * keeps[k][:, None] for k in named]
                + [np.stack(list(keeps.values()), axis=1)]))
            tail, start = 50 * (1 - stats.LEVEL), 0
            for i, (key, curves) in enumerate(named.items()):
                width = curves.shape[1]
                with np.errstate(invalid="ignore", divide="ignore"):
                    band = means[:, start:start + width] / means[:, [i - len(named)]]
                start += width
                band = band[~np.isnan(band[:, 0])]  # resamples of dropped curves alone
                bands[f"{key}_ci"] = np.percentile(band, [tail, 100 - tail], axis=0).tolist()
    return {
        "auc": ope.auc(success), **ci["auc"],
        "dp20": ope.dp20(precision), **ci["dp20"],
        "norm_prec": ope.norm_precision(norm_precision), **ci["norm_prec"],
        "sr50": ope.sr50(success), **ci["sr50"],
        "success_curve": success.tolist(),
        "precision_curve": precision.tolist(),
        "norm_precision_curve": norm_precision.tolist(),
        **bands,
        "per_sequence": {s.name: {"auc": ope.auc(succ[i]), "dp20": ope.dp20(prec[i]),
                                  "norm_prec": ope.norm_precision(norm[i]),
                                  "sr50": ope.sr50(succ[i])}
                         for i, s in enumerate(scored)},
        "per_attribute": per_attribute,
        "missing": list(missing),
        "n_sequences": len(scored),
        "convention": convention,
    }


def _score_runs(seqs: Sequence[OTBSequence], boxes: Mapping[str, np.ndarray],
                starts: Mapping[str, Sequence[int]], missing: Sequence[str], resamples: int,
                seed: int, curve_bands: bool = False) -> dict[str, Any]:
    """Scores of one tracker's TRE or SRE runs, as ``genPerfMat.m`` computes them.

    ``boxes`` holds each sequence's runs one after the other (1-based), ``starts`` their first
    rows. Each run is scored like a one-pass sequence from its own first frame (replaced by the
    ground truth, as ``calcSeqErrRobust.m`` does, so an SRE run's shifted box is not scored);
    a sequence's curve is its runs' success counts summed over their summed lengths, so longer
    TRE runs weigh more; sequences are then averaged as in OPE.
    """
    scored = [s for s in seqs if s.name in boxes]
    gt, valid, first, owner = [], [], [], []
    pos = 0
    for i, s in enumerate(scored):
        for row in starts[s.name]:
            gt.append(s.groundtruth[row:])
            valid.append(s.valid[row:])
            first.append(pos)
            owner.append(i)
            pos += len(s) - row
    lengths = np.diff(np.append(first, pos))
    pooled = []
    for curves in _curves(np.concatenate(gt) + _TO_FILE, np.concatenate(valid),
                          np.concatenate([boxes[s.name] for s in scored]), np.array(first),
                          "matlab"):
        counts = np.zeros((len(scored), curves.shape[1]))
        np.add.at(counts, owner, np.rint(curves * lengths[:, None]))  # exact frame counts
        pooled.append(counts / np.bincount(owner, weights=lengths)[:, None])
    return _summarise(scored, *pooled, "matlab", missing, resamples, seed, curve_bands)
