"""Build a report: evaluate each section's trackers, then write ``report.json`` (every number),
``report.md`` (tables, captions, what is not trained and how to train it) and the figures
(PNG + PDF) into the output folder.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from itertools import count, pairwise
from pathlib import Path
from typing import Any

import numpy as np

from pul_bench import __version__, plots
from pul_bench.analysis import stats
from pul_bench.datasets.otb import load_otb
from pul_bench.errors import InputError, PulBenchError
from pul_bench.io import progress_bar, write_json, write_text
from pul_bench.reports import evaluation as ev
from pul_bench.reports.recipe import METRIC_LABELS, Claim, Entry, Recipe, Section, entry_name


@dataclasses.dataclass
class _Built:
    """One section's output: JSON part, Markdown lines, figure files, entries not ready."""

    json: dict[str, Any]
    markdown: list[str]
    files: list[Path]
    not_ready: list[dict[str, Any]]


def run_report(recipe: Recipe, data_root: Path, out: Path, runs: Path, workers: int = 1,
               command: str = "", kept: Path | None = None, keep: bool = False
               ) -> dict[str, Any]:
    """Run every section of ``recipe``; write its outputs into ``out``; return the JSON.

    ``kept``: a folder of committed results that stand in for absent checkpoints (see
    :mod:`.evaluation`); with ``keep``, what runs is copied there."""
    ctx = ev.Context(data_root=Path(data_root), runs=Path(runs), workers=workers,
                     kept=None if kept is None else Path(kept), keep=keep)
    used = sorted({k for s in recipe.sections for k in _data_keys(s)})
    data = {k: ev.data_summary(ctx, recipe.data[k]) for k in used}
    for k, d in data.items():
        if not d["sequences"]:
            raise PulBenchError(f"{recipe.source}: data '{k}': no {d['benchmark']} sequences "
                                f"under {ctx.root(recipe.data[k])}")
    for sec in recipe.sections:
        if sec.kind == "compare":
            _published_dirs(ctx, recipe, sec)
    built: list[_Built] = []
    with progress_bar(recipe.sections, desc=f"report {recipe.name}", unit="section",
                      dynamic_ncols=True) as bar:
        for sec in bar:
            bar.set_postfix_str(sec.id)
            built.append(_BUILDERS[sec.kind](ctx, recipe, sec, data, Path(out)))
    not_ready = _unique(n for b in built for n in b.not_ready)
    result = {
        "report": recipe.name, "title": recipe.title, "scale": recipe.scale,
        "recipe": _shown_recipe(recipe), "command": command, "pul_bench": __version__,
        "runs": str(runs), "data": data,
        "sections": [b.json for b in built], "not_ready": not_ready,
    }
    write_json(Path(out) / "report.json", result)
    write_text(Path(out) / "report.md", _markdown(recipe, data, built, not_ready, command, out))
    return result


def _published_dirs(ctx: ev.Context, recipe: Recipe, sec: Section) -> tuple[Path, list[Path]]:
    """A compare section's published results folder and its tracker folders, which must exist
    (checked before any section runs, so a wrong path fails at once, naming the recipe line)."""
    pub_root = Path(sec.published)
    pub_root = pub_root if pub_root.is_absolute() else ctx.data_root / pub_root
    if not pub_root.is_dir():
        raise InputError(recipe.source, f"section {sec.id}: published results folder {pub_root} "
                         "does not exist", sec.published_line)
    names = sec.published_trackers or tuple(sorted(p.name for p in pub_root.iterdir()
                                                   if p.is_dir()))
    dirs = [pub_root / n for n in names]
    for d in dirs:
        if not d.is_dir():
            raise InputError(recipe.source, f"section {sec.id}: no published result folder {d}",
                             sec.published_line)
    return pub_root, dirs


def _data_keys(sec: Section) -> list[str]:
    return [m.data for m in sec.metrics] + ([sec.data] if sec.data else [])


def _shown_recipe(recipe: Recipe) -> str:
    from pul_bench.paths import REPO_ROOT

    src = recipe.source.resolve()
    return str(src.relative_to(REPO_ROOT)) if src.is_relative_to(REPO_ROOT) else str(src)


def _describe(d: dict[str, Any]) -> str:
    """'5 otb sequences (1,108 frames, <data>/sequences/otb)', and the networks' precision
    where the data source sets one (it can move a score)."""
    n = len(d["sequences"])
    text = (f"{n} {d['benchmark'].upper()}-layout sequence{'s' * (n != 1)} "
            f"({d['frames']:,} frames, {d['root']})")
    interval, standard = d.get("eao_interval"), d.get("standard_eao_interval")
    if interval and interval != standard:
        text += (f", EAO averaged over lengths {interval} instead of the standard {standard}, "
                 "which these short sequences do not reach")
    if d.get("precision"):
        text += f", networks run in {d['precision']}"
    return text


