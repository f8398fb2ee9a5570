"""One strict YAML reader for specs, manifests and recipes: each bad file fails the same way,
naming its file and line, and one bad tracker spec never breaks the others."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from pul_bench import registry
from pul_bench.benchmarks import load_manifest
from pul_bench.cli import cli
from pul_bench.errors import InputError, PulBenchError
from pul_bench.paths import REPO_ROOT
from pul_bench.reports.build import run_report
from pul_bench.reports.recipe import load_recipe as load_report
from pul_train.losses import NRConfig
from pul_train.recipe import load_recipe

SHIPPED_TRACKERS = REPO_ROOT / "trackers"


@pytest.fixture()
def spec_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ``$PULBENCH_TRACKERS`` folder beside the shipped specs, holding the shipped SiamFC
    base so that test specs can extend it."""
    (tmp_path / "siamfc.yaml").write_text((SHIPPED_TRACKERS / "siamfc.yaml").read_text())
    monkeypatch.setenv("PULBENCH_TRACKERS", str(tmp_path))
    return tmp_path


def test_a_broken_spec_is_listed_as_broken_and_the_others_still_work(spec_dir: Path) -> None:
    (spec_dir / "badtags.yaml").write_text(
        "name: badtags\ndescription: d\nfactory: pul_bench.tracker:IdentityTracker\ntags: 5\n")
    (spec_dir / "badckpt.yaml").write_text("name: badckpt\ndescription: d\nextends: siamfc\n"
                                           "checkpoint: 7\n")
    specs = registry.all_specs()
    assert specs["identity"].ready() == (True, "ready")
    ok, why = specs["badtags"].ready()
    assert not ok and why.endswith("badtags.yaml:4: spec.tags must be a list of str, got 5")
    ok, why = specs["badckpt"].ready()
    assert not ok and why.endswith("badckpt.yaml:4: spec.checkpoint must be str, got 7")
    with pytest.raises(InputError, match=r"badtags\.yaml:4"):
        registry.create("badtags")
    listing = CliRunner().invoke(cli, ["trackers"])
    assert listing.exit_code == 0
    assert "badtags.yaml:4: spec.tags" in listing.output and "kcf " in listing.output


def test_spec_arguments_are_checked_against_the_factory_signature(spec_dir: Path) -> None:
    spec_file = spec_dir / "typo.yaml"
    spec_file.write_text("name: typo\ndescription: d\nextends: siamfc\ncheckpoint: null\n"
                         "args:\n  scale_nm: 5\n")
    ok, why = registry.get_spec("typo").ready()
    assert not ok and "typo.yaml:6: args.scale_nm:" in why and "'scale_num'" in why
    with pytest.raises(InputError, match=r"typo\.yaml:6: args\.scale_nm: .* takes no argument"):
        registry.create("typo")
    spec_file.write_text("name: typo\ndescription: d\nextends: siamfc\ncheckpoint: null\n"
                         "args:\n  context: wide\n")
    with pytest.raises(InputError, match=r"typo\.yaml:6: args\.context must be float, got 'wide'"):
        registry.create("typo")
    # an argument the base file gets wrong is reported at the base file's line
    (spec_dir / "siamfc.yaml").write_text((SHIPPED_TRACKERS / "siamfc.yaml").read_text()
                                          .replace("scale_num: 3", "scale_num: three"))
    spec_file.write_text("name: typo\ndescription: d\nextends: siamfc\ncheckpoint: null\n")
    ok, why = registry.get_spec("typo").ready()
    assert not ok and "siamfc.yaml:10: args.scale_num must be int, got 'three'" in why


def test_booleans_must_be_true_or_false(spec_dir: Path) -> None:
    (spec_dir / "det.yaml").write_text("name: det\ndescription: d\n"
                                       "factory: pul_bench.tracker:IdentityTracker\n"
                                       "deterministic: \"no\"\n")
    with pytest.raises(InputError, match=r"det\.yaml:4: spec\.deterministic must be bool"):
        registry.load_spec(spec_dir / "det.yaml")


def test_checkpoint_for_a_tracker_that_takes_none_is_a_clear_error() -> None:
    weights = SHIPPED_TRACKERS / "weights" / "siamfc.pt"
    with pytest.raises(PulBenchError, match="'kcf' takes no checkpoint"):
        registry.create("kcf", checkpoint=weights)


