"""The training loop on a tiny backbone and three real clips: kill-and-resume, DDP, recipes."""

from __future__ import annotations

import dataclasses
import inspect
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from pul_bench.checkpoint import load_checkpoint
from pul_bench.errors import InputError, PulBenchError
from pul_train.recipe import TASKS, load_recipe, task_class
from pul_train.trainer import Task, train

TINY_NET = '''
from torch import nn

def build():
    return nn.Sequential(nn.Conv2d(3, 8, 5, 2), nn.BatchNorm2d(8), nn.ReLU(),
                         nn.Conv2d(8, 16, 3))
'''


@pytest.fixture(scope="module")
def shared(data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Symlinks to three short real clips, the tiny backbone module, one proposal cache."""
    base = tmp_path_factory.mktemp("trainer")
    root = base / "clips"
    root.mkdir()
    for clip in ("tree", "realshort", "carphone"):
        (root / clip).symlink_to(data_root / "unlabeled" / clip)
    (base / "tiny_net.py").write_text(TINY_NET)
    return base


@pytest.fixture()
def setup(shared: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """A tiny recipe (18 patches, 3 mini-batches per epoch, AHM from epoch 3) in ``tmp_path``."""
    root = shared / "clips"
    monkeypatch.syspath_prepend(str(shared))
    monkeypatch.setenv("PUL_TRAIN_CACHE", str(shared / "cache"))
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(f"""task: bd
backbone: tiny_net:build
epochs: 6
seed: 3
data: {{root: {root}, kind: folders, stride: 20}}
runtime: {{device: cpu, workers: 1, threads: 1, snapshot_every: 2}}
bd: {{patches_per_video: 6, batch_size: 6, patch_size: 32, ahm_start_epoch: 2,
      ahm_expansion: 2, embed_batch: 8}}
""")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(shared), os.environ.get(
        "PYTHONPATH", "")]), "PUL_TRAIN_CACHE": str(shared / "cache"), "OMP_NUM_THREADS": "1"}
    return {"recipe": recipe, "env": env, "tmp": tmp_path}


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "pul_train.cli", "bd", *args, "--quiet"]


def _epochs_done(out: Path) -> int:
    try:
        return len(json.loads((out / "log.json").read_text())["epochs"])
    except (OSError, ValueError):
        return 0


@pytest.mark.slow
def test_kill_and_resume_matches_uninterrupted_run(setup: dict) -> None:
    tmp, env, recipe = setup["tmp"], setup["env"], str(setup["recipe"])
    subprocess.run(_cli("--config", recipe, "--out", str(tmp / "full")), env=env, check=True)

    killed = tmp / "killed"
    proc = subprocess.Popen(_cli("--config", recipe, "--out", str(killed)), env=env)
    deadline = time.time() + 120
    while _epochs_done(killed) < 2 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    state = torch.load(killed / "checkpoints" / "last.pt", weights_only=True)
    assert 2 <= state["epoch"] < 6, "the kill must land mid-run"
    assert not (killed / "model.pt").exists()

    with pytest.raises(PulBenchError, match="--resume"):  # never silently overwrite a run
        train(load_recipe(recipe), killed, progress=False)
    subprocess.run(_cli("--config", recipe, "--out", str(killed), "--resume"), env=env,
                   check=True)
    a, _ = load_checkpoint(tmp / "full" / "model.pt")
    b, meta = load_checkpoint(killed / "model.pt")
    assert meta["architecture"] == "tiny_net:build" and meta["stage"] == "bd+ahm"
    for k in a:
        assert torch.equal(a[k], b[k]), k
    full = json.loads((tmp / "full" / "log.json").read_text())["epochs"]
    resumed = json.loads((killed / "log.json").read_text())["epochs"]
    assert [r["loss"] for r in full] == [r["loss"] for r in resumed]
    assert [r["phase"] for r in full] == ["random"] * 2 + ["ahm"] * 4
    # snapshots every 2 epochs, in the tracker's checkpoint format, the last one the model
    for run in (tmp / "full", killed):
        snaps = sorted(p.name for p in (run / "snapshots").iterdir())
        assert snaps == ["epoch-002.pt", "epoch-004.pt", "epoch-006.pt"]
    last, last_meta = load_checkpoint(killed / "snapshots" / "epoch-006.pt")
    assert all(torch.equal(last[k], b[k]) for k in b) and last_meta["epochs"] == 6
    early, early_meta = load_checkpoint(tmp / "full" / "snapshots" / "epoch-002.pt")
    assert early_meta["epochs"] == 2 and not all(torch.equal(early[k], a[k]) for k in a)
    assert (killed / "loss.png").stat().st_size > 1000
    assert (killed / "log.csv").read_text().count("\n") == 7


@pytest.mark.slow
def test_ddp_two_cpu_processes(setup: dict) -> None:
    tmp, env = setup["tmp"], setup["env"]
    out = tmp / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
           "2", "-m", "pul_train.cli", "bd", "--config", str(setup["recipe"]), "--out",
           str(out), "--quiet"]
    subprocess.run(cmd, env=env, check=True, timeout=300)
    log = json.loads((out / "log.json").read_text())
    assert log["world_size"] == 2
    # 18 patches = 3 mini-batches per epoch, split 2 + 2 (one wrapped) over the two ranks
    assert [r["steps"] for r in log["epochs"]] == [4] * 6
    assert all(r["loss"] > 0 for r in log["epochs"])
    weights, _ = load_checkpoint(out / "model.pt")
    assert all(torch.isfinite(v).all() for v in weights.values())


def test_recipe_errors_name_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("task: bd\nbackbone: alexnet\nbd:\n  batch_size: 8\n  tempreature: 0.5\n")
    with pytest.raises(InputError, match=r"bad.yaml:5: unknown key 'tempreature'"):
        load_recipe(bad)
    bad.write_text("task: bd\nbackbone: alexnet\nepochs: ten\n")
    with pytest.raises(InputError, match=r"bad.yaml:3: recipe.epochs must be int"):
        load_recipe(bad)
    bad.write_text("task: bd\nbackbone: alexnet\noptimizer:\n  lr: -1\n")
    with pytest.raises(InputError, match=r"bad.yaml:4: .*must be >= 0"):
        load_recipe(bad)
    bad.write_text("task: tc2\nbackbone: alexnet\n")
    with pytest.raises(InputError, match=r"bad.yaml:1: recipe.task must be one of"):
        load_recipe(bad)


def test_shipped_recipes_load() -> None:
    cpu = load_recipe("alexpul-bd-ahm")
    assert (cpu.options.temperature, cpu.optimizer.weight_decay) == (0.5, 5e-4)
    assert load_recipe("alexpul-bd").options.ahm_start_epoch is None
    assert load_recipe("respul-bd-ahm-paper").optimizer.lr == 1e-5
    cpu_res = load_recipe("respul-bd-ahm")
    assert (cpu_res.backbone, cpu_res.options.ahm_start_epoch) == ("ciresnet22", 20)


def test_set_overrides_are_checked_like_the_file() -> None:
    r = load_recipe("siamfc", ["supervised.noise_px=20", "supervised.loss=nr", "epochs=5"])
    assert (r.options.noise_px, r.options.loss, r.epochs) == (20.0, "nr", 5)
    assert r.options.batch_size == load_recipe("siamfc").options.batch_size
    with pytest.raises(InputError, match=r"--set supervised.noise_px=abc: .*must be float"):
        load_recipe("siamfc", ["supervised.noise_px=abc"])
    with pytest.raises(InputError, match=r"--set supervised.los=nr: unknown key 'los'"):
        load_recipe("siamfc", ["supervised.los=nr"])
    with pytest.raises(PulBenchError, match="expected KEY=VALUE"):
        load_recipe("siamfc", ["epochs"])
    with pytest.raises(PulBenchError, match="epochs is not a section"):
        load_recipe("siamfc", ["epochs.x=1"])
    nested = load_recipe("siamfc", ["supervised.nr.form=mc", "supervised.nr.samples=4"])
    assert (nested.options.nr.form, nested.options.nr.samples) == ("mc", 4)
    assert nested.options.nr.guard == load_recipe("siamfc").options.nr.guard


def test_corrupt_checkpoint_is_an_input_error(setup: dict) -> None:
    out = setup["tmp"] / "corrupt"
    (out / "checkpoints").mkdir(parents=True)
    (out / "checkpoints" / "last.pt").write_bytes(b"garbage")
    with pytest.raises(InputError, match="last.pt"):
        train(load_recipe(setup["recipe"]), out, resume=True, progress=False)


def test_every_task_satisfies_the_trainer_protocol() -> None:
    """BD, TC and supervised define every Task method with the protocol's parameters, the
    constructor train() calls and a Config dataclass, so the loop drives each the same way."""
    methods = [m for m, v in vars(Task).items() if callable(v) and not m.startswith("_")]
    assert {"prepare", "build_model", "phase", "epoch_batches", "make_batch", "loss",
            "export"} <= set(methods)
    for name in TASKS:
        cls = task_class(name)
        assert dataclasses.is_dataclass(cls.Config), name
        for m in methods:
            want = inspect.signature(getattr(Task, m)).parameters.values()
            got = inspect.signature(getattr(cls, m)).parameters.values()
            assert [p.kind for p in got] == [p.kind for p in want], (name, m)
        assert list(inspect.signature(cls).parameters) == [
            "recipe", "data_root", "device", "progress"], name


def test_relative_data_root_is_under_the_folder_passed_down(tmp_path: Path) -> None:
    """The trainer reads no data folder from the environment: a relative ``data.root`` is under
    the ``data_root`` its caller (the CLI) passes, and without one it is refused."""
    from pul_train.trainer import resolve_root

    recipes = Path(__file__).parents[1] / "pul_train" / "recipes"
    recipe = load_recipe(recipes / "alexpul-bd-ahm.yaml")
    assert resolve_root(recipe, tmp_path) == tmp_path / "unlabeled"
    with pytest.raises(PulBenchError, match="data.root unlabeled is relative.*--data-root"):
        resolve_root(recipe, None)
