"""A report data source's ``precision``: tracked in that precision, kept apart from the default
precision's results, in the folder ``pulbench eval --precision`` would fill, and captioned."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from pul_bench.benchmarks import get_benchmark
from pul_bench.cli import cli
from pul_bench.errors import InputError
from pul_bench.reports.build import run_report
from pul_bench.reports.recipe import load_recipe

RECIPE = """
title: precision report
scale: "test scale, committed SiamFC checkpoint"
data:
  otb: {benchmark: otb, root: sequences/otb, sequences: [Football1]}
  otb_bf16: {benchmark: otb, root: sequences/otb, sequences: [Football1], precision: bf16}
sections:
  - kind: table
    id: tab
    title: fp32 beside bf16
    metrics:
      - {data: otb, metric: auc}
      - {data: otb_bf16, metric: auc}
    groups: [A]
    rows:
      - {label: siamfc, cells: [siamfc]}
"""


def _eval(*args: str) -> tuple[int, str]:
    """``pulbench eval otb siamfc`` on Football1: exit code, and stdout or the error."""
    out = CliRunner().invoke(cli, ["eval", "otb", "siamfc", "--sequences", "Football1",
                                   "--json", *args])
    return out.exit_code, out.stdout if out.exit_code == 0 else f"{out.exception}"


@pytest.mark.slow
def test_precision_runs_apart_and_equals_the_cli(data_root: Path, tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(RECIPE)
    runs = tmp_path / "runs"
    run_report(load_recipe(tmp_path / "p.yaml"), data_root, tmp_path / "out", runs)
    sec = json.loads((tmp_path / "out" / "report.json").read_text())["sections"][0]
    ours = sec["rows"][0]["cells"][0]["ours"]
    bench = get_benchmark("otb").name
    default_dir = runs / "results" / bench / "siamfc"
    bf16_dir = runs / "precision-bf16" / "results" / bench / "siamfc"
    assert (default_dir / "Football1.txt").is_file() and (bf16_dir / "Football1.txt").is_file()
    assert json.loads((bf16_dir / "run.json").read_text())["args"]["precision"] == "bf16"
    assert json.loads((default_dir / "run.json").read_text())["args"]["precision"] != "bf16"
    assert (default_dir / "Football1.txt").read_text() != (bf16_dir / "Football1.txt").read_text()

    # the CLI, tracking afresh in bf16, scores what the report did
    root = str(data_root / "sequences" / "otb")
    code, text = _eval("--root", root, "--precision", "bf16", "--out", str(tmp_path / "cli"))
    assert code == 0, text
    assert ours["OTB_BF16 AUC"] == pytest.approx(json.loads(text)["siamfc"]["auc"], abs=1e-12)
    # why the report uses its own folder: the default one refuses bf16 ...
    code, text = _eval("--root", root, "--precision", "bf16", "--out", str(runs))
    assert code != 0 and "holds results of a different set-up" in text, text
    # ... and the report's folder is the one a user pre-computes into with the CLI
    stamp = (bf16_dir / "Football1.txt").stat().st_mtime_ns
    code, text = _eval("--root", root, "--precision", "bf16", "--out",
                       str(runs / "precision-bf16"))
    assert code == 0, text
    assert (bf16_dir / "Football1.txt").stat().st_mtime_ns == stamp  # reused, not re-tracked
    assert json.loads(text)["siamfc"]["auc"] == pytest.approx(ours["OTB_BF16 AUC"], abs=1e-12)

    md = (tmp_path / "out" / "report.md").read_text()
    assert "<data>/sequences/otb), networks run in bf16" in md
    assert md.count("networks run in") == md.count("networks run in bf16") >= 2


def test_bad_precision_names_file_and_line(tmp_path: Path) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text(RECIPE.replace("precision: bf16", "precision: fp8"))
    with pytest.raises(InputError, match=r"bad\.yaml:6: .*precision must be one of "
                                         r"\['auto', 'fp32', 'bf16', 'fp16'\], got 'fp8'"):
        load_recipe(f)


@pytest.mark.slow
def test_precision_leaves_a_correlation_filter_as_it_is(data_root: Path, tmp_path: Path) -> None:
    """A bf16 data source runs kcf (no network, no precision argument) as it is, apart from the
    default-precision results; it used to stop the report with '--precision bf16 is for
    network trackers'."""
    recipe = RECIPE.replace("      - {label: siamfc, cells: [siamfc]}\n",
                            "      - {label: kcf, cells: [kcf]}\n")
    (tmp_path / "p.yaml").write_text(recipe)
    run_report(load_recipe(tmp_path / "p.yaml"), data_root, tmp_path / "out", tmp_path / "runs")
    ours = json.loads((tmp_path / "out" / "report.json").read_text()
                      )["sections"][0]["rows"][0]["cells"][0]["ours"]
    bench = get_benchmark("otb").name
    bf16_dir = tmp_path / "runs" / "precision-bf16" / "results" / bench / "kcf"
    assert "precision" not in json.loads((bf16_dir / "run.json").read_text())["args"]
    values = list(ours.values())
    assert len(values) == 2 and values[0] == values[1] and 0 < values[0] <= 1
