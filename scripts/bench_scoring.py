"""Benchmark: score all 9 shared OTB2015 result sets on 100 sequences (goal: well under 2 s).

Each repeat is a full ``score()`` call: annotations, 900 result files, curves, per-sequence
and per-attribute scores. Reports the median wall time and the median CPU time of this
process (on a shared, loaded machine the CPU time is what the work itself costs).

``--ci`` measures what intervals and comparisons cost instead: 30 trackers x 100 sequences
(the 9 published result sets reused under 30 names through symlinks in a temporary folder),
scored without intervals, and scored with the default bootstrap intervals followed by
``compare`` of all 435 pairs (goal: at most 2x). The two are interleaved, round by round.

    python scripts/bench_scoring.py [--repeats 5] [--convention matlab] [--root DIR] [--ci]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from pul_bench.analysis import stats
from pul_bench.analysis.otb import CONVENTIONS, score
from pul_bench.benchmarks import get_benchmark
from pul_bench.paths import data_root

GOAL_S = 2.0
CI_TRACKERS = 30
CI_GOAL_RATIO = 2.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--convention", choices=CONVENTIONS, default="matlab")
    ap.add_argument("--root", type=Path, help="OTB annotations (default: the shared copy)")
    ap.add_argument("--ci", action="store_true",
                    help="time intervals + compare on 30 trackers against plain scoring")
    args = ap.parse_args()

    bench = get_benchmark("otb2015", data_root())
    root = args.root or bench.default_root(annotations_only=True)
    dirs = sorted(p for p in (data_root() / "reference" / "otb" / "results").iterdir()
                  if p.is_dir())
    if args.ci:
        _bench_intervals(bench, dirs, root, args.convention, args.repeats)
        return
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


def _bench_intervals(bench, dirs: list[Path], root: Path, convention: str, repeats: int) -> None:
    """Interleaved rounds: plain scoring, then scoring with intervals + compare of all pairs."""
    with tempfile.TemporaryDirectory() as tmp:
        names = []
        for i in range(CI_TRACKERS):
            link = Path(tmp) / f"{dirs[i % len(dirs)].name}-{i:02d}"
            link.symlink_to(dirs[i % len(dirs)].resolve())
            names.append(link)
        times: dict[str, list[float]] = {"plain": [], "ci": [], "plain_wall": [], "ci_wall": []}
        for _ in range(repeats):
            t0, w0 = time.process_time(), time.perf_counter()
            score(bench, names, root, convention, resamples=0)
            times["plain"].append(time.process_time() - t0)
            times["plain_wall"].append(time.perf_counter() - w0)
            t0, w0 = time.process_time(), time.perf_counter()
            scores = score(bench, names, root, convention)
            values = {t: {q: v["auc"] for q, v in s["per_sequence"].items()}
                      for t, s in scores.items()}
            pairs = stats.compare(values, "auc")
            times["ci"].append(time.process_time() - t0)
            times["ci_wall"].append(time.perf_counter() - w0)
    med = {k: statistics.median(v) for k, v in times.items()}
    plain, ci = med["plain"], med["ci"]
    n_seq = {s["n_sequences"] for s in scores.values()}
    print(f"{len(scores)} trackers x {'/'.join(map(str, n_seq))} sequences, median CPU time "
          f"of {repeats} interleaved rounds")
    print(f"  plain scoring: CPU {plain:.3f} s (wall {med['plain_wall']:.3f} s)")
    print(f"  with intervals ({stats.DEFAULT_RESAMPLES} resamples) + compare of {len(pairs)} "
          f"pairs: CPU {ci:.3f} s (wall {med['ci_wall']:.3f} s)")
    print(f"  ratio {ci / plain:.2f}x (goal <= {CI_GOAL_RATIO:.0f}x: "
          f"{'met' if ci / plain <= CI_GOAL_RATIO else 'NOT met'})")


if __name__ == "__main__":
    main()
