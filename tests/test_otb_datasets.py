"""OTB readers on the real files: both layouts and every special case of the official set-up.

The pysot copy of the annotations (OTB100.json, made independently from the image folders)
is the second witness: frame numbers, lengths and boxes must agree with it for all 100
targets. Image-layout cases that the shared image folders lack (two targets, late starts,
trims) are built in tmp_path from the real annotation files and empty image files.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from pul_bench.benchmarks import get_benchmark
from pul_bench.datasets.otb import ATTRIBUTES, canonical_name, load_otb, match_names, read_boxes
from pul_bench.errors import InputError, PulBenchError
from pul_bench.io import read_table


@pytest.fixture(scope="module")
def otb2015(otb_reference: Path):
    seqs, missing = load_otb(get_benchmark("otb2015"), otb_reference)
    return {s.name: s for s in seqs}, missing


def test_annotation_layout_holds_every_official_target(otb_reference: Path, otb2015) -> None:
    seqs, missing = otb2015
    assert missing == [] and len(seqs) == 100
    for bench, n in (("otb2013", 51), ("tb50", 50)):
        found, missing = load_otb(get_benchmark(bench), otb_reference)
        assert len(found) == n and missing == []
    assert {"Jogging-1", "Jogging-2", "Skating2-1", "Skating2-2", "Human4-2"} <= set(seqs)


def test_matches_pysot_json_frame_for_frame(otb_reference: Path, otb2015) -> None:
    """Start frames (David 300, BlurCar1 247, BlurCar3 3, BlurCar4 18, Tiger1 6), trims and
    boxes agree with pysot's independent OTB100.json for every target."""
    seqs, _ = otb2015
    meta = json.loads((otb_reference / "OTB100.json").read_text())
    assert set(meta) == set(seqs)
    for name, m in meta.items():
        s = seqs[name]
        first = int(re.search(r"(\d+)\.\w+$", m["img_names"][0]).group(1))
        assert (s.start_frame, len(s)) == (first, len(m["img_names"])), name
        np.testing.assert_array_equal(s.groundtruth + [1, 1, 0, 0], np.array(m["gt_rect"]),
                                      err_msg=name)
    starts = {n: seqs[n].start_frame for n in ("David", "BlurCar1", "BlurCar3", "BlurCar4")}
    assert starts == {"David": 300, "BlurCar1": 247, "BlurCar3": 3, "BlurCar4": 18}
    lengths = {n: len(seqs[n]) for n in ("Football1", "Freeman3", "Freeman4", "Diving")}
    assert lengths == {"Football1": 74, "Freeman3": 460, "Freeman4": 283, "Diving": 215}


def test_tiger1_starts_after_the_initomit_range(otb_reference: Path, otb2015) -> None:
    tiger = otb2015[0]["Tiger1"]
    anno = read_boxes(otb_reference / "anno" / "Tiger1.txt")
    assert (tiger.start_frame, tiger.ope_offset, len(tiger)) == (6, 5, len(anno) - 5)
    np.testing.assert_array_equal(tiger.groundtruth[0] + [1, 1, 0, 0], anno[5])
    # initOmit ('first last' frame ranges): only Tiger1 may not start at frame 1
    omit = {f.stem: read_table(f, 2) for f in (otb_reference / "initOmit").glob("*.txt")}
    assert [name for name, r in omit.items() if r[0, 0] == 1] == ["tiger1"]
    np.testing.assert_array_equal(omit["tiger1"][0], [1, 5])


def test_rows_with_values_le_0_are_unannotated(otb2015) -> None:
    seqs, _ = otb2015
    biker = seqs["Biker"]
    file_values = biker.groundtruth + [1, 1, 0, 0]
    np.testing.assert_array_equal(biker.valid, np.all(file_values > 0, axis=1))
    assert (~biker.valid).sum() == 7 and not biker.valid[71]
    assert not seqs["Board"].valid[-1] and not seqs["Twinnings"].valid[-1]
    assert sum(int((~s.valid).sum()) for s in seqs.values()) == 10


