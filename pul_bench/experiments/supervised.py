"""The VOT baseline (supervised, reset-based) experiment, resumable, then scored and plotted.

Per sequence and repetition: initialise on the axis-aligned bounds of the ground-truth polygon
(what vot-toolkit hands a rectangle tracker; a spec's ``init_box: pysot`` instead gives pysot's
area-preserving box, see :func:`~pul_bench.geometry.polygon_to_box_pysot`), track; a frame
whose overlap with the ground truth is 0 is a failure, and the tracker is re-initialised 5
frames later (as vot-toolkit and pysot's test scripts do). Each repetition is written
atomically as ``<seq>_NNN.txt`` (+ ``<seq>_NNN_time.value``, seconds per frame, as
vot-toolkit names it), so an interrupted run resumes at the first missing repetition.
Deterministic trackers run once; others up to 15 times, stopping after 3 identical runs.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from pul_bench import results
from pul_bench.analysis import stats
from pul_bench.analysis import vot as analysis
from pul_bench.benchmarks import Benchmark
from pul_bench.datasets.otb import match_names
from pul_bench.datasets.vot import VOTSequence, load_sequences, read_sequence_names
from pul_bench.errors import PulBenchError
from pul_bench.experiments import common
from pul_bench.geometry import box_to_polygon, polygon_to_box_pysot
from pul_bench.io import note, status
from pul_bench.metrics import vot as M
from pul_bench.registry import TrackerSpec, get_spec
from pul_bench.tracker import Tracker, read_image

REPETITIONS = 15
IDENTICAL_RUNS_TO_STOP = 3


def init_boxes(seq: VOTSequence, rule: str = "bounds") -> np.ndarray:
    """(N, 4) start boxes of ``seq`` by a spec's ``init_box`` rule (``registry.INIT_BOXES``)."""
    return polygon_to_box_pysot(seq.polygons) if rule == "pysot" else seq.init_boxes


def run_once(tracker: Tracker, seq: VOTSequence, skip: int = M.SKIP_INITIALIZE,
             progress=None, init_box: str = "bounds") -> tuple[np.ndarray, np.ndarray,
                                                                np.ndarray]:
    """One reset-based pass: (status (N,), boxes (N, 4), seconds (N,)); ``init_box`` picks the
    start boxes (:func:`init_boxes`)."""
    starts = init_boxes(seq, init_box)
    n = len(seq)
    status = np.full(n, M.SKIP, dtype=np.int64)
    boxes = np.full((n, 4), np.nan)
    times = np.zeros(n)
    frame = 0
    while frame < n:
        image = read_image(seq.frames[frame])
        t0 = time.perf_counter()
        tracker.init(image, starts[frame].copy())
        times[frame] = time.perf_counter() - t0
        status[frame] = M.INIT
        _tick(progress)
        frame += 1
        while frame < n:
            image = read_image(seq.frames[frame])
            t0 = time.perf_counter()
            box = np.asarray(tracker.update(image), dtype=np.float64).reshape(4)
            times[frame] = time.perf_counter() - t0
            _tick(progress)
            ov = M.overlaps(box_to_polygon(box[None]), seq.polygons[frame][None], seq.size)[0]
            if ov <= 0:
                status[frame] = M.FAILURE
                _tick(progress, min(skip - 1, n - frame - 1))
                frame += skip
                break
            status[frame], boxes[frame] = M.REGION, box
            frame += 1
    return status, boxes, times


def _tick(progress, k: int = 1) -> None:
    if progress is not None and k > 0:
        progress(k)


def run_sequence(spec: TrackerSpec, checkpoint: Path | None, seq: VOTSequence, folder: Path,
                 deterministic: bool | None, benchmark: str | None = None,
                 progress=None) -> int:
    """Run the missing repetitions of one sequence; return how many exist afterwards."""
    tracker = None
    runs: list[M.Trajectory] = []
    for rep in range(1, REPETITIONS + 1):
        path = results.vot_run_path(folder, seq.name, rep)
        if deterministic and runs:
            break
        if len(runs) >= IDENTICAL_RUNS_TO_STOP and all(r.same_as(runs[0]) for r in runs[1:]):
            break
        if path.is_file():
            runs.append(results.read_trajectory(path))
            _tick(progress, len(seq))
            continue
        if tracker is None:
            tracker = common.tracker_for(spec, checkpoint, benchmark)
        status, boxes, times = run_once(tracker, seq, progress=progress,
                                        init_box=spec.init_box)
        results.write_vot_run(path, status, boxes, times)
        runs.append(results.read_trajectory(path))
    return len(runs)


@dataclasses.dataclass(frozen=True)
class _Job:
    """One sequence's repetitions: everything a worker process needs, picklable."""

    name: str
    seq: VOTSequence
    folder: Path
    budget: int


