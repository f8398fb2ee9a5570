"""Data traps: bad input on real sequences and real published results is one clear error
naming the file and line, never a traceback and never a silently wrong score."""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import pickle
import shutil
import warnings
from pathlib import Path

import pytest
from test_provenance import VOT_SHORT, short_otb, short_vot

from pul_bench import results
from pul_bench.benchmarks import get_benchmark
from pul_bench.cli import main
from pul_bench.errors import InputError, PulBenchError
from pul_bench.experiments import ope, supervised
from pul_bench.metrics import vot as M

OTB = get_benchmark("otb")


# ---- OTB ground truth and folders ----------------------------------------------------------


@pytest.mark.parametrize("first", ["NaN,NaN,NaN,NaN", "198,214,0,43", "198,214,34,-2"])
def test_first_groundtruth_box_that_cannot_start_a_tracker(first: str, otb_sequences: Path,
                                                           tmp_path: Path) -> None:
    root = short_otb(otb_sequences, tmp_path / "otb")
    gt = root / "Football1" / "groundtruth_rect.txt"
    rows = gt.read_text().splitlines()
    gt.write_text("\n".join([first, *rows[1:]]) + "\n")
    with pytest.raises(InputError, match=r"Football1/groundtruth_rect.txt:1: first box") as err:
        ope.evaluate(OTB, "kcf", root, tmp_path / "out")
    assert "\n" not in str(err.value)
    assert not (tmp_path / "out" / "results" / "otb" / "kcf" / "run.json").exists()


def test_otb_folder_without_groundtruth_is_reported(otb_sequences: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture) -> None:
    root = short_otb(otb_sequences, tmp_path / "otb")
    lost = root / "Crossing"
    shutil.copytree(root / "Football1" / "img", lost / "img", symlinks=True)
    scores = ope.evaluate(OTB, "identity", root, tmp_path / "out")
    err = capsys.readouterr().err
    assert "Crossing" in err and "groundtruth_rect.txt" in err
    assert scores["identity"]["n_sequences"] == 1
    with pytest.raises(PulBenchError, match="Crossing"):
        ope.evaluate(OTB, "identity", root, tmp_path / "out", sequences=["Crossing"])


# ---- VOT result files ----------------------------------------------------------------------


def _published(vot2018_reference: Path, tmp_path: Path, seq: str = "ants1") -> list[str]:
    src = vot2018_reference / "results" / "DaSiamRPN" / "baseline" / seq / f"{seq}_001.txt"
    return src.read_text().splitlines()


def _write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "ants1_001.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_published_structure_reads(vot2018_reference: Path, tmp_path: Path) -> None:
    lines = _published(vot2018_reference, tmp_path)
    traj = results.read_trajectory(_write(tmp_path, lines))
    assert (traj.status == M.FAILURE).sum() == lines.count("2") >= 1


def test_missing_initialisation_is_named(vot2018_reference: Path, tmp_path: Path) -> None:
    lines = _published(vot2018_reference, tmp_path)
    with pytest.raises(InputError, match=r"ants1_001.txt:1: .*initialis"):
        results.read_trajectory(_write(tmp_path, [lines[1], *lines[1:]]))


def test_failure_without_reinitialisation_is_named(vot2018_reference: Path,
                                                   tmp_path: Path) -> None:
    lines = _published(vot2018_reference, tmp_path)
    fail = lines.index("2")
    assert lines[fail + 5] == "1"  # the published file re-initialises 5 frames later
    broken = [*lines[: fail + 5], lines[fail + 6], *lines[fail + 6:]]
    with pytest.raises(InputError, match=rf"ants1_001.txt:{fail + 6}: .*failure .*line "
                                         rf"{fail + 1}"):
        results.read_trajectory(_write(tmp_path, broken))
    skipped = [*lines[:fail], lines[fail - 1], *lines[fail + 1:]]  # a 0 after a region
    with pytest.raises(InputError, match=rf"ants1_001.txt:{fail + 2}: "):
        results.read_trajectory(_write(tmp_path, skipped))


def test_all_initialisations_is_named(vot2018_reference: Path, tmp_path: Path) -> None:
    lines = _published(vot2018_reference, tmp_path)
    with pytest.raises(InputError, match=r"ants1_001.txt:2: "):
        results.read_trajectory(_write(tmp_path, ["1"] * len(lines)))


def test_more_lines_than_frames_names_the_first_extra_line(vot2018_reference: Path,
                                                           tmp_path: Path) -> None:
    from pul_bench.analysis import vot as analysis

    bench = get_benchmark("vot2018")
    lines = _published(vot2018_reference, tmp_path)
    folder = tmp_path / "T" / "baseline" / "ants1"
    folder.mkdir(parents=True)
    (folder / "ants1_001.txt").write_text("\n".join([*lines, "2", "0"]) + "\n")
    one = dataclasses.replace(bench, sequences=("ants1",))
    with pytest.raises(InputError, match=rf"ants1_001.txt:{len(lines) + 1}: "):
        analysis.score(one, [tmp_path / "T"], vot2018_reference)