def test_attributes_agree_with_the_list_file(otb_reference: Path, otb2015) -> None:
    """anno_att (what the toolkit's per-attribute plots use) against the web list: they agree
    except on 7 targets, where the toolkit's files differ (Human4-2's flags are all zero)."""
    seqs, _ = otb2015
    listed = {}
    for line in (otb_reference / "lists" / "jwlim_attr_list.txt").read_text().splitlines():
        name, _, atts = line.partition("\t")
        listed[name.strip()] = {a.strip() for a in atts.split(",") if a.strip()}
    differ = set()
    for name, s in seqs.items():
        assert list(s.attributes) == list(ATTRIBUTES)
        if {a for a, on in s.attributes.items() if on} != listed[name]:
            differ.add(name)
    assert differ == {"Box", "Car1", "Car2", "Coke", "Crossing", "Human4-2", "Jump"}
    assert {a for a, on in seqs["Basketball"].attributes.items() if on} == {
        "IV", "OCC", "DEF", "OPR", "BC"}
    assert not any(seqs["Human4-2"].attributes.values())


def test_image_layout_on_the_shared_folders(otb_sequences: Path) -> None:
    """Tab, comma, CRLF (Girl) and a missing final newline (Human3) all parse; frames match."""
    seqs, missing = load_otb(get_benchmark("otb"), otb_sequences)
    by_name = {s.name: s for s in seqs}
    # every sequence folder of the shared copy is read; the special cases below must be among them
    folders = {p.parent.name for p in otb_sequences.glob("*/groundtruth_rect.txt")}
    assert missing == [] and set(by_name) == folders
    assert {"Crossing", "Football1", "Girl", "Human3"} <= folders
    assert b"\r\n" in (otb_sequences / "Girl" / "groundtruth_rect.txt").read_bytes()
    assert not (otb_sequences / "Human3" / "groundtruth_rect.txt").read_bytes().endswith(b"\n")
    for s in seqs:
        assert len(s.frames) == len(s) and all(f.is_file() for f in s.frames)
        assert s.frames[0].name == "0001.jpg"
    np.testing.assert_array_equal(by_name["Girl"].groundtruth[0], [56, 20, 31, 45])
    np.testing.assert_array_equal(by_name["Human3"].groundtruth[-1] + [1, 1, 0, 0],
                                  read_boxes(otb_sequences / "Human3" /
                                             "groundtruth_rect.txt")[-1])
    # a listed benchmark on a partial root: the sequences present, the rest reported
    seqs, missing = load_otb(get_benchmark("otb2015"), otb_sequences)
    listed = set(get_benchmark("otb2015").sequences)
    assert {s.name for s in seqs} == folders & listed
    assert len(seqs) + len(missing) == 100 and "Basketball" in missing


def test_attribute_flags_of_an_image_folder_come_from_the_given_data(otb_sequences: Path,
                                                                     tmp_path: Path) -> None:
    """An image folder carries no attribute flags: they come from the annotation copy under the
    data folder the caller resolved the benchmark with, not from an environment lookup."""
    shared = otb_sequences.parents[1]
    (girl,), _ = load_otb(get_benchmark("otb2015", shared), otb_sequences, ["Girl"])
    (bare,), _ = load_otb(get_benchmark("otb2015", tmp_path), otb_sequences, ["Girl"])
    assert girl.attributes["SV"] and bare.attributes == {}


def _fake_sequence(root: Path, folder: str, n_images: int, gt_files: dict[str, Path | None],
                   first: int = 1) -> None:
    img = root / folder / "img"
    img.mkdir(parents=True)
    for k in range(first, first + n_images):
        (img / f"{k:04d}.jpg").touch()
    for name, src in gt_files.items():
        dst = root / folder / name
        dst.write_bytes(src.read_bytes() if src else b"")


