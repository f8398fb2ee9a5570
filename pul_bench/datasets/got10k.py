"""GOT-10k val/test folders: ``list.txt`` and one folder per sequence with ``00000001.jpg…``,
``groundtruth.txt`` (x,y,w,h, comma-separated; the test split gives only the first frame),
``meta_info.ini`` (its ``resolution: (W, H)`` bounds every box when scoring), and for val the
per-frame labels ``cover.label`` (visible ratio 0–8), ``absence.label``, ``cut_by_image.label``.

``--root`` may be the split folder itself or the dataset folder holding ``val/`` and ``test/``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pul_bench.benchmarks import Benchmark
from pul_bench.datasets.otb import read_boxes
from pul_bench.errors import InputError, PulBenchError
from pul_bench.paths import name_problem


@dataclass
class GOT10kSequence:
    """One sequence: ``groundtruth`` (N, 4) as in the file; ``cover`` (N,) ints, None on test."""

    name: str
    groundtruth: np.ndarray
    resolution: tuple[int, int]
    cover: np.ndarray | None = None
    frames: list[Path] = field(default_factory=list)


def split_dir(bench: Benchmark, root: str | Path) -> Path:
    """The folder holding ``list.txt``: ``root`` itself or ``root/<split>``."""
    root = Path(root)
    for d in (root, root / (bench.split or "")):
        if (d / "list.txt").is_file():
            return d
    raise PulBenchError(f"{root}: no GOT-10k list.txt (pass the {bench.split or 'split'} folder "
                        "as --root)")


def load_got10k(bench: Benchmark, root: str | Path) -> tuple[list[GOT10kSequence], list[str]]:
    """Sequences listed in ``list.txt`` (and in the manifest, if it lists any); return (found,
    names missing)."""
    base = split_dir(bench, root)
    listed = (base / "list.txt").read_text().split()
    for name in listed:
        if why := name_problem(name):  # results are written under this name
            raise InputError(base / "list.txt", f"not a sequence name: {name!r} ({why})")
    wanted = list(bench.sequences) if bench.sequences is not None else listed
    found: list[GOT10kSequence] = []
    missing: list[str] = []
    for name in wanted:
        d = base / name
        if name not in listed or not (d / "groundtruth.txt").is_file():
            missing.append(name)
            continue
        gt = read_boxes(d / "groundtruth.txt")
        cover = None
        if (d / "cover.label").is_file():
            cover = np.loadtxt(d / "cover.label", ndmin=1)
            if len(cover) != len(gt):
                raise InputError(d / "cover.label", f"{len(cover)} labels for {len(gt)} boxes")
        found.append(GOT10kSequence(name, gt, _resolution(d / "meta_info.ini"), cover,
                                    sorted(d.glob("*.jpg"))))
    return found, missing


def _resolution(meta: Path) -> tuple[int, int]:
    try:
        text = meta.read_text()
    except OSError as e:
        raise InputError(meta, f"cannot read: {e}") from None
    for i, line in enumerate(text.splitlines(), 1):
        if line.startswith("resolution:"):
            m = re.fullmatch(r"resolution:\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)\s*", line)
            if not m:
                raise InputError(meta, "expected 'resolution: (W, H)'", i)
            return int(m.group(1)), int(m.group(2))
    raise InputError(meta, "no 'resolution: (W, H)' line")
