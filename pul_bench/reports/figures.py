"""Each section result drawn (PNG + PDF) by :mod:`pul_bench.plots`; the captions are in
``report.md`` and ``report.json``, not in the images, so a figure can go into a paper as it is."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from pul_bench import plots
from pul_bench.reports.model import (
    ClaimsResult,
    ClipLengthResult,
    CompareResult,
    Computed,
    CurveResult,
    TableResult,
)
from pul_bench.reports.recipe import METRIC_LABELS

_EMPTY = "no trained checkpoint yet:\nsee the commands in report.md"


def draw(res: Computed, out: Path, data: dict) -> list[Path]:
    """Draw ``res`` into ``out`` (named by the section id); return the files written."""
    sec = res.section
    if isinstance(res, TableResult):
        ours, paper, ci, available = table_arrays(res)
        fig = plots.grouped_bars(sec.title, sec.x_label, [r.label for r in sec.rows], sec.groups,
                                 [m.label for m in sec.metrics], ours, paper, available, ci)
    elif isinstance(res, CurveResult):
        values, bands = _lines(res.series, sec.metric)
        fig = plots.lines(sec.title, sec.x_label,
                          f"{METRIC_LABELS[sec.metric]} on "
                          f"{data[sec.data]['benchmark'].upper()}", values,
                          {e.label: st.value(sec.metric) for e, st in res.references},
                          x_ticks=res.xs, empty_note=_EMPTY, bands=bands)
    elif isinstance(res, ClipLengthResult):
        values, bands = _lines([(e.label, pts) for e, pts in res.trackers], "dp20")
        fig = plots.lines(sec.title, "clip length L (frames)", "precision at 20 px (DP@20)",
                          values, {}, log_x=True, x_ticks=res.lengths, empty_note=_EMPTY,
                          bands=bands)
    elif isinstance(res, ClaimsResult):
        comps = [c.comparison for c in res.claims]
        fig = plots.forest(sec.title, f"Δ{METRIC_LABELS[sec.metric]} (a − b) with its 95% "
                           "interval", [c.label for c in sec.claims],
                           [math.nan if p is None else p["delta"] for p in comps],
                           [None if p is None else p["ci"] for p in comps],
                           [c.outcome for c in res.claims])
    elif isinstance(res, CompareResult):
        return plots.compare_curves({t.shown: t.scores for t in res.ranked},
                                    {t.shown for t in res.ranked if t.ours}, res.where,
                                    out / sec.id)
    else:
        raise TypeError(f"no figure for {type(res).__name__}")
    return plots.save(fig, out / sec.id)


def table_arrays(res: TableResult) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(rows, groups, metrics) arrays of ours, the paper's values and our intervals (rows,
    groups, metrics, 2), NaN where absent, and where the paper has the model (rows, groups)."""
    sec = res.section
    shape = (len(sec.rows), len(sec.groups), len(sec.metrics))
    ours, paper = np.full(shape, np.nan), np.full(shape, np.nan)
    ours_ci = np.full((*shape, 2), np.nan)
    available = np.zeros(shape[:2], bool)
    for r, (_, cells) in enumerate(res.rows):
        for g, cell in enumerate(cells):
            if cell.entry is None:
                continue
            available[r, g] = True
            for k, m in enumerate(sec.metrics):
                state, pv = cell.states[k], cell.paper[k]
                ours[r, g, k] = state.value(m.metric)
                paper[r, g, k] = math.nan if pv is None else pv
                ci = state.ci(m.metric)
                if ci:
                    ours_ci[r, g, k] = ci
    return ours, paper, ours_ci, available


def _lines(series: list, metric: str) -> tuple[dict, dict]:
    """Plotted values and interval bands of each (label, points) series."""
    values = {label: ([p.x for p in pts], [p.state.value(metric) for p in pts])
              for label, pts in series}
    bands = {label: tuple([p.ci[i] if p.ci else math.nan for p in pts] for i in (0, 1))
             for label, pts in series}
    return values, bands
