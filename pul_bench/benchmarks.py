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

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from pul_bench import schema
from pul_bench.errors import PulBenchError
from pul_bench.paths import DATA_ENV, data_root, resource_dirs
from pul_bench.schema import bounded

KINDS = ("otb", "vot", "got10k")
LAYOUTS = ("otb", "lasot", "uav123", "trackingnet", "got10k", "vot", "labeled")


@dataclass(frozen=True)
class Benchmark:
    """One benchmark: ``sequences`` is None when it means 'every sequence under the root'."""

    name: str = bounded(nonempty=True, filename=True)
    kind: str = bounded(choices=KINDS)
    description: str = ""
    sequences: tuple[str, ...] | None = bounded(None, filename=True, distinct=True)
    eao_interval: tuple[int, int] | None = bounded(None, lo=1, increasing=True)
    images: str | None = None
    annotations: str | None = None
    layout: str = bounded("otb", choices=LAYOUTS)  # a manifest of kind vot defaults to vot
    convention: str | None = None
    attributes: tuple[str, ...] | None = None  # short names, in file column order
    #: groundtruth: a short result is scored on its frames; results: a long result is cut
    truncate: str | None = bounded(None, choices=("groundtruth", "results"))
    #: name -> [image folder, first frame, last frame]
    ranges: dict[str, tuple[str, int, int]] | None = field(default=None, compare=False, metadata={
        "unbounded": "[folder, first, last] frame numbers: load_manifest checks first <= last"})
    metric: str = ""
    source: str = ""
    split: str | None = None
    manifest: Path | None = field(default=None, compare=False)
    #: The shared data folder that ``images`` and ``annotations`` are under, as the entry point
    #: (CLI, script, report context) resolved it: :func:`get_benchmark`'s ``data``.
    data: Path | None = field(default=None, compare=False)

    def default_root(self, annotations_only: bool = False) -> Path:
        """Default ``--root``: the shared data folder's images (or annotation-only copy)."""
        rel = (self.annotations or self.images) if annotations_only else self.images
        if rel is None:
            raise PulBenchError(f"benchmark {self.name!r} has no default root: pass --root DIR")
        if self.data is None:
            raise PulBenchError(f"real data not found: set {DATA_ENV} or pass --root")
        return self.data / rel

    def annotation_copy(self) -> Path | None:
        """The shared data's annotation-only copy of this benchmark, where attribute flags and
        ``initOmit`` are found when ``--root`` is an image folder (which carries neither)."""
        if self.data is None or not self.annotations:
            return None
        return self.data / self.annotations


def load_manifest(path: str | Path) -> Benchmark:
    """Read and validate one benchmark manifest."""
    path = Path(path)
    node = schema.load(path)
    bench = schema.read_dataclass(node, Benchmark, "manifest", manifest=path, data=None)
    given = schema.keys(node, "manifest")
    for name, (_, first, last) in (bench.ranges or {}).items():
        if first > last:
            raise schema.fail(schema.keys(given["ranges"], "ranges")[name],
                              f"ranges.{name}: first frame {first} is after last frame {last}")
    if bench.kind == "vot" and "layout" not in given:
        bench = dataclasses.replace(bench, layout="vot")
    return bench


def all_benchmarks() -> dict[str, Benchmark]:
    """Every benchmark manifest found, by name (earlier folders win)."""
    out: dict[str, Benchmark] = {}
    for folder in reversed(resource_dirs("datasets")):
        for f in sorted(folder.glob("*.yaml")):
            b = load_manifest(f)
            out[b.name] = b
    return dict(sorted(out.items()))


def get_benchmark(name: str, data: Path | None = None) -> Benchmark:
    """The benchmark called ``name`` (case-insensitive), its default folders under ``data``: the
    shared data folder, which entry points (CLI, scripts, a report's context) pass down; left
    out, it is :func:`pul_bench.paths.data_root` if found. The loaders read it from the
    returned value (:meth:`Benchmark.annotation_copy`), never from the environment."""
    benches = all_benchmarks()
    b = benches.get(name) or benches.get(name.lower())
    if b is None:
        raise PulBenchError(f"unknown benchmark {name!r}; known: {', '.join(benches)}")
    return dataclasses.replace(b, data=Path(data) if data is not None
                               else data_root(required=False))