def test_duplicate_keys_are_refused_anywhere(tmp_path: Path) -> None:
    spec = tmp_path / "dup.yaml"
    spec.write_text((SHIPPED_TRACKERS / "siamfc.yaml").read_text()
                    .replace("  context: 0.5\n", "  context: 0.5\n  context: 0.6\n"))
    with pytest.raises(InputError, match=r"dup\.yaml:8: duplicate key 'context'"):
        registry.load_spec(spec)
    recipe = tmp_path / "r.yaml"
    recipe.write_text((REPO_ROOT / "reports" / "compare.yaml").read_text() + "title: again\n")
    with pytest.raises(InputError, match=r"r\.yaml:\d+: duplicate key 'title'"):
        load_report(recipe)


TINY_COMPARE = """title: t
scale: s
data:
  otb: {benchmark: otb, root: sequences/otb, sequences: [Crossing]}
sections:
  - kind: compare
    id: cmp
    title: c
    data: otb
    published: reference/otb/no_such_folder
    trackers: [identity]
"""


@pytest.mark.slow
def test_report_recipe_errors_name_the_recipe_line(data_root: Path, tmp_path: Path) -> None:
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(TINY_COMPARE)
    with pytest.raises(InputError, match=r"tiny\.yaml:10: section cmp: published results "
                                         r"folder .*no_such_folder does not exist"):
        run_report(load_report(recipe), data_root, tmp_path / "out", tmp_path / "runs")
    assert not (tmp_path / "runs").exists()  # refused before anything ran
    recipe.write_text(TINY_COMPARE.replace("[identity]", "[identity, alexpul-tlc20]"))
    with pytest.raises(InputError, match=r"tiny\.yaml:11: unknown tracker 'alexpul-tlc20'; "
                                         r"did you mean alexpul-tcl20"):
        load_report(recipe)
    run = subprocess.run([sys.executable, "-m", "pul_bench.cli", "report", str(recipe),
                          "--out", str(tmp_path / "o")], capture_output=True, text=True)
    assert run.returncode == 2 and "unknown tracker 'alexpul-tlc20'" in run.stderr


def test_training_recipe_lists_are_real_lists(tmp_path: Path) -> None:
    text = (REPO_ROOT / "pul_train" / "recipes" / "alexpul-tcl20.yaml").read_text()
    recipe = load_recipe("alexpul-tcl20")
    assert recipe.options.lengths == (20,)
    assert recipe.options.extra_pairs == ("runs/mined/alexpul-bd-ahm-L10-s1",)
    old = tmp_path / "old.yaml"
    old.write_text(text.replace("lengths: [20]", 'lengths: "20"'))
    line = text.splitlines().index("  lengths: [20]") + 1
    with pytest.raises(InputError, match=rf"old\.yaml:{line}: tc\.lengths must be a list of "
                                         r"int, got '20'; write a YAML list"):
        load_recipe(old)
    assert load_recipe("alexpul-tcl20", ["tc.lengths=[10, 20]"]).options.lengths == (10, 20)


def test_nr_settings_are_one_nested_config(tmp_path: Path) -> None:
    tc, sup = load_recipe("alexpul-tcl10").options, load_recipe("siamfc").options
    assert tc.nr == sup.nr == NRConfig()
    assert load_recipe("siamfc", ["supervised.nr.alpha_cells2=2"]).options.nr.alpha_cells2 == 2.0
    bad = tmp_path / "bad.yaml"
    text = (REPO_ROOT / "pul_train" / "recipes" / "alexpul-tcl10.yaml").read_text()
    bad.write_text(text.replace("    guard: -0.9", "    guard: 0.5"))
    line = text.splitlines().index("    guard: -0.9") + 1  # the field's own line, not its section's
    with pytest.raises(InputError, match=rf"bad\.yaml:{line}: tc\.nr\.guard must be <= 0\.0, "
                                         r"got 0\.5"):
        load_recipe(bad)


def test_benchmark_manifest_errors_name_the_line(tmp_path: Path) -> None:
    text = (REPO_ROOT / "datasets" / "otb2015.yaml").read_text()
    assert load_manifest(REPO_ROOT / "datasets" / "otb2015.yaml").truncate == "groundtruth"
    bad = tmp_path / "m.yaml"
    bad.write_text(text + "kind: vot\n")
    with pytest.raises(InputError, match=r"m\.yaml:\d+: duplicate key 'kind'"):
        load_manifest(bad)
    bad.write_text(text.replace("truncate: groundtruth", "truncate: ground-truth"))
    with pytest.raises(InputError, match=r"m\.yaml:3: manifest\.truncate must be one of"):
        load_manifest(bad)
    bad.write_text("name: one\nkind: otb\nsequences: Basketball\n")
    with pytest.raises(InputError, match=r"m\.yaml:3: manifest\.sequences must be a list of str"):
        load_manifest(bad)
