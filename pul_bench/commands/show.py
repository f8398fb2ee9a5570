"""``pulbench show``: draw the ground truth and trackers' results on a sequence's frames, as a
video, a GIF or a contact sheet with a per-frame IoU strip (drawing: :mod:`pul_bench.overlay`).

Sequences and results are read by the same readers ``pulbench eval`` and ``score`` use, so any
result folder they read can be shown: OTB-format box files (OTB, LaSOT, UAV123, TrackingNet),
VOT trajectories and GOT-10k repetitions.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import click
import numpy as np

from pul_bench import results
from pul_bench.benchmarks import Benchmark, get_benchmark
from pul_bench.errors import PulBenchError
from pul_bench.geometry import box_to_polygon, iou
from pul_bench.overlay import Scene, Track, output_kind, write
from pul_bench.paths import data_root, require_distinct_trackers


def load_scene(bench: Benchmark, sequence: str, result_dirs: list[Path], root: Path) -> Scene:
    """The frames, ground truth and each result folder's run of ``sequence`` (images needed).

    Each folder is read with the benchmark's own reader; a folder without that sequence, a
    sequence missing from ``root`` or a root without its images is one :class:`PulBenchError`.
    """
    load = {"otb": _one_pass, "vot": _reset, "got10k": _got10k}[bench.kind]
    scene = load(bench, sequence, [Path(d) for d in result_dirs], Path(root))
    require_distinct_trackers([t.name for t in scene.tracks])
    return scene


def _no_images(root: Path, sequence: str) -> PulBenchError:
    return PulBenchError(f"{root}: no images of {sequence} (an annotation-only folder?); pass "
                         "--root a folder holding the sequence's frames")


def _some(names: list[str], k: int = 8) -> str:
    return ", ".join(names[:k]) + (f", ... ({len(names)} in all)" if len(names) > k else "")


def _note_length(path: Path, rows: int, frames: int, sequence: str, root: Path) -> None:
    """Say so when a result covers more or fewer frames than ``root`` holds: it is shown on
    the frames they share (the shared Human3 is the first 199 of the 1,698 published)."""
    if rows == frames:
        return
    what = (f"showing its first {frames}" if rows > frames
            else f"frames {rows + 1}..{frames} have no region")
    click.echo(f"note: {path}: {rows} rows for the {frames} frames of {sequence} under "
               f"{root}; {what}", err=True)


def _fit(rows: np.ndarray, n: int) -> np.ndarray:
    """``rows`` cut or padded with NaN to ``n`` rows (a result the toolkit accepts short)."""
    out = np.full((n, rows.shape[1]), np.nan)
    out[:min(n, len(rows))] = rows[:n]
    return out


def _box_track(name: str, boxes: np.ndarray, gt: np.ndarray) -> Track:
    """A one-pass run (0-based boxes): failures are the annotated frames with IoU 0 (a missing
    or NaN box included), as the OTB success plot counts them at every threshold above 0."""
    overlap = iou(boxes, gt)
    annotated = np.all(np.isfinite(gt), axis=1)
    overlap = np.where(annotated, np.nan_to_num(overlap, nan=0.0), np.nan)
    return Track(name=name, polygons=box_to_polygon(boxes), iou=overlap,
                 failures=annotated & (overlap <= 0), skipped=np.zeros(len(boxes), bool))


def _one_pass(bench: Benchmark, sequence: str, result_dirs: list[Path], root: Path) -> Scene:
    from pul_bench.datasets.otb import load_otb

    found, _ = load_otb(bench, root, [sequence])
    if not found:
        here = sorted(p.name for p in root.iterdir() if p.is_dir()) if bench.layout == "otb" \
            else []
        raise PulBenchError(f"{root}: no sequence {sequence!r} of {bench.name} here"
                            + (f" (folders: {_some(here)})" if here else ""))
    seq = found[0]
    if not seq.frames:
        raise _no_images(root, seq.name)
    shown = seq.valid if seq.absent is None else seq.valid & ~seq.absent  # LaSOT: absent
    gt = np.where(shown[:, None], seq.groundtruth, np.nan)
    tracks = []
    for d in result_dirs:
        path = results.find_otb_results(d, [seq.name]).get(seq.name)
        if path is None:
            raise PulBenchError(f"{d}: no result file for {seq.name}")
        rows = results.count_rows(path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            boxes, _ = results.read_otb_results(
                d, [seq], "results" if rows > len(seq) + seq.ope_offset else "groundtruth")
        if rows != len(seq) + seq.ope_offset:
            _note_length(path, rows, len(seq), seq.name, root)
        zero_based = boxes[seq.name] - np.array([1.0, 1.0, 0.0, 0.0])
        tracks.append(_box_track(d.name, _fit(zero_based, len(seq)), gt))
    return Scene(sequence=seq.name, frames=seq.frames, groundtruth=box_to_polygon(gt),
                 tracks=tracks, failure_rule="black: IoU 0")


def _reset(bench: Benchmark, sequence: str, result_dirs: list[Path], root: Path) -> Scene:
    from pul_bench.analysis.vot import tracker_name
    from pul_bench.datasets.vot import load_sequence, read_sequence_names
    from pul_bench.metrics.vot import FAILURE, INIT, REGION, SKIP, overlaps

    listed = read_sequence_names(root)
    if bench.sequences is not None and sequence not in bench.sequences:
        raise PulBenchError(f"not in benchmark {bench.name}: {sequence}")
    if sequence not in listed:
        raise PulBenchError(f"{root / 'list.txt'}: no sequence {sequence!r} (listed: "
                            f"{_some(listed)})")
    seq = load_sequence(root, sequence)
    if not seq.frames:
        raise _no_images(root, sequence)
    tracks = []
    for d in result_dirs:
        files = results.vot_run_files(d, sequence)
        if not files:
            where = results.vot_run_path(results.vot_sequence_dir(d, sequence), sequence, 1)
            raise PulBenchError(f"{d}: no result file for {sequence} ({where})")
        traj = results.read_trajectory(files[0])
        _note_length(files[0], len(traj), len(seq), sequence, root)
        status = np.full(len(seq), REGION)  # past a short file's end: NaN regions, no IoU
        status[:len(traj)] = traj.status[:len(seq)]
        polygons = _fit(traj.polygons, len(seq))
        region = (status == REGION) & np.isfinite(polygons).all(axis=1)
        overlap = np.where(region, overlaps(polygons, seq.polygons, seq.size), np.nan)
        reinit = (status == INIT) & (np.arange(len(status)) > 0)
        tracks.append(Track(name=tracker_name(d), polygons=polygons, iou=overlap,
                            failures=status == FAILURE, skipped=(status == SKIP) | reinit))
    return Scene(sequence=sequence, frames=seq.frames, groundtruth=seq.polygons, tracks=tracks,
                 failure_rule="black: failure (2), grey: skipped until re-initialised (0, 1); "
                 "first repetition")


def _got10k(bench: Benchmark, sequence: str, result_dirs: list[Path], root: Path) -> Scene:
    from pul_bench.datasets.got10k import load_got10k

    found = [s for s in load_got10k(bench, root)[0] if s.name == sequence]
    if not found:
        raise PulBenchError(f"{root}: no sequence {sequence!r} of {bench.name} here")
    seq = found[0]
    if not seq.frames:
        raise _no_images(root, sequence)
    n = len(seq.frames)
    gt = _fit(seq.groundtruth, n)  # the test split annotates the first frame only
    if seq.cover is not None:
        gt[:len(seq.cover)][seq.cover == 0] = np.nan  # target absent: nothing to overlap
    tracks = []
    for d in result_dirs:
        files = results.got10k_run_files(d, sequence)
        if not files:
            raise PulBenchError(f"{d}: no result file for {sequence} "
                                f"({results.got10k_run_path(d / sequence, sequence, 1)})")
        tracks.append(_box_track(d.name, results.read_got10k_run(files[0], n), gt))
    return Scene(sequence=sequence, frames=seq.frames, groundtruth=box_to_polygon(gt),
                 tracks=tracks, failure_rule="black: IoU 0; first repetition")


def frame_range(text: str | None, n: int) -> tuple[int, int]:
    """``A:B`` (1-based, inclusive; either side may be left out) as 0-based ``(start, stop)``."""
    if text is None:
        return 0, n
    match = re.fullmatch(r"\s*(\d*)\s*:\s*(\d*)\s*", text)
    a = int(match[1]) if match and match[1] else 1
    b = int(match[2]) if match and match[2] else n
    if match is None or not 1 <= a <= b <= n:
        raise PulBenchError(f"--frames {text!r}: expected A:B with 1 <= A <= B <= {n} (the "
                            "sequence's frames, 1-based, both included), e.g. 1:50 or 100:")
    return a - 1, b


@click.command("show")
@click.argument("benchmark")
@click.argument("sequence")
@click.argument("result_dirs", nargs=-1, required=True,
                type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="Output file; its suffix picks the kind: .mp4 (MPEG-4 'mp4v', which the "
              "installed OpenCV encodes offline; its FFmpeg has no H.264 'avc1' encoder), .gif, "
              "or a contact sheet .png / .pdf.")
@click.option("--root", type=click.Path(path_type=Path, file_okay=False),
              help="Benchmark folder with the sequence's images (default: the shared data's "
              "copy, as for eval).")
@click.option("--frames", metavar="A:B",
              help="Frames A to B only (1-based, both included; A: or :B leave a side open).")
@click.option("--sheet", type=click.IntRange(1, 30), default=6, show_default=True,
              help="Frames on a contact sheet, evenly spread over the range.")
@click.option("--fps", type=click.FloatRange(min=1, max=60), default=25.0, show_default=True,
              help="Frame rate of a video or GIF.")
def show_cmd(benchmark: str, sequence: str, result_dirs: tuple[Path, ...], out: Path,
             root: Path | None, frames: str | None, sheet: int, fps: float) -> None:
    """Draw the ground truth and each tracker's boxes on SEQUENCE's frames.

    RESULT_DIRS are result folders as eval writes them or published ones (folder name =
    tracker name): OTB-format box files, VOT trajectories (the first repetition) or GOT-10k
    repetitions. Each tracker has a colour, the ground truth is white; under the frames a strip
    shows each tracker's per-frame IoU, failures in black (one-pass: IoU 0; VOT: the result
    file's failure lines, grey up to the re-initialisation).

    \b
    Examples:
      pulbench show otb Crossing ../shared/data/reference/otb/results/ATOM runs/results/otb/kcf \\
          --out crossing.png --sheet 5
      pulbench show otb Girl runs/results/otb/kcf --frames 1:120 --out girl.mp4
      pulbench show vot2018 bag ../shared/data/reference/vot2018/results/DaSiamRPN --out bag.gif
    """
    output_kind(out)  # a wrong suffix fails before any reading
    bench = get_benchmark(benchmark, data_root(required=False))
    scene = load_scene(bench, sequence, list(result_dirs), root or bench.default_root())
    start, stop = frame_range(frames, len(scene))
    drawn = write(scene, out, start, stop, fps=fps, sheet=sheet)
    click.echo(f"wrote {out}: {drawn} frames of {scene.sequence} ({start + 1}..{stop}), "
               f"{len(scene.tracks)} tracker(s)", err=True)
