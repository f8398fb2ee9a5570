"""Tracker result files of every benchmark, read and written in one place.

Scoring lives in :mod:`pul_bench.analysis` and running in :mod:`pul_bench.experiments`; both go
through this module for the files, so a format is written exactly as it is read back:

* OTB text boxes (OTB family, LaSOT, UAV123, TrackingNet): ``<dir>/<Seq>.txt``, one 1-based
  ``x,y,w,h`` row per frame; times in ``<dir>/times/<Seq>_time.txt``, one ``repr`` per frame.
* OTB TRE/SRE runs: ``<dir>/<tre|sre>/<Seq>_<k>.txt`` (run ``k`` from 1), times alike.
* VOT trajectories: ``baseline/<seq>/<seq>_NNN.txt`` (a special code or a region per line) and
  ``<seq>_NNN_time.value`` (vot-toolkit's names).
* GOT-10k: ``<seq>/<seq>_NNN.txt`` (``%.3f`` boxes, got10k's format) and ``<seq>/<seq>_time.txt``
  (one column per repetition).
* Submission zips for the GOT-10k and TrackingNet servers.
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from pul_bench.datasets.otb import OTBSequence, match_names, read_boxes
from pul_bench.errors import InputError, PulBenchError, RowCountError
from pul_bench.geometry import box_to_polygon
from pul_bench.io import atomic_path, note, read_table, write_text
from pul_bench.metrics.vot import FAILURE, INIT, REGION, SKIP, Trajectory

# ---- OTB text boxes and times -----------------------------------------------------------


def format_otb_boxes(boxes: np.ndarray) -> str:
    """0-based (N, 4) ``[x, y, w, h]`` rows as OTB text: 1-based, comma separated, lossless."""
    rows = np.asarray(boxes, dtype=np.float64).copy()
    rows[:, :2] += 1.0
    return "".join(",".join(repr(v) for v in row) + "\n" for row in rows.tolist())


def otb_times_path(box_file: Path) -> Path:
    """Where the per-frame times of ``<dir>/<name>.txt`` go: ``<dir>/times/<name>_time.txt``
    (their own folder, so a result folder holds exactly one box file per sequence)."""
    return box_file.parent / "times" / f"{box_file.stem}_time.txt"


def write_otb_run(box_file: Path, boxes: np.ndarray, times: np.ndarray) -> None:
    """Write one run's times, then its 0-based boxes as OTB text: the box file, written last and
    atomically, is what marks the run finished."""
    write_text(otb_times_path(box_file), "".join(f"{t!r}\n" for t in np.asarray(times).tolist()))
    write_text(box_file, format_otb_boxes(boxes))


def count_rows(path: Path) -> int:
    """Non-blank lines of a result file: its frames, whatever the row format."""
    return sum(1 for line in path.read_text().splitlines() if line.strip())


def otb_result_files(result_dir: Path) -> dict[str, Path]:
    """``{stem: path}`` of the box files in an OTB-format folder (time files excluded)."""
    return {p.stem: p for p in Path(result_dir).glob("*.txt") if not p.stem.endswith("_time")}


def find_otb_results(result_dir: Path, names: Sequence[str]) -> dict[str, Path]:
    """The box file of each of ``names`` found in ``result_dir`` (matched case- and
    separator-insensitively, as :func:`pul_bench.datasets.otb.match_names` does)."""
    files = otb_result_files(result_dir)
    return {name: files[stem] for name, stem in match_names(names, files).items()}


def one_pass_rows(boxes: np.ndarray, seq: OTBSequence) -> np.ndarray:
    """``boxes`` from the one-pass start: a file holding every annotated frame (Tiger1: 5
    frames before its start, so exactly ``len(seq) + seq.ope_offset`` rows) loses those first
    rows; any other file is taken as starting there (published Tiger1 files hold 349 one-pass
    rows, so a longer file is not evidence of the extra rows when ``seq`` holds only the first
    frames of the sequence)."""
    if seq.ope_offset and len(boxes) == len(seq) + seq.ope_offset:
        return boxes[seq.ope_offset:]
    return boxes


def read_otb_results(result_dir: str | Path, sequences: Sequence[OTBSequence],
                     truncate: str | None = None, strict: bool = False
                     ) -> tuple[dict[str, np.ndarray], list[str]]:
    """Read a tracker folder's box files as written (1-based); return (boxes, names lacking).

    A Tiger1 file may also hold every annotated frame; the rows before the one-pass start are
    then dropped. A file with the wrong number of rows raises :class:`InputError` naming it and
    the line, unless the benchmark's toolkit scores it (and not ``strict``):
    ``truncate="groundtruth"`` (the MATLAB OTB toolkit) scores a short file on its own frames,
    the ground truth cut to it (published MDNet Board and Twinnings files are one row short);
    ``"results"`` (the LaSOT toolkit) cuts a long file to the ground truth. Either way a warning
    names file and line.
    """
    found = find_otb_results(Path(result_dir), [s.name for s in sequences])
    boxes: dict[str, np.ndarray] = {}
    for s in sequences:
        if s.name not in found:
            continue
        path = found[s.name]
        b = one_pass_rows(read_boxes(path), s)
        if len(b) > len(s):
            err = RowCountError(path, f"{len(b)} boxes but {s.name} has {len(s)} evaluated "
                                f"frames (from frame {s.start_frame}); extra rows start here",
                                len(s) + 1)
            if strict or truncate != "results":
                raise err
            note(f"{err}; cut to the ground truth, as the toolkit does")
            b = b[:len(s)]
        if len(b) < len(s):
            err = RowCountError(path, f"only {len(b)} boxes but {s.name} has {len(s)} "
                                f"evaluated frames (from frame {s.start_frame}); the file ends "
                                "here", len(b))
            if strict or truncate != "groundtruth":
                raise err
            note(f"{err}; scored on its {len(b)} frames (the ground truth cut to them), as "
                 "the toolkit does")
        boxes[s.name] = b
    return boxes, [s.name for s in sequences if s.name not in boxes]


# ---- OTB TRE / SRE runs -----------------------------------------------------------------


def run_path(folder: Path, name: str, k: int) -> Path:
    """Run ``k`` (from 1) of sequence ``name`` in a TRE or SRE folder: ``<Seq>_<k>.txt``."""
    return folder / f"{name}_{k}.txt"


def read_runs(folder: str | Path, sequences: Sequence[OTBSequence],
              first_rows: Mapping[str, Sequence[int]], protocol: str
              ) -> tuple[dict[str, np.ndarray], dict[str, list[int]], list[str]]:
    """Read a TRE/SRE folder of ``<Seq>_<k>.txt`` files (1-based boxes); ``first_rows`` gives
    each sequence's runs' first rows (:func:`pul_bench.protocols.run_starts`).

    Returns each sequence's runs' boxes one after the other, each run's first row, and the
    sequences lacking one or more runs (left unscored, so that every score covers all runs). A
    file whose row count is not its run's length raises :class:`InputError` naming it.
    """
    folder = Path(folder)
    files: dict[str, dict[int, Path]] = {}
    for p in folder.glob("*_*.txt"):
        stem, _, k = p.stem.rpartition("_")
        if k.isdigit():
            files.setdefault(stem, {})[int(k)] = p
    found = match_names([s.name for s in sequences], files)
    boxes: dict[str, np.ndarray] = {}
    starts: dict[str, list[int]] = {}
    for s in sequences:
        per_run = files.get(found.get(s.name, ""), {})
        rows = list(first_rows[s.name])
        if any(k not in per_run for k in range(1, len(rows) + 1)):
            continue
        parts = []
        for k, row in enumerate(rows, 1):
            b = read_boxes(per_run[k])
            want = len(s) - row
            if len(b) != want:
                raise RowCountError(per_run[k], f"{len(b)} boxes but run {k} of {s.name} "
                                    f"covers {want} frames (rows {row + 1}..{len(s)} of "
                                    f"{len(s)})", min(len(b), want) + (len(b) > want))
            parts.append(b)
        boxes[s.name] = np.concatenate(parts)
        starts[s.name] = rows
    if not boxes:
        raise PulBenchError(f"{folder}: no sequence has all its {protocol.upper()} runs "
                            f"(<Seq>_1.txt .. <Seq>_<k>.txt) among the {len(sequences)} "
                            "sequences scored")
    return boxes, starts, [s.name for s in sequences if s.name not in boxes]


# ---- VOT trajectories -------------------------------------------------------------------


def vot_sequence_dir(tracker_dir: Path, seq: str) -> Path:
    """``<tracker_dir>/baseline/<seq>``, vot-toolkit's folder of one sequence's repetitions
    (``tracker_dir`` may also be given as its ``baseline`` folder)."""
    tracker_dir = Path(tracker_dir)
    return (tracker_dir if tracker_dir.name == "baseline" else tracker_dir / "baseline") / seq


def vot_run_path(folder: Path, seq: str, rep: int) -> Path:
    """Repetition ``rep`` (from 1) of ``seq`` in its :func:`vot_sequence_dir` ``folder``."""
    return folder / f"{seq}_{rep:03d}.txt"


def vot_run_files(tracker_dir: Path, seq: str) -> list[Path]:
    """The repetition files ``<seq>_001.txt, <seq>_002.txt, ...`` of ``seq``, in order."""
    return sorted(vot_sequence_dir(tracker_dir, seq).glob(f"{seq}_[0-9][0-9][0-9].txt"))


def format_trajectory(status: np.ndarray, boxes: np.ndarray) -> str:
    """Result-file text: a special code, or ``x,y,w,h`` with 4 decimals, per frame."""
    lines = []
    for s, b in zip(status, boxes, strict=True):
        lines.append(f"{int(s)}" if s != REGION else ",".join(f"{v:.4f}" for v in b))
    return "\n".join(lines) + "\n"


def write_vot_run(path: Path, status: np.ndarray, boxes: np.ndarray, times: np.ndarray) -> None:
    """Write one repetition's times (``<seq>_NNN_time.value``), then its trajectory, last, which
    marks the repetition complete."""
    write_text(path.with_name(f"{path.stem}_time.value"), "".join(f"{t:.6f}\n" for t in times))
    write_text(path, format_trajectory(status, boxes))


def read_trajectory(path: str | Path) -> Trajectory:
    """Read a VOT result file; a bad line, an unknown special code or codes out of the reset
    protocol's order (see :func:`_check_order`) name the file and line."""
    path = Path(path)
    table = read_table(path, (1, 4, 8), allow_nan=True)
    if len(table) == 0:
        raise InputError(path, "empty result file")
    single = np.isnan(table[:, 1:]).all(axis=1) & np.isfinite(table[:, 0])
    status = np.full(len(table), REGION, dtype=np.int64)
    codes = table[single, 0]
    bad = single & ~np.isin(table[:, 0], (SKIP, INIT, FAILURE))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(path, f"unknown status code {table[i, 0]:g} (expected 0, 1 or 2)", i + 1)
    status[single] = codes.astype(np.int64)
    _check_order(path, status)
    polygons = table.copy()
    is_box = ~single & np.isnan(table[:, 4:]).all(axis=1)
    with np.errstate(over="ignore"):  # a box at 1e308 is merely far away: overlap 0
        polygons[is_box] = box_to_polygon(table[is_box, :4])
    polygons[single] = np.nan
    return Trajectory(status=status, polygons=polygons)


