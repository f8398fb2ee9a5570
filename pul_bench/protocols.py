"""OTB evaluation protocols: which runs a sequence gets, as the official MATLAB OTB toolkit
defines them (``main_running.m``, ``util/splitSeqTRE.m``, ``util/shiftInitBB.m``; read in
zhangzheng0131/Tracker_Benchmark_tb100 @ 61282dbf).

* ``ope``: one run from the first frame a run may start in.
* ``tre`` (temporal robustness): 20 runs, each from a start frame to the end of the sequence.
  Candidate starts are the frames outside every ``initOmit`` range whose ground truth is
  valid (every value > 0, no NaN); ``E`` counts the candidates that leave at least 20 frames
  to the end, and run ``k`` (k = 0..18) starts at candidate ``floor(1 + k*E/19)`` (MATLAB's
  ``floor(1:E/19:E)``), run 20 at candidate ``E``. Run 1 is the one-pass run.
* ``sre`` (spatial robustness): 12 runs over the whole one-pass range, initialised with the
  first box shifted ``left, right, up, down`` by ``ceil(0.1*w)`` / ``ceil(0.1*h)``, grown
  towards ``topLeft, topRight, bottomLeft, bottomRight`` by ``round(0.1*w)``, ``round(0.1*h)``
  (corners rounded, the opposite corner kept), then scaled by 0.8, 0.9, 1.1, 1.2 about the
  centre ``x + w/2`` (all four values rounded); every box is then clipped to the image.

Runs are numbered from 1 in this order (the toolkit's ``results{k}``). Boxes here are 1-based,
as the toolkit computes them; MATLAB's ``round`` rounds halves away from zero. Run files are
read and named by :mod:`pul_bench.results`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pul_bench.benchmarks import Benchmark
from pul_bench.datasets.otb import OTBSequence, canonical_name
from pul_bench.errors import InputError, PulBenchError
from pul_bench.io import read_table

PROTOCOLS = ("ope", "tre", "sre")
#: ``shiftTypeSet`` of ``main_running.m``, in its order.
SHIFTS = ("left", "right", "up", "down", "topLeft", "topRight", "bottomLeft", "bottomRight",
          "scale_8", "scale_9", "scale_11", "scale_12")
N_SEGMENTS = 20
#: Shortest TRE run (``minNum`` of ``splitSeqTRE.m``).
MIN_FRAMES = 20


@dataclass(frozen=True)
class Run:
    """One run of a protocol on a sequence: ``k`` (1-based), its first row in the one-pass
    sequence (0-based) and its 0-based initial ``[x, y, w, h]`` box."""

    k: int
    start: int
    init_box: tuple[float, float, float, float]


def read_init_omit(path: str | Path) -> np.ndarray:
    """An ``initOmit`` file: (K, 2) inclusive 1-based frame ranges a run must not start in."""
    ranges = read_table(path, 2, allow_nan=False).astype(np.int64)
    bad = np.flatnonzero(ranges[:, 0] > ranges[:, 1])
    if len(bad):
        raise InputError(path, "range ends before it starts", int(bad[0]) + 1)
    return ranges


def find_init_omit(name: str, folders: Sequence[Path]) -> np.ndarray:
    """The ``initOmit`` ranges of sequence ``name`` from the first folder holding its file
    (names compared case- and separator-insensitively, as the toolkit's lower-case files are
    read on Windows); none if no folder has one, as in ``splitSeqTRE.m``."""
    key = canonical_name(name)
    for folder in folders:
        hit = next((p for p in sorted(folder.glob("*.txt")) if canonical_name(p.stem) == key),
                   None)
        if hit is not None:
            return read_init_omit(hit)
    return np.zeros((0, 2), dtype=np.int64)


def tre_starts(seq: OTBSequence, omit: np.ndarray, n_segments: int = N_SEGMENTS) -> list[int]:
    """0-based first rows of the TRE runs of ``seq`` (``splitSeqTRE.m``).

    ``omit`` holds 1-based frame numbers of the original sequence; ``seq.start_frame`` maps
    them onto rows. Raises if no start leaves :data:`MIN_FRAMES` frames.
    """
    n = len(seq)
    allowed = seq.valid.copy()
    for first, last in np.asarray(omit, dtype=np.int64).reshape(-1, 2):
        allowed[max(first - seq.start_frame, 0):max(last - seq.start_frame + 1, 0)] = False
    candidates = np.flatnonzero(allowed)
    usable = candidates[n - candidates >= MIN_FRAMES]
    if len(usable) == 0:
        raise PulBenchError(f"{seq.name}: no TRE start leaves {MIN_FRAMES} frames "
                            f"({n} frames, {len(candidates)} allowed starts)")
    e = len(usable)
    steps = n_segments - 1
    # floor(1:E/steps:E): exact in integers (k*E/steps is never within rounding of an integer
    # it is not equal to), with MATLAB's element count floor((E-1)/(E/steps)).
    picks = [1 + (k * e) // steps for k in range((steps * (e - 1)) // e + 1)] + [e]
    return [int(candidates[i - 1]) for i in picks]


def _round(v: float) -> float:
    """MATLAB's ``round``: halves away from zero."""
    return math.copysign(math.floor(abs(v) + 0.5), v)


