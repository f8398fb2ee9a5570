"""OTB one-pass evaluation (OPE): run a tracker once per sequence from its first ground-truth
box, save the raw boxes in the OTB text format, then score and plot.

Layout under ``--out``::

    results/<BENCH>/<TRACKER>/<Seq>.txt              boxes, 1-based x,y,w,h, full float precision
    results/<BENCH>/<TRACKER>/times/<Seq>_time.txt   seconds per frame (frame 1: init)
    results/<BENCH>/<TRACKER>/run.json               which tracker spec and checkpoint made them
    reports/<BENCH>/performance.json                 scores of every tracker evaluated there
    reports/<BENCH>/*.png, *.pdf                     success / precision / attribute plots

With ``--protocol tre`` or ``sre`` (:mod:`pul_bench.protocols`: the MATLAB OTB toolkit's
temporal and spatial robustness runs), each run ``k`` (from 1, in the toolkit's order) is a
file of its own, so a killed run resumes run by run::

    results/<BENCH>/<TRACKER>/tre/<Seq>_<k>.txt              TRE run k: its start frame to the end
    results/<BENCH>/<TRACKER>/tre/times/<Seq>_<k>_time.txt
    results/<BENCH>/<TRACKER>/sre/<Seq>_<k>.txt              SRE run k: k-th shifted initial box
    reports/<BENCH>/tre/, reports/<BENCH>/sre/               performance.json and plots

Times live in their own folder so the result folder holds exactly one file per sequence, as
scorers expect. A sequence counts as finished once its box file exists; both files are written
atomically (times first), so a killed run resumes where it stopped and never redoes or loses a
finished sequence.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from pul_bench import protocols, results
from pul_bench.analysis import stats
from pul_bench.benchmarks import Benchmark
from pul_bench.datasets.otb import OTBSequence
from pul_bench.errors import InputError, PulBenchError
from pul_bench.experiments import common
from pul_bench.io import note, status
from pul_bench.registry import TrackerSpec, get_spec


@dataclasses.dataclass(frozen=True)
class _Job:
    """One sequence to run: everything a worker process needs, picklable."""

    name: str
    benchmark: str
    frames: tuple[str, ...]
    init_box: tuple[float, float, float, float]
    result: Path

    @property
    def budget(self) -> int:
        """Frames of progress this job reports."""
        return len(self.frames)


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
    protocol: str = "ope",
    overrides: Mapping[str, Any] | None = None,
    shard: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """Run ``tracker`` on ``bench`` (resumably), score it, update performance.json and plots.

    Returns ``{tracker: scores}`` as :func:`pul_bench.analysis.otb.score` computes them (MATLAB
    toolkit convention); with ``sequences``, on those sequences only. ``protocol`` is ``ope``,
    ``tre`` or ``sre``. ``overrides`` replace spec arguments (``device``, ``precision``);
    ``shard`` (K, N) runs only shard K's sequences (:func:`common.in_shard`) and scores nothing.
    """
    from pul_bench.datasets.otb import load_otb

    root, out = Path(root), Path(out)
    spec = get_spec(tracker)
    ok, why = spec.ready()
    if not ok and checkpoint is None:
        raise PulBenchError(f"tracker {tracker!r} is not ready: {why}")
    spec.check(checkpoint=checkpoint is not None)  # bad arguments fail once, before any run
    spec = common.with_overrides(spec, overrides, checkpoint is not None)
    seqs, missing = load_otb(bench, root, sequences)
    if sequences and missing:
        raise PulBenchError(f"sequences not found under {root}: {', '.join(missing)}")
    if not seqs:
        raise PulBenchError(f"no {bench.name} sequences found under {root}")
    if missing:
        note(f"{bench.name}: {len(seqs)} of {len(seqs) + len(missing)} sequences are under "
             f"{root}; the scores list the missing ones")

    result_dir = out / "results" / bench.name / tracker
    total = len(seqs)
    seqs = common.in_shard(seqs, shard)
    made_by = common.set_up(spec, checkpoint)
    common.check_set_up(result_dir, made_by)
    if protocol not in protocols.PROTOCOLS:
        raise PulBenchError(f"unknown protocol {protocol!r}; use one of "
                            f"{', '.join(protocols.PROTOCOLS)}")
    omit_dirs = protocols.init_omit_dirs(bench, root) if protocol != "ope" else []
    jobs = []
    for s in seqs:
        if not s.frames:
            raise PulBenchError(f"{root}: no images for sequence {s.name!r}; eval needs the "
                                "image folders, not only annotations")
        _check_first_box(s.groundtruth[0], s.source or root, s.ope_offset + 1)
        jobs += [j for j in _jobs(s, bench.name, result_dir, protocol, omit_dirs)
                 if not _finished(j)]
    if seqs:  # even with every run done: ``auto`` is compared as this machine resolves it
        common.build_tracker(spec, checkpoint, bench.name, result_dir, made_by)
    if jobs:
        common.run_jobs(jobs, functools.partial(_run_one, spec, checkpoint), workers, spec.name)
    if shard is not None:
        common.shard_note(shard, len(seqs), total, result_dir)
        return {}
    if any(len(s) < len(s.frames) for s in seqs):  # a test split: only the first box is given
        status(f"results in {result_dir}; {bench.name}'s ground truth is withheld: pulbench "
               f"submit {bench.name} {result_dir} --root {root} --out FILE.zip")
        return {}

    scores = _score(bench, seqs, result_dir, root, bool(sequences), protocol, resamples, seed)
    report_dir = out / "reports" / bench.name
    if protocol != "ope":
        report_dir /= protocol
    _report(report_dir, bench.name, scores, protocol,
            norm_precision=bench.layout in ("lasot", "trackingnet"))
    status(f"results in {result_dir}; scores and plots in {report_dir}")
    return scores


def score_finished(bench: Benchmark, result_dir: Path, root: Path,
                   sequences: Sequence[str] | None = None,
                   protocol: str = "ope") -> dict[str, Any] | None:
    """What :func:`evaluate` returns for the raw results in ``result_dir`` when every run it
    would make is there, else None; runs nothing (committed results are scored this way)."""
    from pul_bench.datasets.otb import load_otb

    seqs, missing = load_otb(bench, root, sequences)
    if not seqs or (sequences and missing):
        return None
    omit_dirs = protocols.init_omit_dirs(bench, root) if protocol != "ope" else []
    if not all(_finished(j) for s in seqs
               for j in _jobs(s, bench.name, result_dir, protocol, omit_dirs)):
        return None
    return _score(bench, seqs, result_dir, root, bool(sequences), protocol,
                  stats.DEFAULT_RESAMPLES, stats.DEFAULT_SEED)


def _score(bench: Benchmark, seqs: Sequence[OTBSequence], result_dir: Path, root: Path,
           subset: bool, protocol: str, resamples: int, seed: int) -> dict[str, Any]:
    """Scores of ``result_dir`` on the whole benchmark, or on ``seqs`` only if ``subset``."""
    from pul_bench.analysis.otb import score

    scored = dataclasses.replace(bench, sequences=tuple(s.name for s in seqs)) if subset \
        else bench
    return score(bench=scored, result_dirs=[result_dir], root=root, resamples=resamples,
                 seed=seed, protocol=protocol, curve_bands=True)


def _check_first_box(box: np.ndarray, source: Path, line: int) -> None:
    """A tracker cannot start from a NaN box or one of size <= 0: say where it is written."""
    if np.isfinite(box).all() and box[2] > 0 and box[3] > 0:
        return
    shown = ",".join(f"{v:g}" for v in (box + [1, 1, 0, 0]).tolist())
    raise InputError(source, f"first box ({shown}) is NaN or has a size <= 0, so no tracker "
                     "can be initialised on it", line)


def _jobs(seq: OTBSequence, bench_name: str, result_dir: Path, protocol: str,
          omit_dirs: Sequence[Path]) -> list[_Job]:
    """The runs ``protocol`` makes on ``seq``, one job each (OPE: ``<Seq>.txt``; TRE and SRE:
    ``<protocol>/<Seq>_<k>.txt``, its frames from the run's start to the end)."""
    frames = tuple(str(f) for f in seq.frames)
    if protocol == "ope":
        return [_Job(seq.name, bench_name, frames, tuple(float(v) for v in seq.groundtruth[0]),
                     result_dir / f"{seq.name}.txt")]
    size = None
    if protocol == "sre":  # shifted boxes are clipped to the image, as shiftInitBB.m does
        try:
            with Image.open(frames[0]) as im:
                size = (im.height, im.width)
        except OSError as e:
            raise InputError(frames[0], f"cannot read the image size: {e}") from None
    folder = result_dir / protocol
    return [_Job(f"{seq.name}_{r.k}", bench_name, frames[r.start:], r.init_box,
                 results.run_path(folder, seq.name, r.k))
            for r in protocols.runs(seq, protocol, protocols.find_init_omit(seq.name, omit_dirs),
                                    size)]


def _finished(job: _Job) -> bool:
    """Whether ``job``'s box file exists with one row per frame (a wrong count is an error)."""
    if not job.result.is_file():
        return False
    rows = results.count_rows(job.result)
    if rows != len(job.frames):
        raise InputError(job.result, f"has {rows} rows but {job.name} has {len(job.frames)} "
                         "frames; delete the file to run the sequence again")
    return True


def _run_one(spec: TrackerSpec, checkpoint: str | Path | None, job: _Job,
             progress: Callable[[int], None]) -> None:
    """Track one sequence and write its boxes and times (run by :func:`common.run_jobs`)."""
    tracker = common.tracker_for(spec, checkpoint, job.benchmark)
    boxes, times = tracker.track(job.frames, job.init_box, progress=progress)
    if boxes.shape != (len(job.frames), 4):
        raise PulBenchError(f"tracker {spec.name!r} returned {boxes.shape} boxes on {job.name}; "
                            f"expected ({len(job.frames)}, 4)")
    results.write_otb_run(job.result, boxes, times)


def _report(report_dir: Path, bench_name: str, scores: dict[str, Any],
            protocol: str = "ope", norm_precision: bool = False) -> None:
    """Merge ``scores`` into performance.json and redraw the plots of comparable trackers
    (with ``norm_precision``, the normalised-precision plot too)."""
    from pul_bench.plots import plot_all

    merged = common.merge_scores(report_dir, scores)
    # Only trackers scored on the same sequences belong on the same axes.
    same = {name: s for name, s in merged.items()
            if set(s.get("per_sequence", {})) == set(next(iter(scores.values()))["per_sequence"])}
    plot_all(same, report_dir, bench_name, protocol, norm_precision=norm_precision and all(
        "norm_precision_curve" in s for s in same.values()))