def _check_order(path: Path, status: np.ndarray) -> None:
    """The reset protocol's order: line 1 initialises (``1``); a failure (``2``) is followed by
    skipped frames (``0``) and a re-initialisation (``1``) unless the file ends first; ``0`` and
    ``1`` appear nowhere else. Anything else would be scored, silently, as something it is not.
    """
    if status[0] != INIT:
        raise InputError(path, "the first line must be 1 (the initialisation)", 1)
    failed_on = 0  # line of the failure whose re-initialisation is still due
    prev = 0
    for i in [*np.flatnonzero(status != REGION)[1:].tolist(), len(status)]:
        if failed_on and i != prev + 1 and prev + 1 < len(status):  # a region came first
            raise InputError(path, f"the failure on line {failed_on} must be followed by "
                             "skipped frames (0) and a re-initialisation (1), found a region",
                             prev + 2)
        if i == len(status):
            return
        s = int(status[i])
        if s == FAILURE and failed_on:
            raise InputError(path, f"the failure on line {failed_on} must be followed by "
                             "skipped frames (0) and a re-initialisation (1), found 2", i + 1)
        if s == FAILURE:
            failed_on = i + 1
        elif s == INIT and failed_on:
            failed_on = 0
        elif not failed_on:
            what = "0 (skipped frame)" if s == SKIP else "1 (re-initialisation)"
            raise InputError(path, f"{what} without a failure (2) before it", i + 1)
        prev = i


