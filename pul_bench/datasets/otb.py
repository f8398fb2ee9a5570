"""OTB-layout sequences (images + ``groundtruth_rect*.txt``) and the MATLAB toolkit's
annotation-only layout (``anno/<Seq>.txt``). Converts the files' 1-based boxes to 0-based.

The special cases of the official benchmark, all facts of the MATLAB toolkit's set-up:

* two targets in one folder (``groundtruth_rect.1.txt``/``.2.txt``) become ``Jogging-1``,
  ``Jogging-2``, ``Skating2-1``, ``Skating2-2``; Human4's ``.1`` file is empty, leaving
  ``Human4-2``;
* David, BlurCar1/3/4 are annotated from a later frame (``_FIRST_ANNOTATED``), and Football1,
  Freeman3/4 and Diving stop before their last image: the evaluated images are exactly the
  annotated ones;
* a one-pass run must not start in a frame range listed in ``initOmit`` that begins at frame 1:
  only Tiger1 has one ("1 5"), so its OPE starts at frame 6 (``_OPE_START``);
* a ground-truth row with any value <= 0 (or NaN) is unannotated: ``valid`` is False there.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pul_bench.benchmarks import Benchmark
from pul_bench.errors import InputError, PulBenchError
from pul_bench.io import note, read_table

#: Column order of the toolkit's ``anno_att/<Seq>.txt`` flags.
ATTRIBUTES = ("IV", "OPR", "SV", "OCC", "DEF", "MB", "FM", "IPR", "OV", "BC", "LR")
#: Image number of the first annotated frame where it is not 1 (``configSeqs.m``).
_FIRST_ANNOTATED = {"David": 300, "BlurCar1": 247, "BlurCar3": 3, "BlurCar4": 18}
#: First frame a one-pass run may start in, where ``initOmit`` excludes the opening frames.
_OPE_START = {"Tiger1": 6}
#: Sequences whose image folder officially holds more images than annotated frames.
_EXTRA_IMAGES = {"David", "BlurCar1", "BlurCar3", "BlurCar4", "Football1", "Freeman3",
                 "Freeman4", "Diving"}
#: Spellings that name another sequence (got10k calls Human4-2 plain "Human4").
_ALIASES = {"human4": "human42"}
_IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".bmp"}
_SEPARATORS = bytes.maketrans(b",;\t", b"   ")
# Bytes the fast parser may see; anything else goes to the strict line-by-line reader.
_NUMERIC_TEXT = b"0123456789+-.eE,;\t \r\nnaNAifIFtyY"


@dataclass
class OTBSequence:
    """One evaluated target.

    ``groundtruth`` is (N, 4) float64, 0-based ``[x, y, w, h]``; ``valid`` is False on rows the
    MATLAB toolkit treats as unannotated (any file value <= 0 or NaN). ``frames`` lists the N
    evaluated image files (empty for an annotation-only root); ``start_frame`` is the 1-based
    number of the first evaluated image in the original sequence. ``ope_offset`` is how many
    annotated frames precede the one-pass start (Tiger1: 5), so a result file covering every
    annotated frame can be recognised; ``source`` is the ground-truth file. ``absent`` (LaSOT)
    flags frames where the target is out of view or fully occluded: the toolkit scores them as
    failures.
    """

    name: str
    groundtruth: np.ndarray
    valid: np.ndarray
    frames: list[Path] = field(default_factory=list)
    start_frame: int = 1
    attributes: dict[str, bool] = field(default_factory=dict)
    ope_offset: int = 0
    source: Path | None = None
    absent: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.groundtruth)


def read_boxes(path: str | Path, allow_nan: bool = True) -> np.ndarray:
    """Read an (N, 4) box file as written (any of comma/tab/space/semicolon, CRLF, no final EOL).

    Well-formed files go through numpy's C reader; anything else is re-read line by line by
    :func:`pul_bench.io.read_table`, whose :class:`InputError` names the file and line.
    """
    path = Path(path)
    fast = _read_boxes_fast(path, allow_nan)
    boxes = fast if fast is not None else read_table(path, 4, allow_nan=allow_nan)
    if len(boxes) == 0:
        raise InputError(path, "no boxes in file")
    return boxes


def _read_boxes_fast(path: Path, allow_nan: bool) -> np.ndarray | None:
    """The C-parsed table if the file is plainly well-formed, else None (no error raised)."""
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    raw = raw.removeprefix(b"\xef\xbb\xbf")
    crlf = b"\r" in raw  # each pass over the bytes counts: a tracker has 100 files or more
    if raw.translate(None, _NUMERIC_TEXT) or (crlf and raw.count(b"\r") != raw.count(b"\r\n")):
        return None
    body = raw.rstrip()
    n = body.count(b"\n") + 1 if body else 0
    # every CR is in a CRLF here, which both parsers read as LF; one text serves both
    text = (body.replace(b"\r\n", b"\n") if crlf else body).translate(_SEPARATORS)
    integers = _read_integer_boxes(text)
    if integers is not None:
        return integers
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # loadtxt warns on empty input
            boxes = np.loadtxt(io.BytesIO(text), dtype=np.float64, comments=None, ndmin=2)
    except ValueError:
        return None
    if boxes.size == 0 and n == 0:
        return np.zeros((0, 4))
    if boxes.shape != (n, 4) or (not allow_nan and not np.all(np.isfinite(boxes))):
        return None
    return boxes


def _read_integer_boxes(text: bytes) -> np.ndarray | None:
    """Rows of exactly four integers below 2**53, single-spaced (most published files, all of
    LaSOT's), read by numpy's integer scanner at 4x loadtxt's speed, exactly (such integers
    are exact doubles); None for anything else."""
    if not text or text.translate(None, b"0123456789- \n") or b"  " in text \
            or b" \n" in text or b"\n " in text or text.startswith(b" "):
        return None
    chars = np.frombuffer(text, np.uint8)
    minus = np.flatnonzero(chars == 45)  # only as a sign: after a separator, before a digit
    if minus.size:
        before = chars[np.maximum(minus - 1, 0)]
        if minus[-1] == len(chars) - 1 or (chars[minus + 1] - 48 > 9).any() \
                or not ((minus == 0) | (before == 10) | (before == 32)).all():
            return None
    spaces = np.cumsum(chars == 32)
    per_line = np.diff(np.concatenate(([0], spaces[chars == 10], spaces[-1:])))
    if not (per_line == 3).all():
        return None
    values = np.fromstring(text, dtype=np.int64, sep=" ")  # saturates beyond int64
    if values.size != 4 * len(per_line) or (values >= 2**53).any() or (values <= -2**53).any():
        return None
    return values.astype(np.float64).reshape(-1, 4)


def canonical_name(name: str) -> str:
    """Case- and separator-insensitive key: ``Human4_2``, ``human4.2``, ``Human4`` -> human42."""
    key = re.sub(r"[\s._-]+", "", name).lower()
    return _ALIASES.get(key, key)


def match_names(wanted: Iterable[str], available: Iterable[str]) -> dict[str, str]:
    """Map each wanted sequence name to the available spelling that names it.

    An exact match wins; otherwise names are compared by :func:`canonical_name`. Two
    available spellings of one wanted name (``jogging_1`` and ``Jogging.1``) are an error.
    """
    available = list(available)
    exact = set(available)
    by_key: dict[str, list[str]] = {}
    for a in available:
        by_key.setdefault(canonical_name(a), []).append(a)
    out: dict[str, str] = {}
    for w in wanted:
        if w in exact:
            out[w] = w
            continue
        hits = by_key.get(canonical_name(w), [])
        if len(hits) > 1:
            raise PulBenchError(f"sequence {w!r} is spelled several ways: {', '.join(hits)}; "
                                "keep one")
        if hits:
            out[w] = hits[0]
    return out


def load_otb(
    bench: Benchmark, root: str | Path, sequences: Sequence[str] | None = None
) -> tuple[list[OTBSequence], list[str]]:
    """Load ``bench``'s sequences found under ``root``; return (found, names missing there).

    ``root`` is either an OTB image folder (``<Seq>/img/*.jpg`` + ``groundtruth_rect*.txt``) or
    an annotation-only copy (``anno/<Seq>.txt``, optional ``anno_att/``). A benchmark without a
    sequence list means every sequence under ``root``. ``sequences`` narrows the selection.
    Benchmarks of another ``layout`` (LaSOT, UAV123, TrackingNet) are read by their own module.
    """
    if bench.layout != "otb":
        return _layout_loader(bench.layout)(bench, root, sequences)
    root = Path(root)
    if not root.is_dir():
        raise PulBenchError(f"{root}: no such folder (pass --root DIR)")
    annotation_layout = (root / "anno").is_dir()
    avail, unlabelled = ((_annotation_files(root), []) if annotation_layout
                         else _image_layout_files(root))
    wanted = list(bench.sequences) if bench.sequences is not None else [*avail, *unlabelled]
    if sequences:
        chosen = match_names(sequences, wanted)
        if bench.sequences is not None:
            unknown = [s for s in sequences if s not in chosen]
            if unknown:
                raise PulBenchError(f"not in benchmark {bench.name}: {', '.join(unknown)}")
            wanted = [chosen[s] for s in sequences]
        else:
            wanted = [chosen.get(s, s) for s in sequences]
    att_dir = _attribute_dir(root, bench)
    found_names = match_names(wanted, avail)
    found: list[OTBSequence] = []
    missing: list[str] = []
    for name, folder in match_names(wanted, unlabelled).items():
        note(f"{root / folder}: no groundtruth_rect.txt, so {name} cannot be evaluated")
    for name in wanted:
        if name not in found_names:
            missing.append(name)
            continue
        gt_file, seq_dir = avail[found_names[name]]
        found.append(_load_sequence(name, gt_file, seq_dir, att_dir,
                                    bench.attributes or ATTRIBUTES))
    return found, missing


def _layout_loader(layout: str) -> Callable[..., tuple[list[OTBSequence], list[str]]]:
    """The reader of a non-OTB one-pass layout (imported here: those modules import this one)."""
    if layout == "lasot":
        from pul_bench.datasets.lasot import load_lasot
        return load_lasot
    if layout in ("uav123", "trackingnet", "labeled"):
        from pul_bench.datasets import onepass
        return {"uav123": onepass.load_uav123, "trackingnet": onepass.load_trackingnet,
                "labeled": onepass.load_labeled}[layout]
    raise PulBenchError(f"layout {layout!r} has no one-pass sequence reader")


def _annotation_files(root: Path) -> dict[str, tuple[Path, Path | None]]:
    return {f.stem: (f, None) for f in sorted((root / "anno").glob("*.txt"))}


def _image_layout_files(root: Path) -> tuple[dict[str, tuple[Path, Path | None]], list[str]]:
    """Every target under ``root`` (one per non-empty ground-truth file of a sequence folder),
    and the folders with an ``img/`` but no ground-truth file, which must not pass unnoticed."""
    out: dict[str, tuple[Path, Path | None]] = {}
    unlabelled = []
    for d in sorted(p for p in root.iterdir() if p.is_dir()):
        single = d / "groundtruth_rect.txt"
        if single.is_file():
            out[d.name] = (single, d)
            continue
        numbered = sorted(d.glob("groundtruth_rect.*.txt"))
        if not numbered and (d / "img").is_dir():
            unlabelled.append(d.name)
        for f in numbered:
            k = f.name[len("groundtruth_rect."):-len(".txt")]
            if k.isdigit() and f.read_bytes().strip():
                out[f"{d.name}-{k}"] = (f, d)
    return out, unlabelled


def _attribute_dir(root: Path, bench: Benchmark) -> Path | None:
    """``<root>/anno_att`` (OTB) or ``<root>/anno/att`` (UAV123), else the benchmark's
    annotation copy in the shared data (image folders carry no attribute flags)."""
    copy = bench.annotation_copy()
    bases = [root] + ([copy] if copy else [])
    for base in bases:
        for sub in ("anno_att", "anno/att"):
            if (base / sub).is_dir():
                return base / sub
    return None


def _official(name: str, table: dict[str, int] | set[str]) -> str | None:
    """The official spelling of ``name`` among ``table``'s keys, if any."""
    key = canonical_name(name)
    return next((k for k in table if canonical_name(k) == key), None)


def _load_sequence(name: str, gt_file: Path, seq_dir: Path | None,
                   att_dir: Path | None, att_names: Sequence[str] = ATTRIBUTES) -> OTBSequence:
    boxes = read_boxes(gt_file)
    valid = np.all(boxes > 0, axis=1)
    official = _official(name, _FIRST_ANNOTATED)
    first = _FIRST_ANNOTATED[official] if official else None
    frames = _select_frames(name, gt_file, seq_dir, len(boxes), first) if seq_dir else []
    official = _official(name, _OPE_START)
    offset = 0
    if official:
        offset = _OPE_START[official] - (first or 1)
        if not 0 <= offset < len(boxes):
            raise InputError(gt_file, f"{name} must start at frame {_OPE_START[official]}, "
                             f"but the file holds only {len(boxes)} boxes")
    attributes = _read_attributes(att_dir, name, att_names) if att_dir else {}
    gt = boxes[offset:].copy()
    gt[:, :2] -= 1.0
    return OTBSequence(name=name, groundtruth=gt, valid=valid[offset:], frames=frames[offset:],
                       start_frame=(first or 1) + offset, attributes=attributes,
                       ope_offset=offset, source=gt_file)


def _select_frames(name: str, gt_file: Path, seq_dir: Path, n: int,
                   first: int | None) -> list[Path]:
    """The ``n`` annotated images of an OTB folder, matched to the boxes by image number."""
    img_dir = seq_dir / "img"
    images = sorted(p for p in img_dir.glob("*") if p.suffix.lower() in _IMAGE_EXTS) \
        if img_dir.is_dir() else []
    if not images:
        raise InputError(img_dir, f"no images for sequence {name}")
    if len(images) != n and _official(name, _EXTRA_IMAGES) is None:
        raise InputError(gt_file, f"{n} boxes but {len(images)} images in {img_dir}")
    if not all(p.stem.isdigit() for p in images):
        if len(images) < n:
            raise InputError(gt_file, f"{n} boxes but only {len(images)} images in {img_dir}")
        return images[:n]
    by_number = {int(p.stem): p for p in images}
    start = first if first is not None else min(by_number)
    absent = [k for k in range(start, start + n) if k not in by_number]
    if absent:
        raise InputError(gt_file, f"{len(absent)} of the {n} annotated frames have no image in "
                         f"{img_dir} (first: frame {absent[0]})")
    return [by_number[k] for k in range(start, start + n)]


def _read_attributes(att_dir: Path, name: str, names: Sequence[str]) -> dict[str, bool]:
    f = att_dir / f"{name}.txt"
    if not f.is_file():
        key = canonical_name(name)
        f = next((p for p in sorted(att_dir.glob("*.txt")) if canonical_name(p.stem) == key),
                 None)
        if f is None:
            return {}
    return read_attribute_flags(f, names)


def read_attribute_flags(path: Path, names: Sequence[str]) -> dict[str, bool]:
    """One line of 0/1 flags, one per attribute ``names`` (the benchmark's column order)."""
    flags = read_table(path, len(names), allow_nan=False)
    if len(flags) != 1:
        raise InputError(path, f"expected one line of {len(names)} flags, found {len(flags)}")
    return {a: bool(v) for a, v in zip(names, flags[0], strict=True)}
