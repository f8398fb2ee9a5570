"""Snapshot every score ``pulbench score --json`` gives on the shared published results, or
compare against an earlier snapshot: the check that a change to scoring changed no number.

Runs (each a separate ``pulbench score --json`` process, default bootstrap and seed, so the
intervals are covered too): OTB-2015 (reference/otb/results/*) in each OTB convention, the
OTB-2013 and TB-50 subsets (matlab), TRE/SRE where a folder holds such runs, VOT2018
(reference/vot2018/results/*) and LaSOT (reference/lasot/results/*). A run that fails is
recorded with its exit status and message. Run it with the checkout under test first on
PYTHONPATH (it scores with whatever ``pul_bench`` that interpreter imports).

    python scripts/score_snapshot.py OUT.json                    # write a snapshot
    python scripts/score_snapshot.py NEW.json --compare OLD.json # and exit 1 on any difference

Numbers are compared exactly (floats as parsed from the JSON, which round-trips every bit;
an int and a float of equal value differ; ``--json`` writes NaN as null); every differing
value is listed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from pul_bench.io import write_json
from pul_bench.paths import data_root

OTB_CONVENTIONS = ("matlab", "pysot", "got10k")


def runs(root: Path) -> dict[str, list[str]]:
    """Run name -> ``pulbench score`` arguments, for every result set the shared data has."""
    ref = root / "reference"
    out: dict[str, list[str]] = {}
    otb = sorted(str(p) for p in (ref / "otb" / "results").iterdir() if p.is_dir())
    for conv in OTB_CONVENTIONS:
        out[f"otb2015-ope-{conv}"] = ["otb2015", *otb, "--convention", conv]
    for bench in ("otb2013", "tb50"):
        out[f"{bench}-ope-matlab"] = [bench, *otb]
    for protocol in ("tre", "sre"):
        with_runs = [d for d in otb if (Path(d) / protocol).is_dir()]
        if with_runs:
            out[f"otb2015-{protocol}-matlab"] = ["otb2015", *with_runs, "--protocol", protocol]
    for bench in ("vot2018", "lasot"):
        dirs = sorted(str(p) for p in (ref / bench / "results").iterdir() if p.is_dir())
        out[f"{bench}-default"] = [bench, *dirs]
        for d in dirs:  # one folder alone scores where all together fail (a partial one)
            out[f"{bench}-default-{Path(d).name}"] = [bench, d]
    return out


def snapshot(root: Path) -> dict[str, Any]:
    """Every run's parsed JSON output, or ``{"error": ...}`` with its exit status and message
    (a refusal is behaviour too, e.g. a VOT folder holding only some sequences)."""
    out = {}
    for name, args in runs(root).items():
        print(f"scoring {name}", file=sys.stderr, flush=True)
        proc = subprocess.run([sys.executable, "-m", "pul_bench.cli", "score", *args, "--json"],
                              capture_output=True, text=True, env=os.environ)
        out[name] = (json.loads(proc.stdout) if proc.returncode == 0 else
                     {"error": {"exit": proc.returncode, "stderr": proc.stderr.strip()}})
    return out


def differences(old: Any, new: Any, path: str = "") -> list[str]:
    """Every leaf where ``new`` differs from ``old`` exactly (type included), as lines."""
    if isinstance(old, dict) and isinstance(new, dict):
        lines = [f"{path}/{k}: only in the old snapshot" for k in old if k not in new]
        lines += [f"{path}/{k}: only in the new snapshot" for k in new if k not in old]
        for k in old:
            if k in new:
                lines += differences(old[k], new[k], f"{path}/{k}")
        return lines
    if isinstance(old, list) and isinstance(new, list):
        if len(old) != len(new):
            return [f"{path}: {len(old)} items before, {len(new)} now"]
        return [line for i, (a, b) in enumerate(zip(old, new, strict=True))
                for line in differences(a, b, f"{path}[{i}]")]
    if type(old) is type(new) and old == new:
        return []
    return [f"{path}: {old!r} before, {new!r} now"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path, help="snapshot to write (JSON)")
    ap.add_argument("--compare", type=Path, metavar="OLD.json",
                    help="exit 1, listing every differing number, unless equal to this snapshot")
    ap.add_argument("--root", type=Path, help="shared data root (default: $PULBENCH_DATA)")
    args = ap.parse_args()
    snap = snapshot(args.root or data_root())
    write_json(args.out, snap)
    n = sum(len(v) for v in snap.values())
    print(f"{args.out}: {len(snap)} runs, {n} tracker score sets", file=sys.stderr)
    if args.compare is None:
        return
    diff = differences(json.loads(args.compare.read_text()), snap)
    for line in diff:
        print(line)
    if diff:
        sys.exit(f"{len(diff)} value(s) differ from {args.compare}")
    print(f"identical to {args.compare}", file=sys.stderr)


if __name__ == "__main__":
    main()
