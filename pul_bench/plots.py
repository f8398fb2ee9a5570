"""Every figure pul_bench draws: OTB success / precision / attribute plots, VOT expected-overlap,
AR and EAO-ranking plots, the report's bar, line, claim (forest) and compare figures (their
captions are in the report's Markdown and JSON, not in the images), and training's pictures
(loss curve, proposals on a frame, mined-pair sheet).

One palette, one saver (PNG + PDF, atomic, reproducible bytes). Figures are built with
matplotlib's object API (``Figure()``, no pyplot), so nothing needs a display or touches global
state. OTB legends are sorted by score and carry it, e.g. "SiamFC [0.582]"; a tracker keeps its
colour and line style across all plots of one call, so figures can be read side by side.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence, Set
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.colors import to_hex, to_rgb
from matplotlib.figure import Figure
from PIL import Image

from pul_bench.io import atomic_path

#: OTB attribute codes in the order of the benchmark paper, with their names for titles.
ATTRIBUTES = {
    "IV": "illumination variation", "SV": "scale variation", "OCC": "occlusion",
    "DEF": "deformation", "MB": "motion blur", "FM": "fast motion",
    "IPR": "in-plane rotation", "OPR": "out-of-plane rotation", "OV": "out of view",
    "BC": "background clutter", "LR": "low resolution",
}
#: The one palette: trackers, groups and series take colours from it in order.
COLORS = ["#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
          "#17becf", "#bcbd22", "#7f7f7f", "#000000"]
#: The same colours blended towards white, for what is shown beside ours (published results).
PALE = [to_hex(0.4 * np.asarray(to_rgb(c)) + 0.6) for c in COLORS]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
_STYLES = ["-", "--", "-.", ":"]
#: Resolution of the committed report figures (smaller files); interactive plots use 150.
REPORT_DPI = 110

Scores = Mapping[str, Mapping[str, Any]]


def save(fig: Figure, stem: Path, formats: Sequence[str] = ("png", "pdf"),
         palette: bool = True) -> list[Path]:
    """Write ``stem``.png (at the figure's dpi) and ``stem``.pdf atomically; return the paths.

    The PNG is reduced to a 256-colour palette (a quarter of the bytes, same look for plots;
    ``palette=False`` keeps full colour, for photographs) and the PDF carries no creation
    date, so re-drawing the same figure gives the same bytes. ``formats`` picks which of the
    two are written.
    """
    written = []
    for fmt in formats:
        path = Path(stem).with_suffix(f".{fmt}")
        if fmt == "png":
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi="figure")
            buf.seek(0)
            with Image.open(buf) as img, atomic_path(path) as tmp:
                img = img.convert("RGB")
                if palette:
                    img = img.quantize(256, dither=Image.Dither.NONE)
                img.save(tmp, format="png", optimize=True)
        elif fmt == "pdf":
            with atomic_path(path) as tmp:
                fig.savefig(tmp, format="pdf", metadata={"CreationDate": None})
        else:
            raise ValueError(f"save writes png and pdf, not {fmt!r}")
        written.append(path)
    return written


# ---- OTB one-pass evaluation ---------------------------------------------------------------


#: Trackers drawn per plot, as the OTB toolkit's ``rankNum``: a folder of dozens of runs (a
#: seed or noise sweep) would otherwise squeeze the axes beside an overlong legend.
TOP = 10


def plot_all(scores: Scores, out_dir: str | Path, bench: str, protocol: str = "ope",
             norm_precision: bool = False, top: int = TOP) -> list[Path]:
    """Draw the success, precision and per-attribute plots of ``scores`` into ``out_dir``;
    titles name the OTB ``protocol`` (``ope``, ``tre``, ``sre``), as the toolkit's do. With
    ``norm_precision`` (LaSOT, TrackingNet report it) the normalised-precision plot too.
    Each plot draws the ``top`` trackers by its own score (the attribute plot by AUC), and its
    title says so when there are more; colours stay the same across plots.

    ``scores`` maps tracker name to the scorer's output (``auc``, ``dp20``,
    ``success_curve``, ``precision_curve``, optional ``per_attribute`` and ``n_sequences``).
    Returns the files written (PNG and PDF of each).
    """
    out_dir = Path(out_dir)
    if not scores:
        return []
    styles = _styles(scores)
    n = max(int(s.get("n_sequences", len(s.get("per_sequence", ())))) for s in scores.values())
    where = f"{protocol.upper()} on {bench.upper()} ({n} sequences)"
    if len(scores) > top:
        where += f", top {top} of {len(scores)}"

    def best(key: str) -> Scores:
        return {name: scores[name] for name in _ranked(scores, key)[:top]}

    written = save(success_plot(best("auc"), f"Success plots of {where}", styles),
                   out_dir / "success")
    written += save(precision_plot(best("dp20"), f"Precision plots of {where}", styles),
                    out_dir / "precision")
    if norm_precision:
        written += save(norm_precision_plot(best("norm_prec"),
                                            f"Normalized precision plots of {where}", styles),
                        out_dir / "norm_precision")
    if any(s.get("per_attribute") for s in scores.values()):
        written += save(attribute_plot(best("auc"), f"Per-attribute scores of {where}", styles),
                        out_dir / "attributes")
    return written


def success_plot(scores: Scores, title: str, styles: dict[str, dict] | None = None) -> Figure:
    """Success rate against overlap threshold; legend sorted by AUC."""
    return _curves(scores, title, styles, "auc", "success_curve", 1.0, None,
                   "Overlap threshold", "Success rate", "lower left")


def precision_plot(scores: Scores, title: str, styles: dict[str, dict] | None = None) -> Figure:
    """Precision against centre-error threshold (pixels); legend sorted by precision at 20 px."""
    return _curves(scores, title, styles, "dp20", "precision_curve", 50.0, 20.0,
                   "Location error threshold (pixels)", "Precision", "lower right")


def norm_precision_plot(scores: Scores, title: str, styles: dict[str, dict] | None = None
                        ) -> Figure:
    """Precision against the centre error in ground-truth sizes (LaSOT, TrackingNet); legend
    sorted by the value at 0.2."""
    return _curves(scores, title, styles, "norm_prec", "norm_precision_curve", 0.5, 0.2,
                   "Normalized location error threshold", "Normalized precision",
                   "lower right")


def _curves(scores: Scores, title: str, styles: dict[str, dict] | None, key: str, curve: str,
            x_max: float, read_at: float | None, xlabel: str, ylabel: str, loc: str) -> Figure:
    """Each tracker's ``curve`` over thresholds evenly spaced from 0 to ``x_max``, the legend
    sorted by ``key`` and carrying it; a dotted guide where the score is read (``read_at``).
    Where the scores carry the curve's pointwise 95% band (``<curve>_ci``), it is shaded."""
    styles = styles or _styles(scores)
    fig, ax = _axes(title, xlabel, ylabel)
    for name in _ranked(scores, key):
        ys = np.asarray(scores[name][curve], dtype=float)
        xs = np.linspace(0, x_max, len(ys))
        ax.plot(xs, ys, label=f"{name} [{scores[name][key]:.3f}]", **styles[name])
        band = scores[name].get(f"{curve}_ci")
        if band:
            ax.fill_between(xs, *band, color=styles[name]["color"], alpha=0.18, lw=0)
    ax.set_xlim(0, x_max)
    if read_at is not None:
        ax.axvline(read_at, color="0.6", lw=0.8, ls=":")
    _legend(ax, loc, len(scores))
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
    fig = Figure(figsize=(width_in, 6.4), dpi=150, layout="constrained")
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


