"""The runner skeleton every protocol shares (OTB one-pass, VOT reset-based, GOT-10k); which
module runs which benchmark kind is :mod:`pul_bench.kinds`'.

* The set-up record ``results/<BENCH>/<TRACKER>/run.json``: the spec's factory and resolved
  arguments and the checkpoint's *content* hash. Results made by another set-up are never
  resumed into; the same weights at another path are the same set-up. The record is written
  only once the tracker has been built, so a run that fails on a bad checkpoint or argument
  leaves nothing behind that would refuse the corrected run. Then it is compared and written
  under one lock, before any tracking, and each run holds a claim on the folder while it
  lives: of shards started at once with different set-ups, one runs and the others are
  refused (:func:`build_tracker`). An ``auto`` argument is compared and recorded as
  the built tracker resolved it (``precision: fp16``), and where a tracker runs
  (:data:`RUNTIME_ARGS`: device, threads) is recorded but not compared. A model of several
  files (NanoTrack's backbone and head) records each file's hash; a spec's non-default
  ``init_box`` (how VOT polygons become start boxes) is recorded too.
* :func:`with_overrides`: command-line overrides of spec arguments (``--device``, ``--precision``).
* :func:`in_shard`: the sequences shard K of N runs (one task of a Slurm job array).
* :func:`run_jobs`: one job per sequence, serially or in spawned worker processes, one progress
  bar; bad input in one sequence does not stop the others, the failures are raised together.
* :func:`merge_scores`: ``reports/<BENCH>/performance.json`` updated under a file lock.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import functools
import json
import multiprocessing
import os
import pickle
import queue
import sys
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

import cv2
from filelock import BaseFileLock, Timeout

from pul_bench.errors import InputError, PulBenchError
from pul_bench.io import Progress, file_lock, file_sha256, progress_bar, status, update_json
from pul_bench.registry import INIT_BOXES, TrackerSpec
from pul_bench.tracker import Tracker

RECORD = "run.json"
#: Arguments that choose where and how fast a tracker runs, not what it outputs: recorded, never
#: compared, so shards on GPU and CPU nodes can share one folder (CUDA and CPU kernels may differ
#: in the last bits of a float). Precision is compared: bf16 or fp16 changes boxes.
RUNTIME_ARGS = ("device", "threads")


# ---- which set-up made a results folder ---------------------------------------------------


def set_up(spec: TrackerSpec, checkpoint: str | Path | None,
           sha256: str | None = None) -> dict[str, Any]:
    """What decides a tracker's output: factory, resolved arguments, checkpoint content (its
    path is kept for the reader, and compared only with records that predate the hash).
    ``sha256`` stands for the content of a checkpoint that is absent (one the manifest lists).
    A pul_bench checkpoint's tensors are identified apart (``weights_sha256``), so the same
    weights saved again on another date are the same set-up (:func:`_differences`)."""
    ckpt = Path(checkpoint) if checkpoint is not None else spec.checkpoint
    if ckpt is not None and sha256 is None and not spec.checkpoint_ok(ckpt):
        raise spec.checkpoint_error(ckpt)
    files = spec.model_files(ckpt)
    factory = spec.factory if isinstance(spec.factory, str) else \
        f"{getattr(spec.factory, '__module__', '?')}:{getattr(spec.factory, '__qualname__', '?')}"
    record = {"tracker": spec.name, "factory": factory,
              "args": json.loads(json.dumps(spec.args, default=str))}
    if files is not None:  # a model of several files (NanoTrack's ONNX pair): each one's hash
        record["checkpoint_sha256"] = {role: file_sha256(p) for role, p in files.items()}
        record["checkpoint"] = {role: str(p.resolve()) for role, p in files.items()}
    else:
        record["checkpoint_sha256"] = None if ckpt is None else sha256 or file_sha256(ckpt)
        record["weights_sha256"] = None if ckpt is None or sha256 else _weights_sha256(ckpt)
        record["checkpoint"] = None if ckpt is None else str(ckpt.resolve())
    if spec.init_box != INIT_BOXES[0]:  # absent from the default's record, as before it existed
        record["init_box"] = spec.init_box
    return record


def _weights_sha256(ckpt: Path) -> str | None:
    from pul_bench.checkpoint import stored_weights_sha256  # imports torch: only when needed

    return stored_weights_sha256(ckpt)


def with_overrides(spec: TrackerSpec, overrides: Mapping[str, Any] | None,
                   checkpoint: bool = False) -> TrackerSpec:
    """``spec`` with command-line values (``--device``, ``--precision``; None: the spec's) in
    place of its arguments, checked against the factory like the spec's own: a tracker that
    takes no such argument (a correlation filter has no device) is refused, naming the flag."""
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    if not given:
        return spec
    new = dataclasses.replace(spec, args={**spec.args, **given},
                              nodes={k: n for k, n in spec.nodes.items() if k not in given})
    try:
        new.check(checkpoint=checkpoint)
    except PulBenchError as e:
        flags = " ".join(f"--{k} {v}" for k, v in given.items())
        raise PulBenchError(f"{flags} is for network trackers: {e}") from None
    return new


def in_shard(items: Sequence[Any], shard: tuple[int, int] | None) -> list[Any]:
    """The items (sequences: anything with a ``name``) that shard K of N runs: the K-th, K+N-th,
    ... of the names sorted, so every process splits alike whatever order its folder lists."""
    if shard is None:
        return list(items)
    k, n = shard
    mine = set(sorted(item.name for item in items)[k - 1::n])
    return [item for item in items if item.name in mine]


def shard_note(shard: tuple[int, int], ran: int, total: int, result_dir: Path) -> None:
    """Say what a shard did and how the whole benchmark gets scored (a shard scores nothing:
    it holds part of the sequences, and its partial scores would overwrite the whole's)."""
    k, n = shard
    status(f"shard {k}/{n}: {ran} of {total} sequences, results in {result_dir}. Once every "
           "shard is done, the same eval without --shard scores them, writes "
           "performance.json and the plots, and runs nothing.")


def check_set_up(result_dir: Path, made_by: dict[str, Any]) -> None:
    """Refuse early (before the tracker is built) to add to ``result_dir`` if it holds results
    of another set-up. A record over no results passes here; :func:`build_tracker` then
    decides, refusing it only while the run that wrote it still lives.
    """
    record = result_dir / RECORD
    if record.is_file():
        _refuse_other(record, _read_record(record), made_by)


def differs(record: Path, made_by: dict[str, Any]) -> bool:
    """Whether the set-up record file ``record`` names another set-up than ``made_by``."""
    return bool(_differences(_read_record(record), made_by))


def _read_record(record: Path) -> dict[str, Any]:
    try:
        before = json.loads(record.read_text())
    except json.JSONDecodeError as e:
        raise InputError(record, f"not valid JSON: {e.msg}", e.lineno) from None
    if not isinstance(before, dict):
        raise InputError(record, "expected a JSON object")
    return before


def _refuse_other(record: Path, before: Any, made_by: dict[str, Any]) -> bool:
    """Raise if ``record`` (holding ``before``) names another set-up and its folder holds
    results; return whether the set-ups differ."""
    if not isinstance(before, dict):
        raise InputError(record, "expected a JSON object")
    changed = _differences(before, made_by)
    if changed and _has_results(record.parent):
        raise PulBenchError(f"{record.parent} holds results of a different set-up: "
                            f"{'; '.join(changed)}. Use another --out, or delete that folder to "
                            "start over.")
    return bool(changed)


# Trackers are built once per process and re-initialised per sequence.
_trackers: dict[tuple, Tracker] = {}


def tracker_for(spec: TrackerSpec, checkpoint: str | Path | None,
                benchmark: str | None) -> Tracker:
    """This process's tracker for a set-up (a checkpoint rewritten in place is a new one)."""
    ckpt = Path(checkpoint) if checkpoint is not None else spec.checkpoint
    stat = ckpt.stat() if ckpt is not None and ckpt.is_file() else None
    key = (spec.name, json.dumps(spec.args, sort_keys=True, default=str), str(ckpt),
           None if stat is None else (stat.st_size, stat.st_mtime_ns), benchmark)
    if key not in _trackers:
        _trackers[key] = spec.create(checkpoint=checkpoint, benchmark=benchmark)
    return _trackers[key]


def build_tracker(spec: TrackerSpec, checkpoint: str | Path | None, benchmark: str,
                  result_dir: Path, made_by: dict[str, Any]) -> Tracker:
    """Build the tracker (proving checkpoint and arguments work), then decide, once and under
    the record's lock, whether this set-up may add to ``result_dir``.

    The record is written if absent and kept if it names this set-up (``auto`` arguments
    resolved); a differing one is replaced only where the folder holds no results and no
    running process claims it (a run that stopped before its first result), else refused.
    Every process that passes holds its own claim (:data:`CLAIM`) until it ends, so shards of
    one set-up run together while a different set-up started at the same moment is refused
    before it tracks anything.
    """
    tracker = tracker_for(spec, checkpoint, benchmark)
    made_by = _resolved(made_by, tracker)
    update_json(result_dir / RECORD, functools.partial(_decide, result_dir / RECORD, made_by))
    return tracker


#: Every process using a results folder holds its own claim file ``.run.json.claim.<id>``
#: there, locked (exclusively, by that process alone) until it ends; a set-up that would replace
#: the record fails while any other claim is held. Claims are taken and tested only under the
#: record's lock (:func:`_decide`), so none appears while one process looks.
CLAIM = ".run.json.claim"
#: this process's claim name: the pid for people, a random part so hosts sharing a folder differ
_CLAIM_ID = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
_claims: dict[Path, BaseFileLock] = {}


def _claim(result_dir: Path, exclusive: bool) -> bool:
    """Hold this process's claim on ``result_dir`` (``exclusive``: only if no other process
    holds one); return False, holding nothing new, if that failed. Claims whose process has
    died (their lock is free) are removed on the way."""
    live = False
    for other in sorted(result_dir.glob(f"{CLAIM}.*")):
        if other.name == f"{CLAIM}.{_CLAIM_ID}":
            continue
        probe = file_lock(other)
        try:
            probe.acquire(timeout=0)
        except Timeout:
            live = True
            continue
        probe.release()
        other.unlink(missing_ok=True)  # its process is gone
    if exclusive and live:
        return False
    path = result_dir / f"{CLAIM}.{_CLAIM_ID}"
    key = path.resolve()
    held = _claims.get(key)
    if held is not None and not path.exists():  # the folder was deleted and made again
        held.release()
        held = None
    if held is None:
        held = _claims[key] = file_lock(path)
        held.acquire(timeout=0)  # a name no other process uses: free at once
    return True


def _resolved(made_by: dict[str, Any], tracker: Tracker) -> dict[str, Any]:
    """The set-up with each ``auto`` argument as the tracker resolved it (its attribute of that
    name, e.g. ``precision``: auto is bf16 on CUDA but fp32 on a CPU)."""
    args = {k: str(getattr(tracker, k)) if v == "auto" and getattr(tracker, k, None) is not None
            else v for k, v in made_by["args"].items()}
    return {**made_by, "args": args}


def _decide(record: Path, made_by: dict[str, Any], before: Any) -> Any:
    """The record to leave (called under its lock, which every decision takes): this one if
    there is none, the one there if it names this set-up, this one if the other set-up left
    no results and no process runs it; otherwise raise, naming the differences."""
    if before == {}:
        _claim(record.parent, exclusive=False)
        return made_by
    if not _refuse_other(record, before, made_by):
        _claim(record.parent, exclusive=False)
        return before
    if not _claim(record.parent, exclusive=True):
        raise PulBenchError(f"{record.parent} is in use by a run of a different set-up that "
                            f"has no results yet: {'; '.join(_differences(before, made_by))}. "
                            "Wait for it to finish, or use another --out.")
    return made_by


def prepare(spec: TrackerSpec, checkpoint: str | Path | None, benchmark: str,
            result_dir: Path) -> tuple[Tracker, bool | None]:
    """Check, build and record the set-up at once (for runners that always need the tracker);
    return the tracker and whether it is deterministic (the spec's word, else the tracker's)."""
    made_by = set_up(spec, checkpoint)
    check_set_up(result_dir, made_by)
    tracker = build_tracker(spec, checkpoint, benchmark, result_dir, made_by)
    if spec.deterministic is not None:
        return tracker, spec.deterministic
    return tracker, getattr(tracker, "deterministic", None)


def _differences(before: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """Readable ``key: old -> new`` items (nested arguments as ``args.name``). Checkpoints are
    compared by their tensors where both sides know them (``weights_sha256``), else by the
    file's sha256 (records written before tensors were hashed, checkpoints of other formats);
    a record written before checkpoints were hashed names its checkpoint by path: the same
    path then matches.
    :data:`RUNTIME_ARGS` are not compared; nor is an ``auto`` argument before the tracker has
    resolved it (it is compared again, resolved, when the record is written), or in a record
    written before ``auto`` was resolved."""
    legacy = "checkpoint_sha256" not in before and before.get("checkpoint") == now["checkpoint"]
    tensors = bool(before.get("weights_sha256") and now.get("weights_sha256"))
    out = []
    for key in [*now, *(k for k in ("init_box",) if k in before and k not in now)]:
        value, old = now.get(key), before.get(key)
        if key == "checkpoint" or (key == "checkpoint_sha256" and (legacy or tensors)) or (
                key == "weights_sha256" and not tensors):
            continue
        if key == "args" and isinstance(old, dict) and isinstance(value, dict):
            out += [f"args.{k} {_short(old.get(k))} -> {_short(value.get(k))}"
                    for k in sorted(set(old) | set(value)) if old.get(k) != value.get(k)
                    and k not in RUNTIME_ARGS and "auto" not in (old.get(k), value.get(k))]
        elif old != value:
            out.append(f"{key.replace('_', ' ')} {_short(old)} -> {_short(value)}")
    return out


def _short(value: Any) -> str:
    if isinstance(value, dict):  # a several-file model's hashes, by role
        return "{" + ", ".join(f"{k}: {_short(v)}" for k, v in value.items()) + "}"
    if value is None:
        return "none"
    text = str(value)
    return text[:12] if len(text) == 64 and text.isalnum() else text[:60]  # a sha256: prefix


def _has_results(result_dir: Path) -> bool:
    return any(p.is_file() and p.name != RECORD and not p.name.startswith(".")
               for p in result_dir.rglob("*"))


# ---- jobs, serially or in worker processes ------------------------------------------------


class Job(Protocol):
    """What :func:`run_jobs` needs of a job: a name for messages and its progress budget."""

    name: str
    budget: int


J = TypeVar("J", bound=Job)
#: ``run(job, progress)``: a module-level function, so it can be sent to worker processes.
RunFn = Callable[[Any, Callable[[int], None]], None]


def run_jobs(jobs: Sequence[J], run: RunFn, workers: int, desc: str) -> None:
    """Run every job with one progress bar over their budgets.

    A job that fails on bad input (:class:`PulBenchError`) does not stop the others; the
    failures are raised together at the end, each naming its file. Workers are spawned, not
    forked: a forked copy of a process whose OpenCV or torch thread pools have run can deadlock.
    """
    if workers < 1:
        raise PulBenchError(f"--workers must be at least 1, got {workers}")
    failures: list[str] = []
    with progress_bar(total=sum(j.budget for j in jobs), unit="frame", desc=desc,
                      dynamic_ncols=True, item="sequence", items=len(jobs)) as bar:
        if workers == 1 or len(jobs) == 1:
            for job in jobs:
                bar.set_postfix_str(job.name)
                message, ticks = _run_counted(run, job, bar.update)
                bar.update(max(job.budget - ticks, 0))  # a job may finish early
                bar.finished(job.name + (" (failed)" if message else ""))
                if message:
                    failures.append(message)
        else:
            failures = _run_parallel(jobs, run, workers, bar)
    if failures:
        raise PulBenchError(f"{len(failures)} of {len(jobs)} sequences failed (the others are "
                            "saved):\n  " + "\n  ".join(failures))


def _run_counted(run: RunFn, job: Job, progress: Callable[[int], None]) -> tuple[str | None, int]:
    """Run one job; return (its bad-input message or None, progress ticks it reported)."""
    ticks = 0

    def tick(k: int) -> None:
        nonlocal ticks
        ticks += k
        progress(k)

    try:
        run(job, tick)
    except PulBenchError as e:
        return f"{job.name}: {e}", ticks
    return None, ticks


_progress_queue: Any = None


def _init_worker(progress_queue: Any, threads: int) -> None:
    """Share the CPU cores between workers instead of each library grabbing all of them."""
    global _progress_queue
    _progress_queue = progress_queue
    cv2.setNumThreads(threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


def _worker(run: RunFn, job: Job) -> tuple[str | None, int]:
    return _run_counted(run, job, _progress_queue.put)


def _run_parallel(jobs: Sequence[Job], run: RunFn, workers: int, bar: Progress) -> list[str]:
    try:
        pickle.dumps((run, jobs[0]))
    except (pickle.PicklingError, AttributeError, TypeError) as e:
        raise PulBenchError(f"{bar.desc}: the tracker cannot be sent to worker processes ({e}); "
                            "use --workers 1 or register a module-level factory") from None
    ctx = multiprocessing.get_context("spawn")
    progress_queue = ctx.Queue()
    failures: list[str] = []
    n = min(workers, len(jobs))
    threads = max(1, (os.cpu_count() or 1) // n)
    with cf.ProcessPoolExecutor(n, mp_context=ctx, initializer=_init_worker,
                                initargs=(progress_queue, threads)) as pool:
        pending = {pool.submit(_worker, run, j): j for j in jobs}
        try:
            while pending:
                done, _ = cf.wait(pending, timeout=0.2, return_when=cf.FIRST_COMPLETED)
                _drain(progress_queue, bar)
                for fut in done:
                    job = pending.pop(fut)
                    message, ticks = fut.result()
                    _drain(progress_queue, bar)
                    bar.update(max(job.budget - ticks, 0))
                    bar.finished(job.name + (" (failed)" if message else ""))
                    if message:
                        failures.append(message)
        except BaseException:
            for fut in pending:
                fut.cancel()
            raise
        _drain(progress_queue, bar)
    return failures


def _drain(progress_queue: Any, bar: Any) -> None:
    n = 0
    while True:
        try:
            n += progress_queue.get_nowait()
        except queue.Empty:
            break
    if n:
        bar.update(n)


# ---- the benchmark's report ---------------------------------------------------------------


def merge_scores(report_dir: Path, scores: dict[str, Any]) -> dict[str, Any]:
    """Merge ``{tracker: scores}`` into ``report_dir/performance.json``; return all of it.

    Two evals writing into one ``--out`` at the same time each keep their tracker's entry.
    """
    return update_json(report_dir / "performance.json", lambda old: {**old, **scores})