def test_image_layout_special_cases(tmp_path: Path, otb_reference: Path) -> None:
    anno = otb_reference / "anno"
    _fake_sequence(tmp_path, "Jogging", 307, {"groundtruth_rect.1.txt": anno / "Jogging-1.txt",
                                              "groundtruth_rect.2.txt": anno / "Jogging-2.txt"})
    _fake_sequence(tmp_path, "Human4", 667, {"groundtruth_rect.1.txt": None,
                                             "groundtruth_rect.2.txt": anno / "Human4-2.txt"})
    _fake_sequence(tmp_path, "David", 770, {"groundtruth_rect.txt": anno / "David.txt"})
    _fake_sequence(tmp_path, "BlurCar1", 742, {"groundtruth_rect.txt": anno / "BlurCar1.txt"},
                   first=247)
    _fake_sequence(tmp_path, "Football1", 81, {"groundtruth_rect.txt": anno / "Football1.txt"})
    _fake_sequence(tmp_path, "Tiger1", 354, {"groundtruth_rect.txt": anno / "Tiger1.txt"})
    seqs, _ = load_otb(get_benchmark("otb"), tmp_path)
    by_name = {s.name: s for s in seqs}
    assert set(by_name) == {"Jogging-1", "Jogging-2", "Human4-2", "David", "BlurCar1",
                            "Football1", "Tiger1"}
    assert by_name["Jogging-2"].frames[0] == tmp_path / "Jogging" / "img" / "0001.jpg"
    assert [by_name["David"].frames[i].name for i in (0, -1)] == ["0300.jpg", "0770.jpg"]
    assert by_name["BlurCar1"].frames[0].name == "0247.jpg"
    assert len(by_name["Football1"].frames) == 74
    assert by_name["Football1"].frames[-1].name == "0074.jpg"
    tiger = by_name["Tiger1"]
    assert tiger.frames[0].name == "0006.jpg" and len(tiger.frames) == len(tiger) == 349
    # official names pick the same targets; got10k's 'Human4' folder is Human4-2
    seqs, missing = load_otb(get_benchmark("otb2015"), tmp_path, ["Human4-2", "jogging_2"])
    assert [s.name for s in seqs] == ["Human4-2", "Jogging-2"] and missing == []


def test_image_layout_errors_name_the_file(tmp_path: Path, otb_reference: Path) -> None:
    anno = otb_reference / "anno"
    _fake_sequence(tmp_path, "Crossing", 119, {"groundtruth_rect.txt": anno / "Crossing.txt"})
    with pytest.raises(InputError, match=r"Crossing/groundtruth_rect.txt.*120 boxes but 119"):
        load_otb(get_benchmark("otb"), tmp_path)
    shutil.rmtree(tmp_path / "Crossing")
    _fake_sequence(tmp_path, "David", 700, {"groundtruth_rect.txt": anno / "David.txt"})
    with pytest.raises(InputError, match=r"David/groundtruth_rect.txt.*first: frame 701"):
        load_otb(get_benchmark("otb"), tmp_path)
    with pytest.raises(PulBenchError, match="not in benchmark otb2015: Nope"):
        load_otb(get_benchmark("otb2015"), otb_reference, ["Nope"])


def test_bad_annotation_names_file_and_line(tmp_path: Path, otb_reference: Path) -> None:
    (tmp_path / "anno").mkdir()
    lines = (otb_reference / "anno" / "Crossing.txt").read_text().splitlines()
    lines[41] = "205,151,x,50"
    (tmp_path / "anno" / "Crossing.txt").write_text("\n".join(lines))
    with pytest.raises(InputError) as e:
        load_otb(get_benchmark("otb"), tmp_path)
    assert e.value.line == 42 and e.value.path.name == "Crossing.txt"


@pytest.mark.parametrize("spelling, official", [
    ("Human4_2", "Human4-2"), ("human4.2", "Human4-2"), ("Human4", "Human4-2"),
    ("jogging_1", "Jogging-1"), ("Jogging.2", "Jogging-2"), ("skating2_1", "Skating2-1"),
    ("blurBody", "BlurBody"), ("FLEETFACE", "FleetFace"), ("Car24", "Car24"),
])
def test_result_name_spellings(spelling: str, official: str, otb2015) -> None:
    seqs, _ = otb2015
    assert match_names(list(seqs), [spelling, "Car2"]).get(official) == spelling
    assert canonical_name("Car2") != canonical_name("Car24")


def test_two_spellings_of_one_sequence_are_refused() -> None:
    with pytest.raises(PulBenchError, match="spelled several ways"):
        match_names(["Jogging-1"], ["jogging_1", "Jogging.1"])
    assert match_names(["Jogging-1"], ["jogging_1", "Jogging-1"]) == {"Jogging-1": "Jogging-1"}
