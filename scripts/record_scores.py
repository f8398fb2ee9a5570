"""Score each reference checkpoint's raw results and record the numbers in its MANIFEST entry.

    python scripts/record_scores.py [--runs runs]

For every checkpoint ``trackers/weights/<name>.pt``, the raw results of a tracker that runs it
(``<name>`` itself first, else another spec with that checkpoint, e.g. ``respul`` for
``respul-tcl20``) in ``<runs>/results/otb|vot/<tracker>`` (as ``pulbench eval otb|vot --out <runs>``
writes them; tracked in bf16, ``<runs>/precision-bf16/results/otb/<tracker>``) are scored on
the shared data's sequences with the default conventions, and recorded with the sequence names,
so nobody mistakes a 6-sequence score for a full-benchmark one. Checkpoints trained but not
committed (``runs/weights/``: seeds 2 and 3, Fig. 6) are listed in the manifest's
``uncommitted`` section with their sha256, which is what lets their committed raw results
(``reports/runs/``) stand in for them in the reports.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from pul_bench.analysis import otb, vot
from pul_bench.benchmarks import get_benchmark
from pul_bench.checkpoint import update_manifest
from pul_bench.paths import REPO_ROOT, data_root
from pul_bench.registry import all_specs
from pul_bench.reports.evaluation import precision_runs

_KEYS = {"otb": ("auc", "dp20"), "vot": ("accuracy", "robustness", "failures")}


def _scores(runs: Path, tracker: str) -> dict[str, dict]:
    """Scores by key: ``otb``, ``vot``, and ``otb-bf16`` for networks tracked in bf16 (the
    Fig. 6 sweep's ``runs/precision-bf16`` folder)."""
    out: dict[str, dict] = {}
    for key, kind, analysis, results in (("otb", "otb", otb, runs / "results"),
                                         ("vot", "vot", vot, runs / "results"),
                                         ("otb-bf16", "otb", otb,
                                          precision_runs(runs, "bf16") / "results")):
        folder = results / kind / tracker
        if not folder.is_dir():
            continue
        bench = get_benchmark(kind, data_root())
        result = analysis.score(bench=bench, result_dirs=[folder], root=bench.default_root(),
                                convention=None)[tracker]
        entry = {k: round(float(result[k]), 4) for k in _KEYS[kind]}
        seqs = result.get("per_sequence") or {}
        entry["sequences"] = sorted(seqs)
        out[key] = entry
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=Path, default=Path("runs"))
    args = ap.parse_args()
    weights = REPO_ROOT / "trackers" / "weights"
    sections = {weights: "weights", REPO_ROOT / "runs" / "weights": "uncommitted"}
    users: dict[Path, list[str]] = {}  # checkpoint -> specs that run it, its namesake first
    for spec in all_specs().values():
        if spec.checkpoint is not None and spec.checkpoint.parent in sections:
            names = users.setdefault(spec.checkpoint, [])
            if spec.name == spec.checkpoint.stem:
                names.insert(0, spec.name)
            else:
                names.append(spec.name)
    for ckpt, names in sorted(users.items()):
        if not ckpt.is_file():
            continue
        # benchmark by benchmark, the first spec with results (respul's count for respul-tcl20)
        scores: dict[str, dict] = {}
        for name in names:
            for kind, entry in _scores(args.runs, name).items():
                scores.setdefault(kind, {**entry, "tracker": name})
        section = sections[ckpt.parent]
        if scores or section == "uncommitted":  # a seed is listed by its sha256 even unscored
            update_manifest(weights / "MANIFEST.yaml", ckpt.stem, ckpt, scores or None,
                            section)
            print(ckpt.stem, json.dumps({b: {k: v for k, v in s.items() if k != "sequences"}
                                         for b, s in scores.items()}))


if __name__ == "__main__":
    main()
