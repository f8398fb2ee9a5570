"""Success and precision plots of OPE, overall and per attribute, as tracking papers draw them.

Every plot compares any number of trackers; legends are sorted by score and carry it, e.g.
"SiamFC [0.582]" (AUC for success, precision at 20 px for precision). A tracker keeps its
colour and line style across all plots of one call, so figures can be read side by side.
Uses matplotlib's object API (no pyplot), so it never needs a display or touches global state.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from pul_bench.io import atomic_path

#: OTB attribute codes in the order of the benchmark paper, with their names for titles.
ATTRIBUTES = {
    "IV": "illumination variation", "SV": "scale variation", "OCC": "occlusion",
    "DEF": "deformation", "MB": "motion blur", "FM": "fast motion",
    "IPR": "in-plane rotation", "OPR": "out-of-plane rotation", "OV": "out of view",
    "BC": "background clutter", "LR": "low resolution",
}
COLORS = ["#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
           "#17becf", "#bcbd22", "#7f7f7f", "#000000"]
_STYLES = ["-", "--", "-.", ":"]
FORMATS = ("png", "pdf")

Scores = Mapping[str, Mapping[str, Any]]


def plot_all(scores: Scores, out_dir: str | Path, bench: str) -> list[Path]:
    """Draw the success, precision and per-attribute plots of ``scores`` into ``out_dir``.

    ``scores`` maps tracker name to the scorer's output (``auc``, ``dp20``,
    ``success_curve``, ``precision_curve``, optional ``per_attribute`` and ``n_sequences``).
    Returns the files written (PNG and PDF of each).
    """
    out_dir = Path(out_dir)
    if not scores:
        return []
    styles = _styles(scores)
    n = max(int(s.get("n_sequences", len(s.get("per_sequence", ())))) for s in scores.values())
    where = f"{bench.upper()} ({n} sequences)"
    written = _save(success_plot(scores, f"Success plots of OPE on {where}", styles),
                    out_dir / "success")
    written += _save(precision_plot(scores, f"Precision plots of OPE on {where}", styles),
                     out_dir / "precision")
    if any(s.get("per_attribute") for s in scores.values()):
        written += _save(attribute_plot(scores, f"Per-attribute scores of OPE on {where}", styles),
                         out_dir / "attributes")
    return written


def success_plot(scores: Scores, title: str, styles: dict[str, dict] | None = None) -> Figure:
    """Success rate against overlap threshold; legend sorted by AUC."""
    styles = styles or _styles(scores)
    fig, ax = _axes(title, "Overlap threshold", "Success rate")
    for name in _ranked(scores, "auc"):
        curve = np.asarray(scores[name]["success_curve"], dtype=float)
        ax.plot(np.linspace(0, 1, len(curve)), curve,
                label=f"{name} [{scores[name]['auc']:.3f}]", **styles[name])
    ax.set_xlim(0, 1)
    _legend(ax, "lower left", len(scores))
    return fig


def precision_plot(scores: Scores, title: str, styles: dict[str, dict] | None = None) -> Figure:
    """Precision against centre-error threshold (pixels); legend sorted by precision at 20 px."""
    styles = styles or _styles(scores)
    fig, ax = _axes(title, "Location error threshold (pixels)", "Precision")
    for name in _ranked(scores, "dp20"):
        curve = np.asarray(scores[name]["precision_curve"], dtype=float)
        ax.plot(np.arange(len(curve)), curve,
                label=f"{name} [{scores[name]['dp20']:.3f}]", **styles[name])
    ax.set_xlim(0, 50)
    ax.axvline(20, color="0.6", lw=0.8, ls=":")
    _legend(ax, "lower right", len(scores))
    return fig


def attribute_plot(scores: Scores, title: str, styles: dict[str, dict] | None = None) -> Figure:
    """AUC and precision per attribute as grouped bars (tracker order and colours as above).

    Attribute labels carry the number of sequences with that attribute, e.g. "OCC (49)";
    attributes no evaluated sequence has are left out.
    """
    styles = styles or _styles(scores)
    names = _ranked(scores, "auc")
    first = next(s.get("per_attribute") or {} for s in scores.values())
    atts = [a for a in list(ATTRIBUTES) + sorted(set(first) - set(ATTRIBUTES))
            if a in first and first[a].get("n", 0) > 0]
    width_in = float(np.clip(2.5 + 0.1 * len(atts) * len(names), 7.0, 16.0))
    fig = Figure(figsize=(width_in, 6.4), layout="constrained")
    axes = fig.subplots(2, 1, sharex=True)
    width = 0.8 / max(len(names), 1)
    x = np.arange(len(atts))
    for ax, key, label in ((axes[0], "auc", "Success AUC"), (axes[1], "dp20", "Precision @20px")):
        for i, name in enumerate(names):
            per = scores[name].get("per_attribute") or {}
            vals = [per.get(a, {}).get(key, np.nan) for a in atts]
            ax.bar(x - 0.4 + (i + 0.5) * width, vals, width, color=styles[name]["color"],
                   label=name, edgecolor="white", linewidth=0.3)
        ax.set_ylabel(label)
        ax.set_ylim(0, 1)
        ax.grid(axis="y", color="0.85", lw=0.6)
        ax.set_axisbelow(True)
    axes[1].set_xticks(x, [f"{a} ({first[a]['n']})" for a in atts], rotation=30, ha="right")
    axes[0].set_title(title)
    axes[0].legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small", frameon=False)
    return fig


def _ranked(scores: Scores, key: str) -> list[str]:
    return sorted(scores, key=lambda n: (-float(scores[n][key]), n))


def _styles(scores: Scores) -> dict[str, dict]:
    """Colour and dash per tracker, assigned in AUC order so the best ones get solid lines."""
    out = {}
    for i, name in enumerate(_ranked(scores, "auc")):
        out[name] = {"color": COLORS[i % len(COLORS)],
                     "linestyle": _STYLES[(i // len(COLORS)) % len(_STYLES)],
                     "linewidth": 2.0 if i < 3 else 1.4}
    return out


def _axes(title: str, xlabel: str, ylabel: str) -> tuple[Figure, Any]:
    fig = Figure(figsize=(6.0, 4.8), layout="constrained")
    ax = fig.add_subplot()
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, 1)
    ax.grid(color="0.85", lw=0.6)
    return fig, ax


def _legend(ax: Any, loc: str, n: int) -> None:
    if n <= 12:
        ax.legend(loc=loc, fontsize="small", framealpha=0.9)
    else:  # too many to fit inside: put them beside the axes
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small", frameon=False)


def _save(fig: Figure, stem: Path) -> list[Path]:
    """Write ``stem``.png and .pdf atomically."""
    paths = []
    for ext in FORMATS:
        path = stem.with_suffix(f".{ext}")
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=ext, dpi=150)
        paths.append(path)
    return paths
