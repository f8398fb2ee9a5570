"""UAV123 and TrackingNet folders, read as :class:`OTBSequence` for one-pass scoring.

* UAV123 / UAV20L, official layout: ``anno/UAV123/<seq>.txt`` (``anno/UAV20L/`` for UAV20L) and
  ``data_seq/UAV123/<folder>/000001.jpg…``. Several targets cut one video into parts
  (``bird1_1`` is frames 1–253 of ``bird1``): the manifest's ``ranges`` give each target's folder
  and frame range, as the UAV123 toolkit's ``configSeqs.m`` does. ``NaN`` ground-truth rows mark
  frames where the target is out of view: the OTB toolkit rules apply (never an overlap success,
  always a precision success). An annotation-only copy (``anno/<seq>.txt``, ``anno/att/``) is
  read like an OTB one.
* TrackingNet: one chunk folder (``TEST`` or ``TRAIN_<k>``) with ``anno/<seq>.txt`` and
  ``frames/<seq>/0.jpg, 1.jpg…`` (numbered from 0). The test chunk's annotation holds only the
  first frame; its results are scored by the evaluation server.
* ``labeled``: the shared ``train_labeled`` folders, ``<seq>/img/NNNNNN.jpg`` (the source's frame
  number; every second frame kept), ``frames.txt`` (those numbers, one per line) and
  ``groundtruth.txt`` (x,y,w,h in the resized frames, read as 0-based pixels; ``NaN`` rows where
  the target is out of view, scored by the OTB rules as UAV123's are).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pul_bench.benchmarks import Benchmark
from pul_bench.datasets.otb import (
    ATTRIBUTES,
    OTBSequence,
    load_otb,
    match_names,
    read_attribute_flags,
    read_boxes,
)
from pul_bench.errors import InputError, PulBenchError


def load_uav123(bench: Benchmark, root: str | Path, sequences: Sequence[str] | None = None
                ) -> tuple[list[OTBSequence], list[str]]:
    """Load ``bench``'s UAV123-family targets under ``root``; return (found, names missing)."""
    root = Path(root)
    as_otb = dataclasses.replace(bench, layout="otb")
    if not (root / "data_seq").is_dir():
        return load_otb(as_otb, root, sequences)
    subset = "UAV20L" if bench.name.lower() == "uav20l" else "UAV123"
    anno_dir = root / "anno" / subset
    if not anno_dir.is_dir():
        raise PulBenchError(f"{root}: official UAV123 layout without {anno_dir}")
    wanted = list(sequences or bench.sequences or sorted(p.stem for p in anno_dir.glob("*.txt")))
    att_dir = anno_dir / "att"
    copy = bench.annotation_copy()
    if not att_dir.is_dir() and copy is not None:
        att_dir = copy / "anno" / "att"
    found: list[OTBSequence] = []
    missing: list[str] = []
    for name in wanted:
        gt_file = anno_dir / f"{name}.txt"
        if not gt_file.is_file():
            missing.append(name)
            continue
        boxes = read_boxes(gt_file)
        folder, first, last = (bench.ranges or {}).get(name, (name, 1, len(boxes)))
        if last - first + 1 != len(boxes):
            raise InputError(gt_file, f"{len(boxes)} boxes but {name} is frames {first}-{last} "
                             f"of {folder}")
        frames = [root / "data_seq" / "UAV123" / folder / f"{k:06d}.jpg"
                  for k in range(first, last + 1)]
        lost = [f for f in frames if not f.is_file()]
        if lost:
            raise InputError(gt_file, f"{len(lost)} of the {len(frames)} frames of {name} have "
                             f"no image (first: {lost[0]})")
        att_file = att_dir / f"{name}.txt"
        attributes = read_attribute_flags(att_file, bench.attributes or ATTRIBUTES) \
            if att_file.is_file() else {}
        gt = boxes.copy()
        gt[:, :2] -= 1.0
        found.append(OTBSequence(name=name, groundtruth=gt, valid=np.all(boxes > 0, axis=1),
                                 frames=frames, start_frame=first, attributes=attributes,
                                 source=gt_file))
    return found, missing


def load_labeled(bench: Benchmark, root: str | Path, sequences: Sequence[str] | None = None
                 ) -> tuple[list[OTBSequence], list[str]]:
    """Load the ``labeled``-layout sequences of ``bench`` under ``root``."""
    root = Path(root)
    if not root.is_dir():
        raise PulBenchError(f"{root}: no such folder (pass --root DIR)")
    avail = sorted(p.name for p in root.iterdir() if (p / "groundtruth.txt").is_file())
    wanted = list(sequences or bench.sequences or avail)
    names = match_names(wanted, avail)
    found: list[OTBSequence] = []
    missing: list[str] = []
    for name in wanted:
        if name not in names:
            missing.append(name)
            continue
        folder = root / names[name]
        gt_file = folder / "groundtruth.txt"
        boxes = read_boxes(gt_file)
        numbers = _frame_numbers(folder / "frames.txt", len(boxes))
        frames = [folder / "img" / f"{k:06d}.jpg" for k in numbers]
        lost = [f for f in frames if not f.is_file()]
        if lost:
            raise InputError(folder / "frames.txt", f"{len(lost)} of the {len(frames)} listed "
                             f"frames have no image (first: {lost[0]})")
        found.append(OTBSequence(name=name, groundtruth=boxes, valid=np.all(boxes > 0, axis=1),
                                 frames=frames, start_frame=numbers[0], source=gt_file))
    return found, missing


def _frame_numbers(path: Path, n: int) -> list[int]:
    """The source frame number of each of the ``n`` boxes, from ``frames.txt``."""
    try:
        lines = path.read_text().split()
    except OSError as e:
        raise InputError(path, f"cannot read: {e.strerror or e}") from None
    for i, v in enumerate(lines, 1):
        if not v.isdigit():
            raise InputError(path, f"not a frame number: {v!r}", i)
    if len(lines) != n:
        raise InputError(path, f"{len(lines)} frame numbers for {n} ground-truth boxes")
    return [int(v) for v in lines]


def load_trackingnet(bench: Benchmark, root: str | Path, sequences: Sequence[str] | None = None
                     ) -> tuple[list[OTBSequence], list[str]]:
    """Load a TrackingNet chunk (annotations, and frames where present)."""
    root = Path(root)
    if not (root / "anno").is_dir():
        raise PulBenchError(f"{root}: not a TrackingNet chunk folder (no anno/)")
    found, missing = load_otb(dataclasses.replace(bench, layout="otb"), root, sequences)
    frames_dir = root / "frames"
    if frames_dir.is_dir():
        names = match_names([s.name for s in found], [p.name for p in frames_dir.iterdir()])
        for s in found:
            if s.name in names:
                d = frames_dir / names[s.name]
                s.frames = sorted((p for p in d.glob("*.jpg") if p.stem.isdigit()),
                                  key=lambda p: int(p.stem))
                if len(s) > 1 and len(s.frames) != len(s):
                    raise InputError(s.source or d, f"{len(s)} boxes but {len(s.frames)} "
                                     f"frames in {d}")
    return found, missing
