"""scripts/train_chain.sh: stage order, and resuming after a kill without retraining what finished.

A stand-in ``pul_train`` on PATH records its arguments and writes what the real one leaves behind
(``runs/train/<recipe>-s<k>/model.pt``, then the exported checkpoint), so the driver's logic is
tested without training; a marker file makes it die in a chosen stage after its first epoch.
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from pul_train.recipe import load_recipe

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "train_chain.sh"
FAKE = r"""#!/usr/bin/env bash
set -e
echo "$*" >> calls.log
config=$3
seed=$(sed -n 's/.*--seeds \([0-9]*\).*/\1/p' <<< "$*")
out=runs/train/$config-s$seed
mkdir -p "$out/checkpoints"
if [[ -f die-in && $(cat die-in) == "$config" ]]; then
    touch "$out/checkpoints/last.pt"; rm die-in; exit 137
fi
touch -d '-5 seconds' "$out/model.pt"
if [[ $seed == 1 ]]; then w=trackers/weights/$config.pt; else w=runs/weights/$config-s$seed.pt; fi
mkdir -p "$(dirname "$w")"; touch "$w"
"""


def _chain(tmp: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{tmp / 'bin'}:{os.environ['PATH']}"}
    return subprocess.run(["bash", str(SCRIPT), *args], cwd=tmp, env=env, capture_output=True,
                          text=True)


@pytest.fixture
def fake(tmp_path: Path) -> Path:
    (tmp_path / "bin").mkdir()
    exe = tmp_path / "bin" / "pul_train"
    exe.write_text(FAKE)
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    return tmp_path


def _calls(tmp: Path) -> list[list[str]]:
    return [line.split() for line in (tmp / "calls.log").read_text().splitlines()]


@pytest.mark.slow
def test_respul_chain_order_and_resume_after_a_kill(fake: Path) -> None:
    (fake / "die-in").write_text("respul-tcl10")
    killed = _chain(fake, "respul", "2")
    assert killed.returncode == 137
    first = _calls(fake)
    assert [c[2] for c in first] == ["respul-bd", "respul-bd-ahm", "respul-tcl10"]
    assert [c[0] for c in first] == ["bd", "bd", "tc"]
    assert all("--resume" not in c and c[c.index("--seeds") + 1] == "2" for c in first)

    done = _chain(fake, "respul", "2")
    assert done.returncode == 0, done.stderr
    rerun = _calls(fake)[len(first):]
    # finished stages are skipped, the killed one resumes, the rest start fresh
    assert [c[2] for c in rerun] == ["respul-tcl10", "respul-tcl20", "respul-tcl20-bce", "siamdw"]
    assert ["--resume" in c for c in rerun] == [True, False, False, False]
    assert "respul-bd seed 2: done (runs/weights/respul-bd-s2.pt)" in done.stdout
    assert sorted(p.name for p in (fake / "runs" / "weights").iterdir()) == sorted(
        f"{r}-s2.pt" for r in ("respul-bd", "respul-bd-ahm", "respul-tcl10", "respul-tcl20",
                               "respul-tcl20-bce", "siamdw"))

    again = _chain(fake, "respul", "2")
    assert again.returncode == 0 and len(_calls(fake)) == len(first) + len(rerun)


def test_every_chain_stage_is_a_shipped_recipe_of_its_task(fake: Path) -> None:
    for family in ("alexpul", "respul"):
        assert _chain(fake, family, "1").returncode == 0
    calls = _calls(fake)
    assert len(calls) == 13
    for task, _, recipe, *_ in calls:
        assert load_recipe(recipe).task == task
    assert (fake / "trackers" / "weights" / "alexpul-tcl20-bce.pt").is_file()
    bad = _chain(fake, "vgg")
    assert bad.returncode == 2 and "unknown chain 'vgg'" in bad.stderr
