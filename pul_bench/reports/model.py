"""What a report section computed, as typed data: one result class per section kind.

The builders (:mod:`.sections`, :mod:`.claims`, :mod:`.compare`) evaluate and score into these;
the renderers read them (``to_json`` here, :mod:`.markdown` for ``report.md``, :mod:`.figures`
for the figures), so no number is computed while writing, and who a tracker is (ours or
published, which group or x value) is a field, never parsed back from a display name.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pul_bench.reports.recipe import Claim, Entry, Section, entry_name

#: what :func:`pul_bench.reports.evaluation.evaluate` found for one entry
OK, READY = "ok", "ready"


@dataclass(frozen=True)
class Evaluated:
    """One entry's evaluation on one data source: scored (``ok``), or why not and how to train
    it (``not trained``, ``unavailable``, ``no clips``); ``ready`` only before it runs."""

    status: str
    scores: dict[str, Any] | None = None
    reason: str | None = None
    train: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == OK

    def value(self, metric: str) -> float:
        """The score of ``metric``, NaN when not scored."""
        return float(self.scores[metric]) if self.ok else math.nan

    def ci(self, metric: str) -> list[float] | None:
        """The 95% interval of ``metric``, None when not scored or not computed."""
        return self.scores.get(f"{metric}_ci") if self.ok else None

    def why(self) -> dict[str, Any]:
        """``reason`` and ``train`` as the JSON gives them for an entry not scored."""
        return {"reason": self.reason, "train": self.train}


@dataclass(frozen=True)
class NotReady:
    """An entry shown as not trained (or unavailable), with the command that trains it."""

    tracker: str
    checkpoint: str | None
    status: str
    reason: str | None
    train: str | None

    @classmethod
    def of(cls, entry: Entry, state: Evaluated) -> list[NotReady]:
        """``[NotReady]`` for an entry not scored, ``[]`` for a scored one."""
        if state.status in (OK, READY):
            return []
        return [cls(entry.tracker, entry.checkpoint, state.status, state.reason, state.train)]

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def unique(items: list[NotReady]) -> list[NotReady]:
    """Each (tracker, checkpoint) once, first seen first."""
    seen: dict[tuple[str, str | None], NotReady] = {}
    for n in items:
        seen.setdefault((n.tracker, n.checkpoint), n)
    return list(seen.values())


@dataclass
class Computed:
    """What every section kind has: its recipe section, caption, verdicts, entries not ready."""

    section: Section
    caption: str = ""
    comparisons: list[dict[str, Any]] = field(default_factory=list)
    not_ready: list[NotReady] = field(default_factory=list)

    def head(self) -> dict[str, Any]:
        s = self.section
        return {"kind": s.kind, "id": s.id, "title": s.title, "caption": self.caption}


# ---- table ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """One tracker of a table row in one group: per metric its evaluation and the paper's
    value (``entry`` None: the paper has no such model)."""

    group: str
    entry: Entry | None
    states: tuple[Evaluated, ...] = ()
    paper: tuple[float | None, ...] = ()
    metrics: tuple[str, ...] = ()  # the metric each state is read on

    def to_json(self, labels: list[str], data: list[str]) -> dict[str, Any]:
        if self.entry is None:
            return {"group": self.group, "tracker": None}
        out: dict[str, Any] = {"group": self.group, "tracker": self.entry.tracker,
                               "checkpoint": self.entry.checkpoint, "ours": {}, "ours_ci": {},
                               "paper": {}, "scores": {}}
        for label, key, state, pv, metric in zip(labels, data, self.states, self.paper,
                                                 self.metrics, strict=True):
            v = state.value(metric)
            out["ours"][label] = None if math.isnan(v) else v
            out["paper"][label] = pv
            out["status"] = state.status
            if state.ok:
                out["scores"][key] = state.scores
                out["ours_ci"][label] = state.ci(metric)
            else:
                out.update(state.why())
        return out


@dataclass
class TableResult(Computed):
    rows: list[tuple[str, list[Cell]]] = field(default_factory=list)

    def to_json(self, figures: list[Path]) -> dict[str, Any]:
        s = self.section
        labels, data = [m.label for m in s.metrics], [m.data for m in s.metrics]
        return {**self.head(), "metrics": [dataclasses.asdict(m) for m in s.metrics],
                "groups": list(s.groups),
                "rows": [{"label": label, "cells": [c.to_json(labels, data) for c in cells]}
                         for label, cells in self.rows],
                "comparisons": self.comparisons, "figures": names(figures)}


# ---- curve and clip length -----------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    """One x of a curve (or one clip length): the entry evaluated there."""

    x: float
    entry: Entry
    state: Evaluated
    ci: list[float] | None = None


@dataclass
class CurveResult(Computed):
    series: list[tuple[str, list[Point]]] = field(default_factory=list)
    references: list[tuple[Entry, Evaluated]] = field(default_factory=list)
    xs: list[float] = field(default_factory=list)

    def to_json(self, figures: list[Path]) -> dict[str, Any]:
        s, metric = self.section, self.section.metric
        series = [{"label": label, "points": [
            {"x": p.x, "tracker": p.entry.tracker, "checkpoint": p.entry.checkpoint,
             "status": p.state.status, "value": p.state.value(metric), "ci": p.ci,
             **({"scores": p.state.scores} if p.state.ok else p.state.why())}
            for p in points]} for label, points in self.series]
        refs = [{"label": e.label, "tracker": e.tracker, "status": st.status,
                 "value": st.value(metric), **({"scores": st.scores} if st.ok else {})}
                for e, st in self.references]
        return {**self.head(), "metric": metric, "data": s.data, "x_label": s.x_label,
                "series": series, "references": refs, "comparisons": self.comparisons,
                "figures": names(figures)}


@dataclass
class ClipLengthResult(Computed):
    #: 1-based clip starts per length and sequence; the lengths some sequence reaches
    clips: dict[int, dict[str, list[int]]] = field(default_factory=dict)
    lengths: list[int] = field(default_factory=list)
    trackers: list[tuple[Entry, list[Point]]] = field(default_factory=list)  # x: the length

    def count(self, length: int) -> int:
        return sum(len(v) for v in self.clips[length].values())

    def to_json(self, figures: list[Path]) -> dict[str, Any]:
        s = self.section
        trackers = [{"label": e.label, "tracker": e.tracker, "checkpoint": e.checkpoint,
                     "seeds": e.seeds, "lengths": {str(p.x): {
                         "status": p.state.status, "dp20": p.state.value("dp20"),
                         "auc": p.state.value("auc"), "dp20_ci": p.ci,
                         **({"scores": p.state.scores} if p.state.ok else p.state.why())}
                         for p in points}} for e, points in self.trackers]
        return {**self.head(), "data": s.data, "max_clips": s.max_clips,
                "clips": {str(L): {"count": self.count(L), "starts_1based": self.clips[L]}
                          for L in s.lengths},
                "trackers": trackers, "figures": names(figures)}


# ---- compare -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Compared:
    """One tracker of a compare section: ours (an entry we ran) or a published result set."""

    name: str  # its folder (published) or entry name (ours)
    ours: bool
    scores: dict[str, Any]

    @property
    def shown(self) -> str:
        """The key of the JSON and the figures' legend: ``KCF (published)``, ``kcf (ours)``."""
        return f"{self.name} ({'ours' if self.ours else 'published'})"


