"""Training recipes: strict YAML schemas as frozen dataclasses.

A recipe has common sections (data, proposals, optimizer, runtime) and one section named after
its ``task`` (``bd: ...`` for background discrimination). Unknown keys, wrong types and values
out of bounds are an :class:`InputError` naming the file and line. Bounds and choices live in
each field's metadata, so the schema is read in one place.
"""

from __future__ import annotations

import dataclasses
import importlib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pul_bench.errors import InputError, PulBenchError
from pul_train.proposals import ProposalSettings

#: task name -> "module:class"; the class has a ``Config`` dataclass for its recipe section
TASKS: dict[str, str] = {
    "bd": "pul_train.bd:BDTask",
    "tc": "pul_train.tc:TCTask",
    "supervised": "pul_train.supervised:SupervisedTask",
}
RECIPE_DIR = Path(__file__).resolve().parent / "recipes"


def bounded(default: Any, lo: float | None = None, hi: float | None = None,
             choices: tuple[Any, ...] | None = None) -> Any:
    return field(default=default, metadata={"min": lo, "max": hi, "choices": choices})


@dataclass(frozen=True)
class DataConfig:
    """Where the unlabeled video is; a relative ``root`` is under the shared data folder."""

    root: str = "unlabeled"
    kind: str = bounded("auto", choices=("auto", "vid", "got10k", "lasot", "folders", "files"))
    stride: int = bounded(10, lo=1)  # one training frame every ``stride`` frames


@dataclass(frozen=True)
class OptimizerConfig:
    """Adam; the paper uses lr 1e-4 (AlexNet) or 1e-5 (ResNet) and weight decay 5e-4."""

    lr: float = bounded(1e-4, lo=0.0, hi=1.0)
    weight_decay: float = bounded(5e-4, lo=0.0, hi=1.0)


@dataclass(frozen=True)
class RuntimeConfig:
    """How to run, not what to learn: results do not depend on these (except ``amp``)."""

    device: str = bounded("auto", choices=("auto", "cpu", "cuda"))
    amp: bool = True  # mixed precision on CUDA
    workers: int = bounded(2, lo=1)  # processes for proposals, threads for patch crops
    threads: int = bounded(0, lo=0)  # torch CPU threads; 0 keeps torch's default


@dataclass(frozen=True)
class Recipe:
    """One training run. ``backbone`` is a name for ``build_backbone`` or ``module:callable``."""

    task: str
    backbone: str
    epochs: int = bounded(1, lo=1)
    seed: int = bounded(0, lo=0)
    data: DataConfig = field(default_factory=DataConfig)
    proposals: ProposalSettings = field(default_factory=ProposalSettings)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)
    options: Any = None  # the task's own section, an instance of its ``Config``
    source: str = ""  # the file it came from

    def to_dict(self) -> dict[str, Any]:
        """Plain data (the task section under its task name) for logs and checkpoints."""
        out = {f.name: dataclasses.asdict(v) if dataclasses.is_dataclass(v) else v
               for f in dataclasses.fields(self) if f.name not in ("options", "source")
               for v in [getattr(self, f.name)]}
        out[self.task] = dataclasses.asdict(self.options) if self.options is not None else None
        return out


def task_class(name: str) -> type:
    """The task class registered as ``name``."""
    ref = TASKS.get(name)
    if ref is None:
        raise PulBenchError(f"unknown task {name!r}; known: {', '.join(TASKS)}")
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)


