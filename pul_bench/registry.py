"""Tracker registry: declarative specs from ``trackers/*.yaml`` plus third-party entry points.

A spec names a factory (``module:callable``) and its arguments; nothing is imported until a
tracker is checked or created, and a broken spec or plugin is listed as broken without breaking
the others. A spec's arguments are checked against the factory's signature (names, and types
where annotated) before the tracker is built, with errors at the spec file's line.
Third-party packages register under the entry-point group ``pul_bench.trackers``; the object
an entry point loads is either a :class:`TrackerSpec` or a callable returning a tracker.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import itertools
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import yaml

from pul_bench import schema
from pul_bench.errors import InputError, PulBenchError
from pul_bench.paths import REPO_ROOT, name_problem, resource_dirs, safe_name
from pul_bench.schema import bounded
from pul_bench.tracker import Tracker

ENTRY_POINT_GROUP = "pul_bench.trackers"
_REQUIRED = ("name", "description", "factory")
#: How the VOT runner turns a ground-truth polygon into the box a tracker starts from:
#: ``bounds`` (vot-toolkit's axis-aligned bounds, the default) or ``pysot`` (pysot's test
#: scripts' area-preserving box, which trackers tuned in pysot were run with).
INIT_BOXES = ("bounds", "pysot")


@dataclass(frozen=True)
class _SpecFile:
    """What one spec file may say; ``extends`` supplies what it leaves out."""

    name: str = bounded("", nonempty=True, filename=True)
    description: str = bounded("", nonempty=True)
    factory: str = bounded("", nonempty=True)
    args: dict[str, yaml.Node] = field(default_factory=dict)  # checked against the factory
    checkpoint: str | None = None
    train: str | None = None
    deterministic: bool | None = None
    tags: list[str] = field(default_factory=list)
    extends: str | None = None
    matrix: dict[str, list[Any]] = bounded(default_factory=dict, nonempty=True)
    init_box: str = bounded(INIT_BOXES[0], choices=INIT_BOXES)
    licence: str | None = None
    origin: str | None = None


@dataclass
class TrackerSpec:
    """How to build one named tracker.

    ``checkpoint`` (optional) is passed to the factory as ``checkpoint=``; relative paths are
    resolved against the spec file's folder. ``train`` is the command that produces a missing
    checkpoint, shown to the user. ``init_box`` is one of :data:`INIT_BOXES`; ``licence`` and
    ``origin`` say where a pretrained model comes from and under which terms (listed by
    ``pulbench trackers``).
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
    init_box: str = INIT_BOXES[0]
    licence: str | None = None
    origin: str | None = None
    #: a matrix spec file's unfilled name (``alexpul-s{seed}``): the family it belongs to, which
    #: ``pulbench trackers`` lists as one line
    family: str | None = None
    #: the YAML node each argument was written as, so argument errors name its file and line
    nodes: dict[str, yaml.Node] = field(default_factory=dict, repr=False, compare=False)
    #: why the spec file cannot be used; ``ready`` reports it and ``create`` raises it
    error: PulBenchError | None = field(default=None, repr=False, compare=False)

    def ready(self) -> tuple[bool, str]:
        """Whether :meth:`create` can work now, and if not, why (imports the factory)."""
        if self.error is not None:
            return False, str(self.error)
        if isinstance(self.factory, str):
            module = self.factory.split(":", 1)[0]
            try:
                found = importlib.util.find_spec(module) is not None
            except ModuleNotFoundError:
                found = False
            if not found:
                return False, f"module {module!r} is not installed"
        try:
            self.check(checkpoint=self.checkpoint is not None)
        except PulBenchError as e:
            return False, str(e)
        except (ImportError, AttributeError) as e:
            return False, f"cannot load {self.factory}: {type(e).__name__}: {e}"
        try:
            self.model_files()
        except PulBenchError as e:
            return False, str(e)
        if self.checkpoint is not None and not self.checkpoint_ok(self.checkpoint):
            hint = f"; train it with: {self.train}" if self.train else ""
            return False, f"checkpoint missing: {self.checkpoint}{hint}"
        return True, "ready"

    def model_files(self, checkpoint: str | Path | None = None) -> dict[str, Path] | None:
        """The files a pretrained model is read from, by role, where the factory has a
        ``model_files(**args, checkpoint=...)`` hook (NanoTrack's ONNX pair; ``checkpoint``
        is then a folder); None for a single-file checkpoint. A missing file raises."""
        ckpt = Path(checkpoint) if checkpoint is not None else self.checkpoint
        hook = getattr(self.check(checkpoint=ckpt is not None), "model_files", None)
        return None if hook is None else hook(**self.args, checkpoint=ckpt)

    def checkpoint_ok(self, ckpt: Path) -> bool:
        """A checkpoint is a file, or a model folder for a factory with ``model_files``."""
        folder = hasattr(self.check(checkpoint=True), "model_files")
        return ckpt.is_dir() if folder else ckpt.is_file()

    def checkpoint_error(self, ckpt: Path) -> PulBenchError:
        """Why ``ckpt`` cannot be this tracker's checkpoint (absent, or a folder where one file
        is read), with the command that trains it."""
        hint = f"\n  train it with: {self.train}" if self.train and not ckpt.exists() else ""
        what = "is a folder; this tracker reads one checkpoint file" if ckpt.is_dir() else \
            "is a file; this tracker reads a folder of model files" if ckpt.exists() else \
            "not found"
        return PulBenchError(f"tracker {self.name!r}: checkpoint {what}: {ckpt}{hint}")

    def create(self, checkpoint: str | Path | None = None, benchmark: str | None = None,
               **overrides: Any) -> Tracker:
        """Build the tracker; ``checkpoint`` overrides the spec's, by path.

        ``benchmark`` lets a tracker with per-benchmark hyper-parameters (SiamDW's tables) pick
        its values through an optional ``set_benchmark(name)`` method.
        """
        ckpt = Path(checkpoint) if checkpoint is not None else self.checkpoint
        factory = self.check(checkpoint=ckpt is not None, given=overrides)
        if ckpt is not None and not self.checkpoint_ok(ckpt):
            raise self.checkpoint_error(ckpt)
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

    def takes(self, name: str) -> bool:
        """Whether the factory takes an argument ``name`` (a network tracker's ``precision``,
        which a correlation filter has not)."""
        params = _parameters(self.check())
        return params is None or name in params

    def check(self, checkpoint: bool = False, given: Iterable[str] = ()) -> Callable[..., Tracker]:
        """The factory, once its signature is known to take this spec's arguments (and a
        checkpoint, if one is given; ``given``: names passed to :meth:`create` in code):
        a bad spec fails here, naming its file and line."""
        if self.error is not None:
            raise self.error
        factory = _load_factory(self.factory) if isinstance(self.factory, str) else self.factory
        _refuse_non_factory(factory, self.factory, self.name)
        params = _parameters(factory)
        if params is None:
            return factory
        named = [n for n, p in params.items() if p.kind is not p.VAR_POSITIONAL]
        hints = _hints(factory)
        for key in self.args:
            node = self.nodes.get(key)
            if key not in params:
                msg = f"args.{key}: {self.factory} takes no argument {key!r}; it takes {named}"
                raise schema.fail(node, msg) if node is not None else \
                    PulBenchError(f"tracker {self.name!r}: {msg}")
            if node is not None and key in hints:
                schema.read(node, hints[key], f"args.{key}")
        if checkpoint and "checkpoint" not in params:
            raise PulBenchError(f"tracker {self.name!r} takes no checkpoint ({self.factory})")
        missing = [n for n, p in params.items() if p.default is p.empty
                   and n not in {*self.args, *given}
                   and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
                   and not (checkpoint and n == "checkpoint")]
        if missing:
            raise PulBenchError(f"tracker {self.name!r} ({self.source}): args lack {missing}, "
                                f"which {self.factory} requires")
        check_args = getattr(factory, "check_args", None)
        if callable(check_args):  # what the signature cannot say, e.g. OpenCV parameter types
            check_args(self.args, self.nodes)
        return factory


