"""Report recipes: the strict schema of ``reports/<NAME>.yaml``.

A recipe names the data (``data``: benchmark manifests and their folders under the shared data
root), a one-line ``scale`` statement printed under every figure, and ``sections``, each of one
kind: ``table`` (rows x groups of trackers, metrics beside the paper's values), ``curve`` (a
metric against an x value such as injected label noise), ``clip-length`` (DP@20 against the
length of clips cut from the sequences), ``compare`` (our trackers beside published raw
results on the sequences both cover) and ``claims`` (statements "a > b" or "a >= b" on one
metric of OTB-kind data, each tested by a paired comparison over sequences, Holm-corrected over
the section's claims)::

    - kind: claims
      id: claims
      title: "The paper's claims, tested on the shared sequences"
      data: otb
      metric: auc
      claims:
        - {label: "BD > random weights", a: {tracker: alexpul-bd, seeds: 3},
           b: siamfc-random, relation: ">"}

``a`` and ``b`` are entries like a table cell's (a tracker name, or a mapping with
tracker/label/checkpoint/train/seeds). Unknown keys, wrong types, duplicate keys, unregistered
trackers and dangling references are errors naming the file and line (:mod:`pul_bench.schema`).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from pul_bench import schema
from pul_bench.errors import PulBenchError
from pul_bench.paths import resource_dirs, safe_name
from pul_bench.schema import bounded
from pul_bench.tracker import PRECISIONS

#: metric name -> the data it belongs to: a benchmark kind, or ``localise`` (OTB-kind data with
#: ``localise:``, measured on frame pairs instead of tracked, see :class:`Localise`)
METRICS = {"auc": "otb", "dp20": "otb", "norm_prec": "otb", "sr50": "otb",
           "eao": "vot", "accuracy": "vot", "robustness": "vot", "loc_error": "localise"}
METRIC_LABELS = {"auc": "AUC", "dp20": "DP@20", "norm_prec": "norm. precision",
                 "sr50": "SR@0.5", "eao": "EAO", "accuracy": "accuracy",
                 "robustness": "robustness", "loc_error": "peak error"}
KINDS = ("table", "curve", "clip-length", "compare", "claims")
#: a claim's relation: a larger than b (both tests must agree), or a not smaller than b
RELATIONS = (">", ">=")


@dataclass(frozen=True)
class Localise:
    """The seeded frame pairs of the localisation measure (``pulbench localise``,
    :mod:`pul_bench.analysis.localisation`): ``pairs`` per sequence, ``gap`` frames apart."""

    pairs: int = bounded(20, lo=1)
    gap: int = bounded(10, lo=1)
    seed: int = bounded(0, lo=0)


@dataclass(frozen=True)
class DataSource:
    """One benchmark's data: manifest name, folder (relative to the data root), subset."""

    key: str
    benchmark: str = bounded(nonempty=True)
    root: str = bounded(nonempty=True)
    sequences: tuple[str, ...] | None = bounded(None, nonempty=True, filename=True,
                                                distinct=True)
    #: replaces the manifest's, for short sequences
    eao_interval: tuple[int, int] | None = bounded(None, lo=1, increasing=True)
    #: OTB-kind data: one-pass, or the toolkit's temporal / spatial robustness runs
    protocol: str = bounded("ope", choices=("ope", "tre", "sre"))
    #: OTB-kind data: measure the network's peak error on these pairs (metric ``loc_error``)
    #: instead of tracking
    localise: Localise | None = None
    #: network trackers' inference precision (None: each spec's own); results of a set
    #: precision are kept apart, under ``<runs>/precision-<precision>/``
    precision: str | None = bounded(None, choices=("auto", *PRECISIONS))


@dataclass(frozen=True)
class Entry:
    """A tracker to evaluate: a registered name, optionally with another checkpoint.

    ``checkpoint`` is relative to the repository root; ``train`` is shown when it is missing;
    ``label`` defaults to the tracker's name. ``seeds: K`` evaluates the training seeds
    ``tracker``, ``tracker-s2`` .. ``tracker-sK`` and reports their mean, with an interval from
    a bootstrap over seeds then sequences (:func:`pul_bench.analysis.stats.merge_seeds`).
    """

    tracker: str = bounded(nonempty=True)
    label: str = ""
    checkpoint: str | None = None
    train: str | None = None
    seeds: int = bounded(1, lo=1)

    def seed_entries(self) -> list[Entry]:
        """One entry per training seed (itself first), each a single seed."""
        return [self] if self.seeds == 1 else [replace(
            self, tracker=self.tracker if k == 1 else f"{self.tracker}-s{k}", seeds=1)
            for k in range(1, self.seeds + 1)]

    def __post_init__(self) -> None:
        if not self.label:
            object.__setattr__(self, "label", self.tracker)


