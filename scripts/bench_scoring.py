"""Benchmark: score all 9 shared OTB2015 result sets on 100 sequences (goal: well under 2 s).

Each repeat is a full ``score()`` call: annotations, 900 result files, curves, per-sequence
and per-attribute scores. Reports the median wall time and the median CPU time of this
process (on a shared, loaded machine the CPU time is what the work itself costs).

``--ci`` measures what intervals and comparisons cost instead: 30 trackers x 100 sequences
(the 9 published result sets reused under 30 names through symlinks in a temporary folder),
scored without intervals, and scored with the default bootstrap intervals followed by
``compare`` of all 435 pairs (goal: at most 2x). The two are interleaved, round by round,
with a third: a plain numpy scorer (:func:`plain_numpy_score`: loadtxt, IoU, curves, the
same intervals and pair tests drawn the obvious vectorised way; no validation, no toolkit
conventions, no attributes), the cost floor that scoring is measured against: the report
gives ours-with-intervals over it, a time multiple (lower is better). Each round also times
``pulbench score`` on the 30 folders as a new process, where start-up imports count.

    python scripts/bench_scoring.py [--repeats 5] [--convention matlab] [--root DIR] [--ci]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

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
        times: dict[str, list[float]] = {"plain": [], "ci": [], "plain_wall": [], "ci_wall": [],
                                         "numpy": [], "numpy_wall": [], "cli": [], "cli_wall": []}
        cli = [sys.executable, "-m", "pul_bench.cli", "score", bench.name, *map(str, names),
               "--root", str(root), "--convention", convention, "--json"]
        for _ in range(repeats):
            t0, w0 = _children_cpu(), time.perf_counter()
            subprocess.run(cli, check=True, stdout=subprocess.DEVNULL)
            times["cli"].append(_children_cpu() - t0)
            times["cli_wall"].append(time.perf_counter() - w0)
            t0, w0 = time.process_time(), time.perf_counter()
            plain_numpy_score(names, root)
            times["numpy"].append(time.process_time() - t0)
            times["numpy_wall"].append(time.perf_counter() - w0)
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
          f"of {repeats} interleaved rounds (load average {os.getloadavg()[0]:.1f})")
    print(f"  plain numpy scorer, with intervals + compare: CPU {med['numpy']:.3f} s "
          f"(wall {med['numpy_wall']:.3f} s)")
    print(f"  plain scoring: CPU {plain:.3f} s (wall {med['plain_wall']:.3f} s)")
    print(f"  with intervals ({stats.DEFAULT_RESAMPLES} resamples) + compare of {len(pairs)} "
          f"pairs: CPU {ci:.3f} s (wall {med['ci_wall']:.3f} s)")
    print(f"  ratio {ci / plain:.2f}x (goal <= {CI_GOAL_RATIO:.0f}x: "
          f"{'met' if ci / plain <= CI_GOAL_RATIO else 'NOT met'})")
    print(f"  ours with intervals + compare = {ci / med['numpy']:.2f}x the plain numpy scorer's "
          f"CPU time ({med['ci_wall'] / med['numpy_wall']:.2f}x its wall time)")
    print(f"  pulbench score (a new process: start-up and JSON included, intervals, no compare): "
          f"CPU {med['cli']:.3f} s (wall {med['cli_wall']:.3f} s)")


def _children_cpu() -> float:
    """User + system CPU seconds of this process's finished children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def plain_numpy_score(dirs: list[Path], root: Path, resamples: int = stats.DEFAULT_RESAMPLES,
                      seed: int = stats.DEFAULT_SEED) -> dict[str, dict[str, object]]:
    """A short plain-numpy OTB scorer, the reference point: per result file ``np.loadtxt``
    (commas or white space) and its ``anno/`` file, the continuous IoU, the success curve at
    21 thresholds and DP@20; per tracker the means with 95% bootstrap intervals (one index
    draw, one gather); then every pair compared on per-sequence AUC (paired bootstrap and
    scipy's Wilcoxon). Nothing is validated and no toolkit rule is followed."""
    from scipy.stats import wilcoxon

    thresholds = np.linspace(0, 1, 21)
    per_seq: dict[str, np.ndarray] = {}
    out: dict[str, dict[str, object]] = {}
    rng = np.random.default_rng(seed)
    for d in dirs:
        aucs, dps = [], []
        for f in sorted(d.glob("*.txt")):
            gt, res = (np.loadtxt(p, delimiter="," if "," in p.read_text() else None)
                       for p in (root / "anno" / f.name, f))
            n = min(len(gt), len(res))
            gt, res = gt[-n:], res[-n:]
            lo = np.maximum(gt[:, :2], res[:, :2])
            hi = np.minimum(gt[:, :2] + gt[:, 2:], res[:, :2] + res[:, 2:])
            inter = np.prod(np.clip(hi - lo, 0, None), axis=1)
            union = np.prod(gt[:, 2:], axis=1) + np.prod(res[:, 2:], axis=1) - inter
            iou = np.where(union > 0, inter / np.where(union > 0, union, 1), 0)
            err = np.linalg.norm((gt[:, :2] + gt[:, 2:] / 2) - (res[:, :2] + res[:, 2:] / 2),
                                 axis=1)
            aucs.append((iou[:, None] > thresholds).mean(axis=0).mean())
            dps.append((err <= 20).mean())
        a, p = np.array(aucs), np.array(dps)
        idx = rng.integers(0, len(a), (resamples, len(a)))
        out[d.name] = {"auc": a.mean(), "dp20": p.mean(),
                       "auc_ci": np.percentile(a[idx].mean(axis=1), [2.5, 97.5]),
                       "dp20_ci": np.percentile(p[idx].mean(axis=1), [2.5, 97.5])}
        per_seq[d.name] = a
    names = list(per_seq)
    pairs = [(x, y) for i, x in enumerate(names) for y in names[i + 1:]]
    diffs = np.stack([per_seq[x] - per_seq[y] for x, y in pairs], axis=1)
    idx = rng.integers(0, len(diffs), (resamples, len(diffs)))
    boot = np.stack([diffs[i].mean(axis=0) for i in idx])
    out["pairs"] = {"delta": diffs.mean(axis=0), "ci": np.percentile(boot, [2.5, 97.5], axis=0),
                    "p": wilcoxon(diffs, axis=0, zero_method="zsplit").pvalue}
    return out


if __name__ == "__main__":
    main()