def _refuse_non_factory(factory: Any, ref: Any, name: str) -> None:
    """A factory is a tracker class (with ``init`` and ``update``) or a function defined in
    Python; anything else (``os:system``, a builtin or C function) is refused before it could
    be called. Checking never calls it: listing trackers runs no factory."""
    if inspect.isclass(factory):
        if all(callable(getattr(factory, m, None)) for m in ("init", "update")):
            return
        why = "a class without init() and update(), so not a tracker"
    else:
        function = inspect.unwrap(getattr(factory, "__func__", factory))
        if inspect.isfunction(function):
            return
        why = f"a {type(factory).__name__}, not a tracker class or a function defined in Python"
    shown = ref if isinstance(ref, str) else repr(factory)
    raise PulBenchError(f"tracker {name!r}: factory {shown} is {why}")


def _parameters(factory: Callable[..., Any]) -> Mapping[str, inspect.Parameter] | None:
    """The factory's named parameters, or None where any name goes (no introspectable
    signature, or ``**kwargs``)."""
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return None
    return None if any(p.kind is p.VAR_KEYWORD for p in params.values()) else params


def _hints(factory: Callable[..., Any]) -> dict[str, Any]:
    """The factory's parameter annotations, or none if they cannot be resolved."""
    try:
        return typing.get_type_hints(factory.__init__ if isinstance(factory, type) else factory)
    except (NameError, TypeError, AttributeError):  # unresolvable annotations: names only
        return {}