@dataclass(frozen=True)
class Metric:
    data: str
    metric: str
    label: str


@dataclass(frozen=True)
class Row:
    label: str
    cells: tuple[Entry | None, ...]
    paper: tuple[tuple[float | None, ...], ...]  # per cell, one value per metric


@dataclass(frozen=True)
class Series:
    label: str
    points: tuple[tuple[float, Entry], ...]


@dataclass(frozen=True)
class Claim:
    """A paper's statement that ``a`` scores higher than ``b`` (``>``) or not lower (``>=``)."""

    label: str
    a: Entry
    b: Entry
    relation: str


def entry_name(entry: Entry) -> str:
    """How an entry is named in a claims or compare section: its label, with the number of
    seeds or the checkpoint where the label is just the tracker's name (so those variants stay
    apart)."""
    if entry.label != entry.tracker:
        return entry.label
    if entry.seeds > 1:
        return f"{entry.label} ({entry.seeds} seeds)"
    return entry.label + (f" ({Path(entry.checkpoint).stem})" if entry.checkpoint else "")


@dataclass(frozen=True)
class Section:
    """One table/figure of a report; which fields are used depends on ``kind``."""

    kind: str
    id: str = bounded(nonempty=True, filename=True)
    title: str = bounded(nonempty=True)
    caption: str = ""
    data: str | None = None
    metric: str | None = None
    metrics: tuple[Metric, ...] = ()
    groups: tuple[str, ...] = bounded((), nonempty=True)
    rows: tuple[Row, ...] = ()
    x_label: str = ""
    series: tuple[Series, ...] = ()
    references: tuple[Entry, ...] = ()
    trackers: tuple[Entry, ...] = ()
    lengths: tuple[int, ...] = bounded((), lo=2, nonempty=True)  # frames per clip
    max_clips: int = bounded(5, lo=1)
    published: str | None = None
    published_trackers: tuple[str, ...] | None = bounded(None, nonempty=True)
    annotations: str | None = None
    published_scores: dict[str, dict[str, float]] = bounded(default_factory=dict, lo=0.0)
    published_scores_note: str = ""
    #: for errors at run time; set by the parser, never read from the file
    published_line: int | None = field(default=None, compare=False,
                                       metadata={"unbounded": "a line number, not read"})
    claims: tuple[Claim, ...] = ()


@dataclass(frozen=True)
class Recipe:
    name: str
    title: str
    scale: str
    data: dict[str, DataSource]
    sections: tuple[Section, ...]
    source: Path


def find_recipe(name: str) -> Path:
    """``name`` as a YAML path, else ``reports/<name>.yaml`` in the checkout (or
    ``$PULBENCH_REPORTS``)."""
    p = Path(name)
    if p.suffix in (".yaml", ".yml") and p.is_file():
        return p
    safe_name(name, "report")
    for folder in resource_dirs("reports"):
        f = folder / f"{name}.yaml"
        if f.is_file():
            return f
    known = sorted({f.stem for d in resource_dirs("reports") for f in d.glob("*.yaml")})
    raise PulBenchError(f"unknown report {name!r}; known: {', '.join(known) or 'none'}")


def load_recipe(path: str | Path) -> Recipe:
    """Read and validate one report recipe."""
    path = Path(path)
    top = schema.keys(schema.load(path), "recipe", {"name", "title", "scale", "data", "sections"},
                      required=("title", "scale", "data", "sections"))
    data = {}
    for key, node in schema.keys(top["data"], "data").items():
        data[key] = src = schema.read_dataclass(node, DataSource, f"data.{key}", key=key)
        if src.eao_interval is not None and _bench_kind(src) != "vot":
            raise schema.fail(node, "'eao_interval' applies to VOT-kind benchmarks only")
        if src.protocol != "ope" and _bench_kind(src) != "otb":
            raise schema.fail(node, f"'protocol: {src.protocol}' applies to OTB-kind "
                                    "benchmarks only")
        if src.localise is not None and (_bench_kind(src) != "otb" or src.protocol != "ope"):
            raise schema.fail(node, "'localise' applies to OTB-kind benchmarks without "
                                    "'protocol' (it measures frame pairs, not tracking)")
    parser = _Parser(data)
    sections = tuple(parser.section(n) for n in _nodes(top["sections"], "sections"))
    ids = [s.id for s in sections]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise schema.fail(top["sections"], f"section ids must be distinct: {', '.join(twice)}")
    parser.check_trackers()
    name = schema.read(top["name"], str, "name", {"nonempty": True, "filename": True}) \
        if "name" in top else path.stem  # the report's default folder, reports/<name>
    return Recipe(name=name,
                  title=_text(top["title"], "title"), scale=_text(top["scale"], "scale"),
                  data=data, sections=sections, source=path)


