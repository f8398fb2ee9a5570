"""Score VOT baseline-experiment result folders: accuracy, robustness, failures, EAO, per tag.

A result folder is named after its tracker and holds ``baseline/<seq>/<seq>_NNN.txt`` (one
file per repetition), or is that ``baseline`` folder itself. ``convention`` picks the overlap
rule: ``vot`` (default; also ``matlab``/``pysot``) rasterises regions exactly as the VOT region
library does for the MATLAB toolkit and pysot-toolkit (it reproduces their published VOT2018
numbers), ``got10k`` intersects the outlines as they are (got10k's ``poly_iou``).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pul_bench import results
from pul_bench.analysis import stats
from pul_bench.benchmarks import Benchmark
from pul_bench.datasets.vot import VOTSequence, load_sequences
from pul_bench.errors import PulBenchError
from pul_bench.io import note
from pul_bench.metrics import vot as M

PIXEL_CONVENTIONS = {None: True, "vot": True, "matlab": True, "pysot": True, "got10k": False}


@dataclass
class TrackerResult:
    """Scores plus the expected-overlap curve (for plots) of one tracker."""

    scores: dict
    curve: np.ndarray


def tracker_name(result_dir: Path) -> str:
    """The tracker a result folder belongs to (its name, or its parent's for ``baseline``)."""
    result_dir = Path(result_dir)
    return result_dir.parent.name if result_dir.name == "baseline" else result_dir.name


def score_tracker(sequences: list[VOTSequence], result_dir: Path,
                  interval: tuple[int, int] | None, pixels: bool = True,
                  resamples: int = stats.DEFAULT_RESAMPLES,
                  seed: int = stats.DEFAULT_SEED) -> TrackerResult:
    """Every measure for one tracker over ``sequences`` (all must have results).

    With ``resamples`` > 0, accuracy, robustness and EAO get ``<score>_ci: [lo, hi]``, 95%
    bootstrap intervals over sequences; each resample recomputes the pooled accuracy, the
    failure rate and the whole expected-overlap curve from per-sequence sums.
    """
    runs: list[tuple[M.RunScore, float]] = []
    seq_runs: dict[str, list[tuple[M.RunScore, float]]] = {}
    per_sequence: dict[str, dict[str, float]] = {}
    acc_sum = acc_weight = 0.0
    failures = 0.0
    frames = 0
    tags = sorted({t for s in sequences for t in s.tags})
    per_tag = {t: np.zeros(4) for t in [*tags, "empty"]} if tags else {}
    repetitions = []
    for seq in sequences:
        files = results.vot_run_files(result_dir, seq.name)
        if not files:
            raise PulBenchError(f"{results.vot_sequence_dir(result_dir, seq.name)}: no result file "
                                f"{seq.name}_001.txt for sequence {seq.name!r}")
        scored = [M.score_run(results.read_trajectory(f), seq.polygons, seq.size,
                              pixels=pixels, path=f) for f in files]
        repetitions.append(len(scored))
        weight = 1.0 / len(scored)
        seq_runs[seq.name] = [(r, weight) for r in scored]
        runs += seq_runs[seq.name]
        # official pooling: each frame's mean over the runs it counts in, then all frames
        counted = np.sum([r.valid for r in scored], axis=0)
        summed = np.sum([np.where(r.valid, r.overlaps, 0.0) for r in scored], axis=0)
        seq_acc = float((summed[counted > 0] / counted[counted > 0]).sum())
        seq_weight = int((counted > 0).sum())
        seq_failures = float(np.mean([r.failures.sum() for r in scored]))
        if not seq_weight:
            note(f"{results.vot_sequence_dir(result_dir, seq.name)}: no frame of {seq.name} is "
                 "scored (each is a failure, skipped or in a burn-in), so its accuracy cannot be "
                 "computed; the pooled accuracy weighs it by its 0 frames, as the VOT toolkit "
                 "does, and compare leaves it out")
        per_sequence[seq.name] = {
            "accuracy": seq_acc / seq_weight if seq_weight else float("nan"),
            "accuracy_frames": seq_weight, "failures": seq_failures, "frames": len(seq)}
        acc_sum += seq_acc
        acc_weight += seq_weight
        failures += seq_failures
        frames += len(seq)
        if tags:
            empty = ~np.any([seq.tags.get(t, np.zeros(len(seq), bool)) for t in tags], axis=0)
            for t in per_tag:
                mask = empty if t == "empty" else seq.tags.get(t, np.zeros(len(seq), bool))
                per_tag[t] += weight * np.sum([[r.overlaps[mask & r.valid].sum(),
                                                (mask & r.valid).sum(),
                                                (mask & r.failures).sum(), mask.sum()]
                                               for r in scored], axis=0)
    curve = M.expected_overlap_curve(runs, max(len(s) for s in sequences))
    ci = _intervals(sequences, seq_runs, per_sequence, interval, resamples, seed)
    scores = {
        "accuracy": acc_sum / acc_weight if acc_weight else float("nan"), **ci["accuracy"],
        "robustness": 100.0 * failures / frames, **ci["robustness"],
        "failures": failures,
        "eao": M.eao(curve, interval) if interval else float("nan"), **ci["eao"],
        "eao_interval": list(interval) if interval else None,
        "frames": frames,
        "sequences": len(sequences),
        "repetitions": max(repetitions),
        "tags": {t: {"accuracy": v[0] / v[1] if v[1] else float("nan"),
                     "robustness": 100.0 * v[2] / v[3] if v[3] else float("nan"),
                     "failures": float(v[2]), "frames": int(v[3])}
                 for t, v in per_tag.items()},
        "per_sequence": per_sequence,
    }
    return TrackerResult(scores=scores, curve=curve)


def eao_replicates(counts: np.ndarray, sums: list[tuple[np.ndarray, np.ndarray]],
                   lengths: list[int], interval: tuple[int, int]) -> np.ndarray:
    """EAO of each bootstrap resample (a row of ``counts``) from the per-sequence
    :func:`pul_bench.metrics.vot.expected_overlap_sums` (padded to the longest sequence).

    Each resample's curve is (counts @ numerators) / (counts @ denominators), all resamples in
    one product; a resample whose longest drawn sequence ends before the interval does has no
    EAO (NaN, as :func:`pul_bench.metrics.vot.eao` gives for such a dataset).
    """
    curves = stats.ratio_samples(counts, np.array([n for n, _ in sums]),
                                 np.array([d for _, d in sums]))
    low, high = interval
    eao = np.full(len(counts), np.nan)
    if curves.shape[1] >= high:
        reach = np.where(counts > 0, np.asarray(lengths), 0).max(axis=1) >= high
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows stay NaN
            eao[reach] = np.nanmean(curves[reach, low - 1 : high], axis=1)
    return eao


def _intervals(sequences: list[VOTSequence], seq_runs: dict[str, list[tuple[M.RunScore, float]]],
               per_sequence: dict[str, dict[str, float]], interval: tuple[int, int] | None,
               resamples: int, seed: int) -> dict[str, dict]:
    """``{score: {score_ci: [lo, hi]}}``, all from one (B, S) bootstrap count matrix."""
    ci: dict[str, dict] = {"accuracy": {}, "robustness": {}, "eao": {}}
    if resamples <= 0:
        return ci
    rows = [per_sequence[s.name] for s in sequences]
    counts = stats.resample_counts(len(rows), resamples, seed)
    for key in ("accuracy", "robustness"):
        parts = np.array([stats.sequence_parts(r, key) for r in rows])
        ci[key][f"{key}_ci"] = stats.percentile_interval(
            stats.ratio_samples(counts, parts[:, 0], parts[:, 1]))
    if interval:
        longest = max(len(s) for s in sequences)
        sums = [M.expected_overlap_sums(seq_runs[s.name], longest) for s in sequences]
        ci["eao"]["eao_ci"] = stats.percentile_interval(
            eao_replicates(counts, sums, [len(s) for s in sequences], interval))
    ci["eao"]["bootstrap"] = {"resamples": resamples, "seed": seed, "level": stats.LEVEL}
    return ci


def score_details(bench: Benchmark, result_dirs: list[Path], root: Path,
                  convention: str | None = None, resamples: int = stats.DEFAULT_RESAMPLES,
                  seed: int = stats.DEFAULT_SEED) -> dict[str, TrackerResult]:
    """Like :func:`score` but keeps each tracker's expected-overlap curve."""
    if convention not in PIXEL_CONVENTIONS:
        raise PulBenchError(f"convention {convention!r} does not apply to VOT; use one of "
                            f"{', '.join(c for c in PIXEL_CONVENTIONS if c)}")
    sequences, missing = load_sequences(root, bench.sequences)
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        note(f"{len(missing)} of {bench.name}'s sequences are not in {root} ({shown}); "
             f"scoring the {len(sequences)} present")
    longest = max((len(s) for s in sequences), default=0)
    if bench.eao_interval and longest < bench.eao_interval[1]:
        note(f"no sequence in {root} reaches the end of {bench.name}'s EAO interval "
             f"{list(bench.eao_interval)} (the longest has {longest} frames), so EAO cannot be "
             "computed (null in JSON)")
    out = {}
    for d in result_dirs:
        out[tracker_name(d)] = score_tracker(sequences, Path(d), bench.eao_interval,
                                             PIXEL_CONVENTIONS[convention], resamples, seed)
    return out


def score(bench: Benchmark, result_dirs: list[Path], root: Path,
          convention: str | None = None, resamples: int = stats.DEFAULT_RESAMPLES,
          seed: int = stats.DEFAULT_SEED, strict: bool = False) -> dict[str, dict]:
    """``{tracker: {accuracy, robustness, failures, eao, ...}}`` for each result folder, with
    ``accuracy_ci``, ``robustness_ci``, ``eao_ci`` and ``bootstrap`` when ``resamples`` > 0.

    Results are always read strictly (``strict`` asks for what already holds): the VOT
    toolkit refuses a trajectory whose length is not its sequence's, and so do we."""
    details = score_details(bench, result_dirs, root, convention, resamples, seed)
    return {k: v.scores for k, v in details.items()}


def format_table(scores: dict[str, dict]) -> str:
    """A plain-text table, best EAO first."""
    rows = sorted(scores.items(), key=lambda kv: -_key(kv[1]["eao"]))
    width = max([len(k) for k in scores] + [7])
    cell, note = stats.table_intervals(list(scores.values()))

    lines = [f"{'tracker':<{width}}  {'A':>{cell}}  {'R':>{cell}}  {'fail':>6}  {'EAO':>{cell}}"
             "  frames"]
    for name, s in rows:
        lines.append(f"{name:<{width}}  {stats.ci_cells(s, ('accuracy', 'robustness'), cell)}  "
                     f"{s['failures']:6.1f}  {stats.ci_cells(s, ('eao',), cell)}  {s['frames']}")
    interval = next(iter(scores.values()), {}).get("eao_interval")
    lines.append(f"A: mean overlap (10-frame burn-in); R: failures per 100 frames; "
                 f"EAO over lengths {interval}")
    if note:
        lines.append(note)
    return "\n".join(lines)


def _key(x: float) -> float:
    return -1.0 if math.isnan(x) else x
