"""Seeds as an axis: `--seeds` trains one run per seed, each TC stage reads its own seed's earlier
stages, and the `<tracker>-s<k>` spec families point at exactly what `--seeds` writes."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

import pul_train.cli as cli
from pul_bench.checkpoint import load_checkpoint
from pul_bench.errors import PulBenchError
from pul_bench.paths import REPO_ROOT
from pul_bench.registry import load_specs
from pul_train.recipe import load_recipe
from pul_train.tc import TCTask

CHAIN = ("alexpul-bd", "alexpul-bd-ahm", "alexpul-tcl10", "alexpul-tcl20", "alexpul-tcl10-bce",
         "alexpul-tcl20-bce")


def test_parse_seeds() -> None:
    assert cli.parse_seeds("1,2,3") == (1, 2, 3)
    assert cli.parse_seeds(None) == ()
    for bad in ("1,1", "a", "-1"):
        with pytest.raises(PulBenchError, match="--seeds"):
            cli.parse_seeds(bad)


def _tc(name: str, seed: int) -> TCTask:
    base = load_recipe(name)
    recipe = load_recipe(name, cli.seed_overrides(base, seed))
    assert recipe.seed == seed
    return TCTask(recipe, REPO_ROOT, torch.device("cpu"), False)


def test_each_seed_reads_its_own_chain() -> None:
    def exported(stage: str, seed: int) -> Path:  # where --seeds writes a stage's weights
        return REPO_ROOT / cli.SEED_WEIGHTS / f"{stage}-s{seed}.pt"

    assert cli.seed_overrides(load_recipe("alexpul-tcl10"), 1) == ["seed=1"]  # the recipe
    tcl10, tcl20 = _tc("alexpul-tcl10", 2), _tc("alexpul-tcl20", 2)
    assert REPO_ROOT / tcl10.cfg.init == exported("alexpul-bd-ahm", 2)
    assert REPO_ROOT / tcl20.cfg.init == exported("alexpul-tcl10", 2)
    # TCL-20 trains on the 10-frame pairs that seed 2's TCL-10 mined, not seed 1's
    mined10 = [folder for folder, _ in tcl10.mining_folders()]
    assert [REPO_ROOT / p for p in tcl20.cfg.extra_pairs] == mined10
    assert mined10[0].name == "alexpul-bd-ahm-s2-L10-s2"
    # BCE variants train on the same mined pairs as their NR counterparts
    assert _tc("alexpul-tcl10-bce", 3).mining_folders() == _tc("alexpul-tcl10", 3).mining_folders()
    assert _tc("alexpul-tcl20-bce", 3).mining_folders() == _tc("alexpul-tcl20", 3).mining_folders()


def test_seed_spec_families_point_at_the_seed_runs() -> None:
    names = {}
    for stage in (*CHAIN, "alexpul", "siamfc"):
        for spec in load_specs(REPO_ROOT / "trackers" / f"{stage}-seeds.yaml"):
            names[spec.name] = spec
            seed = int(spec.name.rsplit("-s", 1)[1])
            recipe = spec.train.split("--config ")[1].split()[0]
            assert spec.checkpoint == REPO_ROOT / cli.SEED_WEIGHTS / f"{recipe}-s{seed}.pt"
            assert f"--seeds {seed}" in spec.train and load_recipe(recipe).seed == 1
    assert sorted(names) == sorted(f"{s}-s{k}" for s in (*CHAIN, "alexpul", "siamfc")
                                   for k in (2, 3))


TINY_NET = '''
from torch import nn

def build():
    return nn.Sequential(nn.Conv2d(3, 8, 5, 2), nn.ReLU(), nn.Conv2d(8, 16, 3))
'''


def test_seeds_option_trains_one_run_per_seed(data_root: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "clips").mkdir()
    for clip in ("realshort", "carphone"):
        (tmp_path / "clips" / clip).symlink_to(data_root / "unlabeled" / clip)
    (tmp_path / "tiny_net.py").write_text(TINY_NET)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PUL_TRAIN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(cli, "SEED_WEIGHTS", tmp_path / "weights")
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(f"""task: bd
backbone: tiny_net:build
epochs: 1
seed: 3
data: {{root: {tmp_path / 'clips'}, kind: folders, stride: 30}}
runtime: {{device: cpu, workers: 1, threads: 1}}
bd: {{patches_per_video: 4, batch_size: 4, patch_size: 32, ahm_start_epoch: null}}
""")
    out = tmp_path / "run"
    result = CliRunner().invoke(cli.group, ["bd", "--config", str(recipe), "--out", str(out),
                                            "--seeds", "3,4", "--quiet"])
    assert result.exit_code == 0, result.output
    own, _ = load_checkpoint(tmp_path / "run-s3" / "model.pt")
    other, meta = load_checkpoint(tmp_path / "run-s4" / "model.pt")
    assert meta["seed"] == 4
    assert not torch.equal(own["0.weight"], other["0.weight"])
    exported, _ = load_checkpoint(tmp_path / "weights" / "tiny-s4.pt")  # fp16 copy of seed 4
    torch.testing.assert_close(exported["0.weight"].float(), other["0.weight"], rtol=1e-3,
                               atol=1e-3)
    assert not (tmp_path / "weights" / "tiny-s3.pt").exists()  # the recipe's seed: --export


def test_fig6_points_and_seeds_export_where_their_specs_look(monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    """Each Fig. 6 spec's `train` line, run as `pul_train`, exports exactly that spec's
    checkpoint: seeds 2 and 3 of every noise/loss point get their own file (one recipe, many
    --set values: not all runs/weights/siamfc-s<k>.pt), each in its own run folder, trained as
    long as the clean-label siamfc."""
    calls = []
    monkeypatch.setattr(cli, "_train_recipe", lambda config, task, out, resume, data_root,
                        export, quiet, overrides=(): calls.append((out, export, overrides)))
    monkeypatch.chdir(REPO_ROOT)
    specs = [*load_specs(REPO_ROOT / "trackers" / "siamfc-noise.yaml"),
             *load_specs(REPO_ROOT / "trackers" / "siamfc-noise-seeds.yaml")]
    assert len(specs) == 36
    for spec in specs:
        result = CliRunner().invoke(cli.group, shlex.split(spec.train)[1:])
        assert result.exit_code == 0, result.output
        out, export, overrides = calls[-1]
        assert Path(export).resolve() == spec.checkpoint
        seed = int(spec.name.rsplit("-s", 1)[1]) if spec.name.endswith(("-s2", "-s3")) else 1
        assert out.name.endswith(f"-s{seed}") == (seed != 1)
        recipe = load_recipe("siamfc", overrides)
        assert recipe.seed == seed and recipe.epochs == load_recipe("siamfc").epochs
    assert len({export for _, export, _ in calls}) == len({out for out, _, _ in calls}) == 36