def _value(state: dict[str, Any], metric: str) -> float:
    if state.get("status") != "ok":
        return math.nan
    return float(state["scores"][metric])


def _not_ready(entry: Entry, state: dict[str, Any]) -> list[dict[str, Any]]:
    if state.get("status") in ("ok", None):
        return []
    return [{"tracker": entry.tracker, "checkpoint": entry.checkpoint,
             "status": state["status"], "reason": state.get("reason"),
             "train": state.get("train")}]


def _unique(items: Any) -> list[dict[str, Any]]:
    seen, out = set(), []
    for it in items:
        key = (it["tracker"], it["checkpoint"])
        if key not in seen:
            seen.add(key)
            out.append(it)
    return out


def _fmt(v: float | None, digits: int = 3) -> str:
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def _fmt_ci(v: float | None, ci: list[float] | None) -> str:
    """``0.582 [0.55, 0.61]``, or the bare value where no interval was computed."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return stats.format_ci(v, ci) if ci and not any(map(math.isnan, ci)) else _fmt(v)


def _comparisons(named: dict[str, dict[str, Any]], pairs: list[tuple[str, str]],
                 metric: str) -> list[dict[str, Any]]:
    """Paired verdicts (:func:`pul_bench.analysis.stats.compare`, Holm over ``pairs``) between
    named score dicts on ``metric`` (seed families resampled over their seeds too); scores
    without per-sequence values of it are left out."""
    values = {}
    for name, s in named.items():
        try:
            values[name] = stats.sequence_values(s, metric) if s.get("per_sequence") else {}
        except (PulBenchError, KeyError):
            continue
    kept = [(a, b) for a, b in pairs if values.get(a) and values.get(b)]
    return stats.compare(values, metric, pairs=kept) if kept else []


def _uncertainty(named: list[dict[str, Any]], comparisons: list[dict[str, Any]]) -> str:
    """Caption text: what stands behind each number and the smallest detectable difference."""
    counts = sorted({s.get("n_sequences", s.get("sequences")) for s in named} - {None})
    if not counts:
        return ""
    runs = sorted({s.get("repetitions", 1) for s in named})
    seeds = sorted({s.get("n_seeds", 1) for s in named})
    text = (f"[lo, hi]: 95% bootstrap interval over the {'/'.join(map(str, counts))} sequences"
            + (", and over seeds where there are several (the value is then the mean over "
               "seeds)" if seeds != [1] else "")
            + f"; {'/'.join(map(str, seeds))} training seed(s) per tracker, "
            f"{'/'.join(map(str, runs))} run(s) per sequence.")
    tested = [p for p in comparisons if p["n_sequences"]]
    if tested:
        label = stats.METRICS.get(tested[0]["metric"], (tested[0]["metric"],))[0]
        det = [p["detectable"] for p in tested if p["detectable"] is not None]
        text += (f" Verdicts: paired over sequences (Wilcoxon, Holm over the {len(tested)} "
                 "comparisons); " + (
                     f"the smallest difference they detect (80% power at 5%) is Δ{label} "
                     f"{min(det):.3f}" + (f"–{max(det):.3f}." if max(det) > min(det) + 5e-4
                                          else ".") if det else
                     "too few sequences for any difference to be significant."))
    return text


def _missing_note(not_ready: list[dict[str, Any]]) -> str:
    if not not_ready:
        return ""
    return "Not trained yet (no number shown): " + ", ".join(
        sorted({n["tracker"] if n["checkpoint"] is None else Path(n["checkpoint"]).stem
                for n in not_ready})) + "."


# ---- table ---------------------------------------------------------------------------------


def _table(ctx: ev.Context, recipe: Recipe, sec: Section, data: dict[str, Any],
           out: Path) -> _Built:
    rows_json, not_ready = [], []
    shape = (len(sec.rows), len(sec.groups), len(sec.metrics))
    ours, paper = np.full(shape, np.nan), np.full(shape, np.nan)
    ours_ci = np.full((*shape, 2), np.nan)
    available = np.zeros(shape[:2], bool)
    named: list[dict[str, dict[str, Any]]] = [{} for _ in sec.metrics]  # per metric
    pairs: list[list[tuple[str, str]]] = [[] for _ in sec.metrics]
    for r, row in enumerate(sec.rows):
        cells = []
        for g, (entry, pv) in enumerate(zip(row.cells, row.paper, strict=True)):
            if entry is None:
                cells.append({"group": sec.groups[g], "tracker": None})
                continue
            available[r, g] = True
            cell = {"group": sec.groups[g], "tracker": entry.tracker,
                    "checkpoint": entry.checkpoint, "ours": {}, "ours_ci": {}, "paper": {},
                    "scores": {}}
            for k, m in enumerate(sec.metrics):
                state = ev.evaluate(ctx, entry, recipe.data[m.data])
                ours[r, g, k] = _value(state, m.metric)
                paper[r, g, k] = math.nan if pv[k] is None else pv[k]
                cell["status"] = state["status"]
                cell["ours"][m.label] = None if math.isnan(ours[r, g, k]) else ours[r, g, k]
                cell["paper"][m.label] = pv[k]
                if state["status"] == "ok":
                    cell["scores"][m.data] = state["scores"]
                    ci = state["scores"].get(f"{m.metric}_ci")
                    cell["ours_ci"][m.label] = ci
                    if ci:
                        ours_ci[r, g, k] = ci
                    name = row.label + (f" ({sec.groups[g]})" if len(sec.groups) > 1 else "")
                    before = [n for n in named[k] if n.endswith(f"({sec.groups[g]})")
                              or len(sec.groups) == 1]
                    if before:  # each row against the row above it, in the same group
                        pairs[k].append((name, before[-1]))
                    named[k][name] = state["scores"]
                else:
                    cell.update(reason=state.get("reason"), train=state.get("train"))
                    not_ready += _not_ready(entry, state)
            cells.append(cell)
        rows_json.append({"label": row.label, "cells": cells})
    not_ready = _unique(not_ready)
    comparisons = [c for k, m in enumerate(sec.metrics)
                   for c in _comparisons(named[k], pairs[k], m.metric)]
    scored = [s for per_metric in named for s in per_metric.values()]
    caption = _caption(recipe, sec, data, [m.data for m in sec.metrics], not_ready,
                       "Hatched bars: the paper's published values (full-scale training, full "
                       "benchmarks); error bars: our 95% intervals. "
                       + _uncertainty(scored, comparisons))
    fig = plots.grouped_bars(sec.title, sec.x_label, [r.label for r in sec.rows], sec.groups,
                               [m.label for m in sec.metrics], ours, paper, available, caption,
                               ours_ci)
    files = plots.save(fig, out / sec.id)
    head = ["", *[f"{g} {m.label}" for g in sec.groups for m in sec.metrics]]
    lines = [f"## {sec.title}", "", caption, "", "Each cell: ours / paper.", "",
             _md_row(head), _md_row(["---"] * len(head))]
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
        lines.append(_md_row(cells))
    if comparisons:
        lines += ["", "Each row against the row above it (ours):", "",
                  *[f"- {c['verdict']}" for c in comparisons]]
    lines += ["", *_figure_links(files)]
    return _Built({"kind": "table", "id": sec.id, "title": sec.title, "caption": caption,
                   "metrics": [dataclasses.asdict(m) for m in sec.metrics],
                   "groups": list(sec.groups), "rows": rows_json, "comparisons": comparisons,
                   "figures": _names(files)}, lines, files, not_ready)


# ---- curve ---------------------------------------------------------------------------------


def _curve(ctx: ev.Context, recipe: Recipe, sec: Section, data: dict[str, Any],
           out: Path) -> _Built:
    src = recipe.data[sec.data]
    series_json, plotted, not_ready = [], {}, []
    bands: dict[str, tuple[list[float], list[float]]] = {}
    for s in sec.series:
        points = []
        for x, entry in s.points:
            state = ev.evaluate(ctx, entry, src)
            not_ready += _not_ready(entry, state)
            ok = state["status"] == "ok"
            points.append({"x": x, "tracker": entry.tracker, "checkpoint": entry.checkpoint,
                           "status": state["status"], "value": _value(state, sec.metric),
                           "ci": state["scores"].get(f"{sec.metric}_ci") if ok else None,
                           **({"scores": state["scores"]} if state["status"] == "ok" else
                              {"reason": state.get("reason"), "train": state.get("train")})})
        series_json.append({"label": s.label, "points": points})
        plotted[s.label] = ([p["x"] for p in points], [p["value"] for p in points])
        bands[s.label] = tuple([p["ci"][i] if p["ci"] else math.nan for p in points]
                               for i in (0, 1))
    refs_json, refs = [], {}
    for e in sec.references:
        state = ev.evaluate(ctx, e, src)
        not_ready += _not_ready(e, state)
        refs[e.label] = _value(state, sec.metric)
        refs_json.append({"label": e.label, "tracker": e.tracker, "status": state["status"],
                          "value": refs[e.label],
                          **({"scores": state["scores"]} if state["status"] == "ok" else {})})
    not_ready = _unique(not_ready)
    label = METRIC_LABELS[sec.metric]
    xs = sorted({x for s in sec.series for x, _ in s.points})
    # series against each other at the same x (e.g. NR against BCE at one noise level)
    named = {f"{s['label']} at {p['x']:g}": p["scores"] for s in series_json
             for p in s["points"] if p["status"] == "ok"}
    pairs = [(a, b) for x in xs for i, a in enumerate(named) for b in list(named)[i + 1:]
             if a.endswith(f" at {x:g}") and b.endswith(f" at {x:g}")]
    comparisons = _comparisons(named, pairs, sec.metric)
    caption = _caption(recipe, sec, data, [sec.data], not_ready,
                       "Shaded: 95% intervals. " + _uncertainty(list(named.values()),
                                                                comparisons))
    fig = plots.lines(sec.title, sec.x_label, f"{label} on {data[sec.data]['benchmark'].upper()}",
                        plotted, refs, caption, x_ticks=xs,
                        empty_note="no trained checkpoint yet:\nsee the commands in report.md",
                        bands=bands)
    files = plots.save(fig, out / sec.id)
    head = [sec.x_label, *[s.label for s in sec.series]]
    lines = [f"## {sec.title}", "", caption, "", f"{label}:", "", _md_row(head),
             _md_row(["---"] * len(head))]
    for x in xs:
        vals = []
        for s in series_json:
            p = next((p for p in s["points"] if p["x"] == x), None)
            vals.append("" if p is None else
                        (_fmt_ci(p["value"], p["ci"]) if p["status"] == "ok" else p["status"]))
        lines.append(_md_row([f"{x:g}", *vals]))
    for name, v in refs.items():
        lines.append(f"\nReference: {name}: {_fmt(v) if not math.isnan(v) else 'not trained'}")
    if comparisons:
        lines += ["", "Series against each other at the same x:", "",
                  *[f"- {c['verdict']}" for c in comparisons]]
    lines += ["", *_figure_links(files)]
    return _Built({"kind": "curve", "id": sec.id, "title": sec.title, "caption": caption,
                   "metric": sec.metric, "data": sec.data, "x_label": sec.x_label,
                   "series": series_json, "references": refs_json, "comparisons": comparisons,
                   "figures": _names(files)}, lines, files, not_ready)


# ---- clip length ---------------------------------------------------------------------------


def _clip_length(ctx: ev.Context, recipe: Recipe, sec: Section, data: dict[str, Any],
                 out: Path) -> _Built:
    src = recipe.data[sec.data]
    seqs, _ = load_otb(ctx.benchmark(src), ctx.root(src), src.sequences)
    clips = {L: {s.name: [st + 1 for st in ev.clip_starts(s, L, sec.max_clips)] for s in seqs}
             for L in sec.lengths}
    counts = {L: sum(len(v) for v in c.values()) for L, c in clips.items()}
    lengths = [L for L in sec.lengths if counts[L]]
    trackers_json, plotted, not_ready = [], {}, []
    bands: dict[str, tuple[list[float], list[float]]] = {}
    for entry in sec.trackers:
        per_length = {}
        for L in lengths:
            state = ev.evaluate_clips(ctx, entry, src, L, sec.max_clips)
            not_ready += _not_ready(entry, state)
            per_length[str(L)] = {"status": state["status"], "dp20": _value(state, "dp20"),
                                  "auc": _value(state, "auc"),
                                  "dp20_ci": (_clip_interval(state["scores"], clips[L], "dp20")
                                              if state["status"] == "ok" else None),
                                  **({"scores": state["scores"]} if state["status"] == "ok"
                                     else {"reason": state.get("reason"),
                                           "train": state.get("train")})}
        trackers_json.append({"label": entry.label, "tracker": entry.tracker,
                              "checkpoint": entry.checkpoint, "seeds": entry.seeds,
                              "lengths": per_length})
        plotted[entry.label] = (lengths, [per_length[str(L)]["dp20"] for L in lengths])
        bands[entry.label] = tuple([(per_length[str(L)]["dp20_ci"] or [math.nan] * 2)[i]
                                    for L in lengths] for i in (0, 1))
    not_ready = _unique(not_ready)
    seeds = sorted({e.seeds for e in sec.trackers if e.seeds > 1})
    skipped = [L for L in sec.lengths if not counts[L]]
    rule = (f"Clips: each sequence is tiled from its first frame into non-overlapping windows "
            f"of L frames (shorter tail dropped, windows starting on an unannotated frame "
            f"dropped), at most {sec.max_clips} evenly spaced windows kept per sequence; the "
            f"tracker starts from the ground truth of each clip's first frame; DP@20 is averaged "
            f"over clips (MATLAB OTB rules). Clips per length: "
            + ", ".join(f"L={L}: {counts[L]}" for L in lengths) + "."
            + (f" No sequence is long enough for L={', '.join(map(str, skipped))}."
               if skipped else "")
            + f" Shaded: 95% intervals from a bootstrap over the {len(seqs)} sequences (each "
            "drawn with all its clips, since clips of one sequence are not independent)"
            + (f"; a tracker with {'/'.join(map(str, seeds))} training seeds scores each clip "
               "by the mean over its seeds, and its interval resamples sequences only, not "
               "seeds." if seeds else "; one training seed per checkpoint."))
    caption = _caption(recipe, sec, data, [sec.data], not_ready, rule)
    fig = plots.lines(sec.title, "clip length L (frames)", "precision at 20 px (DP@20)",
                        plotted, {}, caption, log_x=True, x_ticks=lengths,
                        empty_note="no trained checkpoint yet:\nsee the commands in report.md",
                        bands=bands)
    files = plots.save(fig, out / sec.id)
    head = ["L (frames)", "clips", *[e.label for e in sec.trackers]]
    lines = [f"## {sec.title}", "", caption, "", "DP@20:", "", _md_row(head),
             _md_row(["---"] * len(head))]
    for L in lengths:
        vals = [_fmt_ci(t["lengths"][str(L)]["dp20"], t["lengths"][str(L)]["dp20_ci"])
                if t["lengths"][str(L)]["status"] == "ok" else t["lengths"][str(L)]["status"]
                for t in trackers_json]
        lines.append(_md_row([str(L), str(counts[L]), *vals]))
    lines += ["", *_figure_links(files)]
    return _Built({"kind": "clip-length", "id": sec.id, "title": sec.title, "caption": caption,
                   "data": sec.data, "max_clips": sec.max_clips,
                   "clips": {str(L): {"count": counts[L], "starts_1based": clips[L]}
                             for L in sec.lengths},
                   "trackers": trackers_json, "figures": _names(files)}, lines, files,
                  not_ready)


def _clip_interval(scores: dict[str, Any], starts: dict[str, list[int]],
                   metric: str) -> list[float]:
    """95% interval of a clip-averaged score from a bootstrap over sequences: each drawn
    sequence brings all its clips (``starts``: 1-based clip starts by sequence)."""
    per_clip = scores["per_sequence"]
    names = {seq: [n for n in (ev.clip_name(seq, st - 1) for st in s) if n in per_clip]
             for seq, s in starts.items()}
    names = {seq: n for seq, n in names.items() if n}
    return stats.interval([sum(per_clip[n][metric] for n in ns) for ns in names.values()],
                          [len(ns) for ns in names.values()])


# ---- compare -------------------------------------------------------------------------------

#: Up to this many common sequences are named in a compare caption; more are only tabled.
_LISTED = 20


def _compare(ctx: ev.Context, recipe: Recipe, sec: Section, data: dict[str, Any],
             out: Path) -> _Built:
    from pul_bench.analysis.otb import score_results

    pub_root, dirs = _published_dirs(ctx, recipe, sec)
    src = recipe.data[sec.data]
    bench = ctx.benchmark(src)
    seqs, _ = load_otb(bench, ctx.root(src), src.sequences)
    published, _ = ev.published_results(dirs, seqs)
    common = [s for s in seqs if all(s.name in published[d.name] for d in dirs)]
    excluded = [s.name for s in seqs if s not in common]
    if not common:
        raise PulBenchError(f"section {sec.id}: no sequence under {ctx.root(src)} has "
                            f"published results in every folder of {pub_root}")
    published, cut = ev.published_results(dirs, common)
    if sec.annotations:
        ann = Path(sec.annotations)
        ev.check_annotations(common, ann if ann.is_absolute() else ctx.data_root / ann, bench)
    convention = bench.convention or "matlab"
    scores = {f"{n} (published)": s
              for n, s in score_results(common, published, convention,
                                        curve_bands=True).items()}
    sub = dataclasses.replace(src, sequences=tuple(s.name for s in common))
    ours, not_ready = {}, []
    for e in sec.trackers:
        state = ev.evaluate(ctx, e, sub)
        not_ready += _not_ready(e, state)
        if state["status"] == "ok":
            ours[f"{entry_name(e)} (ours)"] = state["scores"]
    scores.update(ours)
    not_ready = _unique(not_ready)
    frames = sum(len(s) for s in common)
    listed = (", ".join(s.name for s in common) if len(common) <= _LISTED
              else "listed in the per-sequence table")
    notes = [f"Scored on the {len(common)} sequences present in {data[sec.data]['root']} that "
             f"every published result set covers ({listed}; {frames:,} frames), all as "
             f"`pulbench score {bench.name}` scores them ({convention} convention)."]
    for name, (kept, full) in cut.items():
        notes.append(f"{name}: only the first {kept} of its {full:,} frames are present; every "
                     f"tracker is scored on those {kept} (the published boxes are cut there; "
                     "one-pass tracking is causal, so this equals running on those frames).")
    if excluded:
        notes.append(f"Excluded (no published results): {', '.join(excluded)}.")
    comparisons = _comparisons(scores, [(a, b) for a in ours for b in scores if b not in ours],
                               "auc")
    ranked = sorted(scores, key=lambda n: (-scores[n]["auc"], n))
    theirs = [n for n in ranked if n not in ours]  # each against the next one below it
    between = _comparisons(scores, list(pairwise(theirs)), "auc")
    notes.append(_uncertainty(list(scores.values()), comparisons + between))
    if any("success_curve_ci" in s for s in scores.values()):
        notes.append("Shaded: pointwise 95% intervals of each curve (the same bootstrap)"
                     + ("; a seed family's curve is the mean of its seeds' curves, without a "
                        "band." if any(s.get("n_seeds", 1) > 1 for s in scores.values())
                        else "."))
    caption = _caption(recipe, sec, data, [], not_ready, " ".join(notes))
    where = f"{len(common)} {bench.name.upper()} sequences ({frames:,} frames)"
    files = _compare_figures(scores, where, caption, out / sec.id)
    head = ["tracker", "source", "AUC", "DP@20", "norm. prec.", "SR@0.5",
            "published AUC (full benchmark)", "published DP@20 (full benchmark)"]
    lines = [f"## {sec.title}", "", caption, "", _md_row(head), _md_row(["---"] * len(head))]
    for n in ranked:
        s = scores[n]
        base = n.rsplit(" (", 1)[0]
        pub = sec.published_scores.get(base, {}) if n.endswith("(published)") else {}
        origin = "published raw results" if n.endswith("(published)") else "ours (pul_bench)"
        lines.append(_md_row([base, origin, *[_fmt_ci(s[k], s.get(f"{k}_ci"))
                                              for k in ("auc", "dp20", "norm_prec", "sr50")],
                              _fmt(pub.get("auc")), _fmt(pub.get("dp20"))]))
    if sec.published_scores_note:
        lines += ["", sec.published_scores_note]
    if comparisons:
        lines += ["", "Ours against each published tracker (AUC, paired over these sequences):",
                  "", *[f"- {c['verdict']}" for c in comparisons]]
    if between:
        lines += ["", "Published trackers, each against the next one below it (AUC, paired "
                  "over these sequences):", "", *[f"- {c['verdict']}" for c in between]]
    seq_head = ["sequence", *ranked]
    lines += ["", "Per-sequence AUC:", "", _md_row(seq_head), _md_row(["---"] * len(seq_head))]
    for s in common:
        lines.append(_md_row([s.name, *[_fmt(scores[n]["per_sequence"][s.name]["auc"])
                                        for n in ranked]]))
    lines += ["", *_figure_links(files)]
    return _Built({"kind": "compare", "id": sec.id, "title": sec.title, "caption": caption,
                   "sequences": [s.name for s in common], "frames": frames,
                   "excluded": excluded, "cut": {k: {"kept": v[0], "published": v[1]}
                                                 for k, v in cut.items()},
                   "published_dir": ev.shown_path(pub_root, ctx.data_root),
                   "published_scores_full_benchmark": sec.published_scores,
                   "trackers": {n: {"source": "published" if n.endswith("(published)")
                                    else "ours", **scores[n]} for n in ranked},
                   "comparisons": comparisons, "published_comparisons": between,
                   "figures": _names(files)}, lines, files, not_ready)


def _compare_figures(scores: dict[str, Any], where: str, caption: str,
                     stem: Path) -> list[Path]:
    """Success, precision and normalised-precision plots of ours beside the published
    results, captioned (the table lists all three scores, whatever the benchmark)."""
    styles, count = {}, {True: 0, False: 0}
    for name in sorted(scores, key=lambda n: (-scores[n]["auc"], n)):
        ours = "(ours)" in name  # ours: thick solid; published: thin dashed
        palette = plots.COLORS if ours else plots.PALE
        styles[name] = {"color": palette[count[ours] % len(palette)],  # unique in each group
                        "linestyle": "-" if ours else "--", "linewidth": 2.6 if ours else 1.4}
        count[ours] += 1
    files = []
    for kind, title, plot in (("success", "Success", plots.success_plot),
                              ("precision", "Precision", plots.precision_plot),
                              ("norm-precision", "Normalized precision",
                               plots.norm_precision_plot)):
        fig = plot(scores, f"{title} plots of OPE on {where}", styles)
        fig.set_size_inches(9.6, 6.2)
        fig.set_dpi(plots.REPORT_DPI)
        ax = fig.axes[0]
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small",
                  frameon=False, title="solid: ours; dashed: published", title_fontsize="small")
        plots.add_caption(fig, caption, width=120)
        files += plots.save(fig, stem.with_name(f"{stem.name}-{kind}"))
    return files


# ---- claims --------------------------------------------------------------------------------


def _claims(ctx: ev.Context, recipe: Recipe, sec: Section, data: dict[str, Any],
            out: Path) -> _Built:
    """Each claim a paired comparison a - b over the sequences (Holm over the section's claims)
    with its outcome and, when undecided, how many sequences would decide it."""
    src = recipe.data[sec.data]
    states, not_ready = {}, []
    for e in (e for c in sec.claims for e in (c.a, c.b)):
        states[entry_name(e)] = state = ev.evaluate(ctx, e, src)
        not_ready += _not_ready(e, state)
    not_ready = _unique(not_ready)
    named = {n: s["scores"] for n, s in states.items() if s["status"] == "ok"}
    pairs = [(entry_name(c.a), entry_name(c.b)) for c in sec.claims]
    # 'a > b' and 'a >= b' on the same pair are one test, counted once by Holm
    tested = {(p["a"], p["b"]): p for p in _comparisons(named, list(dict.fromkeys(pairs)),
                                                        sec.metric) if p["n_sequences"]}
    claims_json = [_claim(c, tested.get(pair), len(tested), states, sec.metric)
                   for c, pair in zip(sec.claims, pairs, strict=True)]
    label = METRIC_LABELS[sec.metric]
    rule = (f"Δ = a − b in {label}: the mean of the per-sequence differences; [lo, hi]: its 95% "
            "paired-bootstrap interval over the sequences; p: two-sided Wilcoxon signed-rank, "
            f"Holm-corrected over the {len(tested)} distinct comparison(s). 'a > b' reads 'a is "
            "better than b'" + ("" if stats.METRICS.get(sec.metric, ("", True))[1] else
                               f" (for {label}, lower is better: 'above 0' below means on the "
                               "side where a is better, Δ < 0)") + ". 'a > b' holds when "
            "both agree (p < 0.05 and the interval above 0) and is contradicted when both agree "
            "the other way; 'a >= b' holds when the interval lies above 0, is contradicted when it "
            "lies below, and otherwise is consistent (a is not shown worse), equality not "
            "excluded. To decide: the smallest difference these sequences detect (80% power at "
            "5%: 2.8 × the standard error of Δ) and the approximate number of sequences at which "
            "the observed Δ would be decided, n·(detectable/|Δ|)², if Δ and the spread stayed "
            "the same (for '>' at least the number at which a Wilcoxon test can reach p < 0.05).")
    if any(e.seeds > 1 for c in sec.claims for e in (c.a, c.b)):
        rule += (" A seed family's per-sequence value is its mean over seeds (Δ and p use "
                 "these); its intervals resample the sequences and then, within each side "
                 "independently, its seeds, so they hold the seed-to-seed variation. That part "
                 "of the spread does not shrink with more sequences, so for seed families the "
                 "number of sequences to decide may be too low. 'n × K' gives the sequences "
                 "and the seeds of a/b.")
    caption = _caption(recipe, sec, data, [sec.data], not_ready, rule)
    comps = [c["comparison"] for c in claims_json]
    fig = plots.forest(sec.title, f"Δ{label} (a − b) with its 95% interval",
                       [c.label for c in sec.claims],
                       [math.nan if p is None else p["delta"] for p in comps],
                       [None if p is None else p["ci"] for p in comps],
                       [c["outcome"] for c in claims_json], caption)
    files = plots.save(fig, out / sec.id)
    head = ["claim", f"Δ{label} [95% CI]", "p (Holm)", "n seq × seeds", "outcome", "to decide"]
    lines = [f"## {sec.title}", "", caption, "", _md_row(head), _md_row(["---"] * len(head))]
    for c in claims_json:
        p = c["comparison"]
        seeds = f"{c['a']['seeds']}/{c['b']['seeds']}"
        numbers = ["–", "–", f"– × {seeds}"] if p is None else [
            f"{p['delta']:+.3f} [{p['ci'][0]:+.3f}, {p['ci'][1]:+.3f}]" if p["ci"] else
            f"{p['delta']:+.3f}", f"{p['p_holm']:.2g}", f"{p['n_sequences']} × {seeds}"]
        lines.append(_md_row([c["label"], *numbers, c["reading"], c["to_decide_text"]]))
    lines += ["", *_figure_links(files)]
    return _Built({"kind": "claims", "id": sec.id, "title": sec.title, "caption": caption,
                   "data": sec.data, "metric": sec.metric, "claims": claims_json,
                   "figures": _names(files)}, lines, files, not_ready)


def _claim(claim: Claim, pair: dict[str, Any] | None, family: int,
           states: dict[str, dict[str, Any]], metric: str) -> dict[str, Any]:
    """One claim's JSON: both sides, the paired comparison, the outcome and, when undecided,
    the detectable difference and the sequences that would decide the observed one."""
    sides = {}
    for key, e in (("a", claim.a), ("b", claim.b)):
        state = states[entry_name(e)]
        sides[key] = {"name": entry_name(e), "tracker": e.tracker, "checkpoint": e.checkpoint,
                      "seeds": e.seeds, "status": state["status"],
                      "value": _value(state, metric),
                      **({} if state["status"] == "ok" else
                         {"reason": state.get("reason"), "train": state.get("train")})}
    out = {"label": claim.label, "relation": claim.relation, **sides, "comparison": pair,
           "to_decide": None, "to_decide_text": ""}
    lacking = [s["status"] for s in sides.values() if s["status"] != "ok"]
    if lacking or pair is None:
        text = lacking[0] if lacking else "no common sequence"
        return {**out, "outcome": text, "reading": text}
    lo, hi = pair["ci"] or (math.nan, math.nan)
    sign = 1 if stats.METRICS.get(metric, (metric, True))[1] else -1  # lower better: a > b is Δ < 0
    if sign < 0:
        lo, hi = -hi, -lo
    decided = pair["significant"] if claim.relation == ">" else (lo > 0 or hi < 0)
    if decided and (lo > 0 or hi < 0):
        outcome = "holds" if lo > 0 else "contradicted"
        return {**out, "outcome": outcome, "reading": outcome}
    if claim.relation == ">=":
        reading = "consistent (a is not shown worse), equality not excluded"
    elif lo > 0 or hi < 0:
        reading = f"undecided: {stats.INTERVAL_ONLY}"
    else:
        reading = "undecided"
    out.update(outcome="undecided", reading=reading)
    if math.isnan(pair["se"]):
        return out
    n, delta = pair["n_sequences"], abs(pair["delta"])
    detectable = stats.detectable_difference(pair["se"])  # also where too few for Wilcoxon
    needed = math.ceil(n * (detectable / delta) ** 2) if delta else None
    if needed is not None and claim.relation == ">":
        needed = max(needed, next(k for k in count(1)
                                  if family * stats.smallest_p(k) < stats.ALPHA))
    against = sign * pair["delta"] < 0  # the observed Δ points away from the claim
    out["to_decide"] = {"detectable": detectable, "sequences": needed, "against": against}
    out["to_decide_text"] = (f"detectable ±{detectable:.3f}; " + (
        "Δ = 0: no number of sequences" if needed is None else
        f"|Δ| = {delta:.3f}: over {100 * n} sequences (100× these) would still not decide it"
        if needed > 100 * n else
        f"Δ points against the claim: ≈{needed} sequences would contradict it" if against else
        f"≈{needed} sequences"))
    return out


# ---- shared --------------------------------------------------------------------------------


def _caption(recipe: Recipe, sec: Section, data: dict[str, Any], keys: list[str],
             not_ready: list[dict[str, Any]], extra: str) -> str:
    parts = [f"Ours: {recipe.scale}."]
    if keys:
        parts.append("Evaluated on " + "; ".join(_describe(data[k]) for k in dict.fromkeys(keys))
                     + ".")
    for text in (sec.caption, extra, _missing_note(not_ready)):
        if text:
            parts.append(text)
    return " ".join(p.strip() for p in parts)


def _md_row(cells: list[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def _names(files: list[Path]) -> list[str]:
    return [f.name for f in files]


def _figure_links(files: list[Path]) -> list[str]:
    return [f"![{f.stem}]({f.name})" for f in files if f.suffix == ".png"] + \
        [f"PDF: {', '.join(f.name for f in files if f.suffix == '.pdf')}"]


def _markdown(recipe: Recipe, data: dict[str, Any], built: list[_Built],
              not_ready: list[dict[str, Any]], command: str, out: Path) -> str:
    lines = [f"# {recipe.title}", "",
             f"Made by `{command or 'pulbench report ' + recipe.name}` from the recipe "
             f"`{_shown_recipe(recipe)}`; every number is in `report.json`. `<data>` is the "
             "shared data folder (`--root`).", "",
             f"**Scale of our runs:** {recipe.scale}. Published values (the paper's, or raw "
             "results from their authors) are labelled as such; those trackers were trained "
             "at full scale.", "", "Data:", ""]
    for k, d in data.items():
        extra = f"; missing: {', '.join(d['missing'])}" if d["missing"] else ""
        lines.append(f"- `{k}`: {_describe(d)}: {', '.join(d['sequences'])}{extra}")
    for b in built:
        lines += ["", *b.markdown]
    if not_ready:
        lines += ["", "## Not trained yet", "",
                  "These appear as 'not trained' above. Train them, then re-run the report "
                  "(finished results are reused):", ""]
        for n in not_ready:
            what = n["tracker"] + (f" with {n['checkpoint']}" if n["checkpoint"] else "")
            how = f": `{n['train']}`" if n.get("train") else ""
            lines.append(f"- {what} ({n['reason']}){how}")
    return "\n".join(lines) + "\n"


_BUILDERS: dict[str, Callable[..., _Built]] = {
    "table": _table, "curve": _curve, "clip-length": _clip_length, "compare": _compare,
    "claims": _claims,
}
