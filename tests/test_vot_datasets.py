"""VOT layouts: polygons and boxes, color/ or flat images, tags, annotation-only roots."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pul_bench.benchmarks import all_benchmarks
from pul_bench.datasets.vot import load_sequences
from pul_bench.errors import InputError, PulBenchError


def test_shared_sequences_with_images(vot_sequences: Path) -> None:
    seqs, missing = load_sequences(vot_sequences, need_images=True)
    assert [s.name for s in seqs] == ["bag", "ball1"] and missing == []
    bag, ball1 = seqs
    assert len(bag) == len(bag.frames) == 196 and bag.size == (480, 360)
    assert len(ball1) == 105 and ball1.size == (1280, 720)
    # init box = axis-aligned bounds of the rotated polygon, as vot-toolkit converts it
    np.testing.assert_allclose(bag.init_boxes[0], [291.827, 124.711, 150.346, 139.578])


def test_annotation_only_root_with_meta_and_tags(vot2018_reference: Path) -> None:
    seqs, missing = load_sequences(vot2018_reference, ("ants1", "bag", "nope"))
    assert [s.name for s in seqs] == ["ants1", "bag"] and missing == ["nope"]
    ants1 = seqs[0]
    assert ants1.size == (1024, 1024) and len(ants1) == 325 and ants1.frames == []
    assert set(ants1.tags) == {"camera_motion", "illum_change", "motion_change", "occlusion",
                               "size_change"}
    assert all(len(v) == 325 for v in ants1.tags.values())


def test_every_vot_manifest_loads() -> None:
    benches = all_benchmarks()
    expected = {"vot2016": (108, 371), "vot2017": (100, 356), "vot2018": (100, 356),
                "vot2019": (46, 291)}
    for name, interval in expected.items():
        b = benches[name]
        assert b.kind == "vot" and b.eao_interval == interval and len(b.sequences) == 60


def test_vot2018_manifest_matches_reference_list(vot2018_reference: Path) -> None:
    listed = (vot2018_reference / "list.txt").read_text().split()
    assert sorted(all_benchmarks()["vot2018"].sequences) == sorted(listed)


def _write_seq(root: Path, name: str, gt: str, images: int = 0, flat: bool = False) -> Path:
    from PIL import Image

    folder = root / name
    folder.mkdir(parents=True)
    (folder / "groundtruth.txt").write_text(gt)
    img_dir = folder if flat else folder / "color"
    img_dir.mkdir(exist_ok=True)
    for i in range(images):
        Image.new("RGB", (64, 48)).save(img_dir / f"{i + 1:08d}.jpg")
    return folder


def test_mixed_boxes_and_polygons_flat_images_short_tags(tmp_path: Path) -> None:
    (tmp_path / "list.txt").write_text("mixed\n")
    folder = _write_seq(tmp_path, "mixed", "1,2,10,20\n0,0,10,0,10,10,0,10\n1,1,4,4", 3,
                        flat=True)
    (folder / "occlusion.tag").write_text("1\n")
    (seq,), _ = load_sequences(tmp_path, need_images=True)
    assert seq.size == (64, 48) and len(seq.frames) == 3
    np.testing.assert_allclose(seq.polygons[0], [1, 2, 11, 2, 11, 22, 1, 22])
    np.testing.assert_allclose(seq.init_boxes[1], [0, 0, 10, 10])
    assert seq.tags["occlusion"].tolist() == [True, False, False]


def test_size_from_pysot_json(tmp_path: Path) -> None:
    (tmp_path / "list.txt").write_text("a\n")
    _write_seq(tmp_path, "a", "1,2,10,20\n")
    (tmp_path / "VOTX.json").write_text(json.dumps({"a": {"width": 320, "height": 240}}))
    (seq,), _ = load_sequences(tmp_path)
    assert seq.size == (320, 240)


def test_bad_groundtruth_line_is_named(tmp_path: Path) -> None:
    (tmp_path / "list.txt").write_text("a\n")
    _write_seq(tmp_path, "a", "1,2,10,20\n1,2,x,20\n", 2)
    with pytest.raises(InputError, match=r"groundtruth.txt:2: non-numeric"):
        load_sequences(tmp_path)


def test_too_few_images_is_named(tmp_path: Path) -> None:
    (tmp_path / "list.txt").write_text("a\n")
    _write_seq(tmp_path, "a", "1,2,10,20\n1,2,10,20\n1,2,10,20\n", 2)
    with pytest.raises(InputError, match=r"groundtruth.txt:3: 3 regions but only 2 images"):
        load_sequences(tmp_path, need_images=True)


def test_corrupt_image_is_named(tmp_path: Path) -> None:
    (tmp_path / "list.txt").write_text("a\n")
    folder = _write_seq(tmp_path, "a", "1,2,10,20\n")
    (folder / "color" / "00000001.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(InputError, match=r"00000001.jpg: cannot read image"):
        load_sequences(tmp_path, need_images=True)


def test_missing_size_and_empty_root(tmp_path: Path) -> None:
    with pytest.raises(PulBenchError, match="no list.txt"):
        load_sequences(tmp_path)
    (tmp_path / "list.txt").write_text("a\n")
    _write_seq(tmp_path, "a", "1,2,10,20\n")
    with pytest.raises(PulBenchError, match="gives the image size"):
        load_sequences(tmp_path)
    with pytest.raises(PulBenchError, match="none of the benchmark"):
        load_sequences(tmp_path, ("zz",))
