"""Unlabeled video sources for unsupervised training: every reader ignores any labels it finds.

Supported layouts (``kind``):

* ``vid``: ILSVRC-2015 VID, ``<root>/Data/VID/train/<chunk>/<snippet>/000000.JPEG``
* ``got10k``: GOT-10k train, ``<root>/[train/]GOT-10k_Train_000001/00000001.jpg``
* ``lasot``: LaSOT, ``<root>/<class>/<class>-<n>/img/00000001.jpg``
* ``folders``: a folder of frame folders, ``<root>/<clip>/<frames>.jpg`` (the shared clips)
* ``files``: video files (mp4, avi, mov, mkv, webm) in ``<root>``, or ``root`` is one such file

``auto`` picks the layout from what is on disk. Images are RGB uint8 (see pul_bench.tracker).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from pul_bench.errors import InputError, PulBenchError
from pul_bench.io import note
from pul_bench.tracker import read_image

IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".bmp"}
VIDEO_EXTS = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v"}
KINDS = ("auto", "vid", "got10k", "lasot", "folders", "files")


@dataclass(frozen=True)
class FrameRef:
    """One frame: an image file (``index`` -1) or frame ``index`` of a video file."""

    path: Path
    index: int = -1

    def key(self) -> str:
        """A stable identity for caches: the resolved path plus size and mtime, and the index."""
        st = self.path.stat()
        return f"{self.path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{self.index}"

    def read(self) -> np.ndarray:
        """Decode the frame as RGB uint8 (H, W, 3); unreadable frames are an InputError."""
        if self.index < 0:
            return read_image(self.path)
        cap = cv2.VideoCapture(str(self.path))
        try:
            if not cap.isOpened():
                raise InputError(self.path, "cannot open video file")
            cap.set(cv2.CAP_PROP_POS_FRAMES, self.index)
            ok, frame = cap.read()
        finally:
            cap.release()
        if not ok or frame is None:
            raise InputError(self.path, f"cannot decode frame {self.index}")
        return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)


@dataclass(frozen=True)
class Video:
    """A named, ordered list of frames."""

    name: str
    frames: tuple[FrameRef, ...]

    def sampled(self, stride: int) -> tuple[FrameRef, ...]:
        """Every ``stride``-th frame, starting with the first (the paper samples one in 10)."""
        if stride < 1:
            raise PulBenchError(f"frame stride must be >= 1, got {stride}")
        return self.frames[::stride]


def image_files(folder: Path) -> list[Path]:
    """The image files directly in ``folder``, in name order (frame order in every layout)."""
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTS and p.is_file())


def subdirs(folder: Path) -> list[Path]:
    """Visible sub-folders of ``folder``, in name order."""
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _images(folder: Path) -> tuple[FrameRef, ...]:
    return tuple(FrameRef(p) for p in image_files(folder))


def _frame_folders(folders: list[Path]) -> Iterator[Video]:
    """One video per folder of images, named after the folder (``img`` folders: their parent);
    a folder without images is skipped with a note, so a clip never drops out unnoticed."""
    for d in folders:
        frames = _images(d)
        if frames:
            yield Video(d.parent.name if d.name == "img" else d.name, frames)
        else:
            note(f"{d}: no images ({', '.join(sorted(IMAGE_EXTS))}), so this clip is skipped")


def _video_file(path: Path) -> Video:
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise InputError(path, "cannot open video file (unsupported codec or not a video)")
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        if n <= 0:  # some containers do not store a count: decode to count
            n = 0
            while cap.grab():
                n += 1
    finally:
        cap.release()
    if n == 0:
        raise InputError(path, "video file has no frames")
    return Video(path.stem, tuple(FrameRef(path, i) for i in range(n)))


def detect_kind(root: Path, labeled: bool = False) -> str:
    """Guess the layout of ``root`` (see the module docstring): for unlabeled frames, or with
    ``labeled`` for :mod:`pul_train.labeled` (VID by its annotations, LaSOT by its
    ``out_of_view.txt``, no video files)."""
    if root.is_file() and not labeled:
        return "files"
    if (root / ("Annotations" if labeled else "Data") / "VID" / "train").is_dir():
        return "vid"
    train = root / "train" if (root / "train").is_dir() else root
    if any(p.name.startswith("GOT-10k_Train_") for p in subdirs(train)):
        return "got10k"
    if not labeled and any(p.suffix.lower() in VIDEO_EXTS for p in root.iterdir()):
        return "files"
    for d in subdirs(root)[:3]:
        if any((s / "img").is_dir() and (not labeled or (s / "out_of_view.txt").is_file())
               for s in subdirs(d)):
            return "lasot"
    return "folders"


def open_videos(root: str | Path, kind: str = "auto") -> list[Video]:
    """All videos under ``root`` in the given layout, sorted by name; labels are never read."""
    root = Path(root)
    if not root.exists():
        raise InputError(root, "video source not found")
    if kind not in KINDS:
        raise PulBenchError(f"unknown video source kind {kind!r}; choose from {', '.join(KINDS)}")
    if kind == "auto":
        kind = detect_kind(root)
    if kind == "files":
        files = [root] if root.is_file() else sorted(
            p for p in root.iterdir() if p.suffix.lower() in VIDEO_EXTS)
        videos = [_video_file(p) for p in files]
    elif kind == "vid":
        base = root / "Data" / "VID" / "train"
        if not base.is_dir():
            raise InputError(root, "not an ILSVRC-2015 VID folder (no Data/VID/train)")
        snippets = [s for chunk in subdirs(base) for s in subdirs(chunk)]
        videos = list(_frame_folders(snippets))
    elif kind == "got10k":
        train = root / "train" if (root / "train").is_dir() else root
        seqs = [p for p in subdirs(train) if p.name.startswith("GOT-10k_Train_")]
        videos = list(_frame_folders(seqs))
    elif kind == "lasot":
        seqs = [s / "img" for d in subdirs(root) for s in subdirs(d) if (s / "img").is_dir()]
        videos = list(_frame_folders(seqs))
    else:
        videos = list(_frame_folders(subdirs(root)))
    if not videos:
        raise InputError(root, f"no videos found (layout {kind!r})")
    return videos
