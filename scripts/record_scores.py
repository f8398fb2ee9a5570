"""Copy each reference checkpoint's scores from `pulbench eval` outputs into its MANIFEST entry.

    python scripts/record_scores.py [--runs runs]

For every entry of trackers/weights/MANIFEST.yaml, the tracker registered with that checkpoint is
looked up in <runs>/reports/<bench>/performance.json (OTB) and
<runs>/reports/<bench>/<tracker>/performance.json (VOT); what is found is recorded with the
sequences it was measured on, so nobody mistakes a 6-sequence score for a full-benchmark one.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from pul_bench.checkpoint import update_manifest
from pul_bench.paths import REPO_ROOT
from pul_bench.registry import all_specs

_KEYS = ("auc", "dp20", "accuracy", "robustness", "failures", "eao")


def _found(runs: Path, tracker: str) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for perf in sorted((runs / "reports").glob("*/performance.json")) + sorted(
            (runs / "reports").glob(f"*/{tracker}/performance.json")):
        bench = perf.relative_to(runs / "reports").parts[0]
        scores = json.loads(perf.read_text()).get(tracker)
        if isinstance(scores, dict):
            entry = {k: round(float(scores[k]), 4) for k in _KEYS if scores.get(k) is not None}
            seqs = scores.get("per_sequence") or scores.get("sequences") or {}
            entry["sequences"] = sorted(seqs) if isinstance(seqs, dict | list) else seqs
            out[bench] = entry
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=Path, default=Path("runs"))
    args = ap.parse_args()
    weights = REPO_ROOT / "trackers" / "weights"
    for spec in all_specs().values():
        ckpt = spec.checkpoint
        if ckpt is None or ckpt.parent != weights or not ckpt.is_file() or ckpt.stem != spec.name:
            continue
        scores = _found(args.runs, spec.name)
        if scores:
            update_manifest(weights / "MANIFEST.yaml", spec.name, ckpt, scores)
            print(spec.name, json.dumps({b: {k: v for k, v in s.items() if k != "sequences"}
                                         for b, s in scores.items()}))


if __name__ == "__main__":
    main()
