"""Report recipes: the strict schema of ``reports/<NAME>.yaml``.

A recipe names the data (``data``: benchmark manifests and their folders under the shared data
root), a one-line ``scale`` statement printed under every figure, and ``sections``, each of one
kind: ``table`` (rows x groups of trackers, metrics beside the paper's values), ``curve`` (a
metric against an x value such as injected label noise), ``clip-length`` (DP@20 against the
length of clips cut from the sequences) and ``compare`` (our trackers beside published raw
results on the sequences both cover). Unknown keys, wrong types and dangling references are
errors naming the file and line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pul_bench.errors import InputError, PulBenchError
from pul_bench.paths import resource_dirs

#: metric name -> benchmark kind it belongs to
METRICS = {"auc": "otb", "dp20": "otb", "norm_prec": "otb", "sr50": "otb",
           "eao": "vot", "accuracy": "vot", "robustness": "vot"}
METRIC_LABELS = {"auc": "AUC", "dp20": "DP@20", "norm_prec": "norm. precision",
                 "sr50": "SR@0.5", "eao": "EAO", "accuracy": "accuracy",
                 "robustness": "robustness"}
KINDS = ("table", "curve", "clip-length", "compare")


class _Map(dict):
    """A YAML mapping that remembers its line, so errors can point at it."""

    line: int | None = None


class _Loader(yaml.SafeLoader):
    pass


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> _Map:
    m = _Map(loader.construct_mapping(node, deep=True))
    m.line = node.start_mark.line + 1
    return m


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)


@dataclass(frozen=True)
class DataSource:
    """One benchmark's data: manifest name, folder (relative to the data root), subset."""

    key: str
    benchmark: str
    root: str
    sequences: tuple[str, ...] | None = None
    eao_interval: tuple[int, int] | None = None  # replaces the manifest's, for short sequences


@dataclass(frozen=True)
class Entry:
    """A tracker to evaluate: a registered name, optionally with another checkpoint.

    ``checkpoint`` is relative to the repository root; ``train`` is shown when it is missing.
    """

    tracker: str
    label: str
    checkpoint: str | None = None
    train: str | None = None


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
class Section:
    """One table/figure of a report; which fields are used depends on ``kind``."""

    kind: str
    id: str
    title: str
    caption: str = ""
    data: str | None = None
    metric: str | None = None
    metrics: tuple[Metric, ...] = ()
    groups: tuple[str, ...] = ()
    rows: tuple[Row, ...] = ()
    x_label: str = ""
    series: tuple[Series, ...] = ()
    references: tuple[Entry, ...] = ()
    trackers: tuple[Entry, ...] = ()
    lengths: tuple[int, ...] = ()
    max_clips: int = 5
    published: str | None = None
    published_trackers: tuple[str, ...] | None = None
    annotations: str | None = None
    published_scores: dict[str, dict[str, float]] = field(default_factory=dict)
    published_scores_note: str = ""


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
    for folder in resource_dirs("reports"):
        f = folder / f"{name}.yaml"
        if f.is_file():
            return f
    known = sorted({f.stem for d in resource_dirs("reports") for f in d.glob("*.yaml")})
    raise PulBenchError(f"unknown report {name!r}; known: {', '.join(known) or 'none'}")


