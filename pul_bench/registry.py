"""Tracker registry: declarative specs from ``trackers/*.yaml`` plus third-party entry points.

A spec names a factory (``module:callable``) and its arguments; nothing is imported until a
tracker is created, so listing trackers stays fast and a broken plugin cannot break the others.
Third-party packages register under the entry-point group ``pul_bench.trackers``; the object
an entry point loads is either a :class:`TrackerSpec` or a callable returning a tracker.
"""

from __future__ import annotations

import importlib
import importlib.util
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import yaml

from pul_bench.errors import InputError, PulBenchError
from pul_bench.paths import REPO_ROOT, resource_dirs
from pul_bench.tracker import Tracker

ENTRY_POINT_GROUP = "pul_bench.trackers"
_SPEC_KEYS = {
    "name", "description", "factory", "args", "checkpoint", "train", "deterministic", "tags",
    "extends", "matrix",
}


@dataclass
class TrackerSpec:
    """How to build one named tracker.

    ``checkpoint`` (optional) is passed to the factory as ``checkpoint=``; relative paths are
    resolved against the spec file's folder. ``train`` is the command that produces a missing
    checkpoint, shown to the user.
    """

    name: str
    description: str
    factory: str | Callable[..., Tracker]
    args: dict[str, Any] = field(default_factory=dict)
    checkpoint: Path | None = None
    train: str | None = None
    deterministic: bool | None = None
    tags: list[str] = field(default_factory=list)
    source: str = "built-in"

    def ready(self) -> tuple[bool, str]:
        """Whether :meth:`create` can work now, and if not, why (without importing anything)."""
        if isinstance(self.factory, str):
            module = self.factory.split(":", 1)[0]
            try:
                found = importlib.util.find_spec(module) is not None
            except ModuleNotFoundError:
                found = False
            if not found:
                return False, f"module {module!r} is not installed"
        if self.checkpoint is not None and not self.checkpoint.is_file():
            hint = f"; train it with: {self.train}" if self.train else ""
            return False, f"checkpoint missing: {self.checkpoint}{hint}"
        return True, "ready"

    def create(self, checkpoint: str | Path | None = None, benchmark: str | None = None,
               **overrides: Any) -> Tracker:
        """Build the tracker; ``checkpoint`` overrides the spec's, by path.

        ``benchmark`` lets a tracker with per-benchmark hyper-parameters (SiamDW's tables) pick
        its values through an optional ``set_benchmark(name)`` method.
        """
        ckpt = Path(checkpoint) if checkpoint is not None else self.checkpoint
        if ckpt is not None and not ckpt.is_file():
            hint = f"\n  train it with: {self.train}" if self.train else ""
            raise PulBenchError(f"tracker {self.name!r}: checkpoint not found: {ckpt}{hint}")
        factory = _load_factory(self.factory) if isinstance(self.factory, str) else self.factory
        kwargs = {**self.args, **overrides}
        if ckpt is not None:
            kwargs["checkpoint"] = ckpt
        tracker = factory(**kwargs)
        if not isinstance(tracker, Tracker) and not (
            hasattr(tracker, "init") and hasattr(tracker, "update")
        ):
            raise PulBenchError(f"tracker {self.name!r}: factory did not return a tracker")
        try:
            tracker.name = self.name
        except AttributeError:
            pass
        if benchmark is not None and hasattr(tracker, "set_benchmark"):
            tracker.set_benchmark(benchmark)
        return tracker