def _axes(title: str, xlabel: str, ylabel: str, figsize: tuple[float, float] = (6.0, 4.8)
          ) -> tuple[Figure, Any]:
    """A 150-dpi figure with one captioned axes, y from 0 to 1 (rates and overlaps)."""
    fig = Figure(figsize=figsize, dpi=150, layout="constrained")
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


# ---- VOT supervised (reset) experiment -----------------------------------------------------


def vot_plots(results: Mapping[str, Any], out: Path, interval: tuple[int, int] | None,
              title: str = "") -> list[Path]:
    """Every VOT figure for ``results`` (``{tracker: TrackerResult}``) into ``out``."""
    return (eao_curves(results, out, interval, title) + ar_plot(results, out, title)
            + eao_ranking(results, out, title))


def eao_curves(results: Mapping[str, Any], out: Path, interval: tuple[int, int] | None,
               title: str = "") -> list[Path]:
    """Expected average overlap against sequence length; the EAO interval is shaded."""
    fig, ax = _axes(f"Expected overlap curve{' - ' + title if title else ''}",
                    "sequence length (frames)", "expected average overlap", (6.4, 4.2))
    longest = max(len(r.curve) for r in results.values())
    if interval:
        ax.axvspan(interval[0], interval[1], color="0.85", zorder=0,
                   label=f"EAO interval [{interval[0]}, {interval[1]}]")
    for i, (name, r) in enumerate(_eao_ranked(results)):
        eao = r.scores["eao"]
        ax.plot(range(1, len(r.curve) + 1), r.curve, lw=1.6, color=COLORS[i % len(COLORS)],
                label=f"{name} [{eao:.3f}]" if not math.isnan(eao) else f"{name} [EAO n/a]")
    ax.set_xlim(1, max(longest, interval[1] if interval else 0))
    ax.legend(loc="upper right", fontsize=8)
    return save(fig, Path(out) / "eao_curve")