def load_recipe(path: str | Path) -> Recipe:
    """Read and validate one report recipe."""
    path = Path(path)
    try:
        d = yaml.load(path.read_text(), Loader=_Loader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise InputError(path, f"invalid YAML: {getattr(e, 'problem', e)}",
                         None if mark is None else mark.line + 1) from None
    r = _Reader(path)
    d = r.mapping(d, "recipe", {"title", "scale", "data", "sections"}, {"name"})
    data_map = r.mapping(d["data"], "data")
    data = {key: _data_source(r, key, v) for key, v in data_map.items()}
    sections = r.list(d["sections"], d, "sections")
    parsed = tuple(_section(r, s, data) for s in sections)
    ids = [s.id for s in parsed]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        r.fail(d, f"section ids must be distinct: {', '.join(twice)}")
    return Recipe(name=r.string(d.get("name", path.stem), d, "name"),
                  title=r.string(d["title"], d, "title"), scale=r.string(d["scale"], d, "scale"),
                  data=data, sections=parsed, source=path)


def _data_source(r: _Reader, key: str, v: Any) -> DataSource:
    m = r.mapping(v, f"data.{key}", {"benchmark", "root"}, {"sequences", "eao_interval"})
    seqs = m.get("sequences")
    interval = m.get("eao_interval")
    if interval is not None and not (
            isinstance(interval, list) and len(interval) == 2
            and all(isinstance(x, int) and x >= 1 for x in interval) and interval[0] < interval[1]):
        r.fail(m, "'eao_interval' must be [low, high], integers with 1 <= low < high")
    src = DataSource(key=key, benchmark=r.string(m["benchmark"], m, "benchmark"),
                     root=r.string(m["root"], m, "root"),
                     sequences=None if seqs is None else tuple(r.strings(seqs, m, "sequences")),
                     eao_interval=None if interval is None else (interval[0], interval[1]))
    if interval is not None and _bench_kind(src) != "vot":
        r.fail(m, "'eao_interval' applies to VOT-kind benchmarks only")
    return src


def _entry(r: _Reader, v: Any, where: str, parent: Any = None) -> Entry:
    if isinstance(v, str):
        return Entry(tracker=v, label=v)
    m = r.mapping(v, where, {"tracker"}, {"label", "checkpoint", "train"}, parent=parent)
    tracker = r.string(m["tracker"], m, "tracker")
    return Entry(tracker=tracker, label=r.string(m.get("label", tracker), m, "label"),
                 checkpoint=r.optional_string(m, "checkpoint"), train=r.optional_string(m, "train"))


_COMMON = {"kind", "id", "title"}
_SECTION_KEYS = {
    "table": ({"metrics", "groups", "rows"}, {"caption", "x_label"}),
    "curve": ({"data", "metric", "x_label", "series"}, {"caption", "references"}),
    "clip-length": ({"data", "lengths", "trackers"}, {"caption", "max_clips"}),
    "compare": ({"data", "published", "trackers"},
                {"caption", "published_trackers", "annotations", "published_scores",
                 "published_scores_note"}),
}


def _section(r: _Reader, v: Any, data: dict[str, DataSource]) -> Section:
    kind = v.get("kind") if isinstance(v, dict) else None
    if kind not in _SECTION_KEYS:
        r.fail(v, f"each section needs 'kind', one of {', '.join(KINDS)}")
    required, optional = _SECTION_KEYS[kind]
    m = r.mapping(v, f"{kind} section", required | _COMMON, optional)
    common = {"kind": kind, "id": r.string(m["id"], m, "id"),
              "title": r.string(m["title"], m, "title"),
              "caption": r.optional_string(m, "caption") or ""}
    if "data" in m:
        common["data"] = r.data_key(m["data"], m, data)
    if kind == "table":
        return _table(r, m, data, common)
    if kind == "curve":
        metric = r.metric(m["metric"], m, data[common["data"]], "metric")
        series = tuple(_series(r, s, m) for s in r.list(m["series"], m, "series"))
        refs = tuple(_entry(r, e, "references[]", m)
                     for e in r.list(m.get("references", []), m, "references"))
        return Section(**common, metric=metric, x_label=r.string(m["x_label"], m, "x_label"),
                       series=series, references=refs)
    trackers = tuple(_entry(r, e, "trackers[]", m) for e in r.list(m["trackers"], m, "trackers"))
    if kind == "clip-length":
        if _bench_kind(data[common["data"]]) != "otb":
            r.fail(m, "clip-length needs an OTB-kind data source")
        lengths = m["lengths"]
        if not (isinstance(lengths, list) and lengths
                and all(isinstance(x, int) and x >= 2 for x in lengths)):
            r.fail(m, "'lengths' must be a list of integers >= 2 (frames per clip)")
        max_clips = m.get("max_clips", 5)
        if not isinstance(max_clips, int) or max_clips < 1:
            r.fail(m, "'max_clips' must be a positive integer")
        return Section(**common, trackers=trackers, lengths=tuple(sorted(set(lengths))),
                       max_clips=max_clips)
    if _bench_kind(data[common["data"]]) != "otb":
        r.fail(m, "compare needs an OTB-kind data source")
    pub_scores = r.mapping(m.get("published_scores", _Map()), "published_scores")
    scores = {}
    for name, vals in pub_scores.items():
        vm = r.mapping(vals, f"published_scores.{name}", set(), {"auc", "dp20"})
        scores[str(name)] = {k: r.number(x, vm, k) for k, x in vm.items()}
    pt = m.get("published_trackers")
    return Section(**common, trackers=trackers, published=r.string(m["published"], m, "published"),
                   published_trackers=None if pt is None else tuple(r.strings(pt, m,
                                                                              "published_trackers")),
                   annotations=r.optional_string(m, "annotations"), published_scores=scores,
                   published_scores_note=r.optional_string(m, "published_scores_note") or "")


def _table(r: _Reader, m: _Map, data: dict[str, DataSource], common: dict) -> Section:
    metrics = []
    for x in r.list(m["metrics"], m, "metrics"):
        mm = r.mapping(x, "metrics[]", {"data", "metric"}, {"label"}, parent=m)
        key = r.data_key(mm["data"], mm, data)
        metric = r.metric(mm["metric"], mm, data[key], "metric")
        metrics.append(Metric(key, metric, r.string(
            mm.get("label", f"{key.upper()} {METRIC_LABELS[metric]}"), mm, "label")))
    groups = tuple(r.strings(m["groups"], m, "groups"))
    rows = []
    for x in r.list(m["rows"], m, "rows"):
        rm = r.mapping(x, "rows[]", {"label", "cells"}, parent=m)
        cells_in = r.list(rm["cells"], rm, "cells")
        if len(cells_in) != len(groups):
            r.fail(rm, f"{len(cells_in)} cells but {len(groups)} groups {list(groups)}")
        cells, paper = [], []
        for c in cells_in:
            if c is None:  # the paper has no such model
                cells.append(None)
                paper.append((None,) * len(metrics))
                continue
            if isinstance(c, str):  # a bare tracker name: no paper values
                cells.append(Entry(tracker=c, label=c))
                paper.append((None,) * len(metrics))
                continue
            cm = r.mapping(c, "cells[]", {"tracker"}, {"label", "checkpoint", "train", "paper"},
                           parent=rm)
            pv = cm.pop("paper", [None] * len(metrics))
            if not isinstance(pv, list) or len(pv) != len(metrics):
                r.fail(cm, f"'paper' must list {len(metrics)} values (null where the paper "
                       "has none), one per metric")
            paper.append(tuple(None if p is None else r.number(p, cm, "paper") for p in pv))
            cells.append(_entry(r, cm, "cells[]", rm))
        rows.append(Row(r.string(rm["label"], rm, "label"), tuple(cells), tuple(paper)))
    return Section(**common, metrics=tuple(metrics), groups=groups, rows=tuple(rows),
                   x_label=r.optional_string(m, "x_label") or "")


def _series(r: _Reader, v: Any, parent: Any) -> Series:
    """A series: ``x`` values, a tracker name (or checkpoint/train) template with ``{x}``."""
    m = r.mapping(v, "series[]", {"label", "tracker", "x"}, {"checkpoint", "train"}, parent=parent)
    xs = m["x"]
    if not (isinstance(xs, list) and xs and all(isinstance(x, (int, float)) for x in xs)):
        r.fail(m, "'x' must be a non-empty list of numbers")
    label = r.string(m["label"], m, "label")
    points = []
    for x in xs:
        def fill(key: str, x: float = x) -> str | None:
            t = r.optional_string(m, key)
            return None if t is None else t.replace("{x}", f"{x:g}")
        points.append((float(x), Entry(tracker=fill("tracker"), label=f"{label} @ {x:g}",
                                       checkpoint=fill("checkpoint"), train=fill("train"))))
    return Series(label, tuple(points))


def _bench_kind(src: DataSource) -> str:
    from pul_bench.benchmarks import get_benchmark

    return get_benchmark(src.benchmark).kind


class _Reader:
    """Type checks that raise :class:`InputError` at the offending mapping's line."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, near: Any, msg: str) -> None:
        raise InputError(self.path, msg, getattr(near, "line", None))

    def mapping(self, v: Any, where: str, required: set[str] | None = None,
                optional: set[str] | None = None, parent: Any = None) -> _Map:
        if not isinstance(v, dict):
            self.fail(parent, f"{where} must be a mapping, got {v!r}")
        if required is not None:
            allowed = required | (optional or set())
            unknown = sorted(set(v) - allowed)
            if unknown:
                self.fail(v, f"{where}: unknown keys {unknown}; allowed: {sorted(allowed)}")
            absent = sorted(required - set(v))
            if absent:
                self.fail(v, f"{where}: missing keys {absent}")
        return v if isinstance(v, _Map) else _Map(v)

    def list(self, v: Any, near: Any, key: str) -> list:
        if not isinstance(v, list):
            self.fail(near, f"'{key}' must be a list")
        return v

    def string(self, v: Any, near: Any, key: str) -> str:
        if not isinstance(v, str) or not v.strip():
            self.fail(near, f"'{key}' must be a non-empty string")
        return v.strip()

    def optional_string(self, m: dict, key: str) -> str | None:
        return None if m.get(key) is None else self.string(m[key], m, key)

    def strings(self, v: Any, near: Any, key: str) -> list[str]:
        if not (isinstance(v, list) and v and all(isinstance(s, str) and s for s in v)):
            self.fail(near, f"'{key}' must be a non-empty list of names")
        return v

    def number(self, v: Any, near: Any, key: str) -> float:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            self.fail(near, f"'{key}' must be a number, got {v!r}")
        return float(v)

    def data_key(self, v: Any, near: Any, data: dict[str, DataSource]) -> str:
        if v not in data:
            self.fail(near, f"'data: {v}' is not one of the recipe's data keys {sorted(data)}")
        return v

    def metric(self, v: Any, near: Any, src: DataSource, key: str) -> str:
        kind = _bench_kind(src)
        ok = sorted(k for k, b in METRICS.items() if b == kind)
        if v not in ok:
            self.fail(near, f"'{key}: {v}' is not a metric of {kind} benchmarks; use one of {ok}")
        return v
