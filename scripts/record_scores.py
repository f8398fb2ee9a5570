"""Score each reference checkpoint's raw results and record the numbers in its MANIFEST entry.

    python scripts/record_scores.py [--runs runs]

For every tracker whose checkpoint is ``trackers/weights/<tracker>.pt``, the raw results in
``<runs>/results/otb/<tracker>`` and ``<runs>/results/vot/<tracker>`` (as ``pulbench eval otb|vot
--out <runs>`` writes them) are scored on the shared data's sequences with the default
conventions, and recorded with the sequence names, so nobody mistakes a 6-sequence score for a
full-benchmark one.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from pul_bench.analysis import otb, vot
from pul_bench.benchmarks import get_benchmark
from pul_bench.checkpoint import update_manifest
from pul_bench.paths import REPO_ROOT
from pul_bench.registry import all_specs

_KEYS = {"otb": ("auc", "dp20"), "vot": ("accuracy", "robustness", "failures")}


def _scores(runs: Path, tracker: str) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for kind, analysis in (("otb", otb), ("vot", vot)):
        folder = runs / "results" / kind / tracker
        if not folder.is_dir():
            continue
        bench = get_benchmark(kind)
        result = analysis.score(bench=bench, result_dirs=[folder], root=bench.default_root(),
                                convention=None)[tracker]
        entry = {k: round(float(result[k]), 4) for k in _KEYS[kind]}
        seqs = result.get("per_sequence") or {}
        entry["sequences"] = sorted(seqs)
        out[kind] = entry
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=Path, default=Path("runs"))
    args = ap.parse_args()
    weights = REPO_ROOT / "trackers" / "weights"
    for spec in all_specs().values():
        ckpt = spec.checkpoint
        if ckpt is None or ckpt != weights / f"{spec.name}.pt" or not ckpt.is_file():
            continue
        scores = _scores(args.runs, spec.name)
        if scores:
            update_manifest(weights / "MANIFEST.yaml", spec.name, ckpt, scores)
            print(spec.name, json.dumps({b: {k: v for k, v in s.items() if k != "sequences"}
                                         for b, s in scores.items()}))


if __name__ == "__main__":
    main()