def ar_plot(results: Mapping[str, Any], out: Path, title: str = "") -> list[Path]:
    """Accuracy against robustness (failures per 100 frames; better is left and up)."""
    fig, ax = _axes(f"AR plot{' - ' + title if title else ''}",
                    "robustness: failures per 100 frames (lower is better)",
                    "accuracy: mean overlap", (5.2, 4.6))
    worst = 0.0
    for i, (name, r) in enumerate(_eao_ranked(results)):
        s = r.scores
        ax.scatter(s["robustness"], s["accuracy"], s=60, label=name, zorder=3,
                   color=COLORS[i % len(COLORS)])
        worst = max(worst, s["robustness"])
    ax.set_xlim(0, max(worst * 1.15, 0.1))
    ax.legend(loc="lower right", fontsize=8)
    return save(fig, Path(out) / "ar_plot")


def eao_ranking(results: Mapping[str, Any], out: Path, title: str = "") -> list[Path]:
    """Horizontal bars of EAO, best on top."""
    ranked = _eao_ranked(results)
    fig = Figure(figsize=(5.6, 0.5 * len(ranked) + 1.4), dpi=150, layout="constrained")
    ax = fig.add_subplot()
    names = [n for n, _ in ranked][::-1]
    values = [_nan_low(r.scores["eao"]) for _, r in ranked][::-1]
    bars = ax.barh(names, [max(v, 0) for v in values], color=COLORS[1])
    for bar, v in zip(bars, values, strict=True):
        text = f"{v:.3f}" if v >= 0 else "n/a"
        ax.text(bar.get_width() + 0.01, bar.get_y() + bar.get_height() / 2, text,
                va="center", fontsize=8)
    ax.set_xlim(0, max(max(values) * 1.25, 0.1))
    ax.set_xlabel("EAO")
    ax.set_title(f"EAO ranking{' - ' + title if title else ''}")
    ax.grid(axis="x", alpha=0.3)
    return save(fig, Path(out) / "eao_ranking")


def _eao_ranked(results: Mapping[str, Any]) -> list[tuple[str, Any]]:
    return sorted(results.items(), key=lambda kv: -_nan_low(kv[1].scores["eao"]))


def _nan_low(x: float) -> float:
    return -1.0 if math.isnan(x) else x


# ---- report figures ------------------------------------------------------------------------


def grouped_bars(title: str, x_label: str, rows: Sequence[str], groups: Sequence[str],
                 metrics: Sequence[str], ours: np.ndarray, paper: np.ndarray,
                 available: np.ndarray, ours_ci: np.ndarray | None = None) -> Figure:
    """One panel per metric; per row, an 'ours' and a 'paper' bar for each group.

    ``ours`` and ``paper`` are (rows, groups, metrics) with NaN where there is no value;
    ``available`` (rows, groups) is False where the paper has no such model (no bars at all).
    A missing 'ours' value of an existing model is marked "not trained". ``ours_ci``
    (rows, groups, metrics, 2) draws each 'ours' bar's 95% interval as an error bar.
    """
    n_m = len(metrics)
    width_in = float(np.clip(1.6 + 1.25 * len(rows) * max(len(groups), 1) / 2 * n_m, 7.0, 13.0))
    fig = Figure(figsize=(width_in, 4.6), dpi=REPORT_DPI, layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, n_m, squeeze=False)[0])
    bars = 2 * len(groups)
    w = 0.8 / bars
    x = np.arange(len(rows))
    top = np.nanmax(np.concatenate([ours.ravel(), paper.ravel(), [0.1],
                                    [] if ours_ci is None else ours_ci.ravel()]))
    for k, (ax, metric) in enumerate(zip(axes, metrics, strict=True)):
        for g, group in enumerate(groups):
            color = COLORS[g % len(COLORS)]
            pos_o = x - 0.4 + (2 * g + 0.5) * w
            pos_p = pos_o + w
            ax.bar(pos_o, np.nan_to_num(ours[:, g, k]), w, color=color,
                   label=f"{group}: ours")
            ax.bar(pos_p, np.nan_to_num(paper[:, g, k]), w, color="white", edgecolor=color,
                   hatch="///", label=f"{group}: paper")
            if ours_ci is not None:
                ci, mid = ours_ci[:, g, k], ours[:, g, k]
                ax.errorbar(pos_o, mid, yerr=np.abs(ci.T - mid), fmt="none", ecolor="0.25",
                            elinewidth=0.9, capsize=2.5)
            for r in np.flatnonzero(available[:, g]):
                if math.isnan(ours[r, g, k]):
                    ax.text(pos_o[r], 0.01 * top, "not trained", rotation=90, ha="center",
                            va="bottom", fontsize=6.5, color=color)
                else:
                    ax.text(pos_o[r], ours[r, g, k], f"{ours[r, g, k]:.3f}", rotation=90,
                            ha="center", va="bottom", fontsize=6)
                if math.isnan(paper[r, g, k]):
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
    return fig


