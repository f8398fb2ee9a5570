"""GOT-10k scores exactly as the ``got10k`` package's ``ExperimentGOT10k.report`` computes them.

Its rules, from got10k 0.1.3: a tracker's results are ``<dir>/<seq>/<seq>_001.txt``, one file
per repetition (every ``<seq>_[0-9]*.txt`` counts; deterministic trackers write one); each must
have a row per frame. Frame 1 (the initialisation) is not scored, nor any frame whose ``cover``
label is 0 (target absent). Both boxes are first bounded by the image (x, y clipped to [0, W] and
[0, H], then w, h to what is left of the image), and the overlap is continuous with machine
epsilon added to the union. A sequence's overlaps are pooled over its repetitions; AO and
SR@t (overlap > t) are means over every pooled frame of every sequence (frame-weighted), and the
success curve uses ``linspace(0, 1, 101)``.

A result row with a NaN value (a tracker that lost the target and wrote NaN) has a NaN overlap
in got10k: its SR and success curve count it as a failure (``NaN > t`` is false at every
threshold), while its AO, a plain ``np.mean``, turns NaN for the whole tracker. We follow the
first rule everywhere: such a row is a failure, overlap 0 (so AO stays the area under that same
success curve), and a note names the file, the rows and the rule.

The test split has no ground truth: :func:`pul_bench.results.write_got10k_submission` packs the
results in the layout the evaluation server takes (got10k's ``report`` zips the tracker folder the
same way).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pul_bench import results
from pul_bench.analysis import stats
from pul_bench.benchmarks import Benchmark
from pul_bench.datasets.got10k import load_got10k
from pul_bench.errors import PulBenchError
from pul_bench.geometry import iou
from pul_bench.io import note

THRESHOLDS = np.linspace(0, 1, 101)


def score(bench: Benchmark, result_dirs: Sequence[str | Path], root: str | Path,
          convention: str | None = None, resamples: int = stats.DEFAULT_RESAMPLES,
          seed: int = stats.DEFAULT_SEED, strict: bool = False) -> dict[str, Any]:
    """``{tracker: {ao, sr50, sr75, success_curve, per_sequence, n_sequences, missing}}``;
    with ``resamples`` > 0 also ``ao_ci``, ``sr50_ci``, ``sr75_ci`` (95% bootstrap intervals
    over sequences, each resample pooling the drawn sequences' frames) and ``bootstrap``.

    Results are always read strictly (``strict`` asks for what already holds): got10k refuses
    any repetition whose row count is not its sequence's, so no file is scored on part of it."""
    if convention not in (None, "got10k"):
        raise PulBenchError(f"convention {convention!r} does not apply to GOT-10k benchmarks: "
                            "they are scored by got10k's rules only")
    seqs, absent = load_got10k(bench, root)
    if any(s.cover is None for s in seqs):
        raise PulBenchError(f"{bench.name}: no ground truth to score (test split); write the "
                            "server submission with `pulbench submit`")
    if not seqs:
        raise PulBenchError(f"no {bench.name} sequences found under {root}")
    out: dict[str, Any] = {}
    for d in map(Path, result_dirs):
        if not d.is_dir():
            raise PulBenchError(f"{d}: no such result folder")
        per_seq: dict[str, dict[str, float | int]] = {}
        pooled = []
        for s in seqs:
            files = results.got10k_run_files(d, s.name)
            if not files:
                continue
            ious = np.concatenate([_sequence_ious(f, s.groundtruth, s.cover, s.resolution)
                                   for f in files])
            pooled.append(ious)
            per_seq[s.name] = {"ao": float(np.mean(ious)), "sr50": float(np.mean(ious > 0.5)),
                               "sr75": float(np.mean(ious > 0.75)), "repetitions": len(files),
                               "length": len(s.groundtruth) - 1, "frames": len(ious)}
        if not pooled:
            raise PulBenchError(f"{d}: no <seq>/<seq>_001.txt result for any {bench.name} "
                                "sequence")
        ious = np.concatenate(pooled)
        out[d.name] = {
            "ao": float(np.mean(ious)),
            "sr50": float(np.mean(ious > 0.5)),
            "sr75": float(np.mean(ious > 0.75)),
            "success_curve": np.mean(ious[:, None] > THRESHOLDS[None, :], axis=0).tolist(),
            "per_sequence": per_seq,
            "n_sequences": len(per_seq),
            "missing": absent + [s.name for s in seqs if s.name not in per_seq],
        }
        if resamples > 0:
            counts = stats.resample_counts(len(per_seq), resamples, seed)
            for key in ("ao", "sr50", "sr75"):
                parts = np.array([stats.sequence_parts(e, key) for e in per_seq.values()])
                out[d.name][f"{key}_ci"] = stats.percentile_interval(
                    stats.ratio_samples(counts, parts[:, 0], parts[:, 1]))
            out[d.name]["bootstrap"] = {"resamples": resamples, "seed": seed,
                                        "level": stats.LEVEL}
    return out


def _sequence_ious(path: Path, gt: np.ndarray, cover: np.ndarray,
                   resolution: tuple[int, int]) -> np.ndarray:
    boxes = results.read_got10k_run(path, len(gt))
    ious = iou(bound_to_image(boxes[1:], resolution), bound_to_image(gt[1:], resolution),
               eps=np.finfo(np.float64).eps)
    lost = np.flatnonzero(np.isnan(boxes[1:]).any(axis=1) & (cover[1:] > 0))
    if len(lost):
        ious[lost] = 0.0
        note(f"{path}:{lost[0] + 2}: {len(lost)} scored row(s) with NaN (first here) count as "
             "failures, overlap 0, as got10k's success rate and curve count them")
    return ious[cover[1:] > 0]


def bound_to_image(boxes: np.ndarray, resolution: tuple[int, int]) -> np.ndarray:
    """got10k's image bounding: x, y into [0, W] / [0, H], then w, h to the space left."""
    width, height = resolution
    out = np.array(boxes, dtype=np.float64)
    out[:, 0] = np.clip(out[:, 0], 0, width)
    out[:, 1] = np.clip(out[:, 1], 0, height)
    out[:, 2] = np.clip(out[:, 2], 0, width - out[:, 0])
    out[:, 3] = np.clip(out[:, 3], 0, height - out[:, 1])
    return out


def format_table(scores: Mapping[str, Mapping[str, Any]]) -> str:
    """AO / SR0.5 / SR0.75 per tracker, best AO first, then the sequences each one lacks."""
    names = sorted(scores, key=lambda t: (-scores[t]["ao"], t))
    width = max(12, *(len(t) for t in names)) if names else 12
    cell, note = stats.table_intervals([scores[t] for t in names])
    lines = ["GOT-10k scores (got10k toolkit rules)",
             f"{'tracker':<{width}}  {'AO':>{cell}}  {'SR0.5':>{cell}}  {'SR0.75':>{cell}}  "
             f"{'seqs':>5}"]
    for t in names:
        s = scores[t]
        cells = stats.ci_cells(s, ("ao", "sr50", "sr75"), cell)
        lines.append(f"{t:<{width}}  {cells}  {s['n_sequences']:5d}")
    if note:
        lines.append(note)
    for t in names:
        if scores[t]["missing"]:
            lines.append(f"{t}: {len(scores[t]['missing'])} sequence(s) missing, not scored")
    return "\n".join(lines)