def _run_job(spec: TrackerSpec, checkpoint: Path | None, deterministic: bool | None,
             benchmark: str, job: _Job, progress) -> None:
    """Run one sequence's missing repetitions (run by :func:`common.run_jobs`)."""
    run_sequence(spec, checkpoint, job.seq, job.folder, deterministic, benchmark, progress)


def evaluate(bench: Benchmark, tracker: str, root: Path, out: Path, workers: int = 1,
             sequences: list[str] | None = None, checkpoint: Path | None = None,
             resamples: int = stats.DEFAULT_RESAMPLES, seed: int = stats.DEFAULT_SEED,
             overrides: Mapping[str, Any] | None = None,
             shard: tuple[int, int] | None = None) -> dict:
    """Run (resuming), score and plot ``tracker`` on ``bench``; return ``{tracker: scores}``
    (with bootstrap intervals from ``resamples`` resamples, none if 0). ``overrides`` replace
    spec arguments (``device``, ``precision``); ``shard`` (K, N) runs only shard K's sequences
    (:func:`common.in_shard`) and scores nothing."""
    spec = get_spec(tracker)
    spec.check(checkpoint=checkpoint is not None)  # bad arguments fail once, before any run
    spec = common.with_overrides(spec, overrides, checkpoint is not None)
    root, out = Path(root), Path(out)
    names = _names(bench, root, sequences)
    seqs, missing = load_sequences(root, names, need_images=True)
    if missing:
        note(f"{len(missing)} of {bench.name}'s sequences are not in {root}; running the "
             f"{len(seqs)} present")
    result_dir = out / "results" / bench.name / tracker
    total, seqs = len(seqs), common.in_shard(seqs, shard)
    if seqs:
        _, deterministic = common.prepare(spec, checkpoint, bench.name, result_dir)
        reps = 1 if deterministic else REPETITIONS
        jobs = [_Job(s.name, s, results.vot_sequence_dir(result_dir, s.name), len(s) * reps)
                for s in seqs]
        common.run_jobs(jobs, functools.partial(_run_job, spec, checkpoint, deterministic,
                                                bench.name),
                        workers, f"{tracker} on {bench.name}")
    if shard is not None:
        common.shard_note(shard, len(seqs), total, result_dir)
        return {}
    subset = _subset(bench, [s.name for s in seqs])
    scored = analysis.score_details(subset, [result_dir], root, resamples=resamples, seed=seed)
    scores = {k: v.scores for k, v in scored.items()}
    report_dir = out / "reports" / bench.name
    merged = common.merge_scores(report_dir, scores)
    # Trackers scored on the same sequences, with their results here, share the figures.
    others = [out / "results" / bench.name / name for name, s in merged.items()
              if name != tracker and s.get("frames") == scores[tracker]["frames"]
              and set(s.get("per_sequence", {})) == set(scores[tracker].get("per_sequence", {}))
              and (out / "results" / bench.name / name).is_dir()]
    if others:
        scored.update(analysis.score_details(subset, others, root, resamples=0))
    from pul_bench.plots import vot_plots

    vot_plots(scored, report_dir, bench.eao_interval, title=bench.name)
    status(f"results in {result_dir}; scores and plots in {report_dir}")
    return scores


def score_finished(bench: Benchmark, result_dir: Path, root: Path,
                   sequences: list[str] | None = None) -> dict | None:
    """What :func:`evaluate` returns for the raw results in ``result_dir`` when every sequence
    it would run has its first repetition there, else None; runs nothing (committed results
    are scored this way)."""
    seqs, _ = load_sequences(root, _names(bench, root, sequences), need_images=True)
    if not seqs or not all(results.vot_run_path(results.vot_sequence_dir(result_dir, s.name),
                                                s.name, 1).is_file() for s in seqs):
        return None
    scored = analysis.score_details(_subset(bench, [s.name for s in seqs]), [result_dir], root)
    return {k: v.scores for k, v in scored.items()}


def _names(bench: Benchmark, root: Path, sequences: list[str] | None) -> tuple[str, ...] | None:
    """The sequences to run: ``sequences`` (any case) if given, checked against the benchmark's
    list and ``root``'s ``list.txt``, else the benchmark's list (None: all of ``root``)."""
    if not sequences:
        return bench.sequences
    names = list(sequences)
    if bench.sequences is not None:
        chosen = match_names(names, bench.sequences)
        unknown = [n for n in names if n not in chosen]
        if unknown:
            raise PulBenchError(f"not in benchmark {bench.name}: {', '.join(unknown)}")
        names = [chosen[n] for n in names]
    found = match_names(names, read_sequence_names(root))
    absent = [n for n in names if n not in found]
    if absent:
        raise PulBenchError(f"sequences not found under {root}: {', '.join(absent)}")
    return tuple(found[n] for n in names)


def _subset(bench: Benchmark, names: list[str]) -> Benchmark:
    from dataclasses import replace

    return replace(bench, sequences=tuple(names))
