"""UAV123/UAV20L on their real annotations, GOT-10k against the got10k package itself,
TrackingNet and GOT-10k server submissions, and published OTB files one row short."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from pul_bench.analysis import got10k as got10k_analysis
from pul_bench.analysis.otb import score, score_results
from pul_bench.benchmarks import all_benchmarks, get_benchmark
from pul_bench.cli import cli
from pul_bench.datasets.otb import load_otb, read_boxes
from pul_bench.errors import InputError
from pul_bench.experiments import got10k as got10k_runner
from pul_bench.kinds import Options, kind_of
from pul_bench.metrics.ope import OVERLAP_THRESHOLDS

OTB_SEQS = ("Crossing", "Girl", "Diving")
REPS = ("ATOM", "KCF", "SiamFC-3s_CFNetRelease")  # three real runs, as three repetitions


@pytest.fixture(scope="module")
def uav(data_root: Path) -> Path:
    return data_root / "reference" / "uav123"


@pytest.mark.slow
def test_uav123_lists_123_targets_with_their_frame_ranges(uav: Path) -> None:
    bench = get_benchmark("uav123")
    seqs, missing = load_otb(bench, uav)
    assert len(seqs) == 123 and missing == []
    for s in seqs:
        folder, first, last = bench.ranges[s.name]
        assert last - first + 1 == len(s), s.name
    assert sum(np.isnan(s.groundtruth).any(axis=1).sum() for s in seqs) > 0
    assert all(len(s.attributes) == 12 for s in seqs)
    long, missing = load_otb(get_benchmark("uav20l"), uav)
    assert len(long) == 20 and missing == []
    assert all(get_benchmark("uav20l").ranges[s.name][2] == len(s) for s in long)


def test_uav123_official_layout_takes_frames_from_the_ranges(uav: Path, tmp_path: Path) -> None:
    """``data_seq/UAV123/bird1`` holds one video; bird1_2 is its frames 775-1477."""
    (tmp_path / "anno" / "UAV123").mkdir(parents=True)
    shutil.copy(uav / "anno" / "bird1_2.txt", tmp_path / "anno" / "UAV123")
    video = tmp_path / "data_seq" / "UAV123" / "bird1"
    video.mkdir(parents=True)
    for k in range(1, 1478):
        (video / f"{k:06d}.jpg").touch()
    seqs, missing = load_otb(get_benchmark("uav123"), tmp_path)
    assert [s.name for s in seqs] == ["bird1_2"] and len(missing) == 122
    s = seqs[0]
    assert s.start_frame == 775 and len(s.frames) == len(s) == 703
    assert s.frames[0].name == "000775.jpg" and s.frames[-1].name == "001477.jpg"
    assert s.attributes["FOC"] and not s.attributes["IV"]  # from the shared anno/att copy
    (video / "001477.jpg").unlink()
    with pytest.raises(InputError, match="001477.jpg"):
        load_otb(get_benchmark("uav123"), tmp_path)


def test_uav123_scores_nan_rows_as_the_otb_toolkit(uav: Path, tmp_path: Path) -> None:
    """Ground truth shifted 10 px right, NaN rows kept: inclusive-pixel IoU is (w-10)/(w+10) on
    annotated frames, a NaN (out-of-view) row is never an overlap success but always a precision
    success, and frame 1 is replaced by the ground truth."""
    bench = get_benchmark("uav123")
    shifted = tmp_path / "Shifted"
    shifted.mkdir()
    for name in bench.sequences:
        gt = read_boxes(uav / "anno" / f"{name}.txt")
        np.savetxt(shifted / f"{name}.txt", gt + [10, 0, 0, 0], delimiter=",", fmt="%.10g")
    out = score(bench, [shifted], uav, resamples=0)["Shifted"]
    assert out["n_sequences"] == 123
    for name in ("bird1_1", "car1_2", "person1"):
        gt = read_boxes(uav / "anno" / f"{name}.txt")
        valid = (gt > 0).all(axis=1)
        overlap = np.where(valid, np.maximum(gt[:, 2] - 10, 0) / (gt[:, 2] + 10), -1.0)
        overlap[0] = 1.0
        expected = np.mean([(overlap > t).mean() for t in OVERLAP_THRESHOLDS])
        assert out["per_sequence"][name]["auc"] == pytest.approx(expected, abs=1e-12)
        assert out["per_sequence"][name]["dp20"] == 1.0  # 10 px off, or unannotated
    assert np.isnan(read_boxes(uav / "anno" / "bird1_1.txt")).any()


def _got10k_val(root: Path, otb: Path, results: Path, uav: Path) -> dict[str, Path]:
    """A GOT-10k-layout val folder from real sequences: three OTB ones (image-bounded
    boxes) and UAV123's bird1_1, whose out-of-view (NaN) frames get cover 0 and absence 1."""
    val = root / "val"
    trackers = {"Published3": root / "res" / "Published3", "DaSiamRPN": root / "res" / "DaSiamRPN"}
    names = [*OTB_SEQS, "bird1_1"]
    for name in names:
        d = val / name
        d.mkdir(parents=True)
        if name == "bird1_1":
            gt = read_boxes(uav / "anno" / f"{name}.txt")
            size = (1280, 720)
            images = [None] * len(gt)
            filled = gt.copy()
            for i in range(1, len(filled)):  # a 'tracker' that holds the last seen box
                if np.isnan(filled[i]).any():
                    filled[i] = filled[i - 1]
            runs = {"Published3": [np.roll(filled, k, axis=0) for k in (2, 5, 9)],
                    "DaSiamRPN": [np.roll(filled, 3, axis=0)]}
        else:
            gt = read_boxes(otb / name / "groundtruth_rect.txt") - [1, 1, 0, 0]
            images = sorted((otb / name / "img").glob("*.jpg"))[:len(gt)]
            size = Image.open(images[0]).size
            runs = {"Published3": [read_boxes(results / r / f"{name}.txt") - [1, 1, 0, 0]
                                   for r in REPS],
                    "DaSiamRPN": [read_boxes(results / "DaSiamRPN" / f"{name}.txt")
                                  - [1, 1, 0, 0]]}
        for k, img in enumerate(images, 1):
            target = d / f"{k:08d}.jpg"
            target.symlink_to(img) if img is not None else target.touch()
        np.savetxt(d / "groundtruth.txt", gt, delimiter=",", fmt="%.4f")
        x0, y0 = np.clip(gt[:, 0], 0, size[0]), np.clip(gt[:, 1], 0, size[1])
        x1 = np.clip(gt[:, 0] + gt[:, 2], 0, size[0])
        y1 = np.clip(gt[:, 1] + gt[:, 3], 0, size[1])
        cover = np.nan_to_num(np.round(8 * (x1 - x0) * (y1 - y0) / (gt[:, 2] * gt[:, 3])))
        np.savetxt(d / "cover.label", cover, fmt="%d")
        np.savetxt(d / "absence.label", (cover == 0).astype(int), fmt="%d")
        np.savetxt(d / "cut_by_image.label", ((cover > 0) & (cover < 8)).astype(int), fmt="%d")
        (d / "meta_info.ini").write_text(f"[METAINFO]\nresolution: ({size[0]}, {size[1]})\n")
        for tracker, boxes in runs.items():
            for r, b in enumerate(boxes, 1):
                f = trackers[tracker] / name / f"{name}_{r:03d}.txt"
                f.parent.mkdir(parents=True, exist_ok=True)
                np.savetxt(f, b, delimiter=",", fmt="%.3f")
            np.savetxt(trackers[tracker] / name / f"{name}_time.txt",
                       np.full((len(gt), 1), 0.01), fmt="%.8f")
    (val / "list.txt").write_text("\n".join(names) + "\n")
    return trackers