def lines(title: str, x_label: str, y_label: str,
          series: Mapping[str, tuple[Sequence[float], Sequence[float]]],
          references: Mapping[str, float], log_x: bool = False,
          x_ticks: Sequence[float] | None = None, empty_note: str = "",
          bands: Mapping[str, tuple[Sequence[float], Sequence[float]]] | None = None) -> Figure:
    """Metric against x, one line per series (NaN points left out), dashed reference levels;
    ``bands`` (series name -> (lows, highs) at its xs) shade each series' 95% intervals."""
    fig = Figure(figsize=(6.4, 4.8), dpi=REPORT_DPI, layout="constrained")
    ax = fig.add_subplot()
    drawn = 0
    values = [*(y for _, ys in series.values() for y in ys), *references.values()]
    top = max((v for v in values if not math.isnan(v)), default=0.9)
    for i, (name, (xs, ys)) in enumerate(series.items()):
        xs_a, ys_a = np.asarray(xs, float), np.asarray(ys, float)
        keep = ~np.isnan(ys_a)
        if keep.any():
            ax.plot(xs_a[keep], ys_a[keep], marker=MARKERS[i % len(MARKERS)],
                    color=COLORS[i % len(COLORS)], lw=1.8, label=name)
            drawn += 1
        if bands and name in bands:
            lo, hi = (np.asarray(v, float) for v in bands[name])
            shade = keep & ~np.isnan(lo) & ~np.isnan(hi)
            ax.fill_between(xs_a[shade], lo[shade], hi[shade], color=COLORS[i % len(COLORS)],
                            alpha=0.15, lw=0)
            top = max([top, *hi[shade]])
    for j, (name, y) in enumerate(references.items()):
        if not math.isnan(y):
            ax.axhline(y, color=COLORS[(len(series) + j) % len(COLORS)], ls="--", lw=1.2,
                       label=name)
            drawn += 1
    if log_x:
        ax.set_xscale("log")
    if x_ticks is not None:
        ax.set_xticks(list(x_ticks), [f"{t:g}" for t in x_ticks])
        ax.minorticks_off()
        lo, hi = min(x_ticks), max(x_ticks)
        if log_x:  # one tick (a single clip length) still gets a visible span
            pad = (hi / lo) ** 0.06 if hi > lo else 1.5
        else:
            pad = 0.06 * (hi - lo or 1)
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
    return fig


def forest(title: str, x_label: str, labels: Sequence[str], deltas: Sequence[float],
           cis: Sequence[Sequence[float] | None], notes: Sequence[str]) -> Figure:
    """One row per claim (first on top): the difference with its 95% interval as a segment, a
    line at 0, and the claim's outcome (``notes``) at the right edge; a NaN difference (not
    evaluated) is only named."""
    fig = Figure(figsize=(8.0, 1.6 + 0.45 * len(labels)), dpi=REPORT_DPI, layout="constrained")
    ax = fig.add_subplot()
    y = np.arange(len(labels))[::-1]
    for i, (d, ci, note) in enumerate(zip(deltas, cis, notes, strict=True)):
        if math.isnan(d):
            ax.text(0, y[i], note, ha="center", va="center", fontsize=8, color="0.45")
            continue
        color = COLORS[{"holds": 2, "contradicted": 0}.get(note, 9)]
        if ci is not None:
            ax.plot(ci, [y[i], y[i]], color=color, lw=2)
        ax.plot([d], [y[i]], marker="o", color=color)
        ax.annotate(note, (1.0, y[i]), xycoords=("axes fraction", "data"), xytext=(4, 0),
                    textcoords="offset points", va="center", fontsize=8, color=color)
    ax.axvline(0, color="0.3", lw=1)
    ax.set_yticks(y, labels)
    ax.set_ylim(-0.7, len(labels) - 0.3)
    ax.set_xlabel(x_label)
    ax.set_title(title, fontsize=11)
    ax.grid(axis="x", color="0.88", lw=0.6)
    return fig


