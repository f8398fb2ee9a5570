"""Labeled training video for the supervised baselines: one reader per common layout.

Boxes are returned as (N, 4) float64 ``[x, y, w, h]`` in 0-based pixels (as in
:mod:`pul_bench.tracker`), NaN on frames where the target is absent, occluded or out of view.

* ``folders``: OTB/VOT-layout folders ``<root>/<seq>/{img,color,.}/*.jpg`` with
  ``groundtruth_rect.txt`` (OTB, 1-based, converted) or ``groundtruth.txt`` (VOT/UAV, 0-based;
  rectangles, or 8-value polygons reduced to their bounding box). The shared
  ``train_labeled`` set uses this layout.
* ``got10k``: ``<root>/[train/]GOT-10k_Train_NNNNNN/`` with ``groundtruth.txt`` and
  ``absence.label``.
* ``lasot``: ``<root>/<class>/<class>-<n>/img`` with ``groundtruth.txt`` (1-based),
  ``full_occlusion.txt`` and ``out_of_view.txt``.
* ``vid``: ILSVRC-2015 VID, ``Annotations/VID/train/<chunk>/<snippet>/*.xml``; one sequence
  per object track (``trackid``).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pul_bench.datasets.otb import canonical_name
from pul_bench.errors import InputError, PulBenchError
from pul_bench.geometry import polygon_to_box
from pul_bench.io import read_table
from pul_train.video import detect_kind, image_files, subdirs

KINDS = ("auto", "folders", "got10k", "lasot", "vid")


@dataclass(frozen=True)
class LabeledSequence:
    """Frames and their boxes (NaN rows: no visible target)."""

    name: str
    frames: tuple[Path, ...]
    boxes: np.ndarray

    def valid(self) -> np.ndarray:
        """Indices of frames with a usable box (finite, positive size)."""
        b = self.boxes
        return np.flatnonzero(np.isfinite(b).all(1) & (b[:, 2] > 1) & (b[:, 3] > 1))


def _rects(path: Path, one_based: bool) -> np.ndarray:
    """4-value rectangles or 8-value polygons (their bounding box) from a text file."""
    table = read_table(path, (4, 8))
    if table.shape[1] == 8 and np.isnan(table[:, 4:]).all():
        table = table[:, :4]
    if table.shape[1] == 8:
        table = polygon_to_box(table)
    if one_based:
        table[:, :2] -= 1
    return table


def _flags(path: Path, n: int) -> np.ndarray:
    """0/1 per-frame flags, one per line or comma-separated on one line; missing file: zeros."""
    if not path.is_file():
        return np.zeros(n, bool)
    values = path.read_text().replace(",", " ").split()
    if len(values) != n or not set(values) <= {"0", "1"}:
        raise InputError(path, f"expected {n} flags of 0 or 1, found {len(values)} values")
    return np.array(values) == "1"


def _sequence(name: str, frames: list[Path], boxes: np.ndarray, gt: Path) -> LabeledSequence:
    if len(boxes) > len(frames):
        raise InputError(gt, f"{len(boxes)} boxes but only {len(frames)} images")
    return LabeledSequence(name, tuple(frames[: len(boxes)]), boxes)


def _folder(seq: Path) -> LabeledSequence | None:
    gt = next((seq / n for n in ("groundtruth_rect.txt", "groundtruth.txt")
               if (seq / n).is_file()), None)
    if gt is None:
        return None
    img = next((seq / d for d in ("img", "color") if (seq / d).is_dir()), seq)
    one_based = gt.name == "groundtruth_rect.txt"  # OTB files count pixels from 1
    return _sequence(seq.name, image_files(img), _rects(gt, one_based), gt)


def _got10k(seq: Path) -> LabeledSequence:
    gt = seq / "groundtruth.txt"
    boxes = _rects(gt, one_based=False)
    boxes[_flags(seq / "absence.label", len(boxes))] = np.nan
    return _sequence(seq.name, image_files(seq), boxes, gt)


def _lasot(seq: Path) -> LabeledSequence:
    gt = seq / "groundtruth.txt"
    boxes = _rects(gt, one_based=True)
    hidden = _flags(seq / "full_occlusion.txt", len(boxes)) | _flags(seq / "out_of_view.txt",
                                                                       len(boxes))
    boxes[hidden] = np.nan
    return _sequence(seq.name, image_files(seq / "img"), boxes, gt)


def _vid(root: Path) -> list[LabeledSequence]:
    ann_root, data_root = root / "Annotations" / "VID" / "train", root / "Data" / "VID" / "train"
    out = []
    for chunk in subdirs(ann_root):
        for snippet in subdirs(chunk):
            files = sorted(snippet.glob("*.xml"))
            tracks: dict[str, np.ndarray] = {}
            for i, f in enumerate(files):
                try:
                    tree = ET.parse(f)
                except ET.ParseError as e:
                    raise InputError(f, f"invalid XML: {e}", e.position[0]) from None
                for obj in tree.getroot().iter("object"):
                    tid = obj.findtext("trackid", "0")
                    bb = obj.find("bndbox")
                    if bb is None:
                        raise InputError(f, f"object {tid} has no bndbox")
                    x0, x1, y0, y1 = (float(bb.findtext(k, "nan"))
                                      for k in ("xmin", "xmax", "ymin", "ymax"))
                    boxes = tracks.setdefault(tid, np.full((len(files), 4), np.nan))
                    boxes[i] = [x0, y0, x1 - x0, y1 - y0]
            frames = [data_root / chunk.name / snippet.name / f"{f.stem}.JPEG" for f in files]
            out += [LabeledSequence(f"{snippet.name}_{tid}", tuple(frames), b)
                    for tid, b in sorted(tracks.items())]
    return out


def open_labeled(root: str | Path, kind: str = "auto") -> list[LabeledSequence]:
    """Every labeled sequence under ``root``, sorted by name."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(root, "labeled training data not found")
    if kind not in KINDS:
        raise PulBenchError(f"unknown labeled layout {kind!r}; choose from {', '.join(KINDS)}")
    kind = detect_kind(root, labeled=True) if kind == "auto" else kind
    if kind == "vid":
        seqs = _vid(root)
    elif kind == "got10k":
        train = root / "train" if (root / "train").is_dir() else root
        seqs = [_got10k(p) for p in subdirs(train) if p.name.startswith("GOT-10k_Train_")]
    elif kind == "lasot":
        seqs = [_lasot(s) for d in subdirs(root) for s in subdirs(d) if (s / "img").is_dir()]
    else:
        seqs = [s for s in (_folder(p) for p in subdirs(root)) if s is not None]
    if not seqs:
        raise InputError(root, f"no labeled sequences found (layout {kind!r})")
    return sorted(seqs, key=lambda s: s.name)


def check_disjoint(train: list[LabeledSequence], evaluation_roots: list[Path]) -> None:
    """Refuse training sequences that are evaluation sequences (same folder or same name)."""
    held_out: dict[str, Path] = {}
    for root in evaluation_roots:
        if root.is_dir():
            held_out.update({canonical_name(p.name): p for p in subdirs(root)})
    for seq in train:
        hit = held_out.get(canonical_name(seq.name))
        inside = next((r for r in evaluation_roots
                       if seq.frames and r.resolve() in seq.frames[0].resolve().parents), None)
        if hit is not None or inside is not None:
            raise PulBenchError(f"training sequence {seq.name!r} is an evaluation sequence "
                                f"({hit or inside}): never train on what you evaluate on")