# ---- GOT-10k ----------------------------------------------------------------------------


def got10k_run_path(folder: Path, seq: str, rep: int) -> Path:
    """Repetition ``rep`` (from 1) of ``seq`` in its ``<seq>`` folder: ``<seq>_NNN.txt``."""
    return folder / f"{seq}_{rep:03d}.txt"


def got10k_run_files(result_dir: Path, seq: str) -> list[Path]:
    """Every repetition file of ``seq`` (got10k counts each ``<seq>/<seq>_[0-9]*.txt``)."""
    return sorted((Path(result_dir) / seq).glob(f"{seq}_[0-9]*.txt"))


def read_got10k_run(path: Path, frames: int) -> np.ndarray:
    """One repetition's boxes as written; got10k requires a row per frame, so another count
    is an :class:`InputError` at the first missing or extra row."""
    boxes = read_boxes(path)
    if len(boxes) != frames:
        raise RowCountError(path, f"{len(boxes)} boxes for {frames} frames (got10k requires "
                            "one row per frame)", min(len(boxes), frames) + 1)
    return boxes


def write_got10k_run(folder: Path, seq: str, rep: int, boxes: np.ndarray,
                     times: np.ndarray) -> None:
    """Write repetition ``rep`` as got10k does: its times as column ``rep`` of
    ``<seq>_time.txt`` (earlier columns kept), then its boxes with 3 decimals, last."""
    time_file = folder / f"{seq}_time.txt"
    columns = np.loadtxt(time_file, delimiter=",", ndmin=2)[:, :rep - 1] \
        if rep > 1 and time_file.is_file() else np.zeros((len(times), 0))
    columns = np.concatenate([columns, np.asarray(times)[:, None]], axis=1)
    write_text(time_file, "".join(",".join(f"{t:.8f}" for t in row) + "\n" for row in columns))
    write_text(got10k_run_path(folder, seq, rep),
               "".join(",".join(f"{v:.3f}" for v in box) + "\n" for box in boxes))