def shift_box(box: Sequence[float], shift: str, img_h: int, img_w: int) -> list[float]:
    """``shiftInitBB.m``: 1-based ``[x, y, w, h]`` moved, grown or scaled, then clipped."""
    x, y, w, h = (float(v) for v in box)
    cx, cy = x + w / 2, y + h / 2
    br_x, br_y = x + w - 1, y + h - 1
    if shift.startswith("scale_"):
        ratio = int(shift[len("scale_"):]) / 10
        sw, sh = ratio * w, ratio * h
        x, y, w, h = (_round(cx - sw / 2), _round(cy - sh / 2), _round(sw), _round(sh))
    elif shift in ("left", "right"):
        x += (-1 if shift == "left" else 1) * math.ceil(0.1 * w)
    elif shift in ("up", "down"):
        y += (-1 if shift == "up" else 1) * math.ceil(0.1 * h)
    elif shift in ("topLeft", "topRight", "bottomLeft", "bottomRight"):
        if shift.endswith("Left"):
            x = _round(x - 0.1 * w)
        else:
            br_x = _round(br_x + 0.1 * w)
        if shift.startswith("top"):
            y = _round(y - 0.1 * h)
        else:
            br_y = _round(br_y + 0.1 * h)
        w, h = br_x - x + 1, br_y - y + 1
    else:
        raise PulBenchError(f"unknown SRE shift {shift!r}; use one of {', '.join(SHIFTS)}")
    x, y = max(x, 1.0), max(y, 1.0)
    if x + w - 1 > img_w:
        w = img_w - x + 1
    if y + h - 1 > img_h:
        h = img_h - y + 1
    return [x, y, w, h]


def run_starts(seq: OTBSequence, protocol: str, omit: np.ndarray | None = None) -> list[int]:
    """0-based first row of each of ``protocol``'s runs on ``seq`` (all that scoring needs)."""
    if protocol == "ope":
        return [0]
    if protocol not in PROTOCOLS:
        raise PulBenchError(f"unknown protocol {protocol!r}; use one of {', '.join(PROTOCOLS)}")
    if omit is None:
        raise PulBenchError(f"{protocol.upper()} needs the initOmit ranges of {seq.name}")
    starts = tre_starts(seq, omit)
    return starts if protocol == "tre" else [starts[0]] * len(SHIFTS)


def runs(seq: OTBSequence, protocol: str, omit: np.ndarray | None = None,
         image_size: tuple[int, int] | None = None) -> list[Run]:
    """The runs ``protocol`` makes on ``seq``. TRE and SRE need ``omit`` (the sequence's
    ``initOmit`` ranges); SRE needs the ``(height, width)`` of its images."""
    starts = run_starts(seq, protocol, omit)
    if protocol != "sre":
        return [Run(k, s, _box(seq, s)) for k, s in enumerate(starts, 1)]
    if image_size is None:
        raise PulBenchError(f"SRE needs the image size of {seq.name}")
    first = starts[0]
    gt = seq.groundtruth[first] + np.array([1.0, 1.0, 0.0, 0.0])
    out = []
    for k, shift in enumerate(SHIFTS, 1):
        x, y, w, h = shift_box(gt.tolist(), shift, *image_size)
        out.append(Run(k, first, (x - 1.0, y - 1.0, w, h)))
    return out


def _box(seq: OTBSequence, row: int) -> tuple[float, float, float, float]:
    x, y, w, h = (float(v) for v in seq.groundtruth[row])
    return (x, y, w, h)


def init_omit_dirs(bench: Benchmark, root: str | Path) -> list[Path]:
    """Where ``initOmit/`` files are looked up: ``<root>/initOmit``, then the benchmark's
    annotation copy in the shared data (image folders carry none). Raises if neither exists,
    since TRE starts without them would silently differ from the toolkit's."""
    dirs = [Path(root) / "initOmit"]
    copy = bench.annotation_copy()
    if copy is not None:
        dirs.append(copy / "initOmit")
    found = [d for d in dirs if d.is_dir()]
    if not found:
        raise PulBenchError(f"TRE and SRE need the toolkit's initOmit/ frame ranges; none in "
                            f"{' or '.join(map(str, dirs))} (an empty initOmit/ means none)")
    return found