def test_got10k_matches_the_got10k_package(otb_sequences: Path, otb_reference: Path,
                                           uav: Path, tmp_path: Path, monkeypatch) -> None:
    """Both score the same files; got10k's GOT10k dataset and ``report`` only read local files
    (nothing on these code paths downloads)."""
    from got10k.experiments import ExperimentGOT10k

    trackers = _got10k_val(tmp_path, otb_sequences, otb_reference / "results", uav)
    bench = dataclasses.replace(get_benchmark("got10k-val"), sequences=None)
    ours = got10k_analysis.score(bench, list(trackers.values()), tmp_path)
    theirs_dir = tmp_path / "pkg"
    shutil.copytree(tmp_path / "res", theirs_dir / "GOT-10k")
    monkeypatch.chdir(tmp_path)  # it writes reports/ under the working directory
    exp = ExperimentGOT10k(str(tmp_path), subset="val", result_dir=str(theirs_dir),
                           report_dir=str(tmp_path / "reports"))
    theirs = exp.report(list(trackers))
    for name in trackers:
        t, o = theirs[name], ours[name]
        assert o["ao"] == pytest.approx(t["overall"]["ao"], abs=1e-12)
        assert o["sr50"] == pytest.approx(t["overall"]["sr"], abs=1e-12)
        assert o["sr75"] == pytest.approx(t["overall"]["succ_curve"][75], abs=1e-12)
        assert o["success_curve"] == pytest.approx(t["overall"]["succ_curve"], abs=1e-12)
        for seq, v in t["seq_wise"].items():
            assert o["per_sequence"][seq]["ao"] == pytest.approx(v["ao"], abs=1e-12)
            assert o["per_sequence"][seq]["sr50"] == pytest.approx(v["sr"], abs=1e-12)
    assert ours["Published3"]["per_sequence"]["Girl"]["repetitions"] == 3
    kind_of(bench).plot(bench, list(trackers.values()), tmp_path, tmp_path / "plots", Options())
    assert (tmp_path / "plots" / "success.png").stat().st_size > 0
    perf = json.loads((tmp_path / "plots" / "performance.json").read_text())
    assert perf["DaSiamRPN"]["ao"] == ours["DaSiamRPN"]["ao"]


