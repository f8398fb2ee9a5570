"""Table, curve and clip-length sections: evaluate each entry, score, and verdict, into the typed
results of :mod:`.model` (nothing is written here)."""

from __future__ import annotations

from typing import Any

from pul_bench.analysis import stats
from pul_bench.datasets.otb import load_otb
from pul_bench.reports import clips as cl
from pul_bench.reports import evaluation as ev
from pul_bench.reports.model import (
    Cell,
    ClipLengthResult,
    CurveResult,
    NotReady,
    Point,
    TableResult,
    unique,
)
from pul_bench.reports.recipe import Recipe, Section
from pul_bench.reports.shared import caption, comparisons, uncertainty


def table(ctx: ev.Context, recipe: Recipe, sec: Section, data: dict[str, Any]) -> TableResult:
    """Every cell on every metric; per metric, each row against the row above it in the same
    group (the groups told apart by field, not by name)."""
    res = TableResult(sec)
    named: list[dict[str, dict[str, Any]]] = [{} for _ in sec.metrics]  # per metric
    pairs: list[list[tuple[str, str]]] = [[] for _ in sec.metrics]
    last: list[dict[str, str]] = [{} for _ in sec.metrics]  # per metric: group -> name above
    metrics = tuple(m.metric for m in sec.metrics)
    for row in sec.rows:
        cells = []
        for group, entry, pv in zip(sec.groups, row.cells, row.paper, strict=True):
            if entry is None:
                cells.append(Cell(group, None))
                continue
            states = tuple(ev.evaluate(ctx, entry, recipe.data[m.data]) for m in sec.metrics)
            cells.append(Cell(group, entry, states, pv, metrics))
            name = row.label + (f" ({group})" if len(sec.groups) > 1 else "")
            for k, state in enumerate(states):
                res.not_ready += NotReady.of(entry, state)
                if not state.ok:
                    continue
                if group in last[k]:
                    pairs[k].append((name, last[k][group]))
                last[k][group] = name
                named[k][name] = state.scores
        res.rows.append((row.label, cells))
    res.not_ready = unique(res.not_ready)
    res.comparisons = [c for k, m in enumerate(sec.metrics)
                       for c in comparisons(named[k], pairs[k], m.metric)]
    scored = [s for per_metric in named for s in per_metric.values()]
    res.caption = caption(recipe, sec, data, [m.data for m in sec.metrics], res.not_ready,
                          "Hatched bars: the paper's published values (full-scale training, "
                          "full benchmarks); error bars: our 95% intervals. "
                          + uncertainty(scored, res.comparisons))
    return res


def curve(ctx: ev.Context, recipe: Recipe, sec: Section, data: dict[str, Any]) -> CurveResult:
    """Each series' points and the references; series against each other at the same x."""
    src = recipe.data[sec.data]
    res = CurveResult(sec, xs=sorted({x for s in sec.series for x, _ in s.points}))
    for s in sec.series:
        points = []
        for x, entry in s.points:
            state = ev.evaluate(ctx, entry, src)
            res.not_ready += NotReady.of(entry, state)
            points.append(Point(x, entry, state, state.ci(sec.metric)))
        res.series.append((s.label, points))
    for e in sec.references:
        state = ev.evaluate(ctx, e, src)
        res.not_ready += NotReady.of(e, state)
        res.references.append((e, state))
    res.not_ready = unique(res.not_ready)
    scored = [(label, p) for label, points in res.series for p in points if p.state.ok]
    named = {f"{label} at {p.x:g}": p.state.scores for label, p in scored}
    pairs = [(f"{a[0]} at {x:g}", f"{b[0]} at {x:g}") for x in res.xs
             for i, a in enumerate(scored) for b in scored[i + 1:]
             if a[1].x == x and b[1].x == x]
    res.comparisons = comparisons(named, pairs, sec.metric)
    res.caption = caption(recipe, sec, data, [sec.data], res.not_ready,
                          "Shaded: 95% intervals. "
                          + uncertainty(list(named.values()), res.comparisons))
    return res


def clip_length(ctx: ev.Context, recipe: Recipe, sec: Section,
                data: dict[str, Any]) -> ClipLengthResult:
    """DP@20 (and AUC) of each tracker over the clips of each length, with intervals from a
    bootstrap over sequences."""
    src = recipe.data[sec.data]
    seqs, _ = load_otb(ctx.benchmark(src), ctx.root(src), src.sequences)
    res = ClipLengthResult(sec, clips={
        L: {s.name: [st + 1 for st in cl.clip_starts(s, L, sec.max_clips)] for s in seqs}
        for L in sec.lengths})
    res.lengths = [L for L in sec.lengths if res.count(L)]
    for entry in sec.trackers:
        points = []
        for L in res.lengths:
            state = cl.evaluate_clips(ctx, entry, src, L, sec.max_clips)
            res.not_ready += NotReady.of(entry, state)
            ci = clip_interval(state.scores, res.clips[L], "dp20") if state.ok else None
            points.append(Point(L, entry, state, ci))
        res.trackers.append((entry, points))
    res.not_ready = unique(res.not_ready)
    res.caption = caption(recipe, sec, data, [sec.data], res.not_ready,
                          _clip_rule(res, len(seqs)))
    return res


def _clip_rule(res: ClipLengthResult, n_seqs: int) -> str:
    sec = res.section
    seeds = sorted({e.seeds for e in sec.trackers if e.seeds > 1})
    skipped = [L for L in sec.lengths if not res.count(L)]
    return (f"Clips: each sequence is tiled from its first frame into non-overlapping windows "
            f"of L frames (shorter tail dropped, windows starting on an unannotated frame "
            f"dropped), at most {sec.max_clips} evenly spaced windows kept per sequence; the "
            f"tracker starts from the ground truth of each clip's first frame; DP@20 is averaged "
            f"over clips (MATLAB OTB rules). Clips per length: "
            + ", ".join(f"L={L}: {res.count(L)}" for L in res.lengths) + "."
            + (f" No sequence is long enough for L={', '.join(map(str, skipped))}."
               if skipped else "")
            + f" Shaded: 95% intervals from a bootstrap over the {n_seqs} sequences (each "
            "drawn with all its clips, since clips of one sequence are not independent)"
            + (f"; a tracker with {'/'.join(map(str, seeds))} training seeds scores each clip "
               "by the mean over its seeds, and its interval resamples sequences only, not "
               "seeds." if seeds else "; one training seed per checkpoint."))


def clip_interval(scores: dict[str, Any], starts: dict[str, list[int]],
                  metric: str) -> list[float]:
    """95% interval of a clip-averaged score from a bootstrap over sequences: each drawn
    sequence brings all its clips (``starts``: 1-based clip starts by sequence)."""
    per_clip = scores["per_sequence"]
    names = {seq: [n for n in (cl.clip_name(seq, st - 1) for st in s) if n in per_clip]
             for seq, s in starts.items()}
    names = {seq: n for seq, n in names.items() if n}
    return stats.interval([sum(per_clip[n][metric] for n in ns) for ns in names.values()],
                          [len(ns) for ns in names.values()])