def _load_factory(ref: str) -> Callable[..., Tracker]:
    module, _, attr = ref.partition(":")
    if not attr:
        raise PulBenchError(f"factory {ref!r} must look like 'package.module:callable'")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def _read_spec(path: Path, chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    """One spec file's mapping, with ``extends: <name>`` resolved against ``<name>.yaml`` beside
    it: the child's keys replace the parent's, except ``args``, which are merged key by key.
    Variants (ablations, checkpoints) then state only what differs from their base."""
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        line = getattr(getattr(e, "problem_mark", None), "line", None)
        raise InputError(path, f"invalid YAML: {e}", None if line is None else line + 1) from None
    if not isinstance(data, dict):
        raise InputError(path, "a tracker spec must be a mapping")
    unknown = set(data) - _SPEC_KEYS
    if unknown:
        raise InputError(path, f"unknown keys {sorted(unknown)}; allowed: {sorted(_SPEC_KEYS)}")
    parent = data.pop("extends", None)
    if parent is None:
        return data
    base_path = path.parent / f"{parent}.yaml"
    if not base_path.is_file():
        raise InputError(path, f"extends {parent!r}, but {base_path} does not exist")
    if base_path in chain or base_path == path:
        raise InputError(path, f"extends {parent!r} in a cycle")
    base = _read_spec(base_path, (*chain, path))
    args = {**(base.get("args") or {}), **(data.get("args") or {})}
    return {**base, **data, "args": args}


def load_spec(path: str | Path) -> TrackerSpec:
    """Read and validate one tracker spec YAML file (resolving ``extends``)."""
    specs = load_specs(path)
    if len(specs) != 1:
        raise InputError(path, f"holds a matrix of {len(specs)} trackers; use load_specs")
    return specs[0]


def load_specs(path: str | Path) -> list[TrackerSpec]:
    """Every tracker one spec file declares: one, or one per combination of its ``matrix``.

    ``matrix: {noise: [10, 20], loss: [bce, nr]}`` declares a family (an experiment's
    variants) in one file; ``{noise}`` and ``{loss}`` are filled into ``name``,
    ``description``, ``checkpoint`` and ``train``.
    """
    path = Path(path)
    data = _read_spec(path)
    matrix = data.pop("matrix", None) or {}
    if not isinstance(matrix, dict) or not all(
            isinstance(v, list) and v for v in matrix.values()):
        raise InputError(path, "'matrix' must map names to non-empty lists of values")
    combos = [dict(zip(matrix, values, strict=True))
              for values in itertools.product(*matrix.values())]
    return [_build_spec(path, _fill(path, data, combo)) for combo in combos]


def _fill(path: Path, data: dict[str, Any], combo: dict[str, Any]) -> dict[str, Any]:
    if not combo:
        return data
    out = dict(data)
    for key in ("name", "description", "checkpoint", "train"):
        if isinstance(out.get(key), str):
            try:
                out[key] = out[key].format(**combo)
            except (KeyError, IndexError, ValueError) as e:
                raise InputError(path, f"'{key}': cannot fill in {combo} ({e!r})") from None
    return out


def _build_spec(path: Path, data: dict[str, Any]) -> TrackerSpec:
    for key in ("name", "description", "factory"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise InputError(path, f"'{key}' must be a non-empty string")
    args = data.get("args") or {}
    if not isinstance(args, dict):
        raise InputError(path, "'args' must be a mapping")
    ckpt = data.get("checkpoint")
    ckpt_path = None
    if ckpt is not None:
        ckpt_path = Path(ckpt)
        if not ckpt_path.is_absolute():
            ckpt_path = (path.parent / ckpt_path).resolve()
    return TrackerSpec(
        name=data["name"],
        description=data["description"],
        factory=data["factory"],
        args=args,
        checkpoint=ckpt_path,
        train=data.get("train"),
        deterministic=data.get("deterministic"),
        tags=list(data.get("tags") or []),
        source=str(path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path),
    )


_registered: dict[str, TrackerSpec] = {}


def register(
    name: str,
    factory: Callable[..., Tracker],
    description: str = "",
    **fields: Any,
) -> TrackerSpec:
    """Register a tracker from Python (e.g. a wrapped got10k tracker) for this process."""
    spec = TrackerSpec(name=name, description=description or _doc_line(factory),
                       factory=factory, source="register()", **fields)
    _registered[name] = spec
    return spec


def _doc_line(obj: Any) -> str:
    doc = (getattr(obj, "__doc__", None) or "").strip()
    return doc.splitlines()[0] if doc else ""


def _entry_point_specs() -> dict[str, TrackerSpec]:
    specs: dict[str, TrackerSpec] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            obj = ep.load()
        except Exception as e:  # a broken plugin is reported, not fatal
            specs[ep.name] = TrackerSpec(
                ep.name, f"(failed to load: {type(e).__name__}: {e})", factory=ep.value,
                source=f"entry point {ep.value}")
            continue
        if isinstance(obj, TrackerSpec):
            specs[obj.name] = obj
        else:
            specs[ep.name] = TrackerSpec(ep.name, _doc_line(obj), factory=obj,
                                         source=f"entry point {ep.value}")
    return specs


def all_specs() -> dict[str, TrackerSpec]:
    """Every known tracker by name; later sources override earlier ones.

    Order: installed YAML specs, checkout YAML specs, ``$PULBENCH_TRACKERS`` folders, entry
    points, then :func:`register` calls.
    """
    specs: dict[str, TrackerSpec] = {}
    for folder in reversed(resource_dirs("trackers")):
        for f in sorted(folder.glob("*.yaml")):
            specs.update((spec.name, spec) for spec in load_specs(f))
    specs.update(_entry_point_specs())
    specs.update(_registered)
    return dict(sorted(specs.items()))


def get_spec(name: str) -> TrackerSpec:
    """The spec registered as ``name``; an unknown name lists close matches."""
    specs = all_specs()
    if name in specs:
        return specs[name]
    import difflib

    close = difflib.get_close_matches(name, specs, n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise PulBenchError(f"unknown tracker {name!r}.{hint} Run 'pulbench trackers' to list them.")


def create(name: str, checkpoint: str | Path | None = None, **overrides: Any) -> Tracker:
    """Build the tracker registered as ``name``."""
    return get_spec(name).create(checkpoint=checkpoint, **overrides)