def test_got10k_eval_writes_the_toolkit_layout_and_resumes(otb_sequences: Path,
                                                            otb_reference: Path, uav: Path,
                                                            tmp_path: Path) -> None:
    _got10k_val(tmp_path, otb_sequences, otb_reference / "results", uav)
    bench = dataclasses.replace(get_benchmark("got10k-val"), sequences=None)
    out = tmp_path / "out"
    scores = got10k_runner.evaluate(bench, "kcf", tmp_path, out, sequences=["Crossing"])
    folder = out / "results" / "got10k-val" / "kcf" / "Crossing"
    assert sorted(p.name for p in folder.iterdir()) == ["Crossing_001.txt", "Crossing_time.txt"]
    boxes = read_boxes(folder / "Crossing_001.txt")
    gt = read_boxes(tmp_path / "val" / "Crossing" / "groundtruth.txt")
    assert boxes.shape == gt.shape and np.abs(boxes[0] - gt[0]).max() <= 5e-4
    assert np.loadtxt(folder / "Crossing_time.txt").shape == (len(gt),)
    again = got10k_analysis.score(dataclasses.replace(bench, sequences=("Crossing",)),
                                  [folder.parent], tmp_path)
    assert scores == again and 0 < scores["kcf"]["ao"] < 1
    stamp = (folder / "Crossing_001.txt").stat().st_mtime_ns
    assert got10k_runner.evaluate(bench, "kcf", tmp_path, out, sequences=["Crossing"]) == scores
    assert (folder / "Crossing_001.txt").stat().st_mtime_ns == stamp  # resumed, not redone


