"""Benchmark: score all 9 shared OTB2015 result sets on 100 sequences (goal: well under 2 s).

Each repeat is a full ``score()`` call: annotations, 900 result files, curves, per-sequence
and per-attribute scores. Reports the median wall time and the median CPU time of this
process (on a shared, loaded machine the CPU time is what the work itself costs).

    python scripts/bench_scoring.py [--repeats 5] [--convention matlab] [--root DIR]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from pul_bench.analysis.otb import CONVENTIONS, score
from pul_bench.benchmarks import get_benchmark
from pul_bench.paths import data_root

GOAL_S = 2.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--convention", choices=CONVENTIONS, default="matlab")
    ap.add_argument("--root", type=Path, help="OTB annotations (default: the shared copy)")
    args = ap.parse_args()

    bench = get_benchmark("otb2015")
    root = args.root or bench.default_root(annotations_only=True)
    dirs = sorted(p for p in (data_root() / "reference" / "otb" / "results").iterdir()
                  if p.is_dir())
    wall, cpu = [], []
    for _ in range(args.repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        scores = score(bench, dirs, root, args.convention)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    n_seq = {s["n_sequences"] for s in scores.values()}
    med = statistics.median(wall)
    print(f"scored {len(scores)} trackers x {'/'.join(map(str, n_seq))} sequences "
          f"({args.convention} convention), median of {args.repeats} repeats")
    print(f"  wall {med:.3f} s (fastest {min(wall):.3f} s), CPU {statistics.median(cpu):.3f} s"
          f"  (goal < {GOAL_S:.0f} s wall: {'met' if med < GOAL_S else 'NOT met'})")


if __name__ == "__main__":
    main()
