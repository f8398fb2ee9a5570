"""OTB one-pass evaluation (OPE): run a tracker once per sequence from its first ground-truth
box, save the raw boxes in the OTB text format, then score and plot.

Layout under ``--out``::

    results/<BENCH>/<TRACKER>/<Seq>.txt              boxes, 1-based x,y,w,h, full float precision
    results/<BENCH>/<TRACKER>/times/<Seq>_time.txt   seconds per frame (frame 1: init)
    results/<BENCH>/<TRACKER>/run.json               which tracker spec and checkpoint made them
    reports/<BENCH>/performance.json                 scores of every tracker evaluated there
    reports/<BENCH>/*.png, *.pdf                     success / precision / attribute plots

Times live in their own folder so the result folder holds exactly one file per sequence, as
scorers expect. A sequence counts as finished once its box file exists; both files are written
atomically (times first), so a killed run resumes where it stopped and never redoes or loses a
finished sequence.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import json
import multiprocessing
import os
import pickle
import queue
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from tqdm import tqdm

from pul_bench.analysis import stats
from pul_bench.benchmarks import Benchmark
from pul_bench.errors import InputError, PulBenchError
from pul_bench.io import write_json, write_text
from pul_bench.registry import TrackerSpec, get_spec
from pul_bench.tracker import Tracker


@dataclasses.dataclass(frozen=True)
class _Job:
    """One sequence to run: everything a worker process needs, picklable."""

    name: str
    benchmark: str
    frames: tuple[str, ...]
    init_box: tuple[float, float, float, float]
    result: Path
    times: Path


def evaluate(
    bench: Benchmark,
    tracker: str,
    root: str | Path,
    out: str | Path,
    workers: int = 1,
    sequences: Sequence[str] | None = None,
    checkpoint: str | Path | None = None,
    resamples: int = stats.DEFAULT_RESAMPLES,
    seed: int = stats.DEFAULT_SEED,
) -> dict[str, Any]:
    """Run ``tracker`` on ``bench`` (resumably), score it, update performance.json and plots.

    Returns ``{tracker: scores}`` as :func:`pul_bench.analysis.otb.score` computes them (MATLAB
    toolkit convention); with ``sequences``, on those sequences only.
    """
    from pul_bench.analysis.otb import score
    from pul_bench.datasets.otb import load_otb

    root, out = Path(root), Path(out)
    if workers < 1:
        raise PulBenchError(f"--workers must be at least 1, got {workers}")
    spec = get_spec(tracker)
    ok, why = spec.ready()
    if not ok and checkpoint is None:
        raise PulBenchError(f"tracker {tracker!r} is not ready: {why}")
    spec.check(checkpoint=checkpoint is not None)  # bad arguments fail once, before any run
    seqs, missing = load_otb(bench, root, sequences)
    if sequences and missing:
        raise PulBenchError(f"sequences not found under {root}: {', '.join(missing)}")
    if not seqs:
        raise PulBenchError(f"no {bench.name} sequences found under {root}")
    if missing:
        tqdm.write(f"{bench.name}: {len(seqs)} of {len(seqs) + len(missing)} sequences are under "
                   f"{root}; the scores list the missing ones", file=sys.stderr)

    result_dir = out / "results" / bench.name / tracker
    _check_provenance(result_dir, spec, checkpoint)
    jobs = []
    for s in seqs:
        if not s.frames:
            raise PulBenchError(f"{root}: no images for sequence {s.name!r}; eval needs the "
                                "image folders, not only annotations")
        job = _Job(s.name, bench.name, tuple(str(f) for f in s.frames),
                   tuple(float(v) for v in s.groundtruth[0]),
                   result_dir / f"{s.name}.txt", result_dir / "times" / f"{s.name}_time.txt")
        if not _finished(job):
            jobs.append(job)
    if jobs:
        _run_jobs(jobs, spec, checkpoint, workers)

    scored = dataclasses.replace(bench, sequences=tuple(s.name for s in seqs)) if sequences \
        else bench
    scores = score(bench=scored, result_dirs=[result_dir], root=root, resamples=resamples,
                   seed=seed)
    report_dir = out / "reports" / bench.name
    _report(report_dir, bench.name, scores)
    tqdm.write(f"results in {result_dir}; scores and plots in {report_dir}", file=sys.stderr)
    return scores


def _check_provenance(result_dir: Path, spec: TrackerSpec, checkpoint: str | Path | None) -> None:
    """Refuse to resume results that another factory, arguments or checkpoint produced."""
    ckpt = checkpoint if checkpoint is not None else spec.checkpoint
    made_by = {
        "tracker": spec.name,
        "factory": spec.factory if isinstance(spec.factory, str) else
        f"{getattr(spec.factory, '__module__', '?')}:{getattr(spec.factory, '__qualname__', '?')}",
        "args": spec.args,
        "checkpoint": None if ckpt is None else str(Path(ckpt).resolve()),
    }
    record = result_dir / "run.json"
    if record.is_file():
        try:
            before = json.loads(record.read_text())
        except json.JSONDecodeError as e:
            raise InputError(record, f"not valid JSON: {e.msg}", e.lineno) from None
        if before != made_by:
            raise PulBenchError(
                f"{result_dir} holds results of a different set-up ({before}); now "
                f"{made_by}. Use another --out, or delete that folder to start over.")
    else:
        write_json(record, made_by)


def _finished(job: _Job) -> bool:
    """Whether ``job``'s box file exists with one row per frame (a wrong count is an error)."""
    if not job.result.is_file():
        return False
    rows = sum(1 for line in job.result.read_text().splitlines() if line.strip())
    if rows != len(job.frames):
        raise InputError(job.result, f"has {rows} rows but {job.name} has {len(job.frames)} "
                         "frames; delete the file to run the sequence again")
    return True


