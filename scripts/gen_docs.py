"""Regenerate the numbers in docs/ that come from committed runs.

A block ``<!-- generated: NAME -->`` ... ``<!-- /generated -->`` in a Markdown file under docs/
is rewritten from ``trackers/weights/MANIFEST.yaml`` and ``reports/*/report.json``, so the
reference tables can never drift from the results they describe. ``--check`` writes nothing and
exits 1 when a page differs from what it would write (tests/test_docs.py does the same in memory).

    python scripts/gen_docs.py           # rewrite the blocks
    python scripts/gen_docs.py --check   # exit 1 if any block is stale
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"(<!-- generated: (?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- /generated -->)",
                   re.S)

# (tracker, stage) of the reference table, in the order of the PUL chain
REFERENCE_ROWS = [
    ("siamfc-random", "random weights"), ("alexpul-bd", "BD"), ("alexpul-bd-ahm", "BD + AHM"),
    ("alexpul-tcl10", "+ TCL-10, NR"), ("alexpul-tcl10-bce", "+ TCL-10, BCE"),
    ("alexpul-tcl20", "+ TCL-20, NR (= alexpul)"), ("alexpul-tcl20-bce", "+ TCL-20, BCE"),
    ("siamfc", "supervised, 10 epochs"), ("kcf", "OpenCV, no training"),
    ("respul-bd", "CIResNet-22: BD"), ("respul-bd-ahm", "BD + AHM"),
    ("respul-tcl10", "+ TCL-10, NR"), ("respul-tcl20", "+ TCL-20, NR (= respul)"),
    ("respul-tcl20-bce", "+ TCL-20, BCE"), ("siamdw", "supervised CIResNet-22, 10 epochs"),
]

#: the report tables whose cells and stage comparisons the pages quote
TABLES = (("ablation", "table1"), ("ablation", "table1-resnet"), ("nr-vs-bce", "table2"))

# a tracker the reports name by its alias spec
ALIASES = {"respul-tcl20": "respul", "alexpul-tcl20": "alexpul"}


def _report(root: Path, name: str) -> dict[str, Any]:
    return json.loads((root / "reports" / name / "report.json").read_text())


def _section(root: Path, report: str, section: str) -> dict[str, Any]:
    for s in _report(root, report)["sections"]:
        if s["id"] == section:
            return s
    raise KeyError(f"reports/{report}/report.json has no section {section!r}")


def _ci(ci: list[float] | None, digits: int = 2, sign: bool = False) -> str:
    if not ci:
        return ""
    f = f"{{:+.{digits}f}}" if sign else f"{{:.{digits}f}}"
    return " [" + ", ".join(f.format(x) for x in ci).replace("-", "−") + "]"


def _num(x: float, digits: int = 3, sign: bool = False) -> str:
    return (f"{x:+.{digits}f}" if sign else f"{x:.{digits}f}").replace("-", "−")


def reference_table(root: Path) -> str:
    """Per-stage OTB AUC and VOT accuracy / failures of seeds 1-3 (MANIFEST.yaml, written by
    scripts/record_scores.py) beside the seed mean and its interval (reports/ablation table1)."""
    manifest = yaml.safe_load((root / "trackers/weights/MANIFEST.yaml").read_text())
    entries = {**manifest.get("uncommitted", {}), **manifest["weights"]}
    # seed means with their two-level intervals, as the ablation and NR-vs-BCE tables give them
    table1 = {c["tracker"]: c for report, table in TABLES
              for row in _section(root, report, table)["rows"] for c in row["cells"]}
    kcf = next(c["b"]["value"] for c in _section(root, "ablation", "claims")["claims"]
               if c["b"]["tracker"] == "kcf")
    lines = ["| tracker | stage | OTB AUC seed 1 [95%] | seed 2 | seed 3 | mean [95%] (seed SD) "
             "| VOT A s1 / s2 / s3 | VOT failures |", "|---|---|---|---|---|---|---|---|"]
    for tracker, stage in REFERENCE_ROWS:
        seeds = [entries.get(n) for n in (tracker, f"{tracker}-s2", f"{tracker}-s3")]
        seeds = [e["scores"] for e in seeds if e and "otb" in e.get("scores", {})]
        if tracker == "kcf":
            seeds = [{"otb": {"auc": kcf}}]
        cell = table1.get(tracker) or table1.get(ALIASES.get(tracker, ""))
        if not seeds and cell:  # no checkpoint (random weights): the report's own score
            seeds = [{"otb": {"auc": cell["scores"]["otb"]["auc"]},
                      "vot": {"accuracy": cell["scores"]["vot"]["accuracy"],
                              "failures": cell["scores"]["vot"]["failures"]}}]
        aucs = [s["otb"]["auc"] for s in seeds]
        cols = [_num(a) for a in aucs] + ["–"] * (3 - len(aucs))
        mean = "–"
        if len(aucs) == 1 and cell:  # one seed: the report's interval is seed 1's own
            cols[0] = _num(cell["ours"]["OTB AUC"]) + _ci(cell["ours_ci"]["OTB AUC"])
        if len(aucs) > 1:
            m, ci = statistics.mean(aucs), None
            if cell:
                m, ci = cell["ours"]["OTB AUC"], cell["ours_ci"]["OTB AUC"]
            mean = f"{_num(m)}{_ci(ci)} ({statistics.stdev(aucs):.3f})"
        vots = [s["vot"] for s in seeds if "vot" in s]
        acc = " / ".join(_num(v["accuracy"]) for v in vots) or "–"
        fails = " / ".join(f"{v['failures']:.0f}" for v in vots) or "–"
        lines.append(f"| {tracker} | {stage} | {' | '.join(cols)} | {mean} | {acc} | {fails} |")
    return "\n".join(lines) + "\n"


def _claims(root: Path, report: str, sections: list[tuple[str, str]]) -> str:
    """One row per claim, a column pair (Δ [95%], p (Holm) and outcome) per section."""
    secs = [(title, _section(root, report, sid)) for title, sid in sections]
    head = ["claim", "n seq × seeds"] + [h for title, _ in secs
                                         for h in (f"Δ{title} [95%]", "p (Holm)", "outcome")]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for claim in secs[0][1]["claims"]:
        c0 = claim["comparison"]
        row = [claim["label"].replace(">=", "≥"),
               f"{c0['n_sequences']} × {c0['n_seeds_a']}/{c0['n_seeds_b']}"]
        for _, sec in secs:
            c = next((c for c in sec["claims"] if c["label"] == claim["label"]), None)
            if c is None:
                row += ["–", "–", "–"]
                continue
            cmp = c["comparison"]
            out = c["reading"] + (f" ({c['to_decide_text']})" if c["to_decide_text"] else "")
            out = out.replace("|", "\\|")  # |Δ| inside a Markdown table cell
            row += [_num(cmp["delta"], sign=True) + _ci(cmp["ci"], 3, sign=True),
                    f"{cmp['p_holm']:.2g}", out]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def claims_ablation(root: Path) -> str:
    """The paper's claims on the AlexNet chain, AUC and localisation peak error."""
    return _claims(root, "ablation", [("AUC", "claims"), ("peak error", "claims-peak-error")])


