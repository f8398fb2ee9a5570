"""Evaluation split over many processes (``--shard K/N``, a Slurm job array's way) into one
results folder, and network trackers' ``--device`` / ``--precision``: shards together make
exactly what one process makes, the set-up record is one record, and precision is part of it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from test_provenance import VOT_SHORT, short_otb, short_vot

from pul_bench.benchmarks import get_benchmark
from pul_bench.cli import main
from pul_bench.errors import PulBenchError
from pul_bench.experiments import common, ope, supervised
from pul_bench.registry import get_spec

OTB = get_benchmark("otb")
#: short real sequences: 74, 120, 67 and 81 frames
SHORT = ("Football1", "Crossing", "dtb_SnowBoarding4", "dtb_MountainBike6")


@pytest.fixture
def four(otb_sequences: Path, tmp_path: Path) -> Path:
    """An OTB root of four short shared sequences (linked, not copied)."""
    root = tmp_path / "four"
    root.mkdir()
    for name in SHORT:
        if not (otb_sequences / name).is_dir():
            pytest.skip(f"shared sequence {name} is absent")
        (root / name).symlink_to(otb_sequences / name)
    return root


def _pulbench(*args: str) -> list[str]:
    return [sys.executable, "-m", "pul_bench.cli", *args]


def _boxes(result_dir: Path) -> dict[str, bytes]:
    """Every result file but the per-frame times (which are wall-clock measurements)."""
    return {p.name: p.read_bytes() for p in result_dir.iterdir()
            if p.is_file() and not p.name.startswith(".")}


@pytest.mark.slow
def test_shards_in_parallel_make_what_one_process_makes(four: Path, tmp_path: Path) -> None:
    shared, single = tmp_path / "shared", tmp_path / "single"
    procs = [subprocess.Popen(_pulbench("eval", "otb", "kcf", "--root", str(four), "--out",
                                        str(shared), "--shard", f"{k}/3", "--bootstrap", "0"),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for k in (1, 2, 3)]
    outputs = [p.communicate() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outputs
    # sorted names: Crossing, Football1, dtb_MountainBike6, dtb_SnowBoarding4 -> 2 + 1 + 1
    said = [err for _, err in outputs]
    assert "shard 1/3: 2 of 4 sequences" in said[0] and "shard 3/3: 1 of 4" in said[2]
    assert all(out == "" for out, _ in outputs)  # a shard prints no partial scores
    results = shared / "results" / "otb" / "kcf"
    assert not (shared / "reports").exists()

    main(["eval", "otb", "kcf", "--root", str(four), "--out", str(single), "--bootstrap", "0"])
    alone = single / "results" / "otb" / "kcf"
    merged = _boxes(results)
    assert sorted(merged) == sorted([f"{n}.txt" for n in SHORT] + ["run.json"])
    assert merged == _boxes(alone)  # byte for byte, the set-up record included
    assert json.loads(merged["run.json"])["tracker"] == "kcf"

    scores = {}
    for folder in (results, alone):
        run = subprocess.run(_pulbench("score", "otb", str(folder), "--root", str(four),
                                       "--json", "--bootstrap", "0"),
                             capture_output=True, text=True, check=True)
        scores[folder] = json.loads(run.stdout)["kcf"]
    assert scores[results] == scores[alone] and scores[results]["n_sequences"] == 4

    # the unsharded eval afterwards runs nothing and reports the whole benchmark
    stamps = {p: p.stat().st_mtime_ns for p in results.glob("*.txt")}
    main(["eval", "otb", "kcf", "--root", str(four), "--out", str(shared), "--bootstrap", "0"])
    assert {p: p.stat().st_mtime_ns for p in results.glob("*.txt")} == stamps
    perf = shared / "reports" / "otb" / "performance.json"
    assert json.loads(perf.read_text()) == json.loads(
        (single / "reports" / "otb" / "performance.json").read_text())


@pytest.mark.parametrize("n", [1, 2, 3, 5, 7])
def test_shards_cover_every_sequence_once(n: int) -> None:
    seqs = [SimpleNamespace(name=s) for s in ("b", "a", "e", "c", "d")]
    parts = [common.in_shard(seqs, (k, n)) for k in range(1, n + 1)]
    names = [s.name for part in parts for s in part]
    assert sorted(names) == ["a", "b", "c", "d", "e"]  # all, none twice; empty shards allowed
    assert [s.name for s in common.in_shard(list(reversed(seqs)), (2, 2))] == ["d", "b"]


@pytest.mark.parametrize(("env", "expected"), [
    ({"SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_COUNT": "3"},
     "shard 3/3: 1 of 4"),
    ({"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_COUNT": "4"},
     "shard 1/4: 1 of 4"),
])
def test_shard_auto_is_the_slurm_array_task(env: dict[str, str], expected: str, four: Path,
                                            tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    main(["eval", "otb", "identity", "--root", str(four), "--out", str(tmp_path / "o"),
          "--shard", "auto"])
    assert expected in capsys.readouterr().err


@pytest.mark.parametrize("value", ["0/3", "4/3", "2", "auto"])
def test_bad_shard_is_a_usage_error(value: str, four: Path, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture) -> None:
    monkeypatch.delenv("SLURM_ARRAY_TASK_ID", raising=False)
    with pytest.raises(SystemExit) as exit_:
        main(["eval", "otb", "identity", "--root", str(four), "--out", str(tmp_path / "o"),
              "--shard", value])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "--shard" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_a_set_up_racing_past_the_early_check_is_refused_under_the_lock(tmp_path: Path) -> None:
    """Two shards of different set-ups start at once: both pass the early check; the second
    to write the record finds the first's, now over results, and is refused."""
    spec = get_spec("kcf")
    result_dir = tmp_path / "results" / "otb" / "kcf"
    first = common.set_up(spec, None)
    other = {**first, "args": {**first["args"], "algorithm": "csrt"}}
    common.check_set_up(result_dir, first)
    common.check_set_up(result_dir, other)
    common.build_tracker(spec, None, "otb", result_dir, first)
    (result_dir / "Football1.txt").write_text("1,2,3,4\n")
    with pytest.raises(PulBenchError, match="args.algorithm kcf -> csrt"):
        common.build_tracker(spec, None, "otb", result_dir, other)
    assert json.loads((result_dir / "run.json").read_text()) == first


