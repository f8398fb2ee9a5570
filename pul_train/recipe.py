"""Training recipes: strict YAML schemas as frozen dataclasses.

A recipe has common sections (data, proposals, optimizer, runtime) and one section named after
its ``task`` (``bd: ...`` for background discrimination). Unknown keys, wrong types and values
out of bounds are an :class:`InputError` naming the file and line (:mod:`pul_bench.schema`).
Bounds and choices live in each field's metadata, so the schema is read in one place.
"""

from __future__ import annotations

import dataclasses
import importlib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pul_bench import schema
from pul_bench.errors import InputError, PulBenchError
from pul_bench.schema import bounded
from pul_train.proposals import ProposalSettings

#: task name -> "module:class"; the class has a ``Config`` dataclass for its recipe section
TASKS: dict[str, str] = {
    "bd": "pul_train.bd:BDTask",
    "tc": "pul_train.tc:TCTask",
    "supervised": "pul_train.supervised:SupervisedTask",
}
RECIPE_DIR = Path(__file__).resolve().parent / "recipes"


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
    """How to run, not what to learn: results do not depend on these (except ``precision``,
    within rounding)."""

    device: str = bounded("auto", choices=("auto", "cpu", "cuda"))
    precision: str = bounded("fp32", choices=("fp32", "bf16", "auto"))  # see trainer
    channels_last: bool = False  # channels-last images and weights
    workers: int = bounded(2, lo=1)  # processes for proposals, threads for patch crops
    threads: int = bounded(0, lo=0)  # torch CPU threads; 0 keeps torch's default
    snapshot_every: int = bounded(0, lo=0)  # also export snapshots/epoch-NNN.pt every N epochs


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
    #: exemplar crops (and half as many search crops) of the training video on which the batch
    #: norms' running statistics are re-estimated before each export (0: as training left them;
    #: see pul_train.bn)
    bn_recalibration: int = bounded(0, lo=0)
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
    node = schema.load(path, text)
    for item in overrides:
        schema.override(node, item)
    items = schema.keys(node, "recipe", required=("task",))
    task = schema.read(items["task"], str, "recipe.task", {"choices": TASKS})
    config_cls = task_class(task).Config
    options = (schema.read_dataclass(items[task], config_cls, task) if task in items
               else config_cls())
    return schema.read_dataclass(schema.without(node, task), Recipe, "recipe", options=options,
                                 source=str(path))