def claims_resnet(root: Path) -> str:
    """The same claims on the CIResNet-22 chain (one seed)."""
    return _claims(root, "ablation", [("AUC", "claims-resnet"),
                                      ("peak error", "claims-resnet-peak-error")])


def claims_pooled(root: Path) -> str:
    """The AlexNet claims pooled over the 10 OTB-layout and 10 train_labeled sequences."""
    return _claims(root, "ablation", [("AUC", "claims-pooled"),
                                      ("peak error", "claims-pooled-peak-error")])


def claims_resnet_pooled(root: Path) -> str:
    """The CIResNet-22 claims pooled over the same 20 sequences."""
    return _claims(root, "ablation", [("AUC", "claims-resnet-pooled")])


def claims_nr_bce(root: Path) -> str:
    """NR against BCE on the same mined pairs (Table 2's claims)."""
    return _claims(root, "nr-vs-bce", [("AUC", "claims-auc"), ("peak error", "claims-peak-error")])


def claims_fig6(root: Path) -> str:
    """Fig. 6: NR against BCE at each injected label noise, and clean against noisy labels."""
    return _claims(root, "nr-vs-bce", [("AUC", "claims-fig6-auc"),
                                       ("peak error", "claims-fig6-peak-error")])


def lasot_published(root: Path) -> str:
    """The published raw LaSOT results as reports/lasot-published scores them."""
    sec = _section(root, "lasot-published", "compare-lasot")
    lines = ["| tracker | AUC [95%] | precision [95%] | normalised precision [95%] |",
             "|---|---|---|---|"]
    for name, s in sec["trackers"].items():
        lines.append(f"| {name} | {_num(s['auc'], 4)}{_ci(s['auc_ci'])} | "
                     f"{_num(s['dp20'], 4)}{_ci(s['dp20_ci'])} | "
                     f"{_num(s['norm_prec'], 4)}{_ci(s['norm_prec_ci'])} |")
    for c in sec["published_comparisons"]:
        lines.append(f"\n{c['verdict']}.")
    return "\n".join(lines) + "\n"