# ---- errors across processes; serial VOT keeps going ----------------------------------------


def test_input_error_survives_pickling() -> None:
    e = pickle.loads(pickle.dumps(InputError("some/file.txt", "bad value", 7)))
    assert str(e) == "some/file.txt:7: bad value" and e.line == 7
    assert e.path == Path("some/file.txt")


def _corrupt_ball1(out: Path, bench: str = "vot_short") -> Path:
    folder = out / "results" / bench / "identity" / "baseline" / "ball1"
    folder.mkdir(parents=True)
    (folder / "ball1_001.txt").write_text("1\nabc\n")
    return folder / "ball1_001.txt"


def test_serial_vot_continues_after_a_bad_sequence(vot_sequences: Path, tmp_path: Path) -> None:
    root = short_vot(vot_sequences, tmp_path / "vot", names=("ball1", "bag"))
    out = tmp_path / "out"
    bad = _corrupt_ball1(out)
    with pytest.raises(PulBenchError, match=r"1 of 2 sequences failed") as err:
        supervised.evaluate(VOT_SHORT, "identity", root, out)
    assert f"{bad}:2: non-numeric" in str(err.value)
    assert (out / "results" / "vot_short" / "identity" / "baseline" / "bag"
            / "bag_001.txt").is_file()


@pytest.mark.slow
def test_parallel_vot_reports_bad_input_clearly(vot_sequences: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture) -> None:
    root = short_vot(vot_sequences, tmp_path / "vot", names=("ball1", "bag"))
    out = tmp_path / "out"
    bad = _corrupt_ball1(out, "vot")
    with pytest.raises(SystemExit) as exit_:
        main(["eval", "vot", "identity", "--root", str(root), "--out", str(out),
              "--workers", "2"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f"{bad}:2: non-numeric" in err and "Traceback" not in err
    assert "BrokenProcessPool" not in err
    assert (out / "results" / "vot" / "identity" / "baseline" / "bag"
            / "bag_001.txt").is_file()


# ---- smaller traps -------------------------------------------------------------------------


def test_vot_sequence_names_are_case_insensitive_and_checked(vot_sequences: Path,
                                                             tmp_path: Path) -> None:
    root = short_vot(vot_sequences, tmp_path / "vot", names=("ball1", "bag"))
    scores = supervised.evaluate(VOT_SHORT, "identity", root, tmp_path / "out",
                                 sequences=["BALL1"])
    assert scores["identity"]["sequences"] == 1 and scores["identity"]["frames"] == 10
    with pytest.raises(PulBenchError, match="not found under .*: nope"):
        supervised.evaluate(VOT_SHORT, "identity", root, tmp_path / "out",
                            sequences=["ball1", "nope"])
    with pytest.raises(PulBenchError, match="not in benchmark vot2018: nope"):
        supervised.evaluate(get_benchmark("vot2018"), "identity", root, tmp_path / "out",
                            sequences=["Ball1", "nope"])


def test_huge_values_score_without_numpy_warnings(otb_sequences: Path, vot_sequences: Path,
                                                  tmp_path: Path) -> None:
    from pul_bench.analysis import otb as otb_analysis
    from pul_bench.analysis import vot as vot_analysis

    n = len((otb_sequences / "Football1" / "groundtruth_rect.txt").read_text().splitlines())
    (tmp_path / "O").mkdir()
    (tmp_path / "O" / "Football1.txt").write_text("1e308,1e308,1e308,1e308\n" * n)
    folder = tmp_path / "V" / "baseline" / "ball1"
    folder.mkdir(parents=True)
    m = len((vot_sequences / "ball1" / "groundtruth.txt").read_text().splitlines())
    (folder / "ball1_001.txt").write_text("1\n" + "1e308,1e308,1e308,1e308\n" * (m - 1))
    ball1 = dataclasses.replace(get_benchmark("vot2018"), sequences=("ball1",))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        otb = otb_analysis.score(bench=OTB, result_dirs=[tmp_path / "O"], root=otb_sequences)
        vot = vot_analysis.score(ball1, [tmp_path / "V"], vot_sequences)
    assert otb["O"]["per_sequence"]["Football1"]["auc"] < 0.05  # frame 1 only
    assert vot["V"]["accuracy"] == 0


def _add_many(path: str, key: str) -> None:
    from pul_bench.io import update_json

    for i in range(25):
        update_json(path, lambda d, i=i: {**d, f"{key}{i}": i})


@pytest.mark.slow
def test_update_json_keeps_every_concurrent_write(tmp_path: Path) -> None:
    path = tmp_path / "performance.json"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_add_many, args=(str(path), k)) for k in "abcd"]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    assert all(p.exitcode == 0 for p in procs)
    assert len(json.loads(path.read_text())) == 100


def test_progress_bars_are_quiet_off_a_terminal(otb_sequences: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture) -> None:
    root = short_otb(otb_sequences, tmp_path / "otb")
    ope.evaluate(OTB, "identity", root, tmp_path / "out")
    err = capsys.readouterr().err
    assert "%|" not in err and "frame/s" not in err
