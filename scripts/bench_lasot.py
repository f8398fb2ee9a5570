"""Benchmark: score 8 trackers x 280 LaSOT test sequences (goal: under 10 s on two cores).

The two shared LaSOT result sets (ATOM, DiMP50) stand for 8 trackers through symlinks in a
temporary folder (4 names each), so every repeat reads 280 annotation + absence files and 2,240
result files (about 6.2 million rows) and computes curves, per-sequence and per-attribute
scores. Each repeat is one full ``score()`` call; the median wall time and the median CPU time
of this process are reported (on a shared, loaded machine the CPU time is what the work costs),
with the load average, and with and without the default bootstrap intervals.

    python scripts/bench_lasot.py [--repeats 3] [--root DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from pul_bench.analysis import stats
from pul_bench.analysis.otb import score
from pul_bench.benchmarks import get_benchmark
from pul_bench.paths import data_root

GOAL_S = 10.0
TRACKERS = 8


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--root", type=Path, help="LaSOT annotations (default: the shared copy)")
    args = ap.parse_args()
    bench = get_benchmark("lasot", data_root(required=False))
    root = args.root or bench.default_root(annotations_only=True)
    published = sorted(p for p in (root / "results").iterdir() if p.is_dir())
    with tempfile.TemporaryDirectory() as tmp:
        dirs = []
        for i in range(TRACKERS):
            d = Path(tmp) / f"{published[i % len(published)].name}-{i}"
            d.symlink_to(published[i % len(published)], target_is_directory=True)
            dirs.append(d)
        for resamples in (0, stats.DEFAULT_RESAMPLES):
            wall, cpu = [], []
            for _ in range(args.repeats):
                w0, c0 = time.perf_counter(), time.process_time()
                scores = score(bench, dirs, root, resamples=resamples)
                wall.append(time.perf_counter() - w0)
                cpu.append(time.process_time() - c0)
            assert all(s["n_sequences"] == 280 for s in scores.values())
            w, c = statistics.median(wall), statistics.median(cpu)
            print(f"{TRACKERS} trackers x 280 sequences, bootstrap {resamples}: median wall "
                  f"{w:.2f} s, CPU {c:.2f} s over {args.repeats} repeats "
                  f"(load average {os.getloadavg()[0]:.1f}); goal < {GOAL_S:.0f} s: "
                  f"{'met' if w < GOAL_S else 'NOT met'}")


if __name__ == "__main__":
    main()
