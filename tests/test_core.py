"""The core pieces every command rests on: strict tables, atomic writes, specs, the CLI shell."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from pul_bench import registry
from pul_bench.cli import cli
from pul_bench.errors import InputError, PulBenchError
from pul_bench.io import read_table, write_text
from pul_bench.paths import REPO_ROOT
from pul_bench.tracker import IdentityTracker, read_image


def test_read_table_accepts_official_variants(tmp_path: Path) -> None:
    p = tmp_path / "gt.txt"
    p.write_bytes(b"1,2,3,4\r\n5\t6\t7\t8\r\n9 10 11 12")  # CRLF, mixed delimiters, no final EOL
    np.testing.assert_array_equal(read_table(p, 4), [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]])


@pytest.mark.parametrize(
    "content, line, words",
    [(b"1,2,3,4\n1,2,x,4\n", 2, "non-numeric"), (b"1,2,3,4\n\n1,2,3\n", 2, "expected 4")],
)
def test_read_table_names_file_and_line(tmp_path: Path, content: bytes, line: int,
                                        words: str) -> None:
    p = tmp_path / "bad.txt"
    p.write_bytes(content)
    with pytest.raises(InputError) as e:
        read_table(p, 4)
    assert e.value.line == line and words in str(e.value) and str(p) in str(e.value)


def test_atomic_write_keeps_old_file_when_interrupted(tmp_path: Path, monkeypatch) -> None:
    p = tmp_path / "r.txt"
    write_text(p, "old")

    def boom(self, text):  # the write dies half-way
        raise KeyboardInterrupt

    monkeypatch.setattr(Path, "write_text", boom)
    with pytest.raises(KeyboardInterrupt):
        write_text(p, "new")
    monkeypatch.undo()
    assert p.read_text() == "old"
    assert [f.name for f in tmp_path.iterdir()] == ["r.txt"]  # no temp file left behind


def test_spec_rejects_unknown_keys(tmp_path: Path) -> None:
    p = tmp_path / "t.yaml"
    p.write_text(yaml.safe_dump({"name": "t", "description": "d",
                                 "factory": "pul_bench.tracker:IdentityTracker", "windw": 1}))
    with pytest.raises(InputError, match=r"t.yaml:4: unknown key 'windw' in spec"):
        registry.load_spec(p)


def test_missing_checkpoint_is_not_ready_and_names_training_command(tmp_path: Path) -> None:
    (tmp_path / "siamfc.yaml").write_text((REPO_ROOT / "trackers" / "siamfc.yaml").read_text())
    p = tmp_path / "t.yaml"
    p.write_text(yaml.safe_dump({"name": "t", "description": "d", "extends": "siamfc",
                                 "checkpoint": "weights/t.pt", "train": "pul_train bd --config x"}))
    spec = registry.load_spec(p)
    ok, why = spec.ready()
    assert not ok and "pul_train bd --config x" in why
    with pytest.raises(PulBenchError, match="pul_train bd --config x"):
        spec.create()


def test_entry_point_plugins_are_listed(monkeypatch) -> None:
    class FakeEP:
        name = "thirdparty"
        value = "pkg:Factory"

        def load(self):
            return IdentityTracker

    monkeypatch.setattr(registry, "entry_points", lambda group: [FakeEP()])
    spec = registry.get_spec("thirdparty")
    assert spec.source == "entry point pkg:Factory"
    assert isinstance(spec.create(), IdentityTracker)


def test_unknown_tracker_suggests_close_names() -> None:
    registry.register("identity-test", IdentityTracker)
    with pytest.raises(PulBenchError, match="identity-test"):
        registry.get_spec("identity-tset")


def test_cli_errors_are_one_line_and_exit_2(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "pul_bench.cli", "eval", "nosuchbench", "kcf"],
                       capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.strip().startswith("error: unknown benchmark 'nosuchbench'")
    assert "Traceback" not in r.stderr


def test_help_lists_commands_without_importing_torch() -> None:
    code = ("import sys; from pul_bench.cli import main\n"
            "try: main(['--help'])\nexcept SystemExit: pass\n"
            "assert 'torch' not in sys.modules, 'help imported torch'")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    for verb in ("eval", "score", "trackers"):
        assert verb in r.stdout



def test_score_imports_no_scipy_cv2_torch_or_matplotlib(otb_reference: Path) -> None:
    """Start-up is most of a short ``pulbench score``: scipy.stats alone took about 2 s of a
    6 s score of the published OTB results on a loaded machine. Scoring needs none of them."""
    code = ("import sys; from pul_bench.cli import main\n"
            f"main(['score', 'otb2015', {str(otb_reference / 'results' / 'ATOM')!r}, '--json'])\n"
            "heavy = {'scipy', 'cv2', 'torch', 'matplotlib'} & {m.split('.')[0] for m in "
            "sys.modules}\n"
            "assert not heavy, f'score imported {sorted(heavy)}'")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["ATOM"]["auc_ci"]  # the intervals were computed

def test_trackers_command_lists_builtin_specs() -> None:
    out = CliRunner().invoke(cli, ["trackers", "--json"])
    assert out.exit_code == 0, out.output
    listed = json.loads(out.output)
    assert listed["identity"]["ready"] is True
    assert listed["identity"]["source"] == "trackers/identity.yaml"



def test_trackers_lists_a_family_in_one_line_and_each_member_with_all() -> None:
    """The 36 Fig. 6 seed variants and every seed family are one line each; --all and --json
    still name every tracker (a newcomer saw 30 'not ready' variants before the trackers)."""
    short = CliRunner().invoke(cli, ["trackers"]).output
    every = CliRunner().invoke(cli, ["trackers", "--all"]).output
    listed = json.loads(CliRunner().invoke(cli, ["trackers", "--json"]).output)
    assert listed["alexpul-s2"]["family"] == "alexpul-s{seed}"
    assert listed["alexpul"]["family"] is None
    family = [r for r in listed.values() if r["family"] == "siamfc-noise{noise}-{loss}-s{seed}"]
    assert len(family) == 24
    assert re.search(r"\nsiamfc-noise\{noise\}-\{loss\}-s\{seed\} .* 24 trackers", short)
    assert "\nsiamfc-noise10-bce-s2 " not in short and "\nsiamfc-noise10-bce-s2 " in every
    assert re.search(r"^alexpul +ready", short, re.M)
    names = [line.split()[0] for line in short.splitlines() if line and not line[0].isspace()]
    assert f"({len(listed)} trackers in {len(names) - 1} lines; --all lists each)" in short


def _commands(command: click.Command, path: str) -> Iterator[tuple[str, click.Command]]:
    if isinstance(command, click.Group):
        ctx = click.Context(command)
        for name in command.list_commands(ctx):
            yield from _commands(command.get_command(ctx, name), f"{path} {name}")
    else:
        yield path, command


def test_every_option_of_both_clis_has_help() -> None:
    """One CLI vocabulary: every option says what it does (pul_train mine had five that did
    not), and an option name keeps one meaning across pulbench and pul_train."""
    meanings: dict[str, set[str]] = {}
    for path, command in _commands(cli, "pulbench"):
        for p in command.params:
            if isinstance(p, click.Option) and not p.hidden:
                assert p.help, f"{path} {p.opts[0]} has no help"
                meanings.setdefault(p.opts[0], set()).add(f"{path}: {p.is_flag}")
    assert meanings["--seed-families"] and "--seeds" in meanings  # pul_train's list of seeds
    assert all("True" not in m for m in meanings["--seeds"])  # never a flag
    assert "--root" not in {o for _, c in _commands(cli, "pulbench") if c.name == "report"
                            for p in c.params for o in p.opts}

def test_corrupt_image_is_a_clear_error(tmp_path: Path) -> None:
    p = tmp_path / "0001.jpg"
    p.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    with pytest.raises(InputError, match="cannot decode"):
        read_image(p)


def test_cv2_has_ximgproc_and_opencv_trackers() -> None:
    import cv2

    assert hasattr(cv2, "ximgproc"), "cv2 is not a contrib build: run scripts/setup.sh"
    assert hasattr(cv2.ximgproc, "createEdgeBoxes")


def test_atomic_write_respects_umask(tmp_path: Path) -> None:
    import os

    p = tmp_path / "r.txt"
    write_text(p, "x")
    umask = os.umask(0)
    os.umask(umask)
    assert p.stat().st_mode & 0o777 == 0o666 & ~umask


def test_spec_extends_merges_args_and_overrides_the_rest(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text(
        "name: base\ndescription: b\nfactory: pul_bench.tracker:IdentityTracker\n"
        "args: {a: 1, b: 2}\ncheckpoint: w/base.pt\ntags: [x]\n")
    (tmp_path / "child.yaml").write_text(
        "name: child\ndescription: c\nextends: base\nargs: {b: 3}\ncheckpoint: null\n")
    child = registry.load_spec(tmp_path / "child.yaml")
    assert child.args == {"a": 1, "b": 3}
    assert child.checkpoint is None and child.tags == ["x"]
    assert child.factory == "pul_bench.tracker:IdentityTracker"
    (tmp_path / "base.yaml").write_text(
        "name: base\ndescription: b\nextends: child\nfactory: pul_bench.tracker:IdentityTracker\n")
    with pytest.raises(InputError, match="cycle"):
        registry.load_spec(tmp_path / "child.yaml")


def test_spec_matrix_declares_one_tracker_per_combination(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text(
        "name: base\ndescription: b\nfactory: pul_bench.tracker:IdentityTracker\n")
    (tmp_path / "fam.yaml").write_text(
        "name: 'fam-{n}-{loss}'\ndescription: 'noise {n}'\nextends: base\n"
        "checkpoint: 'w/{n}-{loss}.pt'\nmatrix: {n: [0, 10], loss: [bce, nr]}\n")
    specs = registry.load_specs(tmp_path / "fam.yaml")
    assert [s.name for s in specs] == ["fam-0-bce", "fam-0-nr", "fam-10-bce", "fam-10-nr"]
    assert specs[3].checkpoint == (tmp_path / "w" / "10-nr.pt").resolve()
    assert specs[2].description == "noise 10"
    with pytest.raises(InputError, match="matrix of 4"):
        registry.load_spec(tmp_path / "fam.yaml")
    (tmp_path / "fam.yaml").write_text("name: 'f-{m}'\ndescription: d\nextends: base\n"
                                       "matrix: {n: [1]}\n")
    with pytest.raises(InputError, match="cannot fill in"):
        registry.load_specs(tmp_path / "fam.yaml")
    shipped = registry.all_specs()
    assert {f"siamfc-noise{x}-{loss}" for x in (0, 10, 20, 30, 40, 50)
            for loss in ("bce", "nr")} <= set(shipped)


def test_siamdw_specs_take_their_per_benchmark_values() -> None:
    tracker = registry.create("siamdw-random", benchmark="otb2015")
    assert (tracker.scale_step, tracker.scale_lr) == (1.1897, 0.2226)
    assert registry.create("siamdw-random").scale_step == 1.0375
