"""scripts/gpu_chain.py on the CPU: the copy stays within its budget, and a dry run of the whole
BD -> mining -> TC -> tracking chain reports every figure (the GPU run uses the same code)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

from pul_bench.paths import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "scripts"))
import gpu_chain  # noqa: E402


def _size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def test_copy_takes_the_smallest_clips_within_the_budget(data_root: Path, tmp_path: Path) -> None:
    clips = gpu_chain.copy_data(data_root, tmp_path, budget_mib=6.0, clips=None)
    assert 2 <= len(clips) < 38
    assert _size(tmp_path) <= 6 * 2**20
    copied = {p.name: _size(p) for p in (tmp_path / "unlabeled").iterdir()}
    assert sorted(copied) == sorted(clips)
    left_out = [_size(d) for d in (data_root / "unlabeled").iterdir()
                if d.is_dir() and d.name not in copied]
    assert max(copied.values()) <= min(left_out)  # the smallest ones
    assert (tmp_path / "otb" / gpu_chain.TRACK_SEQUENCE / "groundtruth_rect.txt").is_file()


def test_cpu_dry_run_reports_every_stage(data_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    env = {**os.environ, "PUL_TRAIN_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}
    run = subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / "gpu_chain.py"),
                          "--device", "cpu", "--dry-run", "--source", str(data_root), "--data",
                          str(tmp_path / "data"), "--out", str(tmp_path / "run"), "--json",
                          str(out)], env=env, timeout=900, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    r = json.loads(out.read_text())
    assert r["device"] == "cpu" and r["clips"] == 2
    assert r["bd"]["images_per_s"] > 0 and math.isfinite(r["bd"]["final_loss"])
    assert r["mining"]["pairs"] >= 2 and r["mining"]["pairs_per_s"] > 0
    assert r["tc"]["pairs_per_s"] > 0 and math.isfinite(r["tc"]["final_loss"])
    assert r["tracking"]["frames"] == 7 and r["tracking"]["fps"] > 0
    assert all(r[k]["peak_mib"] > 0 for k in ("bd", "mining", "tc", "tracking"))
    assert (tmp_path / "run" / "tc" / "model.pt").is_file()
