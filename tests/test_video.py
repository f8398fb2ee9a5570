"""Unlabeled video readers: real clips, and tiny synthetic copies of the other layouts."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from pul_bench.errors import InputError
from pul_train.video import detect_kind, open_videos


def test_shared_unlabeled_clips(data_root: Path) -> None:
    videos = open_videos(data_root / "unlabeled")
    # every clip folder is a video, and every frame file on disk is one of its frames
    folders = sorted(p for p in (data_root / "unlabeled").iterdir() if p.is_dir())
    assert sorted(v.name for v in videos) == [p.name for p in folders]
    assert sum(len(v.frames) for v in videos) == sum(len(list(p.glob("*.jpg"))) for p in folders)
    cup = next(v for v in videos if v.name == "cup")
    sampled = cup.sampled(10)
    assert len(sampled) == math.ceil(len(cup.frames) / 10)
    assert sampled[1].path.name == "00000011.jpg"
    image = sampled[0].read()
    assert image.shape == (480, 640, 3) and image.dtype == np.uint8


def _write_jpgs(folder: Path, n: int, name: str = "{:08d}.jpg") -> None:
    folder.mkdir(parents=True)
    for i in range(n):
        cv2.imwrite(str(folder / name.format(i + 1)), np.full((24, 32, 3), 10 * i, np.uint8))


def test_vid_got10k_lasot_layouts_ignore_labels(tmp_path: Path) -> None:
    vid = tmp_path / "ILSVRC2015"
    _write_jpgs(vid / "Data/VID/train/ILSVRC2015_VID_train_0000/ILSVRC2015_train_00000000",
                3, "{:06d}.JPEG")
    (vid / "Annotations").mkdir()
    got = tmp_path / "GOT-10k"
    _write_jpgs(got / "train/GOT-10k_Train_000001", 4)
    (got / "train/GOT-10k_Train_000001/groundtruth.txt").write_text("1,1,2,2\n")
    (got / "train/list.txt").write_text("GOT-10k_Train_000001\n")
    lasot = tmp_path / "LaSOT"
    _write_jpgs(lasot / "cat/cat-1/img", 5)
    (lasot / "cat/cat-1/groundtruth.txt").write_text("1,1,2,2\n")
    for root, kind, name, n in ((vid, "vid", "ILSVRC2015_train_00000000", 3),
                                (got, "got10k", "GOT-10k_Train_000001", 4),
                                (lasot, "lasot", "cat-1", 5)):
        assert detect_kind(root) == kind
        (video,) = open_videos(root)
        assert (video.name, len(video.frames)) == (name, n)
        assert all(f.path.suffix.lower() in (".jpg", ".jpeg") for f in video.frames)


def test_labeled_layouts_need_their_labels(tmp_path: Path) -> None:
    """One ``detect_kind`` serves both readers: a labeled VID needs its annotations and a labeled
    LaSOT its ``out_of_view.txt``, where frames alone make an unlabeled source."""
    vid = tmp_path / "vid"
    _write_jpgs(vid / "Data/VID/train/chunk/snippet", 2, "{:06d}.JPEG")
    lasot = tmp_path / "lasot"
    _write_jpgs(lasot / "cat/cat-1/img", 2)
    assert (detect_kind(vid), detect_kind(vid, labeled=True)) == ("vid", "folders")
    assert (detect_kind(lasot), detect_kind(lasot, labeled=True)) == ("lasot", "folders")
    (vid / "Annotations/VID/train").mkdir(parents=True)
    (lasot / "cat/cat-1/out_of_view.txt").write_text("0,0\n")
    assert detect_kind(vid, labeled=True) == "vid"
    assert detect_kind(lasot, labeled=True) == "lasot"


def test_video_files(data_root: Path, tmp_path: Path) -> None:
    frames = sorted((data_root / "unlabeled" / "carphone").glob("*.jpg"))[:12]
    path = tmp_path / "clip.avi"
    first = cv2.imread(str(frames[0]))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10,
                             (first.shape[1], first.shape[0]))
    assert writer.isOpened()
    for f in frames:
        writer.write(cv2.imread(str(f)))
    writer.release()
    (video,) = open_videos(tmp_path)
    assert video.name == "clip" and len(video.frames) == 12
    assert [f.index for f in video.sampled(5)] == [0, 5, 10]
    got = video.frames[5].read()
    want = cv2.cvtColor(cv2.imread(str(frames[5])), cv2.COLOR_BGR2RGB)
    assert got.shape == want.shape
    assert np.abs(got.astype(float) - want).mean() < 12  # MJPG re-encoding, same frame


def test_bad_sources(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        open_videos(tmp_path / "nope")
    with pytest.raises(InputError, match="no videos"):
        open_videos(tmp_path)
    (tmp_path / "broken.mp4").write_bytes(b"not a video")
    with pytest.raises(InputError, match="broken.mp4"):
        open_videos(tmp_path)
