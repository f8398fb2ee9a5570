"""LaSOT sequences, in the official layout or as annotations only, as :class:`OTBSequence`.

Two layouts, recognised by the folder given as ``--root``:

* official: ``<class>/<class>-<n>/img/00000001.jpg…``, ``groundtruth.txt`` (x,y,w,h, 1-based),
  ``full_occlusion.txt`` and ``out_of_view.txt`` (one comma-separated line of 0/1 flags each);
  a frame is absent when either flag is set, which is how the official toolkit's
  ``annos/absent/<seq>.txt`` files are made.
* annotation-only, as the toolkit ships it: ``anno/<seq>.txt``, ``anno/absent/<seq>.txt`` (one
  flag a line) and ``anno/att/<seq>.txt`` (the 14 attribute flags in the toolkit's order).

Absent frames are scored as failures (the toolkit removes them but divides by the full length,
``utils/eval_tracker.m``). Image folders may hold more images than annotated frames (monkey-17):
the first ``len(groundtruth)`` are the evaluated ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pul_bench.benchmarks import Benchmark
from pul_bench.datasets.otb import OTBSequence, match_names, read_attribute_flags, read_boxes
from pul_bench.errors import InputError, PulBenchError

#: Column order of ``anno/att/<seq>.txt`` (``run_tracker_performance_evaluation.m``).
ATTRIBUTES = ("IV", "POC", "DEF", "MB", "CM", "ROT", "BC", "VC", "SV", "FOC", "FM", "OV", "LR",
              "ARC")


def load_lasot(bench: Benchmark, root: str | Path, sequences: Sequence[str] | None = None
               ) -> tuple[list[OTBSequence], list[str]]:
    """Load ``bench``'s LaSOT sequences found under ``root``; return (found, names missing)."""
    root = Path(root)
    if not root.is_dir():
        raise PulBenchError(f"{root}: no such folder (pass --root DIR)")
    annotation_layout = (root / "anno").is_dir()
    avail = (_annotation_files(root) if annotation_layout else _official_files(root))
    wanted = list(bench.sequences) if bench.sequences is not None else sorted(avail)
    if sequences:
        chosen = match_names(sequences, wanted)
        unknown = [s for s in sequences if s not in chosen]
        if unknown and bench.sequences is not None:
            raise PulBenchError(f"not in benchmark {bench.name}: {', '.join(unknown)}")
        wanted = [chosen.get(s, s) for s in sequences]
    att_dir = root / "anno" / "att" if annotation_layout else _shared_attributes(bench)
    names = bench.attributes or ATTRIBUTES
    found_names = match_names(wanted, avail)
    found: list[OTBSequence] = []
    missing: list[str] = []
    for name in wanted:
        if name not in found_names:
            missing.append(name)
            continue
        path = avail[found_names[name]]
        if annotation_layout:
            seq = _load_annotation(name, path, root / "anno" / "absent" / path.name)
        else:
            seq = _load_official(name, path)
        att_file = att_dir / f"{found_names[name]}.txt" if att_dir else None
        if att_file is not None and att_file.is_file():
            seq.attributes = read_attribute_flags(att_file, names)
        found.append(seq)
    return found, missing


def _annotation_files(root: Path) -> dict[str, Path]:
    return {f.stem: f for f in sorted((root / "anno").glob("*.txt"))}


def _official_files(root: Path) -> dict[str, Path]:
    """``<class>-<n>`` -> its folder, for every folder holding a ``groundtruth.txt``."""
    return {d.name: d for d in sorted(root.glob("*/*")) if (d / "groundtruth.txt").is_file()}


def _shared_attributes(bench: Benchmark) -> Path | None:
    """The shared data's annotation copy of the attribute flags (image folders carry none)."""
    copy = bench.annotation_copy()
    if copy is None:
        return None
    d = copy / "anno" / "att"
    return d if d.is_dir() else None


def _flags(path: Path, n: int) -> np.ndarray:
    """A 0/1 flag file (one a line, or one comma-separated line) as an (n,) bool array."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise InputError(path, f"cannot read: {e}") from None
    flags = raw.translate(None, b", \t\r\n")
    chars = np.frombuffer(raw, np.uint8)
    digit = (chars == 48) | (chars == 49)
    if len(flags) != n or flags.translate(None, b"01") or (digit[1:] & digit[:-1]).any():
        raise InputError(path, f"expected {n} flags 0/1 (one per annotated frame), found "
                         f"{len(raw.replace(b',', b' ').split())} values")
    return np.frombuffer(flags, np.uint8) == 49


def _sequence(name: str, gt_file: Path, absent: np.ndarray, boxes: np.ndarray,
              frames: list[Path]) -> OTBSequence:
    gt = boxes.copy()
    gt[:, :2] -= 1.0
    return OTBSequence(name=name, groundtruth=gt, valid=np.all(boxes > 0, axis=1),
                       frames=frames, source=gt_file, absent=absent)


def _load_annotation(name: str, gt_file: Path, absent_file: Path) -> OTBSequence:
    boxes = read_boxes(gt_file)
    if not absent_file.is_file():
        raise InputError(absent_file, f"missing: LaSOT scoring needs {name}'s absent flags")
    return _sequence(name, gt_file, _flags(absent_file, len(boxes)), boxes, [])


def _load_official(name: str, seq_dir: Path) -> OTBSequence:
    gt_file = seq_dir / "groundtruth.txt"
    boxes = read_boxes(gt_file)
    absent = np.zeros(len(boxes), bool)
    for flag_file in ("full_occlusion.txt", "out_of_view.txt"):
        if not (seq_dir / flag_file).is_file():
            raise InputError(seq_dir / flag_file, f"missing: {name} needs its absence flags")
        absent |= _flags(seq_dir / flag_file, len(boxes))
    images = sorted((seq_dir / "img").glob("*.jpg"))
    if len(images) < len(boxes):
        raise InputError(gt_file, f"{len(boxes)} boxes but only {len(images)} images in "
                         f"{seq_dir / 'img'}")
    return _sequence(name, gt_file, absent, boxes, images[:len(boxes)])
