"""The VOT baseline (supervised, reset-based) experiment, resumable, then scored and plotted.

Per sequence and repetition: initialise on the axis-aligned bounds of the ground-truth polygon
(what vot-toolkit hands a rectangle tracker), track; a frame whose overlap with the ground
truth is 0 is a failure, and the tracker is re-initialised 5 frames later. Each repetition is
written atomically as ``<seq>_NNN.txt`` (+ ``<seq>_NNN_time.value``, seconds per frame, as
vot-toolkit names it), so an interrupted run resumes at the first missing repetition.
Deterministic trackers run once; others up to 15 times, stopping after 3 identical runs.
"""

from __future__ import annotations

import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np
from tqdm import tqdm

from pul_bench.analysis import stats
from pul_bench.analysis import vot as analysis
from pul_bench.benchmarks import Benchmark
from pul_bench.datasets.vot import VOTSequence, load_sequences
from pul_bench.geometry import box_to_polygon
from pul_bench.io import write_json, write_text
from pul_bench.metrics import vot as M
from pul_bench.registry import get_spec
from pul_bench.tracker import Tracker, read_image

REPETITIONS = 15
IDENTICAL_RUNS_TO_STOP = 3


def run_once(tracker: Tracker, seq: VOTSequence, skip: int = M.SKIP_INITIALIZE,
             progress=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One reset-based pass: (status (N,), boxes (N, 4), seconds (N,))."""
    n = len(seq)
    status = np.full(n, M.SKIP, dtype=np.int64)
    boxes = np.full((n, 4), np.nan)
    times = np.zeros(n)
    frame = 0
    while frame < n:
        image = read_image(seq.frames[frame])
        t0 = time.perf_counter()
        tracker.init(image, seq.init_boxes[frame].copy())
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


def sequence_dir(out: Path, bench: Benchmark, tracker: str, seq: str) -> Path:
    """``<out>/results/<bench>/<tracker>/baseline/<seq>``."""
    return Path(out) / "results" / bench.name / tracker / "baseline" / seq


def run_sequence(tracker_name: str, checkpoint: Path | None, seq: VOTSequence, folder: Path,
                 deterministic: bool | None, benchmark: str | None = None,
                 progress=None) -> int:
    """Run the missing repetitions of one sequence; return how many exist afterwards."""
    tracker = None
    runs: list[M.Trajectory] = []
    for rep in range(1, REPETITIONS + 1):
        path = folder / f"{seq.name}_{rep:03d}.txt"
        if deterministic and runs:
            break
        if len(runs) >= IDENTICAL_RUNS_TO_STOP and all(r.same_as(runs[0]) for r in runs[1:]):
            break
        if path.is_file():
            runs.append(M.read_trajectory(path))
            _tick(progress, len(seq))
            continue
        if tracker is None:
            tracker = get_spec(tracker_name).create(checkpoint=checkpoint, benchmark=benchmark)
        status, boxes, times = run_once(tracker, seq, progress=progress)
        write_text(folder / f"{seq.name}_{rep:03d}_time.value",
                   "".join(f"{t:.6f}\n" for t in times))
        write_text(path, M.format_trajectory(status, boxes))  # last: marks the run complete
        runs.append(M.read_trajectory(path))
    return len(runs)


def _worker(args: tuple) -> tuple[str, int]:
    return args[2].name, run_sequence(*args)


def evaluate(bench: Benchmark, tracker: str, root: Path, out: Path, workers: int = 1,
             sequences: list[str] | None = None, checkpoint: Path | None = None,
             resamples: int = stats.DEFAULT_RESAMPLES, seed: int = stats.DEFAULT_SEED) -> dict:
    """Run (resuming), score and plot ``tracker`` on ``bench``; return ``{tracker: scores}``
    (with bootstrap intervals from ``resamples`` resamples, none if 0)."""
    spec = get_spec(tracker)
    spec.check(checkpoint=checkpoint is not None)  # bad arguments fail once, before any run
    deterministic = spec.deterministic
    if deterministic is None:
        deterministic = getattr(spec.create(checkpoint=checkpoint), "deterministic", None)
    names = sequences if sequences is not None else bench.sequences
    seqs, missing = load_sequences(root, names, need_images=True)
    if missing:
        tqdm.write(f"note: {len(missing)} of {bench.name}'s sequences are not in {root}; "
                   f"running the {len(seqs)} present", file=sys.stderr)
    out = Path(out)
    reps = 1 if deterministic else REPETITIONS
    total = sum(len(s) for s in seqs) * reps
    jobs = [(tracker, checkpoint, s, sequence_dir(out, bench, tracker, s.name), deterministic,
             bench.name)
            for s in seqs]
    with tqdm(total=total, unit="frame", desc=f"{tracker} on {bench.name}") as bar:
        if workers <= 1:
            for job in jobs:
                seq = job[2]
                done_before = bar.n
                n = run_sequence(*job, progress=bar.update)
                bar.update(len(seq) * reps - (bar.n - done_before))  # early stop: skip the rest
                bar.set_postfix_str(f"{seq.name}: {n} run(s)")
        else:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                futures = {pool.submit(_worker, job): job[2] for job in jobs}
                for fut in as_completed(futures):
                    name, n = fut.result()
                    bar.update(len(futures[fut]) * reps)
                    bar.set_postfix_str(f"{name}: {n} run(s)")
    results = out / "results" / bench.name / tracker
    scored = analysis.score_details(_subset(bench, [s.name for s in seqs]), [results], root,
                                    resamples=resamples, seed=seed)
    report_dir = out / "reports" / bench.name / tracker
    scores = {k: v.scores for k, v in scored.items()}
    write_json(report_dir / "performance.json", scores)
    from pul_bench.plots import vot_plots

    vot_plots(scored, report_dir, bench.eao_interval, title=bench.name)
    return scores


def _subset(bench: Benchmark, names: list[str]) -> Benchmark:
    from dataclasses import replace

    return replace(bench, sequences=tuple(names))