def test_device_is_recorded_but_precision_decides(tmp_path: Path) -> None:
    result_dir = tmp_path / "r"
    result_dir.mkdir()
    (result_dir / "Crossing.txt").write_text("1,2,3,4\n")
    made_by = common.set_up(get_spec("alexpul"), None)
    record = {**made_by, "args": {**made_by["args"], "device": "cuda", "precision": "fp16"}}
    (result_dir / "run.json").write_text(json.dumps(record))
    on_cpu = {**made_by, "args": {**made_by["args"], "device": "cpu", "precision": "fp16"}}
    common.check_set_up(result_dir, on_cpu)  # a CPU node may add to a GPU node's results
    with pytest.raises(PulBenchError, match="args.precision fp16 -> bf16"):
        common.check_set_up(result_dir, {**on_cpu, "args": {**on_cpu["args"],
                                                             "precision": "bf16"}})


def test_bf16_on_a_cpu_is_run_and_recorded(otb_sequences: Path, tmp_path: Path) -> None:
    root = short_otb(otb_sequences, tmp_path / "otb")
    out = tmp_path / "out"
    ope.evaluate(OTB, "alexpul", root, out, overrides={"precision": "bf16", "device": "cpu"},
                 resamples=0)
    record = json.loads((out / "results" / "otb" / "alexpul" / "run.json").read_text())
    assert record["args"]["precision"] == "bf16" and record["args"]["device"] == "cpu"
    # a sequence to add: the spec's "auto" resolves to fp32 on a CPU, another set-up
    (root / "Crossing").symlink_to(otb_sequences / "Crossing")
    with pytest.raises(PulBenchError, match="args.precision bf16 -> fp32"):
        ope.evaluate(OTB, "alexpul", root, out, overrides={"device": "cpu"})


def test_fp16_on_a_cpu_and_a_device_for_kcf_are_clear_errors(
        otb_sequences: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    import torch

    root = short_otb(otb_sequences, tmp_path / "otb")
    cases = [("alexpul", ["--device", "cpu", "--precision", "fp16"],
              "fp16 inference needs a CUDA device"),
             ("kcf", ["--device", "cuda"], "--device cuda is for network trackers")]
    if not torch.cuda.is_available():
        cases.append(("alexpul", ["--device", "cuda"], "device 'cuda': no CUDA device here"))
    for tracker, flags, says in cases:
        with pytest.raises(SystemExit) as exit_:
            main(["eval", "otb", tracker, "--root", str(root), "--out", str(tmp_path / "out"),
                  *flags])
        assert exit_.value.code == 2
        err = capsys.readouterr().err
        assert says in err and "Traceback" not in err and len(err.splitlines()) == 1
        assert not (tmp_path / "out" / "results" / "otb" / tracker / "run.json").exists()


@pytest.mark.slow
def test_tre_and_vot_shards_leave_nothing_for_the_whole_run(
        four: Path, vot_sequences: Path, tmp_path: Path) -> None:
    """Sharded by sequence, TRE runs and VOT repetitions are all made by the shards: the
    unsharded eval afterwards only scores (no file rewritten)."""
    out = tmp_path / "out"
    (four / "initOmit").mkdir()  # these sequences have no ranges TRE must not start in
    vot_root = short_vot(vot_sequences, tmp_path / "vot", n=20, names=("ball1", "bag"))
    for runner, bench, root, kw in [(ope, OTB, four, {"protocol": "tre"}),
                                    (supervised, VOT_SHORT, vot_root, {})]:
        for k in (1, 2):
            assert runner.evaluate(bench, "kcf", root, out, shard=(k, 2), **kw) == {}
        folder = out / "results" / bench.name / "kcf"
        before = {p: p.stat().st_mtime_ns for p in folder.rglob("*.txt")}
        scores = runner.evaluate(bench, "kcf", root, out, resamples=0, **kw)["kcf"]
        assert {p: p.stat().st_mtime_ns for p in folder.rglob("*.txt")} == before
        assert len(scores["per_sequence"]) == (4 if bench is OTB else 2)
