"""Report figures: grouped bars of ours beside the paper's values, metric-versus-x curves, and
the caption under every figure that says which data and scale produced it.

Uses matplotlib's object API (no pyplot), so nothing depends on a display or global state.
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from PIL import Image

from pul_bench.io import atomic_path

_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf",
           "#e377c2"]
_MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
PNG_DPI = 110


def add_caption(fig: Figure, text: str, width: int = 110) -> None:
    """Put ``text`` under the axes, wrapped; constrained layout keeps room for it."""
    wrapped = "\n".join(textwrap.fill(p, width) for p in text.split("\n") if p.strip())
    fig.supxlabel(wrapped, fontsize=7.5, color="0.2", ha="center")


def save(fig: Figure, stem: Path) -> list[Path]:
    """Write ``stem``.png and ``stem``.pdf atomically; return both paths.

    The PNG is reduced to a 256-colour palette (a quarter of the bytes, same look) since
    reports are committed; the PDF carries no creation date, so a re-run does not churn it.
    """
    png, pdf = stem.with_suffix(".png"), stem.with_suffix(".pdf")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=PNG_DPI)
    buf.seek(0)
    with Image.open(buf) as img, atomic_path(png) as tmp:
        img.convert("RGB").quantize(256, dither=Image.Dither.NONE).save(
            tmp, format="png", optimize=True)
    with atomic_path(pdf) as tmp:
        fig.savefig(tmp, format="pdf", metadata={"CreationDate": None})
    return [png, pdf]


def grouped_bars(title: str, x_label: str, rows: Sequence[str], groups: Sequence[str],
                 metrics: Sequence[str], ours: np.ndarray, paper: np.ndarray,
                 available: np.ndarray, caption: str) -> Figure:
    """One panel per metric; per row, an 'ours' and a 'paper' bar for each group.

    ``ours`` and ``paper`` are (rows, groups, metrics) with NaN where there is no value;
    ``available`` (rows, groups) is False where the paper has no such model (no bars at all).
    A missing 'ours' value of an existing model is marked "not trained".
    """
    n_m = len(metrics)
    width_in = float(np.clip(1.6 + 1.25 * len(rows) * max(len(groups), 1) / 2 * n_m, 7.0, 13.0))
    fig = Figure(figsize=(width_in, 4.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, n_m, squeeze=False)[0])
    bars = 2 * len(groups)
    w = 0.8 / bars
    x = np.arange(len(rows))
    top = np.nanmax(np.concatenate([ours.ravel(), paper.ravel(), [0.1]]))
    for k, (ax, metric) in enumerate(zip(axes, metrics, strict=True)):
        for g, group in enumerate(groups):
            color = _COLORS[g % len(_COLORS)]
            pos_o = x - 0.4 + (2 * g + 0.5) * w
            pos_p = pos_o + w
            ax.bar(pos_o, np.nan_to_num(ours[:, g, k]), w, color=color,
                   label=f"{group}: ours")
            ax.bar(pos_p, np.nan_to_num(paper[:, g, k]), w, color="white", edgecolor=color,
                   hatch="///", label=f"{group}: paper")
            for r in range(len(rows)):
                if available[r, g] and math.isnan(ours[r, g, k]):
                    ax.text(pos_o[r], 0.01 * top, "not trained", rotation=90, ha="center",
                            va="bottom", fontsize=6.5, color=color)
                if available[r, g] and not math.isnan(ours[r, g, k]):
                    ax.text(pos_o[r], ours[r, g, k], f"{ours[r, g, k]:.3f}", rotation=90,
                            ha="center", va="bottom", fontsize=6)
                if available[r, g] and math.isnan(paper[r, g, k]):
                    ax.text(pos_p[r], 0.01 * top, "no paper value", rotation=90, ha="center",
                            va="bottom", fontsize=6.5, color="0.45")
        ax.set_xticks(x, rows)
        ax.set_xlabel(x_label)
        ax.set_ylabel(metric)
        ax.set_ylim(0, top * 1.25)
        ax.grid(axis="y", color="0.88", lw=0.6)
        ax.set_axisbelow(True)
        ax.set_title(metric, fontsize=10)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right upper", fontsize="small", frameon=False)
    fig.suptitle(title, fontsize=11)
    add_caption(fig, caption)
    return fig


def lines(title: str, x_label: str, y_label: str,
          series: Mapping[str, tuple[Sequence[float], Sequence[float]]],
          references: Mapping[str, float], caption: str, log_x: bool = False,
          x_ticks: Sequence[float] | None = None, empty_note: str = "") -> Figure:
    """Metric against x, one line per series (NaN points left out), dashed reference levels."""
    fig = Figure(figsize=(6.4, 4.8), layout="constrained")
    ax = fig.add_subplot()
    drawn = 0
    values = [*(y for _, ys in series.values() for y in ys), *references.values()]
    top = max((v for v in values if not math.isnan(v)), default=0.9)
    for i, (name, (xs, ys)) in enumerate(series.items()):
        xs_a, ys_a = np.asarray(xs, float), np.asarray(ys, float)
        keep = ~np.isnan(ys_a)
        if keep.any():
            ax.plot(xs_a[keep], ys_a[keep], marker=_MARKERS[i % len(_MARKERS)],
                    color=_COLORS[i % len(_COLORS)], lw=1.8, label=name)
            drawn += 1
    for j, (name, y) in enumerate(references.items()):
        if not math.isnan(y):
            ax.axhline(y, color=_COLORS[(len(series) + j) % len(_COLORS)], ls="--", lw=1.2,
                       label=name)
            drawn += 1
    if log_x:
        ax.set_xscale("log")
    if x_ticks is not None:
        ax.set_xticks(list(x_ticks), [f"{t:g}" for t in x_ticks])
        ax.minorticks_off()
        lo, hi = min(x_ticks), max(x_ticks)
        pad = (hi / lo) ** 0.06 if log_x else 0.06 * (hi - lo or 1)
        ax.set_xlim((lo / pad, hi * pad) if log_x else (lo - pad, hi + pad))
    ax.set_ylim(0, min(1.0, math.ceil((top + 0.05) * 10) / 10))  # from 0: no exaggeration
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    ax.set_title(title, fontsize=11)
    ax.grid(color="0.88", lw=0.6)
    if drawn:
        ax.legend(loc="best", fontsize="small", framealpha=0.9)
    else:
        ax.text(0.5, 0.5, empty_note or "no trained tracker yet", transform=ax.transAxes,
                ha="center", va="center", fontsize=10, color="0.4")
    add_caption(fig, caption, width=100)
    return fig
