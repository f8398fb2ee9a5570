"""VOT-layout sequences for the supervised (reset) experiment.

A root holds ``list.txt`` and one folder per sequence with ``groundtruth.txt`` (8-value polygons
or 4-value ``x,y,w,h`` boxes, mixed freely), images in ``color/`` or in the folder itself, and
optional per-frame ``<tag>.tag`` files (one 0/1 per line). An annotation-only root (published
results are scored without images) gives image sizes in ``<seq>/meta.txt`` (``width=``,
``height=``) or in a pysot-style ``<root>/*.json``. VOT coordinates are already 0-based, so
regions are used as written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from pul_bench.errors import InputError, PulBenchError
from pul_bench.geometry import box_to_polygon, polygon_to_box
from pul_bench.io import read_table
from pul_bench.paths import name_problem

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


@dataclass
class VOTSequence:
    """One sequence: ``polygons`` is (N, 8) float64, corners ``x1,y1,...,x4,y4`` (a 4-value box
    becomes its 4 corners); ``size`` is (width, height) and bounds every overlap; ``tags`` maps a
    tag name to an (N,) bool array; ``frames`` is empty for an annotation-only root."""

    name: str
    polygons: np.ndarray
    size: tuple[int, int]
    frames: list[Path] = field(default_factory=list)
    tags: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.polygons)

    @cached_property
    def init_boxes(self) -> np.ndarray:
        """(N, 4) axis-aligned ``x,y,w,h`` bounds of each polygon: what trackers are
        initialised with, as vot-toolkit converts a polygon to a rectangle."""
        return polygon_to_box(self.polygons)


def read_groundtruth(path: Path) -> np.ndarray:
    """Read ``groundtruth.txt`` as (N, 8) polygons; 4-value rows are boxes."""
    table = read_table(path, (4, 8), allow_nan=False)
    out = table.copy()
    is_box = np.isnan(table[:, 4])
    out[is_box] = box_to_polygon(table[is_box, :4])
    bounds = polygon_to_box(out)
    bad = np.flatnonzero((bounds[:, 2] <= 0) | (bounds[:, 3] <= 0))
    if bad.size:
        raise InputError(path, "empty ground-truth region (zero width or height)", int(bad[0]) + 1)
    return out


def read_sequence_names(root: Path) -> list[str]:
    """Sequence names from ``<root>/list.txt`` (one per line, blank lines ignored)."""
    path = root / "list.txt"
    if not path.is_file():
        raise PulBenchError(f"{root}: not a VOT folder (no list.txt)")
    names = []
    for i, line in enumerate(path.read_text().splitlines()):
        if not (name := line.strip()):
            continue
        if why := name_problem(name):  # results are written under this name
            raise InputError(path, f"not a sequence name: {name!r} ({why})", i + 1)
        names.append(name)
    return names


def _frames(folder: Path) -> list[Path]:
    sub = folder / "color"
    base = sub if sub.is_dir() else folder
    return sorted(p for p in base.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def _read_tags(folder: Path, n: int) -> dict[str, np.ndarray]:
    tags = {}
    for f in sorted(folder.glob("*.tag")):
        if f.stat().st_size == 0:
            tags[f.stem] = np.zeros(n, dtype=bool)
            continue
        values = read_table(f, 1, allow_nan=False)[:, 0]
        if len(values) > n:
            raise InputError(f, f"{len(values)} tag lines for {n} frames", n + 1)
        flags = np.zeros(n, dtype=bool)
        flags[: len(values)] = values != 0  # a short tag file means 0 after its end
        tags[f.stem] = flags
    return tags


def _read_meta(path: Path) -> dict[str, str]:
    meta = {}
    for i, line in enumerate(path.read_text().splitlines()):
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise InputError(path, f"expected key=value, found {line!r}", i + 1)
        meta[key.strip()] = value.strip()
    return meta


@cache
def _json_sizes(root: Path) -> dict[str, tuple[int, int]]:
    """Image sizes from a pysot-style dataset json in ``root`` (``{seq: {width, height}}``)."""
    sizes: dict[str, tuple[int, int]] = {}
    for f in sorted(root.glob("*.json")):
        try:
            data = json.loads(f.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise InputError(f, f"invalid JSON: {e}") from None
        if not isinstance(data, dict):
            continue
        for name, entry in data.items():
            if isinstance(entry, dict) and "width" in entry and "height" in entry:
                sizes.setdefault(name, (int(entry["width"]), int(entry["height"])))
    return sizes


def _image_size(path: Path) -> tuple[int, int]:
    try:
        with Image.open(path) as im:
            return im.size
    except (UnidentifiedImageError, OSError):
        raise InputError(path, "cannot read image (corrupt or not an image)") from None


def load_sequence(root: Path, name: str, need_images: bool = False) -> VOTSequence:
    """Read one sequence folder; its image size comes from the first image, ``meta.txt`` or
    the json sizes, in that order."""
    folder = root / name
    if not folder.is_dir():
        raise PulBenchError(f"{root}: sequence {name!r} listed but its folder is missing")
    polygons = read_groundtruth(folder / "groundtruth.txt")
    n = len(polygons)
    frames = _frames(folder)
    if frames:
        if len(frames) < n:
            raise InputError(folder / "groundtruth.txt",
                             f"{n} regions but only {len(frames)} images in {frames[0].parent}",
                             len(frames) + 1)
        frames = frames[:n]
        size = _image_size(frames[0])
    elif need_images:
        raise PulBenchError(f"{folder}: no images (looked in color/ and the folder itself)")
    elif (folder / "meta.txt").is_file():
        meta = _read_meta(folder / "meta.txt")
        try:
            size = (int(meta["width"]), int(meta["height"]))
        except (KeyError, ValueError):
            raise InputError(folder / "meta.txt", "needs integer width= and height=") from None
    elif name in _json_sizes(root):
        size = _json_sizes(root)[name]
    else:
        raise PulBenchError(f"{folder}: no images, meta.txt or dataset json gives the image size")
    return VOTSequence(name=name, polygons=polygons, size=size, frames=frames,
                       tags=_read_tags(folder, n))


def load_sequences(root: str | Path, names: tuple[str, ...] | list[str] | None = None,
                   need_images: bool = False) -> tuple[list[VOTSequence], list[str]]:
    """Load the ``names`` sequences present under ``root`` (all of ``list.txt`` if None).

    Returns the sequences and the requested names that are absent, so a partial root (some of
    a year's sequences) still runs; no sequence at all is an error.
    """
    root = Path(root)
    if not root.is_dir():
        raise PulBenchError(f"VOT root not found: {root}")
    listed = read_sequence_names(root)
    wanted = list(listed) if names is None else list(names)
    present = [n for n in wanted if n in listed and (root / n).is_dir()]
    missing = [n for n in wanted if n not in present]
    if not present:
        raise PulBenchError(f"{root}: none of the benchmark's {len(wanted)} sequences is here")
    return [load_sequence(root, n, need_images) for n in present], missing