def _load_factory(ref: str) -> Callable[..., Tracker]:
    module, _, attr = ref.partition(":")
    if not attr:
        raise PulBenchError(f"factory {ref!r} must look like 'package.module:callable'")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def _read_spec(path: Path, chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    """One spec file's keys, with ``extends: <name>`` resolved against ``<name>.yaml`` beside
    it: the child's keys replace the parent's, except ``args``, which are merged key by key.
    Variants (ablations, checkpoints) then state only what differs from their base."""
    node = schema.load(path)
    data = schema.read_fields(node, _SpecFile, "spec")
    parent = data.pop("extends", None)
    if parent is not None:
        where = schema.keys(node, "spec")["extends"]
        base_path = path.parent / f"{parent}.yaml"
        if not base_path.is_file():
            raise schema.fail(where, f"extends {parent!r}, but {base_path} does not exist")
        if base_path in chain or base_path == path:
            raise schema.fail(where, f"extends {parent!r} in a cycle")
        base = _read_spec(base_path, (*chain, path))
        data = {**base, **data, "args": {**base.get("args", {}), **data.get("args", {})}}
    missing = [key for key in _REQUIRED if key not in data]
    if missing and not chain:
        raise schema.fail(node, f"spec lacks required key(s) {missing}")
    return data


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
    matrix = data.pop("matrix", {})
    combos = [dict(zip(matrix, values, strict=True))
              for values in itertools.product(*matrix.values())]
    family = data["name"] if matrix else None
    return [replace(_build_spec(path, _fill(path, data, combo)), family=family)
            for combo in combos]


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
    why = name_problem(data["name"])  # read as a plain name, but a matrix fills it in
    if why is not None:
        raise InputError(path, f"name {data['name']!r} {why}: it names the tracker's results "
                         "folder, so it must be a plain name")
    ckpt = data.get("checkpoint")
    ckpt_path = None
    if ckpt is not None:
        ckpt_path = Path(ckpt)
        if not ckpt_path.is_absolute():
            ckpt_path = (path.parent / ckpt_path).resolve()
    nodes = data.get("args", {})
    return TrackerSpec(
        name=data["name"],
        description=data["description"],
        factory=data["factory"],
        args={key: schema.plain(v) for key, v in nodes.items()},
        checkpoint=ckpt_path,
        train=data.get("train"),
        deterministic=data.get("deterministic"),
        tags=data.get("tags", []),
        source=_source(path),
        init_box=data.get("init_box", INIT_BOXES[0]),
        licence=data.get("licence"),
        origin=data.get("origin"),
        nodes=nodes,
    )


def _source(path: Path) -> str:
    return str(path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path)


def spec_file(spec: TrackerSpec) -> Path | None:
    """The YAML file ``spec`` was read from (None for one registered in code): ``source`` is
    shown relative to the checkout, so it is resolved against it here, whatever the cwd."""
    if spec.source == "built-in":
        return None
    path = Path(spec.source)
    return path if path.is_absolute() else REPO_ROOT / path


_registered: dict[str, TrackerSpec] = {}


def register(
    name: str,
    factory: Callable[..., Tracker],
    description: str = "",
    **fields: Any,
) -> TrackerSpec:
    """Register a tracker from Python (e.g. a wrapped got10k tracker) for this process."""
    spec = TrackerSpec(name=safe_name(name, "tracker"),
                       description=description or _doc_line(factory), factory=factory,
                       source="register()", **fields)
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
        why = name_problem(obj.name if isinstance(obj, TrackerSpec) else ep.name)
        if why is not None:  # listed as broken: the name would write outside --out
            specs[ep.name] = TrackerSpec(ep.name, "(unusable name)", factory=ep.value,
                                         source=f"entry point {ep.value}",
                                         error=PulBenchError(f"tracker name {why}"))
        elif isinstance(obj, TrackerSpec):
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
            try:
                loaded = load_specs(f)
            except PulBenchError as e:  # listed as broken; the other specs stay usable
                loaded = [TrackerSpec(f.stem, "(invalid spec file)", factory=str(f),
                                      source=_source(f), error=e)]
            specs.update((spec.name, spec) for spec in loaded)
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
    # the spec meant may be one that failed to load: say why
    broken = "".join(f" Not loaded: {s.error}." for s in specs.values() if s.error is not None)
    raise PulBenchError(f"unknown tracker {name!r}.{hint}{broken} Run 'pulbench trackers' to "
                        "list them.")


def create(name: str, checkpoint: str | Path | None = None, **overrides: Any) -> Tracker:
    """Build the tracker registered as ``name``."""
    return get_spec(name).create(checkpoint=checkpoint, **overrides)
