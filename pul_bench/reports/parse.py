"""Reading ``reports/<NAME>.yaml`` into a :class:`.recipe.Recipe`: each section read as its
kind's dataclass against the recipe's data sources, every tracker named checked against the
registry (errors name the file and line, :mod:`pul_bench.schema`)."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import yaml

from pul_bench import schema
from pul_bench.reports.recipe import (
    KINDS,
    METRIC_LABELS,
    METRICS,
    RELATIONS,
    SECTIONS,
    Claim,
    ClaimsSection,
    ClipLengthSection,
    CompareSection,
    CurveSection,
    DataSource,
    Entry,
    Metric,
    Recipe,
    Row,
    Section,
    Series,
    TableSection,
    entry_name,
)


def read_recipe(path: Path) -> Recipe:
    """Read and validate one report recipe."""
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
    "claims": ({"data", "metric", "claims"}, {"caption", "pooled"}),
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
        f = schema.read_fields(schema.without(node, "kind", *_ENTRIES), SECTIONS[kind], what)
        if "data" in m:
            self.data_key(m["data"])
        if "metric" in m:
            self.metric(m["metric"], f["data"])
        if kind == "table":
            return self.table(m, f)
        if kind == "claims":
            return self.claims(m, f)
        if kind == "curve":
            return CurveSection(**f, series=tuple(self.series(s) for s in
                                                  _nodes(m["series"], "series")),
                                references=self.entries(m, "references"))
        f["trackers"] = self.entries(m, "trackers")
        if _bench_kind(self.data[f["data"]]) != "otb" or self.data[f["data"]].localise:
            raise schema.fail(node, f"{kind} needs an OTB-kind data source without 'localise'")
        if kind == "clip-length":
            return ClipLengthSection(**{**f, "lengths": tuple(sorted(set(f["lengths"])))})
        for name, scores in f.get("published_scores", {}).items():
            if not set(scores) <= {"auc", "dp20"}:
                raise schema.fail(m["published_scores"], f"published_scores.{name}: "
                                                         "only 'auc' and 'dp20' are known")
        return CompareSection(**f, published_line=m["published"].start_mark.line + 1)

    def entries(self, m: dict[str, yaml.Node], key: str) -> tuple[Entry, ...]:
        return tuple(self.entry(e, f"{key}[]") for e in _nodes(m[key], key)) if key in m else ()

    def table(self, m: dict[str, yaml.Node], f: dict[str, Any]) -> TableSection:
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
        return TableSection(**f, metrics=tuple(metrics), rows=tuple(rows))

    def claims(self, m: dict[str, yaml.Node], f: dict[str, Any]) -> ClaimsSection:
        """Claims pair per-sequence values, which OTB-kind scores have (EAO has none)."""
        if _bench_kind(self.data[f["data"]]) != "otb":
            raise schema.fail(m["data"], "claims need an OTB-kind data source (they pair "
                                         "per-sequence scores)")
        for key in f.get("pooled", ()):
            others = sorted(set(self.data) - {f["data"]})
            if key not in others:
                raise schema.fail(m["pooled"], f"pooled: {key!r} is not one of the recipe's "
                                               f"other data keys {others}")
            if bool(self.data[key].localise) != bool(self.data[f["data"]].localise) or \
                    _bench_kind(self.data[key]) != "otb":
                raise schema.fail(m["pooled"], f"pooled: {key!r} does not give "
                                               f"'{f['metric']}' as '{f['data']}' does")
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
        return ClaimsSection(**f, claims=tuple(claims))

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
