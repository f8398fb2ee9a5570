"""Benchmark definitions, read from the declarative manifests in ``datasets/*.yaml``.

A manifest names the benchmark's kind (``otb`` one-pass, ``vot`` supervised, ``got10k`` AO/SR),
its official sequence list (absent = every sequence found under ``--root``), the EAO interval for
VOT years, and where under the shared data folder its images and annotation-only copies usually
live. One-pass benchmarks also name their folder ``layout``, the toolkit whose rules score them
(``convention``), their attribute columns, which side that toolkit cuts when a result file and
the ground truth differ in length (``truncate``), and, for UAV123, each target's image folder
and frame range (``ranges``); ``metric`` and ``source`` are what ``pulbench benchmarks`` prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from pul_bench.errors import InputError, PulBenchError
from pul_bench.paths import data_root, resource_dirs

KINDS = ("otb", "vot", "got10k")
LAYOUTS = ("otb", "lasot", "uav123", "trackingnet", "got10k", "vot")
_KEYS = {"name", "kind", "description", "sequences", "eao_interval", "images", "annotations",
         "layout", "convention", "attributes", "truncate", "ranges", "metric", "source", "split"}


@dataclass(frozen=True)
class Benchmark:
    """One benchmark: ``sequences`` is None when it means 'every sequence under the root'."""

    name: str
    kind: str
    description: str
    sequences: tuple[str, ...] | None = None
    eao_interval: tuple[int, int] | None = None
    images: str | None = None
    annotations: str | None = None
    layout: str = "otb"
    convention: str | None = None
    attributes: tuple[str, ...] | None = None
    truncate: str | None = None
    ranges: dict[str, tuple[str, int, int]] | None = field(default=None, compare=False)
    metric: str = ""
    source: str = ""
    split: str | None = None
    manifest: Path | None = field(default=None, compare=False)

    def default_root(self, annotations_only: bool = False) -> Path:
        """Default ``--root``: the shared data folder's images (or annotation-only copy)."""
        rel = (self.annotations or self.images) if annotations_only else self.images
        if rel is None:
            raise PulBenchError(f"benchmark {self.name!r} has no default root: pass --root DIR")
        return data_root() / rel


def load_manifest(path: str | Path) -> Benchmark:
    """Read and validate one benchmark manifest."""
    path = Path(path)
    try:
        d = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise InputError(path, f"invalid YAML: {e}") from None
    if not isinstance(d, dict):
        raise InputError(path, "a benchmark manifest must be a mapping")
    unknown = set(d) - _KEYS
    if unknown:
        raise InputError(path, f"unknown keys {sorted(unknown)}; allowed: {sorted(_KEYS)}")
    if d.get("kind") not in KINDS:
        raise InputError(path, f"'kind' must be one of {KINDS}")
    seqs = d.get("sequences")
    if seqs is not None and not (isinstance(seqs, list) and all(isinstance(s, str) for s in seqs)):
        raise InputError(path, "'sequences' must be a list of names")
    interval = d.get("eao_interval")
    if interval is not None:
        if not (isinstance(interval, list) and len(interval) == 2 and interval[0] < interval[1]):
            raise InputError(path, "'eao_interval' must be [low, high] with low < high")
        interval = (int(interval[0]), int(interval[1]))
    layout = d.get("layout", "vot" if d["kind"] == "vot" else "otb")
    if layout not in LAYOUTS:
        raise InputError(path, f"'layout' must be one of {LAYOUTS}")
    atts = d.get("attributes")
    if atts is not None and not (isinstance(atts, list) and all(isinstance(a, str) for a in atts)):
        raise InputError(path, "'attributes' must be a list of short names, in file column order")
    if d.get("truncate") not in (None, "groundtruth", "results"):
        raise InputError(path, "'truncate' must be 'groundtruth' (a short result is scored on "
                         "its frames) or 'results' (a long result is cut)")
    ranges = d.get("ranges")
    if ranges is not None:
        ok = isinstance(ranges, dict) and all(
            isinstance(v, list) and len(v) == 3 and isinstance(v[0], str)
            and all(isinstance(x, int) for x in v[1:]) and v[1] <= v[2] for v in ranges.values())
        if not ok:
            raise InputError(path, "'ranges' maps a name to [folder, first frame, last frame]")
        ranges = {str(k): (v[0], v[1], v[2]) for k, v in ranges.items()}
    return Benchmark(
        name=str(d["name"]),
        kind=d["kind"],
        description=str(d.get("description", "")),
        sequences=tuple(seqs) if seqs is not None else None,
        eao_interval=interval,
        images=d.get("images"),
        annotations=d.get("annotations"),
        layout=layout,
        convention=d.get("convention"),
        attributes=tuple(atts) if atts is not None else None,
        truncate=d.get("truncate"),
        ranges=ranges,
        metric=str(d.get("metric", "")),
        source=str(d.get("source", "")),
        split=d.get("split"),
        manifest=path,
    )


def all_benchmarks() -> dict[str, Benchmark]:
    """Every benchmark manifest found, by name (earlier folders win)."""
    out: dict[str, Benchmark] = {}
    for folder in reversed(resource_dirs("datasets")):
        for f in sorted(folder.glob("*.yaml")):
            b = load_manifest(f)
            out[b.name] = b
    return dict(sorted(out.items()))


def get_benchmark(name: str) -> Benchmark:
    """The benchmark called ``name`` (case-insensitive)."""
    benches = all_benchmarks()
    b = benches.get(name) or benches.get(name.lower())
    if b is None:
        raise PulBenchError(f"unknown benchmark {name!r}; known: {', '.join(benches)}")
    return b
