"""VOT2018 baseline scores of published raw results against the published numbers."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from pul_bench import results
from pul_bench.analysis.vot import format_table, score
from pul_bench.benchmarks import get_benchmark
from pul_bench.cli import main
from pul_bench.errors import InputError
from pul_bench.metrics import vot as M


@pytest.fixture(scope="module")
def vot2018_scores(vot2018_reference: Path) -> dict:
    results = vot2018_reference / "results"
    return score(get_benchmark("vot2018"), [results / "DaSiamRPN", results / "LightTrack"],
                 vot2018_reference)


def test_dasiamrpn_reproduces_published_vot2018(vot2018_scores: dict) -> None:
    s = vot2018_scores["DaSiamRPN"]
    assert s["frames"] == 21356 and s["sequences"] == 60
    assert s["failures"] == 59
    assert s["robustness"] == pytest.approx(0.276, abs=0.002)
    assert s["accuracy"] == pytest.approx(0.586, abs=0.002)
    assert s["eao"] == pytest.approx(0.383, abs=0.002)


def test_lighttrack_reproduces_published_vot2018_eao(vot2018_scores: dict) -> None:
    s = vot2018_scores["LightTrack"]
    assert s["failures"] == 38
    assert s["eao"] == pytest.approx(0.418, abs=0.002)


def test_got10k_convention_intersects_outlines(vot2018_reference: Path) -> None:
    # the geometric rule is a different measure: it misses DaSiamRPN's published EAO 0.383
    s = score(get_benchmark("vot2018"), [vot2018_reference / "results" / "DaSiamRPN"],
              vot2018_reference, convention="got10k")["DaSiamRPN"]
    assert s["failures"] == 59
    assert s["eao"] == pytest.approx(0.380, abs=0.001)


def test_per_tag_scores_cover_the_attributes(vot2018_scores: dict) -> None:
    tags = vot2018_scores["DaSiamRPN"]["tags"]
    assert set(tags) == {"camera_motion", "illum_change", "motion_change", "occlusion",
                         "size_change", "empty"}
    assert 0 < tags["occlusion"]["failures"] <= 59
    assert 0 < tags["empty"]["frames"] < 21356
    assert all(0 < t["accuracy"] < 1 for t in tags.values())


def test_table_ranks_by_eao(vot2018_scores: dict) -> None:
    table = format_table(vot2018_scores)
    assert table.index("LightTrack") < table.index("DaSiamRPN")


def test_score_cli_json(vot2018_reference: Path, capsys: pytest.CaptureFixture) -> None:
    main(["score", "vot2018", str(vot2018_reference / "results" / "DaSiamRPN"), "--root",
          str(vot2018_reference), "--json"])
    out = capsys.readouterr().out
    assert '"DaSiamRPN"' in out and '"eao"' in out


def test_status_codes_written_as_floats_parse(tmp_path: Path) -> None:
    f = tmp_path / "s_001.txt"
    f.write_text("1.0\n10,10,5,5\n2.0\n0\n0.0\n1\n10,10,5,5,20,10,20,20\n")
    t = results.read_trajectory(f)
    assert t.status.tolist() == [M.INIT, M.REGION, M.FAILURE, M.SKIP, M.SKIP, M.INIT, M.REGION]
    assert t.polygons[1].tolist() == [10, 10, 15, 10, 15, 15, 10, 15]


def test_bad_status_code_names_file_and_line(tmp_path: Path) -> None:
    f = tmp_path / "s_001.txt"
    f.write_text("1\n10,10,5,5\n3\n")
    with pytest.raises(InputError, match=r"s_001.txt:3: unknown status code 3"):
        results.read_trajectory(f)


def test_wrong_result_length_names_file(vot2018_reference: Path, tmp_path: Path) -> None:
    res = tmp_path / "Short" / "baseline" / "ants1"
    res.mkdir(parents=True)
    (res / "ants1_001.txt").write_text("1\n1,1,5,5\n")
    with pytest.raises(InputError, match=r"ants1_001.txt: 2 result lines for 325"):
        score(get_benchmark("vot2018"), [tmp_path / "Short"], vot2018_reference)


def test_overlap_pixel_rule_and_image_bounds() -> None:
    box = np.array([[10.0, 10, 20, 10, 20, 20, 10, 20]])
    shifted = box + np.array([5.0, 0] * 4)
    # continuous: 5x10 of 15x10 union; pixels: both ends of each row and column are filled
    assert M.overlaps(shifted, box, (100, 100), pixels=False)[0] == pytest.approx(50 / 150)
    assert M.overlaps(shifted, box, (100, 100))[0] == pytest.approx(66 / 176)
    # the vertex order of a box does not matter
    assert M.overlaps(shifted[:, [0, 1, 6, 7, 4, 5, 2, 3]], box, (100, 100))[0] == \
        pytest.approx(66 / 176)
    # the part outside the image does not count; pixel column w still does (MATLAB's bounds)
    outside = np.array([[-10.0, 10, 20, 10, 20, 20, -10, 20]])
    assert M.overlaps(outside, box, (100, 100), pixels=False)[0] == pytest.approx(0.5)
    assert M.overlaps(outside, box, (100, 100))[0] == pytest.approx(121 / 231)
    right = np.array([[90.0, 10, 130, 10, 130, 20, 90, 20]])
    inside = np.array([[90.0, 10, 100, 10, 100, 20, 90, 20]])
    assert M.overlaps(right, inside, (100, 100))[0] == pytest.approx(1.0)
    assert M.overlaps(np.full((1, 8), np.nan), box, (100, 100))[0] == 0


def test_overlap_rasterises_like_the_region_library() -> None:
    square = np.array([[0.0, 0, 20, 0, 20, 20, 0, 20]])  # 21 x 21 pixels
    # a diamond fills 2k+1 pixels on row k from each apex, but not the lone apex pixels
    diamond = np.array([[10.0, 0, 20, 10, 10, 20, 0, 10]])
    assert M.overlaps(diamond, square, (100, 100))[0] == pytest.approx(219 / 441)
    # vertices round half away from zero (10.5 -> 11), as C's round() does
    box = np.array([[10.0, 10, 20, 10, 20, 20, 10, 20]])
    half = box + np.array([0.5, 0] * 4)
    assert M.overlaps(half, box, (100, 100))[0] == pytest.approx(110 / 132)


def test_eao_matches_hand_computed_curve() -> None:
    # one run of 10 frames: init, 3 good frames, failure at 4, re-init at 9
    ov = np.array([0, 0.5, 0.5, 0.5, 0, 0, 0, 0, 0, 0.0])
    fail = np.zeros(10, bool)
    fail[4] = True
    run = M.RunScore(overlaps=ov, valid=np.ones(10, bool), failures=fail)
    curve = M.expected_overlap_curve([(run, 1.0)], 10)
    # fragment 1 = frames 0..9 (failed, zero-padded); fragment 2 = frame 9 only (too short)
    assert curve[3] == pytest.approx(0.5)  # mean of frames 1..3
    assert curve[5] == pytest.approx(1.5 / 5)
    assert M.eao(curve, (2, 4)) == pytest.approx(0.5)
    assert math.isnan(M.eao(curve, (2, 11)))
