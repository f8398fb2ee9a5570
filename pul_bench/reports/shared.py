"""What every section kind computes alike: paired verdicts between scored trackers and the
caption that says what stands behind each number (scale, data, intervals, what is missing)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pul_bench.analysis import stats
from pul_bench.errors import PulBenchError
from pul_bench.reports.model import NotReady
from pul_bench.reports.recipe import Recipe, Section


def comparisons(named: dict[str, dict[str, Any]], pairs: list[tuple[str, str]],
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


def uncertainty(named: list[dict[str, Any]], comparisons: list[dict[str, Any]]) -> str:
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
        text += " " + _verdicts(tested)
    return text


def _verdicts(tested: list[dict[str, Any]]) -> str:
    label = stats.METRICS.get(tested[0]["metric"], (tested[0]["metric"],))[0]
    det = [p["detectable"] for p in tested if p["detectable"] is not None]
    return (f"Verdicts: paired over sequences (Wilcoxon, Holm over the {len(tested)} "
            "comparisons); " + (
                f"the smallest difference they detect (80% power at 5%) is Δ{label} "
                f"{min(det):.3f}" + (f"–{max(det):.3f}." if max(det) > min(det) + 5e-4
                                     else ".") if det else
                "too few sequences for any difference to be significant."))


def describe(d: dict[str, Any]) -> str:
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


def missing_note(not_ready: list[NotReady]) -> str:
    if not not_ready:
        return ""
    return "Not trained yet (no number shown): " + ", ".join(
        sorted({n.tracker if n.checkpoint is None else Path(n.checkpoint).stem
                for n in not_ready})) + "."


def caption(recipe: Recipe, sec: Section, data: dict[str, Any], keys: list[str],
            not_ready: list[NotReady], extra: str) -> str:
    """A section's caption: the scale of our runs, the data, the recipe's caption, ``extra``
    (how the numbers were computed) and what is not trained."""
    parts = [f"Ours: {recipe.scale}."]
    if keys:
        parts.append("Evaluated on " + "; ".join(describe(data[k]) for k in dict.fromkeys(keys))
                     + ".")
    for text in (sec.caption, extra, missing_note(not_ready)):
        if text:
            parts.append(text)
    return " ".join(p.strip() for p in parts)