def test_got10k_test_submission_zip(tmp_path: Path) -> None:
    bench = get_benchmark("got10k-test")
    test = tmp_path / "test"
    res = tmp_path / "MyTracker"
    names = bench.sequences  # the server scores the whole split: a root with fewer is refused
    for name in names:
        (test / name).mkdir(parents=True)
        (test / name / "groundtruth.txt").write_text("10,20,30,40\n")
        (test / name / "meta_info.ini").write_text("[METAINFO]\nresolution: (640, 480)\n")
        (res / name).mkdir(parents=True)
        (res / name / f"{name}_001.txt").write_text("10,20,30,40\n11,21,30,40\n")
        (res / name / f"{name}_time.txt").write_text("0.01\n0.01\n")
    (test / "list.txt").write_text("\n".join(names))
    out = CliRunner().invoke(cli, ["submit", "got10k-test", str(res), "--root", str(test),
                                   "--out", str(tmp_path / "sub.zip")])
    assert out.exit_code == 0, out.output
    with zipfile.ZipFile(tmp_path / "sub.zip") as z:
        assert sorted(z.namelist()) == sorted(f"{n}/{n}_{s}.txt" for n in names
                                              for s in ("001", "time"))
    shutil.rmtree(res / names[1])
    out = CliRunner().invoke(cli, ["submit", "got10k-test", str(res), "--root", str(test),
                                   "--out", str(tmp_path / "sub2.zip")])
    assert out.exit_code != 0 and "server needs all" in str(out.exception)
    (test / "list.txt").write_text("\n".join(names[1:]))
    out = CliRunner().invoke(cli, ["submit", "got10k-test", str(res), "--root", str(test),
                                   "--out", str(tmp_path / "sub3.zip")])
    assert "split lacks 1 of 180 sequences" in str(out.exception)
    assert not (tmp_path / "sub3.zip").exists()


def test_trackingnet_scores_locally_and_packs_a_submission(otb_reference: Path,
                                                           tmp_path: Path) -> None:
    chunk = tmp_path / "TRAIN_0"
    (chunk / "anno").mkdir(parents=True)
    res = otb_reference / "results" / "KCF"
    for name in OTB_SEQS:
        shutil.copy(otb_reference / "anno" / f"{name}.txt", chunk / "anno" / f"{name}.txt")
    bench = get_benchmark("trackingnet")
    ours = score(bench, [res], chunk, resamples=0)["KCF"]
    otb = score(dataclasses.replace(get_benchmark("otb2015"), sequences=OTB_SEQS), [res],
                otb_reference, "pysot", resamples=0)["KCF"]
    assert ours["convention"] == "pysot" and ours["n_sequences"] == 3
    for key in ("auc", "dp20", "norm_prec"):
        assert ours[key] == pytest.approx(otb[key], abs=1e-12)  # same files, other order
    out = CliRunner().invoke(cli, ["submit", "trackingnet", str(res), "--root", str(chunk),
                                   "--out", str(tmp_path / "tn.zip")])
    assert out.exit_code == 0, out.output
    with zipfile.ZipFile(tmp_path / "tn.zip") as z:
        assert sorted(z.namelist()) == sorted(f"{n}.txt" for n in OTB_SEQS)
        rows = np.array([[float(v) for v in line.split(",")]
                         for line in z.read("Girl.txt").decode().splitlines()])
    np.testing.assert_array_equal(rows, read_boxes(res / "Girl.txt"))


def test_otb_file_one_row_short_is_scored_on_its_frames(otb_reference: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture) -> None:
    """The MATLAB toolkit scores a short published file (MDNet's Board) against the ground
    truth cut to it: warned with file and line, never refused; --strict refuses."""
    res = tmp_path / "KCF"
    res.mkdir()
    rows = (otb_reference / "results" / "KCF" / "Crossing.txt").read_text().splitlines()
    (res / "Crossing.txt").write_text("\n".join(rows[:-1]) + "\n")
    bench = dataclasses.replace(get_benchmark("otb2015"), sequences=("Crossing",))
    got = score(bench, [res], otb_reference, resamples=0)["KCF"]
    assert re.search(r"note: .*Crossing.txt:119: only 119 boxes.*ground truth cut",
                     capsys.readouterr().err)
    seq = load_otb(bench, otb_reference)[0][0]
    cut = dataclasses.replace(seq, groundtruth=seq.groundtruth[:119], valid=seq.valid[:119])
    boxes = read_boxes(res / "Crossing.txt") - [1, 1, 0, 0]
    want = score_results([cut], {"KCF": {"Crossing": boxes}}, resamples=0)["KCF"]
    assert got["per_sequence"] == want["per_sequence"] and got["auc"] == want["auc"]
    with pytest.raises(InputError, match=r"Crossing.txt:119: only 119"):
        score(bench, [res], otb_reference, resamples=0, strict=True)


