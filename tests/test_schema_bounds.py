"""Every number a config file or ``--set`` can give is bounded (or says why not), and an
out-of-range value is refused with the file or option and the field named."""

from __future__ import annotations

import dataclasses
import importlib
import typing
from pathlib import Path

import pytest

from pul_bench.errors import InputError, PulBenchError
from pul_bench.paths import REPO_ROOT
from pul_bench.schema import out_of_bounds
from pul_train.cli import main as train_main
from pul_train.losses import NRConfig
from pul_train.mining import MiningConfig
from pul_train.recipe import TASKS, Recipe, load_recipe, task_class


def _schema_modules() -> list[str]:
    """The modules declaring schema fields (their source calls ``bounded(``)."""
    out = []
    for pkg in ("pul_bench", "pul_train"):
        for path in sorted((REPO_ROOT / pkg).rglob("*.py")):
            if "bounded(" in path.read_text() and path.name != "schema.py":
                out.append(".".join(path.relative_to(REPO_ROOT).with_suffix("").parts))
    return out


def config_classes() -> list[type]:
    """Every dataclass with a schema field, plus the dataclasses nested in training recipes."""
    found: dict[str, type] = {}
    todo: list[type] = [Recipe, *(task_class(t).Config for t in TASKS)]
    for name in _schema_modules():
        module = importlib.import_module(name)
        todo += [c for c in vars(module).values()
                 if dataclasses.is_dataclass(c) and isinstance(c, type)
                 and c.__module__ == name
                 and any("unbounded" in f.metadata for f in dataclasses.fields(c))]
    while todo:
        cls = todo.pop()
        key = f"{cls.__module__}.{cls.__qualname__}"
        if key in found:
            continue
        found[key] = cls
        if cls.__module__.startswith("pul_train"):  # recipe sections nest their sub-sections
            todo += [h for h in typing.get_type_hints(cls).values()
                     if dataclasses.is_dataclass(h) and isinstance(h, type)]
    return [found[k] for k in sorted(found)]


def _numeric(hint: typing.Any) -> bool:
    """Whether a value of this type hint holds an int or float (a bool is not a number here)."""
    if hint in (int, float):
        return True
    return any(_numeric(a) for a in typing.get_args(hint) if a is not Ellipsis)


def test_the_enumeration_sees_the_configs() -> None:
    names = {c.__name__ for c in config_classes()}
    assert {"Recipe", "DataConfig", "OptimizerConfig", "RuntimeConfig", "ProposalSettings",
            "BDConfig", "TCConfig", "SupervisedConfig", "NRConfig", "MiningConfig",
            "Benchmark", "CompareSection", "ClipLengthSection"} <= names


@pytest.mark.parametrize("cls", config_classes(), ids=lambda c: c.__name__)
def test_every_numeric_config_field_has_bounds_or_a_reason(cls: type) -> None:
    hints = typing.get_type_hints(cls)
    loose = [f.name for f in dataclasses.fields(cls)
             if _numeric(hints[f.name]) and not dataclasses.is_dataclass(hints[f.name])
             and f.metadata.get("lo") is None and f.metadata.get("hi") is None
             and not f.metadata.get("choices") and not f.metadata.get("unbounded")]
    assert not loose, f"{cls.__name__}: numeric fields without bounds or a reason: {loose}"


@pytest.mark.parametrize(("item", "message"), [
    ("bd.batch_size=0", r"bd\.batch_size must be >= 2, got 0"),
    ("bd.temperature=-1", r"bd\.temperature must be >= 0\.001, got -1"),
    ("bd.patches_per_video=0", r"bd\.patches_per_video must be >= 1, got 0"),
    ("proposals.nms_iou=1.5", r"recipe\.proposals\.nms_iou must be <= 1\.0, got 1\.5"),
    ("bd.ahm_start_epoch=-1", r"bd\.ahm_start_epoch must be >= 0, got -1"),
])
def test_out_of_range_set_values_are_refused_naming_option_and_field(item: str,
                                                                     message: str) -> None:
    with pytest.raises(InputError, match=rf"^--set {item}: {message}$"):
        load_recipe("alexpul-bd", [item])


def test_out_of_range_values_in_a_file_name_its_line(tmp_path: Path) -> None:
    text = (REPO_ROOT / "pul_train" / "recipes" / "alexpul-bd.yaml").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("temperature: 0.5", "temperature: -1"))
    line = text.splitlines().index("  temperature: 0.5") + 1
    with pytest.raises(InputError, match=rf"bad\.yaml:{line}: bd\.temperature must be >= "):
        load_recipe(bad)
    assert load_recipe("alexpul-bd", ["bd.ahm_start_epoch=null"]).options.ahm_start_epoch is None


def test_the_cli_refuses_a_zero_batch_in_one_line(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        train_main(["bd", "--config", "alexpul-bd", "--out", str(tmp_path / "run"),
                    "--set", "bd.batch_size=0"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert err.strip() == "error: --set bd.batch_size=0: bd.batch_size must be >= 2, got 0"
    assert not (tmp_path / "run").exists()


def test_configs_built_in_code_are_checked_against_the_same_bounds() -> None:
    with pytest.raises(ValueError, match=r"NR guard must be > -1\.0, got -1\.0"):
        NRConfig(guard=-1.0)
    with pytest.raises(ValueError, match=r"NR radius_cells must be > 0\.0"):
        NRConfig(radius_cells=0.0)
    with pytest.raises(PulBenchError, match=r"mining settings: seed must be >= 0, got -1"):
        MiningConfig(seed=-1)
    assert out_of_bounds(NRConfig()) is None and out_of_bounds(MiningConfig()) is None