class _Reader:
    """Turns YAML nodes into typed values, remembering lines for error messages."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.loader = yaml.SafeLoader(text)

    def fail(self, node: yaml.Node, message: str) -> InputError:
        name = node.start_mark.name
        if name.startswith("--set "):  # a value given on the command line
            return InputError(name, message)
        return InputError(self.path, message, node.start_mark.line + 1)

    def override(self, root: yaml.Node, item: str) -> None:
        """Apply one ``section.key=value`` to the recipe's node tree before it is read, so a
        command-line value is checked exactly like one in the file."""
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise PulBenchError(f"--set {item!r}: expected KEY=VALUE, e.g. supervised.noise_px=20")
        loader = yaml.SafeLoader(value)
        loader.name = f"--set {item}"
        try:
            leaf = loader.get_single_node()
        except yaml.YAMLError as e:
            raise PulBenchError(f"--set {item!r}: invalid YAML value ({e})") from None
        node, parts = root, key.strip().split(".")
        for i, part in enumerate(parts):
            if not isinstance(node, yaml.MappingNode):
                raise PulBenchError(f"--set {item!r}: {'.'.join(parts[:i])} is not a section")
            last = i == len(parts) - 1
            new = (leaf or yaml.ScalarNode("tag:yaml.org,2002:null", "", loader.get_mark()))\
                if last else yaml.MappingNode("tag:yaml.org,2002:map", [], loader.get_mark())
            index = next((j for j, (k, _) in enumerate(node.value) if k.value == part), None)
            if index is None:
                node.value.append((yaml.ScalarNode("tag:yaml.org,2002:str", part,
                                                   new.start_mark), new))
            elif last:
                node.value[index] = (node.value[index][0], new)
            else:
                new = node.value[index][1]
            node = new

    def mapping(self, node: yaml.Node, what: str) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"{what} must be a mapping")
        out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for k, v in node.value:
            key = self.loader.construct_object(k)
            if key in out:
                raise self.fail(k, f"duplicate key {key!r} in {what}")
            out[str(key)] = (k, v)
        return out

    def value(self, node: yaml.Node, hint: Any, f: dataclasses.Field, what: str) -> Any:
        args = typing.get_args(hint)
        if typing.get_origin(hint) in (typing.Union, types.UnionType):
            if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null"):
                if type(None) in args:
                    return None
            hint = next(a for a in args if a is not type(None))
        if dataclasses.is_dataclass(hint):
            return self.dataclass(node, hint, what)
        raw = self.loader.construct_object(node, deep=True)
        ok = {bool: isinstance(raw, bool), str: isinstance(raw, str),
              int: isinstance(raw, int) and not isinstance(raw, bool),
              float: isinstance(raw, int | float) and not isinstance(raw, bool)}.get(hint, True)
        if not ok:
            raise self.fail(node, f"{what} must be {hint.__name__}, got {raw!r}")
        if hint is float:
            raw = float(raw)
        meta = f.metadata
        if meta.get("choices") and raw not in meta["choices"]:
            raise self.fail(node, f"{what} must be one of {list(meta['choices'])}, got {raw!r}")
        if meta.get("min") is not None and raw < meta["min"]:
            raise self.fail(node, f"{what} must be >= {meta['min']}, got {raw!r}")
        if meta.get("max") is not None and raw > meta["max"]:
            raise self.fail(node, f"{what} must be <= {meta['max']}, got {raw!r}")
        return raw

    def dataclass(self, node: yaml.Node, cls: type, what: str,
                  extra: tuple[str, ...] = ()) -> Any:
        items = self.mapping(node, what)
        hints = typing.get_type_hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls) if f.name not in ("options",
                                                                               "source")}
        kwargs: dict[str, Any] = {}
        for key, (knode, vnode) in items.items():
            if key in extra:
                continue
            if key not in fields:
                allowed = sorted([*fields, *extra])
                raise self.fail(knode, f"unknown key {key!r} in {what}; allowed: {allowed}")
            kwargs[key] = self.value(vnode, hints[key], fields[key], f"{what}.{key}")
        missing = [n for n, f in fields.items() if n not in kwargs
                   and f.default is dataclasses.MISSING
                   and f.default_factory is dataclasses.MISSING]
        if missing:
            raise self.fail(node, f"{what} lacks required key(s) {missing}")
        return cls(**kwargs)


def load_recipe(path: str | Path, overrides: typing.Sequence[str] = ()) -> Recipe:
    """Read a recipe file, or a shipped recipe by name (``alexpul-bd``), strictly;
    ``overrides`` are ``section.key=value`` strings applied on top (``--set``)."""
    path = Path(path)
    if not path.exists() and (RECIPE_DIR / f"{path.name}.yaml").is_file():
        path = RECIPE_DIR / f"{path.name}.yaml"
    try:
        text = path.read_text()
    except OSError as e:
        shipped = ", ".join(sorted(p.stem for p in RECIPE_DIR.glob("*.yaml")))
        raise InputError(path, f"cannot read recipe ({e.strerror}); shipped: {shipped}") from None
    reader = _Reader(path, text)
    try:
        node = reader.loader.get_single_node()
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise InputError(path, f"invalid YAML: {getattr(e, 'problem', e)}",
                         None if mark is None else mark.line + 1) from None
    if node is None:
        raise InputError(path, "empty recipe")
    for item in overrides:
        reader.override(node, item)
    items = reader.mapping(node, "recipe")
    if "task" not in items:
        raise reader.fail(node, "recipe lacks 'task'")
    tnode = items["task"][1]
    task = reader.loader.construct_object(tnode)
    if task not in TASKS:
        raise reader.fail(tnode, f"unknown task {task!r}; known: {', '.join(TASKS)}")
    recipe = reader.dataclass(node, Recipe, "recipe", extra=(task,))
    config_cls = task_class(task).Config
    section = items.get(task)
    options = (reader.dataclass(section[1], config_cls, task) if section is not None
               else config_cls())
    return dataclasses.replace(recipe, options=options, source=str(path))