def stage_comparisons(root: Path) -> str:
    """Each stage against the one before, as the Table 1 and Table 2 sections pair them (their
    own verdicts: Holm over each table's comparisons of one metric)."""
    metric = {"auc": "AUC", "dp20": "DP@20", "loc_error": "peak error"}
    lines = ["| report, table | metric | verdict (Holm p) |", "|---|---|---|"]
    for report, table in TABLES:
        for c in _section(root, report, table)["comparisons"]:
            lines.append(f"| {report}, {table} | {metric[c['metric']]} | {c['verdict']} |")
    return "\n".join(lines) + "\n"


def fig6_series(root: Path) -> str:
    """Fig. 6's points: seed-mean AUC and peak error per injected noise, BCE against NR."""
    secs = [_section(root, "nr-vs-bce", sid) for sid in ("fig6", "fig6-localisation")]
    labels = [s["label"] for s in secs[0]["series"]]
    head = ["noise (px)"] + [f"{lab}: {m}" for m in ("AUC", "peak error") for lab in labels]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    xs = sorted({p["x"] for s in secs[0]["series"] for p in s["points"]})
    for x in xs:
        row = [f"{x:g}"]
        for sec in secs:
            for series in sec["series"]:
                pt = next((p for p in series["points"] if p["x"] == x), None)
                row.append(_num(pt["value"]) if pt and pt["value"] is not None else "–")
        lines.append("| " + " | ".join(row) + " |")
    for sec in secs:
        for ref in sec["references"]:
            what = {"auc": "OTB AUC", "loc_error": "Peak error"}.get(sec["metric"], sec["metric"])
            lines.append(f"\n{what} of {ref['label']}: {_num(ref['value'])}.")
    return "\n".join(lines) + "\n"


BLOCKS: dict[str, Callable[[Path], str]] = {
    "reference-table": reference_table, "claims-ablation": claims_ablation,
    "claims-resnet": claims_resnet, "claims-nr-bce": claims_nr_bce, "claims-fig6": claims_fig6,
    "lasot-published": lasot_published, "stage-comparisons": stage_comparisons,
    "fig6-series": fig6_series, "claims-pooled": claims_pooled,
    "claims-resnet-pooled": claims_resnet_pooled,
}


def render(text: str, root: Path = REPO) -> str:
    """``text`` with every generated block rewritten; an unknown block name is an error."""
    def fill(m: re.Match) -> str:
        name = m["name"]
        if name not in BLOCKS:
            raise KeyError(f"unknown generated block {name!r} (known: {', '.join(BLOCKS)})")
        return m[1] + BLOCKS[name](root) + m[4]
    return BLOCK.sub(fill, text)


def pages(root: Path = REPO) -> list[Path]:
    """The Markdown pages that hold generated blocks."""
    return [p for p in sorted((root / "docs").glob("*.md")) if BLOCK.search(p.read_text())]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true",
                    help="exit 1 if a block is stale; write nothing")
    args = ap.parse_args(argv)
    stale = []
    for page in pages():
        old = page.read_text()
        new = render(old)
        if new != old:
            stale.append(page.relative_to(REPO))
            if not args.check:
                from pul_bench.io import write_text
                write_text(page, new)
    verb = "stale" if args.check else "rewritten"
    print(f"{verb}: {', '.join(map(str, stale))}" if stale else "docs: generated blocks up to date")
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
