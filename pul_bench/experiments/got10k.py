"""GOT-10k runs, made as got10k 0.1.3's ``ExperimentGOT10k.run`` makes them.

Layout under ``--out`` (the tracker folder is what the evaluation server takes, zipped)::

    results/<BENCH>/<TRACKER>/<seq>/<seq>_001.txt   boxes x,y,w,h as the ground truth's, '%.3f'
    results/<BENCH>/<TRACKER>/<seq>/<seq>_time.txt  seconds per frame, one column a repetition
    results/<BENCH>/<TRACKER>/run.json              which tracker spec and checkpoint made them

Each sequence is tracked from its first ground-truth box three times, once for a deterministic
tracker. A repetition counts as done once its box file exists (written last, atomically), so a
killed run resumes; its time column is rewritten with it. The val split is then scored
(:mod:`pul_bench.analysis.got10k`); the test split has no ground truth: ``pulbench submit``.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pul_bench import results
from pul_bench.analysis import got10k as analysis
from pul_bench.analysis import stats
from pul_bench.benchmarks import Benchmark
from pul_bench.datasets.got10k import load_got10k
from pul_bench.errors import PulBenchError
from pul_bench.experiments import common
from pul_bench.io import note, status
from pul_bench.registry import TrackerSpec, get_spec

REPETITIONS = 3


@dataclasses.dataclass(frozen=True)
class _Job:
    """One sequence's repetitions: everything a worker process needs, picklable."""

    name: str
    frames: tuple[str, ...]
    init_box: tuple[float, ...]
    folder: Path
    repetitions: int
    budget: int


def evaluate(bench: Benchmark, tracker: str, root: str | Path, out: str | Path,
             workers: int = 1, sequences: Sequence[str] | None = None,
             checkpoint: str | Path | None = None, resamples: int = stats.DEFAULT_RESAMPLES,
             seed: int = stats.DEFAULT_SEED, overrides: Mapping[str, Any] | None = None,
             shard: tuple[int, int] | None = None) -> dict[str, Any]:
    """Run ``tracker`` (resuming) on the listed sequences under ``root``; return the val
    split's ``{tracker: scores}`` (intervals from ``resamples`` bootstrap resamples, none if
    0), or ``{}`` for the test split or a ``shard`` (K, N), which runs only its sequences
    (:func:`common.in_shard`). ``overrides`` replace spec arguments."""
    spec = get_spec(tracker)
    spec.check(checkpoint=checkpoint is not None)
    spec = common.with_overrides(spec, overrides, checkpoint is not None)
    seqs, missing = load_got10k(bench, root)
    if sequences:
        unknown = sorted(set(sequences) - {s.name for s in seqs})
        if unknown:
            raise PulBenchError(f"not under {root}: {', '.join(unknown)}")
        seqs = [s for s in seqs if s.name in set(sequences)]
    elif missing:
        note(f"{len(missing)} of {bench.name}'s sequences are not under {root}; running the "
             f"{len(seqs)} present")
    if not seqs:
        raise PulBenchError(f"no {bench.name} sequences under {root}")
    for s in seqs:
        if not s.frames:
            raise PulBenchError(f"{root}: no images for sequence {s.name}")
    result_dir = Path(out) / "results" / bench.name / tracker
    total, seqs = len(seqs), common.in_shard(seqs, shard)
    if shard is not None and not seqs:
        common.shard_note(shard, 0, total, result_dir)
        return {}
    _, deterministic = common.prepare(spec, checkpoint, bench.name, result_dir)
    reps = 1 if deterministic else REPETITIONS
    jobs = [_Job(s.name, tuple(map(str, s.frames)), tuple(map(float, s.groundtruth[0])),
                 result_dir / s.name, reps, len(s.frames) * reps) for s in seqs]
    common.run_jobs(jobs, functools.partial(_run_job, spec, checkpoint, bench.name), workers,
                    f"{tracker} on {bench.name}")
    if shard is not None:
        common.shard_note(shard, len(seqs), total, result_dir)
        return {}
    if any(s.cover is None for s in seqs):
        status(f"results in {result_dir}; the test split is scored by the server: pulbench "
               f"submit {bench.name} {result_dir} --root {root} --out {tracker}.zip")
        return {}
    scored = dataclasses.replace(bench, sequences=tuple(s.name for s in seqs))
    scores = analysis.score(scored, [result_dir], root, resamples=resamples, seed=seed)
    common.merge_scores(Path(out) / "reports" / bench.name, scores)
    return scores


def _run_job(spec: TrackerSpec, checkpoint: str | Path | None, benchmark: str, job: _Job,
             progress: Callable[[int], None]) -> None:
    """Run one sequence's missing repetitions (run by :func:`common.run_jobs`)."""
    for rep in range(1, job.repetitions + 1):
        if results.got10k_run_path(job.folder, job.name, rep).is_file():
            progress(len(job.frames))
            continue
        tracker = common.tracker_for(spec, checkpoint, benchmark)
        boxes, times = tracker.track(job.frames, job.init_box, progress=progress)
        results.write_got10k_run(job.folder, job.name, rep, boxes, times)
