"""Regenerate committed reports into a temporary folder and diff them against the committed ones.

    python scripts/check_reports.py lasot-published ablation [--keep-dir DIR]

Each ``reports/<NAME>/report.json`` and ``report.md`` must come back identical from the
committed results alone (``reports/runs/`` and the checkpoints in ``trackers/weights/``): the
report is rebuilt, with the command line it was committed with, from an empty runs folder, so
nothing that is not committed can stand in. Exit status 1 and a unified diff per differing
file; figures are rebuilt too but not compared (their bytes carry matplotlib metadata).
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import sys
import tempfile
from pathlib import Path

from pul_bench.paths import REPO_ROOT, data_root
from pul_bench.reports.build import run_report
from pul_bench.reports.recipe import find_recipe, load_recipe


def regenerate(name: str, into: Path) -> Path:
    """Rebuild report ``name`` under ``into`` as ``pulbench report NAME --out
    reports/NAME`` did when it was committed (run from ``into``); return its folder."""
    committed = json.loads((REPO_ROOT / "reports" / name / "report.json").read_text())
    recipe = load_recipe(find_recipe(name))
    cwd = Path.cwd()
    os.chdir(into)
    try:
        out = Path("reports") / name
        run_report(recipe, data_root(), out, Path(committed["runs"]), 1, committed["command"],
                   REPO_ROOT / "reports" / "runs")
    finally:
        os.chdir(cwd)
    return into / "reports" / name


def differences(name: str, folder: Path) -> list[str]:
    """Unified diffs of ``report.json`` and ``report.md`` against the committed ones."""
    out = []
    for f in ("report.json", "report.md"):
        old = (REPO_ROOT / "reports" / name / f).read_text().splitlines(keepends=True)
        new = (folder / f).read_text().splitlines(keepends=True)
        out += difflib.unified_diff(old, new, f"committed/{f}", f"regenerated/{f}")
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("names", nargs="+", help="reports to regenerate (reports/<NAME>/)")
    p.add_argument("--keep-dir", type=Path, help="regenerate here instead of a temporary folder")
    args = p.parse_args()
    failed = 0
    for name in args.names:
        with tempfile.TemporaryDirectory(prefix="pulbench-check-") as tmp:
            into = args.keep_dir.resolve() if args.keep_dir else Path(tmp)
            into.mkdir(parents=True, exist_ok=True)
            diff = differences(name, regenerate(name, into))
        print(f"{name}: {'identical' if not diff else 'DIFFERS'}")
        sys.stdout.writelines(diff)
        failed += bool(diff)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
