"""``report.md``: each section result as a Markdown heading, caption, table, verdicts and links
to its figures, under a header naming the command, recipe, scale and data."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from pul_bench.analysis import stats
from pul_bench.reports.figures import table_arrays
from pul_bench.reports.model import (
    ClaimsResult,
    ClipLengthResult,
    CompareResult,
    Computed,
    CurveResult,
    NotReady,
    TableResult,
)
from pul_bench.reports.recipe import METRIC_LABELS, Recipe
from pul_bench.reports.shared import describe


def report(recipe: Recipe, shown_recipe: str, data: dict[str, Any],
           sections: list[tuple[Computed, list[Path]]], not_ready: list[NotReady],
           command: str) -> str:
    """The whole ``report.md``: header, data, every section, then what is not trained."""
    lines = [f"# {recipe.title}", "",
             f"Made by `{command or 'pulbench report ' + recipe.name}` from the recipe "
             f"`{shown_recipe}`; every number is in `report.json`. `<data>` is the "
             "shared data folder (`--data-root`).", "",
             f"**Scale of our runs:** {recipe.scale}. Published values (the paper's, or raw "
             "results from their authors) are labelled as such; those trackers were trained "
             "at full scale.", "", "Data:", ""]
    for k, d in data.items():
        extra = f"; missing: {', '.join(d['missing'])}" if d["missing"] else ""
        lines.append(f"- `{k}`: {describe(d)}: {', '.join(d['sequences'])}{extra}")
    for res, files in sections:
        lines += ["", f"## {res.section.title}", "", res.caption, "",
                  *_RENDER[type(res)](res), "", *_figure_links(files)]
    if not_ready:
        lines += ["", "## Not trained yet", "",
                  "These appear as 'not trained' above. Train them, then re-run the report "
                  "(finished results are reused):", ""]
        for n in not_ready:
            what = n.tracker + (f" with {n.checkpoint}" if n.checkpoint else "")
            how = f": `{n.train}`" if n.train else ""
            lines.append(f"- {what} ({n.reason}){how}")
    return "\n".join(lines) + "\n"


def _table(res: TableResult) -> list[str]:
    sec = res.section
    ours, paper, ours_ci, available = table_arrays(res)
    head = ["", *[f"{g} {m.label}" for g in sec.groups for m in sec.metrics]]
    lines = ["Each cell: ours / paper.", "", _row(head), _row(["---"] * len(head))]
    for r, row in enumerate(sec.rows):
        cells = [row.label]
        for g in range(len(sec.groups)):
            for k in range(len(sec.metrics)):
                if not available[r, g]:
                    cells.append("–")
                    continue
                o = ("not trained" if math.isnan(ours[r, g, k]) else
                     _fmt_ci(ours[r, g, k], ours_ci[r, g, k].tolist()))
                cells.append(f"{o} / {_fmt(paper[r, g, k])}")
        lines.append(_row(cells))
    return lines + _verdicts("Each row against the row above it (ours):", res.comparisons)


def _curve(res: CurveResult) -> list[str]:
    sec = res.section
    head = [sec.x_label, *[label for label, _ in res.series]]
    lines = [f"{METRIC_LABELS[sec.metric]}:", "", _row(head), _row(["---"] * len(head))]
    for x in res.xs:
        vals = []
        for _, points in res.series:
            p = next((p for p in points if p.x == x), None)
            vals.append("" if p is None else (_fmt_ci(p.state.value(sec.metric), p.ci)
                                              if p.state.ok else p.state.status))
        lines.append(_row([f"{x:g}", *vals]))
    for e, st in res.references:
        v = st.value(sec.metric)
        lines.append(f"\nReference: {e.label}: {_fmt(v) if not math.isnan(v) else 'not trained'}")
    return lines + _verdicts("Series against each other at the same x:", res.comparisons)


def _clip_length(res: ClipLengthResult) -> list[str]:
    head = ["L (frames)", "clips", *[e.label for e in res.section.trackers]]
    lines = ["DP@20:", "", _row(head), _row(["---"] * len(head))]
    for i, L in enumerate(res.lengths):
        vals = [_fmt_ci(p.state.value("dp20"), p.ci) if p.state.ok else p.state.status
                for p in (points[i] for _, points in res.trackers)]
        lines.append(_row([str(L), str(res.count(L)), *vals]))
    return lines


def _compare(res: CompareResult) -> list[str]:
    sec = res.section
    head = ["tracker", "source", "AUC", "DP@20", "norm. prec.", "SR@0.5",
            "published AUC (full benchmark)", "published DP@20 (full benchmark)"]
    lines = [_row(head), _row(["---"] * len(head))]
    for t in res.ranked:
        pub = {} if t.ours else sec.published_scores.get(t.name, {})
        lines.append(_row([t.name, "ours (pul_bench)" if t.ours else "published raw results",
                           *[_fmt_ci(t.scores[k], t.scores.get(f"{k}_ci"))
                             for k in ("auc", "dp20", "norm_prec", "sr50")],
                           _fmt(pub.get("auc")), _fmt(pub.get("dp20"))]))
    if sec.published_scores_note:
        lines += ["", sec.published_scores_note]
    lines += _verdicts("Ours against each published tracker (AUC, paired over these "
                       "sequences):", res.comparisons)
    lines += _verdicts("Published trackers, each against the next one below it (AUC, paired "
                       "over these sequences):", res.between)
    seq_head = ["sequence", *[t.shown for t in res.ranked]]
    lines += ["", "Per-sequence AUC:", "", _row(seq_head), _row(["---"] * len(seq_head))]
    for s in res.sequences:
        lines.append(_row([s, *[_fmt(t.scores["per_sequence"][s]["auc"]) for t in res.ranked]]))
    return lines


def _claims(res: ClaimsResult) -> list[str]:
    label = METRIC_LABELS[res.section.metric]
    head = ["claim", f"Δ{label} [95% CI]", "p (Holm)", "n seq × seeds", "outcome", "to decide"]
    lines = [_row(head), _row(["---"] * len(head))]
    for c in res.claims:
        p = c.comparison
        seeds = f"{c.claim.a.seeds}/{c.claim.b.seeds}"
        numbers = ["–", "–", f"– × {seeds}"] if p is None else [
            f"{p['delta']:+.3f} [{p['ci'][0]:+.3f}, {p['ci'][1]:+.3f}]" if p["ci"] else
            f"{p['delta']:+.3f}", f"{p['p_holm']:.2g}", f"{p['n_sequences']} × {seeds}"]
        lines.append(_row([c.claim.label, *numbers, c.reading, c.to_decide_text]))
    return lines


_RENDER = {TableResult: _table, CurveResult: _curve, ClipLengthResult: _clip_length,
           CompareResult: _compare, ClaimsResult: _claims}


def _verdicts(intro: str, comparisons: list[dict[str, Any]]) -> list[str]:
    return ["", intro, "", *[f"- {c['verdict']}" for c in comparisons]] if comparisons else []


def _fmt(v: float | None, digits: int = 3) -> str:
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def _fmt_ci(v: float | None, ci: list[float] | None) -> str:
    """``0.582 [0.55, 0.61]``, or the bare value where no interval was computed."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return stats.format_ci(v, ci) if ci and not any(map(math.isnan, ci)) else _fmt(v)


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def _figure_links(files: list[Path]) -> list[str]:
    return [f"![{f.stem}]({f.name})" for f in files if f.suffix == ".png"] + \
        [f"PDF: {', '.join(f.name for f in files if f.suffix == '.pdf')}"]