def _run_jobs(jobs: list[_Job], spec: TrackerSpec, checkpoint: str | Path | None,
              workers: int) -> None:
    """Run every job, serially or in ``workers`` processes, with one progress bar over frames.

    A sequence that fails on bad input (e.g. a corrupt image) does not stop the others; the
    failures are raised together at the end, each naming its file.
    """
    failures: list[str] = []
    total = sum(len(j.frames) for j in jobs)
    with tqdm(total=total, unit="frame", desc=spec.name, dynamic_ncols=True) as bar:
        if workers == 1 or len(jobs) == 1:
            for job in jobs:
                bar.set_postfix_str(job.name)
                try:
                    _run_one(job, spec, checkpoint, bar.update)
                except PulBenchError as e:
                    failures.append(f"{job.name}: {e}")
        else:
            failures = _run_parallel(jobs, spec, checkpoint, workers, bar)
    if failures:
        raise PulBenchError(f"{len(failures)} of {len(jobs)} sequences failed (the others are "
                            "saved):\n  " + "\n  ".join(failures))


# Trackers are built once per process and re-initialised per sequence.
_cache: dict[tuple[str, str | None, str], Tracker] = {}


def _run_one(job: _Job, spec: TrackerSpec, checkpoint: str | Path | None,
             progress: Callable[[int], None]) -> None:
    key = (spec.name, None if checkpoint is None else str(checkpoint), job.benchmark)
    if key not in _cache:
        _cache[key] = spec.create(checkpoint=checkpoint, benchmark=job.benchmark)
    boxes, times = _cache[key].track(job.frames, job.init_box, progress=progress)
    if boxes.shape != (len(job.frames), 4):
        raise PulBenchError(f"tracker {spec.name!r} returned {boxes.shape} boxes on {job.name}; "
                            f"expected ({len(job.frames)}, 4)")
    write_text(job.times, "".join(f"{t!r}\n" for t in times.tolist()))
    write_text(job.result, format_otb_boxes(boxes))


def format_otb_boxes(boxes: np.ndarray) -> str:
    """0-based (N, 4) ``[x, y, w, h]`` rows as OTB text: 1-based, comma separated, lossless."""
    rows = np.asarray(boxes, dtype=np.float64).copy()
    rows[:, :2] += 1.0
    return "".join(",".join(repr(v) for v in row) + "\n" for row in rows.tolist())


_progress_queue: Any = None


def _init_worker(progress_queue: Any, threads: int) -> None:
    """Share the CPU cores between workers instead of each library grabbing all of them."""
    global _progress_queue
    _progress_queue = progress_queue
    cv2.setNumThreads(threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


def _worker(job: _Job, spec: TrackerSpec, checkpoint: str | Path | None) -> str | None:
    """Run one job in a worker; return the bad-input message instead of raising it."""
    try:
        _run_one(job, spec, checkpoint, _progress_queue.put)
    except PulBenchError as e:
        return f"{job.name}: {e}"
    return None


def _run_parallel(jobs: list[_Job], spec: TrackerSpec, checkpoint: str | Path | None,
                  workers: int, bar: tqdm) -> list[str]:
    # Fresh (spawned) workers: a forked copy of a process whose OpenCV or torch thread pools
    # have run can deadlock. The spec travels pickled, so trackers added with
    # registry.register() work too, provided their factory is importable.
    try:
        pickle.dumps(spec)
    except (pickle.PicklingError, AttributeError, TypeError) as e:
        raise PulBenchError(f"tracker {spec.name!r} cannot be sent to worker processes ({e}); "
                            "use --workers 1 or register a module-level factory") from None
    ctx = multiprocessing.get_context("spawn")
    progress_queue = ctx.Queue()
    failures: list[str] = []
    n = min(workers, len(jobs))
    threads = max(1, (os.cpu_count() or 1) // n)
    with cf.ProcessPoolExecutor(n, mp_context=ctx, initializer=_init_worker,
                                initargs=(progress_queue, threads)) as pool:
        pending = {pool.submit(_worker, j, spec, checkpoint) for j in jobs}
        try:
            while pending:
                done, pending = cf.wait(pending, timeout=0.2, return_when=cf.FIRST_COMPLETED)
                _drain(progress_queue, bar)
                for fut in done:
                    message = fut.result()
                    if message:
                        failures.append(message)
        except BaseException:
            for fut in pending:
                fut.cancel()
            raise
        _drain(progress_queue, bar)
    return failures


def _drain(progress_queue: Any, bar: tqdm) -> None:
    n = 0
    while True:
        try:
            n += progress_queue.get_nowait()
        except queue.Empty:
            break
    if n:
        bar.update(n)


def _report(report_dir: Path, bench_name: str, scores: dict[str, Any]) -> None:
    """Merge ``scores`` into performance.json and redraw the plots of comparable trackers."""
    from pul_bench.plots import plot_all

    perf = report_dir / "performance.json"
    merged: dict[str, Any] = {}
    if perf.is_file():
        try:
            merged = json.loads(perf.read_text())
        except json.JSONDecodeError as e:
            raise InputError(perf, f"not valid JSON: {e.msg}", e.lineno) from None
    merged.update(scores)
    write_json(perf, merged)
    # Only trackers scored on the same sequences belong on the same axes.
    same = {name: s for name, s in merged.items()
            if set(s.get("per_sequence", {})) == set(next(iter(scores.values()))["per_sequence"])}
    plot_all(same, report_dir, bench_name)
