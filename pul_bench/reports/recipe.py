"""Report recipes: the strict schema of ``reports/<NAME>.yaml``.

A recipe names the data (``data``: benchmark manifests and their folders under the shared data
root), a one-line ``scale`` statement printed under every figure, and ``sections``, each of one
kind: ``table`` (rows x groups of trackers, metrics beside the paper's values), ``curve`` (a
metric against an x value such as injected label noise), ``clip-length`` (DP@20 against the
length of clips cut from the sequences), ``compare`` (our trackers beside published raw
results on the sequences both cover) and ``claims`` (statements "a > b" or "a >= b" on one
metric of OTB-kind data, each tested by a paired comparison over sequences, Holm-corrected over
the section's claims; ``pooled: [key, ...]`` adds other data sources' sequences to each
paired comparison)::

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

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import ClassVar

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


@dataclass(frozen=True, kw_only=True)
class _Section:
    """What every section has: an id (its figures' file names), a title and a caption."""

    kind: ClassVar[str]
    id: str = bounded(nonempty=True, filename=True)
    title: str = bounded(nonempty=True)
    caption: str = ""

    def data_keys(self) -> list[str]:
        """The recipe's data sources this section reads."""
        return [self.data]


@dataclass(frozen=True, kw_only=True)
class TableSection(_Section):
    """Rows x groups of trackers, each metric of ours beside the paper's value."""

    kind: ClassVar[str] = "table"
    metrics: tuple[Metric, ...] = ()
    groups: tuple[str, ...] = bounded((), nonempty=True)
    rows: tuple[Row, ...] = ()
    x_label: str = ""

    def data_keys(self) -> list[str]:
        return [m.data for m in self.metrics]


@dataclass(frozen=True, kw_only=True)
class CurveSection(_Section):
    """A metric against an x value (e.g. injected label noise), one line per series."""

    kind: ClassVar[str] = "curve"
    data: str
    metric: str
    x_label: str = ""
    series: tuple[Series, ...] = ()
    references: tuple[Entry, ...] = ()


@dataclass(frozen=True, kw_only=True)
class ClipLengthSection(_Section):
    """DP@20 against the length of the clips cut from the sequences."""

    kind: ClassVar[str] = "clip-length"
    data: str
    lengths: tuple[int, ...] = bounded((), lo=2, nonempty=True)  # frames per clip
    max_clips: int = bounded(5, lo=1)
    trackers: tuple[Entry, ...] = ()


@dataclass(frozen=True, kw_only=True)
class CompareSection(_Section):
    """Our trackers beside published raw results on the sequences both cover."""

    kind: ClassVar[str] = "compare"
    data: str
    published: str
    trackers: tuple[Entry, ...] = ()
    published_trackers: tuple[str, ...] | None = bounded(None, nonempty=True)
    annotations: str | None = None
    published_scores: dict[str, dict[str, float]] = bounded(default_factory=dict, lo=0.0)
    published_scores_note: str = ""
    #: for errors at run time; set by the parser, never read from the file
    published_line: int | None = field(default=None, compare=False,
                                       metadata={"unbounded": "a line number, not read"})


@dataclass(frozen=True, kw_only=True)
class ClaimsSection(_Section):
    """Statements 'a > b' / 'a >= b' on one metric, each tested by a paired comparison."""

    kind: ClassVar[str] = "claims"
    data: str
    metric: str
    claims: tuple[Claim, ...] = ()
    #: more data keys whose sequences are pooled with ``data``'s (named ``<key>/<sequence>``):
    #: each claim is then one paired comparison over all of them
    pooled: tuple[str, ...] = bounded((), distinct=True)

    def data_keys(self) -> list[str]:
        return [self.data, *self.pooled]


#: one table/figure of a report, of one of the kinds
Section = TableSection | CurveSection | ClipLengthSection | CompareSection | ClaimsSection
SECTIONS: dict[str, type[_Section]] = {c.kind: c for c in (
    TableSection, CurveSection, ClipLengthSection, CompareSection, ClaimsSection)}
KINDS = tuple(SECTIONS)


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
    """Read and validate one report recipe (:mod:`.parse`)."""
    from pul_bench.reports.parse import read_recipe

    return read_recipe(Path(path))
