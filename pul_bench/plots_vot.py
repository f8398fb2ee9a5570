"""VOT figures: expected-overlap curves with the EAO interval shaded, the AR plot, and the EAO
ranking. Each is saved as PNG and PDF."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from pul_bench.io import atomic_path  # noqa: E402


def _save(fig: plt.Figure, stem: Path) -> list[Path]:
    paths = []
    for ext in ("png", "pdf"):
        path = stem.with_suffix(f".{ext}")
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=ext, dpi=150, bbox_inches="tight")
        paths.append(path)
    plt.close(fig)
    return paths


def _ranked(results: dict) -> list[tuple[str, object]]:
    return sorted(results.items(), key=lambda kv: -_nan_low(kv[1].scores["eao"]))


def _nan_low(x: float) -> float:
    return -1.0 if math.isnan(x) else x


def _label(name: str, eao: float) -> str:
    return f"{name} [{eao:.3f}]" if not math.isnan(eao) else f"{name} [EAO n/a]"


def plot_eao_curves(results: dict, out: Path, interval: tuple[int, int] | None,
                    title: str = "") -> list[Path]:
    """Expected average overlap against sequence length; the EAO interval is shaded."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    longest = max(len(r.curve) for r in results.values())
    if interval:
        ax.axvspan(interval[0], interval[1], color="0.85", zorder=0,
                   label=f"EAO interval [{interval[0]}, {interval[1]}]")
    for name, r in _ranked(results):
        ax.plot(range(1, len(r.curve) + 1), r.curve, lw=1.6,
                label=_label(name, r.scores["eao"]))
    ax.set_xlim(1, max(longest, interval[1] if interval else 0))
    ax.set_ylim(0, 1)
    ax.set_xlabel("sequence length (frames)")
    ax.set_ylabel("expected average overlap")
    ax.set_title(f"Expected overlap curve{' - ' + title if title else ''}")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right", fontsize=8)
    return _save(fig, Path(out) / "eao_curve")


def plot_ar(results: dict, out: Path, title: str = "") -> list[Path]:
    """Accuracy against robustness (failures per 100 frames; better is left and up)."""
    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    worst = 0.0
    for name, r in _ranked(results):
        s = r.scores
        ax.scatter(s["robustness"], s["accuracy"], s=60, label=name, zorder=3)
        worst = max(worst, s["robustness"])
    ax.set_xlim(0, max(worst * 1.15, 0.1))
    ax.set_ylim(0, 1)
    ax.set_xlabel("robustness: failures per 100 frames (lower is better)")
    ax.set_ylabel("accuracy: mean overlap")
    ax.set_title(f"AR plot{' - ' + title if title else ''}")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    return _save(fig, Path(out) / "ar_plot")


def plot_eao_ranking(results: dict, out: Path, title: str = "") -> list[Path]:
    """Horizontal bars of EAO, best on top."""
    ranked = _ranked(results)
    fig, ax = plt.subplots(figsize=(5.6, 0.5 * len(ranked) + 1.4))
    names = [n for n, _ in ranked][::-1]
    values = [_nan_low(r.scores["eao"]) for _, r in ranked][::-1]
    bars = ax.barh(names, [max(v, 0) for v in values], color="tab:blue")
    for bar, v in zip(bars, values, strict=True):
        text = f"{v:.3f}" if v >= 0 else "n/a"
        ax.text(bar.get_width() + 0.01, bar.get_y() + bar.get_height() / 2, text,
                va="center", fontsize=8)
    ax.set_xlim(0, max(max(values) * 1.25, 0.1))
    ax.set_xlabel("EAO")
    ax.set_title(f"EAO ranking{' - ' + title if title else ''}")
    ax.grid(axis="x", alpha=0.3)
    return _save(fig, Path(out) / "eao_ranking")


def plot_all(results: dict, out: Path, interval: tuple[int, int] | None,
             title: str = "") -> list[Path]:
    """Every VOT figure for ``results`` (``{tracker: TrackerResult}``) into ``out``."""
    return (plot_eao_curves(results, out, interval, title) + plot_ar(results, out, title)
            + plot_eao_ranking(results, out, title))