def compare_curves(scores: Scores, ours: Set[str], where: str, stem: Path) -> list[Path]:
    """Success, precision and normalised-precision plots of ours (thick, solid) beside the
    published results (thin, dashed, paler), written as ``<stem>-<kind>`` PNG + PDF."""
    styles, drawn = {}, {True: 0, False: 0}
    for name in sorted(scores, key=lambda n: (-scores[n]["auc"], n)):
        mine = name in ours
        palette = COLORS if mine else PALE
        styles[name] = {"color": palette[drawn[mine] % len(palette)],  # unique in each group
                        "linestyle": "-" if mine else "--", "linewidth": 2.6 if mine else 1.4}
        drawn[mine] += 1
    files = []
    for kind, title, plot in (("success", "Success", success_plot),
                              ("precision", "Precision", precision_plot),
                              ("norm-precision", "Normalized precision", norm_precision_plot)):
        fig = plot(scores, f"{title} plots of OPE on {where}", styles)
        fig.set_size_inches(9.6, 6.2)
        fig.set_dpi(REPORT_DPI)
        fig.axes[0].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small",
                           frameon=False, title="solid: ours; dashed: published",
                           title_fontsize="small")
        files += save(fig, stem.with_name(f"{stem.name}-{kind}"))
    return files


# ---- training figures ----------------------------------------------------------------------


def loss_curve(rows: Sequence[Mapping[str, Any]], stem: Path) -> list[Path]:
    """The per-epoch loss of a training run (``log.csv`` rows), one line per phase (e.g. random
    vs AHM mini-batches); written as ``stem``.png/.pdf."""
    fig = Figure(figsize=(6, 3.5), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    for i, phase in enumerate(dict.fromkeys(r["phase"] for r in rows)):
        pts = [(r["epoch"], r["loss"]) for r in rows if r["phase"] == phase]
        ax.plot(*zip(*pts, strict=True), marker=".", label=phase or "loss",
                color=COLORS[i % len(COLORS)])
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.grid(alpha=0.3)
    ax.legend()
    return save(fig, stem)


def draw_proposals(image: np.ndarray, boxes: np.ndarray, top: int | None = None) -> np.ndarray:
    """The RGB frame with the ``top`` best boxes ``[x, y, w, h, ...]`` drawn (best in red, then
    yellow to blue): what ``pul_train proposals`` shows."""
    import cv2
    from matplotlib import colormaps

    canvas = image.copy()
    shown = boxes if top is None else boxes[:top]
    cmap = colormaps["plasma"]
    for rank in range(len(shown) - 1, -1, -1):  # best box drawn last, on top
        x, y, bw, bh = shown[rank, :4]
        c = (255, 0, 0) if rank == 0 else tuple(
            int(255 * v) for v in cmap(1.0 - rank / max(len(shown), 1))[:3])
        cv2.rectangle(canvas, (round(x), round(y)), (round(x + bw) - 1, round(y + bh) - 1),
                      c, 2 if rank == 0 else 1)
    return canvas


def pair_sheet(cells: Sequence[tuple[np.ndarray, np.ndarray, str]], cols: int = 4) -> np.ndarray:
    """A contact sheet of training pairs, ``cols`` a row: each cell is the exemplar crop beside
    the centre of its search crop (same size), labelled underneath; RGB uint8."""
    import cv2

    drawn = []
    for z, x, label in cells:
        c = (x.shape[0] - z.shape[0]) // 2
        cell = np.concatenate([z, np.full((z.shape[0], 4, 3), 255, np.uint8),
                               x[c:c + z.shape[0], c:c + z.shape[0]]], axis=1)
        cell = np.concatenate([cell, np.full((18, cell.shape[1], 3), 255, np.uint8)], axis=0)
        cv2.putText(cell, label, (3, cell.shape[0] - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                    (0, 0, 0), 1, cv2.LINE_AA)
        drawn.append(np.pad(cell, ((3, 3), (3, 3), (0, 0)), constant_values=255))
    while len(drawn) % cols:
        drawn.append(np.full_like(drawn[0], 255))
    rows = [np.concatenate(drawn[r:r + cols], axis=1) for r in range(0, len(drawn), cols)]
    return np.concatenate(rows, axis=0)


def save_image(image: np.ndarray, path: str | Path) -> Path:
    """Write an RGB uint8 picture (a sheet, a frame with boxes) as a full-colour PNG,
    atomically; return the path."""
    path = Path(path)
    with atomic_path(path) as tmp:
        Image.fromarray(image).save(tmp, format="png")
    return path