def require_all(where: str | Path, what: str, lacking: Sequence[str], total: int) -> None:
    """An evaluation server scores a whole split, never part of one: refuse a submission that
    lacks any sequence (in the results, or in the ``--root`` it was listed from)."""
    if lacking:
        raise PulBenchError(f"{where}: {what} {len(lacking)} of {total} sequences (first: "
                            f"{lacking[0]}); the server needs all of them")


def write_got10k_submission(result_dir: str | Path, sequences: Sequence[str],
                            out: str | Path) -> Path:
    """Zip ``result_dir`` as the GOT-10k server takes it: ``<seq>/<seq>_NNN.txt`` (and
    ``<seq>_time.txt`` where present) for every one of ``sequences``; a missing one is an
    error."""
    result_dir = Path(result_dir)
    files: list[Path] = []
    lacking = []
    for name in sequences:
        runs = got10k_run_files(result_dir, name)
        if not runs:
            lacking.append(name)
        files += runs + sorted((result_dir / name).glob(f"{name}_time.txt"))
    require_all(result_dir, "no results for", lacking, len(sequences))
    out = Path(out)
    with atomic_path(out) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for f in files:
            z.write(f, f.relative_to(result_dir).as_posix())
    return out


# ---- TrackingNet ------------------------------------------------------------------------


def write_trackingnet_submission(result_dir: str | Path, sequences: Sequence[OTBSequence],
                                 out: str | Path) -> Path:
    """Zip one OTB-format result file per sequence as ``<seq>.txt`` at the zip's top level,
    values as written (shortest form); every sequence must have one, with as many rows as the
    chunk has frames (where its frames are present)."""
    result_dir, out = Path(result_dir), Path(out)
    found = find_otb_results(result_dir, [s.name for s in sequences])
    require_all(result_dir, "no results for",
                [s.name for s in sequences if s.name not in found], len(sequences))
    with atomic_path(out) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for s in sequences:
            path = found[s.name]
            boxes = read_boxes(path)
            n = len(s.frames) or len(s)
            if len(boxes) != n:
                raise InputError(path, f"{len(boxes)} boxes but {s.name} has {n} frames")
            z.writestr(f"{s.name}.txt", "".join(
                ",".join(np.format_float_positional(v, trim="-") for v in row) + "\n"
                for row in boxes))
    return out
