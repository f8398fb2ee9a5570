"""scripts/score_snapshot.py, the behaviour-unchanged check: it covers every shared result set
and its comparison misses no changed bit."""

from __future__ import annotations

import sys
from pathlib import Path

from pul_bench.paths import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "scripts"))
import score_snapshot  # noqa: E402


def test_comparison_lists_every_changed_value() -> None:
    old = {"run": {"A": {"auc": 0.6667854846267174, "auc_ci": [0.63, 0.70], "n": 100,
                         "curve": [1.0, 0.5]}}}
    assert score_snapshot.differences(old, old) == []
    new = {"run": {"A": {"auc": 0.6667854846267175, "auc_ci": [0.63, 0.70], "n": 100.0,
                         "curve": [1.0]}, "B": {}}}
    lines = score_snapshot.differences(old, new)
    assert lines == ["/run/B: only in the new snapshot",
                     "/run/A/auc: 0.6667854846267174 before, 0.6667854846267175 now",
                     "/run/A/n: 100 before, 100.0 now",
                     "/run/A/curve: 2 items before, 1 now"]


def test_runs_cover_the_shared_otb_vot_and_lasot_results(data_root: Path) -> None:
    runs = score_snapshot.runs(data_root)
    otb = sorted(p.name for p in (data_root / "reference" / "otb" / "results").iterdir()
                 if p.is_dir())
    assert runs["otb2015-ope-matlab"][-2:] == ["--convention", "matlab"]
    assert [Path(a).name for a in runs["otb2015-ope-matlab"][1:-2]] == otb
    assert {"otb2015-ope-pysot", "otb2015-ope-got10k", "vot2018-default",
            "lasot-default"} <= set(runs)
    for bench in ("vot2018", "lasot"):
        for d in (data_root / "reference" / bench / "results").iterdir():
            assert runs[f"{bench}-default-{d.name}"] == [bench, str(d)]