def test_benchmarks_lists_metric_and_source() -> None:
    out = CliRunner().invoke(cli, ["benchmarks", "--json"])
    assert out.exit_code == 0, out.output
    listed = json.loads(out.output)
    assert set(listed) == set(all_benchmarks())
    for name in ("lasot", "uav123", "uav20l", "dtb70", "tc128", "nfs30", "got10k-val",
                 "got10k-test", "trackingnet"):
        assert listed[name]["metric"] and listed[name]["source"], name
    assert listed["lasot"]["sequences"] == 280 and listed["dtb70"]["sequences"] == 70


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(st.one_of(st.integers(-999, 99999), st.integers(-2**62, 2**62)),
                              min_size=4, max_size=4), min_size=1, max_size=20),
       sep=st.sampled_from([",", "\t", " ", ", ", ";"]), eol=st.sampled_from(["\n", "\r\n"]),
       final_eol=st.booleans(), stray=st.sampled_from(["", "-", " -", "--", "1-"]))
def test_integer_box_files_read_exactly(tmp_path: Path, rows: list[list[int]], sep: str,
                                        eol: str, final_eol: bool, stray: str) -> None:
    """The integer fast path (LaSOT and most published files) gives what loadtxt gives, and a
    stray sign is the clear error naming the file."""
    f = tmp_path / "ints.txt"
    text = eol.join(sep.join(map(str, r)) for r in rows)
    f.write_text(text + stray + (eol if final_eol else ""), newline="")
    if stray:
        with pytest.raises(InputError) as e:
            read_boxes(f)
        assert e.value.path == f
    else:
        np.testing.assert_array_equal(read_boxes(f), np.array(rows, dtype=np.float64))


def test_trackingnet_test_chunk_runs_and_packs(otb_sequences: Path, otb_reference: Path,
                                               tmp_path: Path) -> None:
    """TEST gives only the first box: eval runs every frame, scores nothing, submit packs it."""
    chunk = tmp_path / "TEST"
    (chunk / "anno").mkdir(parents=True)
    (chunk / "frames" / "Crossing").mkdir(parents=True)
    first = (otb_reference / "anno" / "Crossing.txt").read_text().splitlines()[0]
    (chunk / "anno" / "Crossing.txt").write_text(first + "\n")
    images = sorted((otb_sequences / "Crossing" / "img").glob("*.jpg"))
    for k, img in enumerate(images):
        (chunk / "frames" / "Crossing" / f"{k}.jpg").symlink_to(img)
    out = CliRunner().invoke(cli, ["eval", "trackingnet", "kcf", "--root", str(chunk), "--out",
                                   str(tmp_path / "runs"), "--json"])
    assert out.exit_code == 0, out.output
    result = tmp_path / "runs" / "results" / "trackingnet" / "kcf"
    assert read_boxes(result / "Crossing.txt").shape == (len(images), 4)
    out = CliRunner().invoke(cli, ["submit", "trackingnet", str(result), "--root", str(chunk),
                                   "--out", str(tmp_path / "tn.zip")])
    assert out.exit_code == 0, out.output
    with zipfile.ZipFile(tmp_path / "tn.zip") as z:
        assert z.namelist() == ["Crossing.txt"]
        assert len(z.read("Crossing.txt").decode().splitlines()) == len(images)