def _text(node: yaml.Node, what: str) -> str:
    return schema.read(node, str, what, {"nonempty": True})


def _nodes(node: yaml.Node, what: str) -> list[yaml.Node]:
    return schema.read(node, list[yaml.Node], what)


_COMMON = {"kind", "id", "title"}
_ENTRIES = ("metrics", "rows", "series", "references", "trackers", "claims")  # by _Parser
_SECTION_KEYS = {
    "table": ({"metrics", "groups", "rows"}, {"caption", "x_label"}),
    "curve": ({"data", "metric", "x_label", "series"}, {"caption", "references"}),
    "clip-length": ({"data", "lengths", "trackers"}, {"caption", "max_clips"}),
    "compare": ({"data", "published", "trackers"},
                {"caption", "published_trackers", "annotations", "published_scores",
                 "published_scores_note"}),
    "claims": ({"data", "metric", "claims"}, {"caption"}),
}


class _Parser:
    """Reads sections against the recipe's data sources and collects every tracker named, so
    that a misspelt one is an error, not a tracker reported as 'not trained'."""

    def __init__(self, data: dict[str, DataSource]) -> None:
        self.data = data
        self.trackers: list[tuple[yaml.Node, str]] = []

    def check_trackers(self) -> None:
        from pul_bench.registry import all_specs

        known = all_specs()
        for node, name in self.trackers:
            if name not in known:
                close = difflib.get_close_matches(name, known, n=3)
                hint = f"; did you mean {', '.join(close)}?" if close else ""
                raise schema.fail(node, f"unknown tracker {name!r}{hint} "
                                        "(see 'pulbench trackers')")

    def entry(self, node: yaml.Node, what: str) -> Entry:
        """A tracker name, or a mapping with ``tracker`` and optional label/checkpoint/train."""
        if isinstance(node, yaml.MappingNode):
            entry = schema.read_dataclass(node, Entry, what)
            node = schema.keys(node, what)["tracker"]
            if entry.seeds > 1 and entry.checkpoint is not None:
                raise schema.fail(node, "'seeds' evaluates each seed's own checkpoint; it "
                                        "cannot be combined with 'checkpoint'")
        else:
            entry = Entry(tracker=_text(node, what))
        self.trackers += [(node, e.tracker) for e in entry.seed_entries()]
        return entry

    def data_key(self, node: yaml.Node) -> str:
        key = _text(node, "data")
        if key not in self.data:
            raise schema.fail(node, f"'data: {key}' is not one of the recipe's data keys "
                                    f"{sorted(self.data)}")
        return key

    def metric(self, node: yaml.Node, key: str) -> str:
        src = self.data[key]
        kind = "localise" if src.localise else _bench_kind(src)
        ok = sorted(k for k, b in METRICS.items() if b == kind)
        value = _text(node, "metric")
        if value not in ok:
            what = "data with 'localise'" if src.localise else f"{kind} benchmarks"
            raise schema.fail(node, f"'metric: {value}' is not a metric of {what}; "
                                    f"use one of {ok}")
        return value

    def section(self, node: yaml.Node) -> Section:
        first = schema.keys(node, "section")
        if "kind" not in first:
            raise schema.fail(node, f"each section needs 'kind', one of {', '.join(KINDS)}")
        kind = schema.read(first["kind"], str, "kind", {"choices": KINDS})
        required, optional = _SECTION_KEYS[kind]
        what = f"{kind} section"
        m = schema.keys(node, what, required | _COMMON | optional,
                        required=sorted(required | _COMMON))
        f = schema.read_fields(schema.without(node, *_ENTRIES), Section, what)
        if "data" in m:
            self.data_key(m["data"])
        if "metric" in m:
            self.metric(m["metric"], f["data"])
        if kind == "table":
            return self.table(m, f)
        if kind == "claims":
            return self.claims(m, f)
        if kind == "curve":
            return Section(**f, series=tuple(self.series(s) for s in _nodes(m["series"], "series")),
                           references=self.entries(m, "references"))
        f["trackers"] = self.entries(m, "trackers")
        if _bench_kind(self.data[f["data"]]) != "otb" or self.data[f["data"]].localise:
            raise schema.fail(node, f"{kind} needs an OTB-kind data source without 'localise'")
        if kind == "clip-length":
            return Section(**{**f, "lengths": tuple(sorted(set(f["lengths"])))})
        for name, scores in f.get("published_scores", {}).items():
            if not set(scores) <= {"auc", "dp20"}:
                raise schema.fail(m["published_scores"], f"published_scores.{name}: "
                                                         "only 'auc' and 'dp20' are known")
        return Section(**f, published_line=m["published"].start_mark.line + 1)

    def entries(self, m: dict[str, yaml.Node], key: str) -> tuple[Entry, ...]:
        return tuple(self.entry(e, f"{key}[]") for e in _nodes(m[key], key)) if key in m else ()

    def table(self, m: dict[str, yaml.Node], f: dict[str, Any]) -> Section:
        metrics = []
        for x in _nodes(m["metrics"], "metrics"):
            mm = schema.keys(x, "metrics[]", {"data", "metric", "label"},
                             required=("data", "metric"))
            key = self.data_key(mm["data"])
            metric = self.metric(mm["metric"], key)
            label = _text(mm["label"], "label") if "label" in mm else \
                f"{key.upper()} {METRIC_LABELS[metric]}"
            metrics.append(Metric(key, metric, label))
        groups = f["groups"]
        rows = []
        for x in _nodes(m["rows"], "rows"):
            rm = schema.keys(x, "rows[]", {"label", "cells"}, required=("label", "cells"))
            cells_in = _nodes(rm["cells"], "cells")
            if len(cells_in) != len(groups):
                raise schema.fail(x, f"{len(cells_in)} cells but {len(groups)} groups "
                                     f"{list(groups)}")
            cells, paper = [], []
            for c in cells_in:
                values: tuple[float | None, ...] = (None,) * len(metrics)
                if isinstance(c, yaml.ScalarNode) and c.tag.endswith(":null"):
                    cells.append(None)  # the paper has no such model
                    paper.append(values)
                    continue
                if isinstance(c, yaml.MappingNode) and "paper" in schema.keys(c, "cells[]"):
                    pnode = schema.keys(c, "cells[]")["paper"]
                    values = schema.read(pnode, tuple[float | None, ...], "paper")
                    if len(values) != len(metrics):
                        raise schema.fail(pnode, f"'paper' must list {len(metrics)} values "
                                                 "(null where the paper has none), one per metric")
                    c = schema.without(c, "paper")
                cells.append(self.entry(c, "cells[]"))
                paper.append(values)
            rows.append(Row(_text(rm["label"], "label"), tuple(cells), tuple(paper)))
        return Section(**f, metrics=tuple(metrics), rows=tuple(rows))

    def claims(self, m: dict[str, yaml.Node], f: dict[str, Any]) -> Section:
        """Claims pair per-sequence values, which OTB-kind scores have (EAO has none)."""
        if _bench_kind(self.data[f["data"]]) != "otb":
            raise schema.fail(m["data"], "claims need an OTB-kind data source (they pair "
                                         "per-sequence scores)")
        claims, names = [], {}
        for x in _nodes(m["claims"], "claims"):
            cm = schema.keys(x, "claims[]", {"label", "a", "b", "relation"},
                             required=("label", "a", "b", "relation"))
            a, b = self.entry(cm["a"], "claims[].a"), self.entry(cm["b"], "claims[].b")
            for key, e in (("a", a), ("b", b)):
                other = names.setdefault(entry_name(e), e)
                if other != e:
                    raise schema.fail(cm[key], f"two different entries are both named "
                                               f"{entry_name(e)!r}; give them distinct labels")
            relation = schema.read(cm["relation"], str, "relation", {"choices": RELATIONS})
            claims.append(Claim(_text(cm["label"], "label"), a, b, relation))
        if not claims:
            raise schema.fail(m["claims"], "a claims section needs at least one claim")
        return Section(**f, claims=tuple(claims))

    def series(self, node: yaml.Node) -> Series:
        """A series: ``x`` values and a tracker name (or checkpoint/train) template with
        ``{x}``; ``seeds: K`` makes each point the mean of the seeds of its tracker."""
        m = schema.keys(node, "series[]", {"label", "tracker", "x", "checkpoint", "train",
                                           "seeds"}, required=("label", "tracker", "x"))
        xs = schema.read(m["x"], list[float], "x", {"nonempty": True})
        label = _text(m["label"], "label")
        seeds = schema.read(m["seeds"], int, "seeds", {"lo": 1}) if "seeds" in m else 1
        if seeds > 1 and "checkpoint" in m:
            raise schema.fail(m["seeds"], "'seeds' evaluates each seed's own checkpoint; it "
                                          "cannot be combined with 'checkpoint'")
        points = []
        for x in xs:
            def fill(key: str, x: float = x) -> str | None:
                return _text(m[key], key).replace("{x}", f"{x:g}") if key in m else None
            entry = Entry(tracker=fill("tracker"), label=f"{label} @ {x:g}",
                          checkpoint=fill("checkpoint"), train=fill("train"), seeds=seeds)
            self.trackers += [(m["tracker"], e.tracker) for e in entry.seed_entries()]
            points.append((x, entry))
        return Series(label, tuple(points))


def _bench_kind(src: DataSource) -> str:
    from pul_bench.benchmarks import get_benchmark

    return get_benchmark(src.benchmark).kind