@dataclass
class CompareResult(Computed):
    ranked: list[Compared] = field(default_factory=list)  # by AUC, best first
    sequences: list[str] = field(default_factory=list)
    frames: int = 0
    excluded: list[str] = field(default_factory=list)
    cut: dict[str, list[int]] = field(default_factory=dict)  # seq -> [kept, published]
    published_dir: str = ""
    between: list[dict[str, Any]] = field(default_factory=list)  # published among themselves
    where: str = ""  # the figures' title: '<n> <BENCH> sequences (<frames> frames)'

    def to_json(self, figures: list[Path]) -> dict[str, Any]:
        s = self.section
        return {**self.head(), "sequences": self.sequences, "frames": self.frames,
                "excluded": self.excluded,
                "cut": {k: {"kept": v[0], "published": v[1]} for k, v in self.cut.items()},
                "published_dir": self.published_dir,
                "published_scores_full_benchmark": s.published_scores,
                "trackers": {t.shown: {"source": "ours" if t.ours else "published",
                                       **t.scores} for t in self.ranked},
                "comparisons": self.comparisons, "published_comparisons": self.between,
                "figures": names(figures)}


# ---- claims --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimReading:
    """One claim read from its paired comparison (None: not tested): ``outcome`` holds,
    contradicted, undecided or why it was not tested; ``reading`` says it in words;
    ``to_decide`` the detectable difference and the sequences that would decide it."""

    claim: Claim
    a: Evaluated
    b: Evaluated
    metric: str
    comparison: dict[str, Any] | None
    outcome: str
    reading: str
    to_decide: dict[str, Any] | None = None
    to_decide_text: str = ""

    def to_json(self) -> dict[str, Any]:
        c = self.claim
        sides = {key: {"name": entry_name(e), "tracker": e.tracker, "checkpoint": e.checkpoint,
                       "seeds": e.seeds, "status": st.status, "value": st.value(self.metric),
                       **({} if st.ok else st.why())}
                 for key, e, st in (("a", c.a, self.a), ("b", c.b, self.b))}
        return {"label": c.label, "relation": c.relation, **sides, "comparison": self.comparison,
                "to_decide": self.to_decide, "to_decide_text": self.to_decide_text,
                "outcome": self.outcome, "reading": self.reading}


@dataclass
class ClaimsResult(Computed):
    claims: list[ClaimReading] = field(default_factory=list)

    def to_json(self, figures: list[Path]) -> dict[str, Any]:
        s = self.section
        return {**self.head(), "data": s.data, **({"pooled": list(s.pooled)} if s.pooled else {}),
                "metric": s.metric, "claims": [c.to_json() for c in self.claims],
                "figures": names(figures)}


def names(files: list[Path]) -> list[str]:
    return [f.name for f in files]
