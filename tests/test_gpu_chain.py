"""scripts/gpu_chain.py on the CPU: the copy stays within its budget, and a dry run of the whole
BD -> mining -> TC -> tracking chain reports every figure (the GPU run uses the same code)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

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


@pytest.mark.slow
def test_cpu_dry_run_reports_every_stage(data_root: Path, tmp_path: Path) -> None:
    """Copy here, then run the chain as on the GPU machine: no shared folder and an OpenCV
    without the contrib modules, so the stored proposals are all BD gets."""
    env = {**os.environ, "PUL_TRAIN_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}
    script = str(REPO_ROOT / "scripts" / "gpu_chain.py")
    data = tmp_path / "data"
    copy = subprocess.run([sys.executable, script, "--copy-only", "--source", str(data_root),
                           "--data", str(data), "--budget-mib", "3"], env=env, timeout=600,
                          capture_output=True, text=True)
    assert copy.returncode == 0, copy.stderr[-2000:]
    stored = sorted(p.stem for p in (data / "proposals").glob("*.npz"))
    assert stored == sorted(p.name for p in (data / "unlabeled").iterdir()) and len(stored) >= 2

    out = tmp_path / "result.json"
    env["PUL_TRAIN_CACHE"] = str(tmp_path / "device-cache")
    no_contrib = ("import cv2, runpy, sys; del cv2.ximgproc; sys.argv = sys.argv[1:]; "
                  "runpy.run_path(sys.argv[0], run_name='__main__')")
    run = subprocess.run([sys.executable, "-c", no_contrib, script, "--device", "cpu",
                          "--dry-run", "--source", str(tmp_path / "absent"), "--data", str(data),
                          "--out", str(tmp_path / "run"), "--json", str(out)],
                         env=env, timeout=900, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:] + (out.read_text() if out.exists() else "")
    r = json.loads(out.read_text())
    assert "error" not in r
    assert r["device"] == "cpu" and r["clips"] == 2
    assert r["proposals_seeded"] == r["frames"]
    assert r["bd"]["images_per_s"] > 0 and math.isfinite(r["bd"]["final_loss"])
    assert r["mining"]["pairs"] >= 2 and r["mining"]["pairs_per_s"] > 0
    assert r["tc"]["pairs_per_s"] > 0 and math.isfinite(r["tc"]["final_loss"])
    assert r["tracking"]["frames"] == 7 and r["tracking"]["fps"] > 0
    assert all(r[k]["peak_mib"] > 0 for k in ("bd", "mining", "tc", "tracking"))
    assert (tmp_path / "run" / "tc" / "model.pt").is_file()


def test_without_contrib_edgeboxes_is_one_clear_error(data_root: Path) -> None:
    import cv2

    from pul_bench.errors import PulBenchError
    from pul_train.proposals import ProposalSettings, edge_boxes

    image = np.zeros((64, 64, 3), np.uint8)
    saved = cv2.ximgproc
    del cv2.ximgproc
    try:
        with pytest.raises(PulBenchError, match="contrib"):
            edge_boxes(image, ProposalSettings())
    finally:
        cv2.ximgproc = saved


def test_default_budget_leaves_room_for_the_tracked_files() -> None:
    budget = gpu_chain.default_budget_mib(margin_mib=0.0)
    assert 0 < budget < gpu_chain.CARRY_LIMIT_MIB
