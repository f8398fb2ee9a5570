"""The README and docs/ stay true: short, every command listed and runnable as written on a fresh
clone, help texts that agree with the code, and generated numbers that match the committed runs."""

from __future__ import annotations

import importlib
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import click
import pytest

from pul_bench.cli import COMMANDS
from pul_bench.paths import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "scripts"))
import gen_docs  # noqa: E402

README = REPO_ROOT / "README.md"
# README shell lines that are not pulbench commands: the set-up itself and the test suite
NOT_RUN = ("bash scripts/setup.sh", ".venv/bin/python -m pytest")
# pulbench verbs that only read and score (the rest track, train or build reports: slow)
QUICK = {"trackers", "benchmarks", "score", "compare"}


def _blocks(text: str, lang: str) -> list[str]:
    """The fenced code blocks of ``text`` whose info string is ``lang`` ("" for plain)."""
    blocks, current, info = [], None, ""
    for line in text.splitlines(keepends=True):
        if line.startswith("```"):
            if current is None:
                current, info = [], line[3:].strip()
            else:
                if info == lang:
                    blocks.append("".join(current))
                current = None
        elif current is not None:
            current.append(line)
    return blocks


def _readme_commands() -> list[str]:
    lines = [ln.strip() for b in _blocks(README.read_text(), "bash") for ln in b.splitlines()]
    return [ln for ln in lines if ln and not ln.startswith("#")]


def _command(name: str) -> click.Command:
    module, _, attr = COMMANDS[name].partition(":")
    return getattr(importlib.import_module(module), attr)


def _walk(cmd: click.Command, path: str):
    yield path, cmd
    if isinstance(cmd, click.Group):
        for sub in cmd.list_commands(click.Context(cmd)):
            yield from _walk(cmd.get_command(click.Context(cmd), sub), f"{path} {sub}")


def _all_commands():
    for name in COMMANDS:
        yield from _walk(_command(name), name)


def test_readme_is_short():
    n = len(README.read_text().splitlines())
    assert n <= 250, f"README.md has {n} lines; details belong in docs/"


def test_readme_cli_table_lists_every_command():
    text = README.read_text()
    section = text.split("## The CLI at a glance", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^\| `([\w-]+)` \|", section, re.M)
    assert sorted(listed) == sorted(COMMANDS), "README's CLI-at-a-glance table vs cli.COMMANDS"


def test_every_command_has_help():
    lacking = [path for path, cmd in _all_commands() if not (cmd.help or cmd.short_help)]
    assert not lacking, f"commands without help: {lacking}"


def test_precision_help_says_what_auto_resolves_to(monkeypatch):
    """Every --precision help that offers auto states what the trackers resolve it to."""
    import torch

    from pul_bench.trackers.siamfc import auto_precision
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    on_cuda, on_cpu = auto_precision("cuda"), auto_precision("cpu")
    monkeypatch.undo()
    wanted = (f"auto: {on_cuda} on CUDA", f"{on_cpu} on a CPU")
    checked = []
    for path, cmd in _all_commands():
        for opt in cmd.params:
            if "--precision" in getattr(opt, "opts", ()) and "auto" in getattr(
                    opt.type, "choices", ()):
                text = " ".join((opt.help or "").split())
                checked.append(path)
                assert all(w in text for w in wanted), f"{path} --precision help: {text!r}"
    assert checked, "no --precision option offering auto found"


def test_no_source_says_auto_is_fp16_on_cuda():
    """Comments and docstrings agree with auto_precision too (they once said fp16)."""
    stale = re.compile(r"auto[^.;]{0,40}\bfp16 on CUDA", re.I)
    hits = [f"{p.relative_to(REPO_ROOT)}" for d in ("pul_bench", "pul_train", "docs")
            for p in (REPO_ROOT / d).rglob("*") if p.suffix in (".py", ".md")
            and stale.search(" ".join(p.read_text().split()))]
    assert not hits, f"auto described as fp16 on CUDA in {hits}"


def test_links_in_readme_and_docs_resolve():
    pages = [README, *sorted((REPO_ROOT / "docs").glob("*.md"))]
    broken = []
    for page in pages:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if not re.match(r"[a-z]+:", target) and not (page.parent / target).exists():
                broken.append(f"{page.name} -> {target}")
    assert not broken, broken
    assert "docs/plugins.md" in README.read_text()


def test_generated_numbers_match_the_committed_runs():
    pages = gen_docs.pages()
    assert pages, "no docs page holds a generated block"
    used = {m["name"] for p in pages for m in gen_docs.BLOCK.finditer(p.read_text())}
    assert used == set(gen_docs.BLOCKS), "every generator has a block in docs/ and vice versa"
    stale = [p.name for p in pages if gen_docs.render(p.read_text()) != p.read_text()]
    assert not stale, f"run `python scripts/gen_docs.py`: stale numbers in {stale}"


def test_a_hand_edited_number_is_caught():
    page = REPO_ROOT / "docs" / "reproduction.md"
    text = page.read_text()
    block = next(gen_docs.BLOCK.finditer(text))
    edited = text.replace(block["body"], block["body"].replace("0.", "9.", 1), 1)
    assert edited != text
    assert gen_docs.render(edited) == text


def test_readme_tracker_example_runs_and_registers(data_root, tmp_path):
    """The "Add your own tracker" code block tracks a shared sequence, and its spec block makes
    the class a ready `pulbench` tracker."""
    text = README.read_text().split("## Add your own tracker", 1)[1].split("\n## ", 1)[0]
    (code,), (spec,) = _blocks(text, "python"), _blocks(text, "yaml")
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{REPO_ROOT}",
           "PULBENCH_DATA": str(data_root)}
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    auc = float(out.stdout.split()[-1])
    assert 0.0 <= auc < 0.5  # a box drifting off the target: well below any real tracker

    (tmp_path / "my_trackers.py").write_text(code.split("\n\nseqs, _")[0] + "\n")
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "drift.yaml").write_text(spec)
    env["PULBENCH_TRACKERS"] = str(tmp_path / "specs")
    out = subprocess.run([sys.executable, "-m", "pul_bench.cli", "trackers"], cwd=tmp_path,
                         env=env, capture_output=True, text=True, timeout=300)
    assert re.search(r"^drift\s+ready\b", out.stdout, re.M), out.stdout + out.stderr


def _fresh_clone(tmp_path: Path, data_root: Path) -> tuple[Path, dict[str, str]]:
    """A clone of this checkout with the shared data beside it, as the README assumes."""
    if not (REPO_ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    clone = tmp_path / "pul_bench"
    subprocess.run(["git", "clone", "-q", str(REPO_ROOT), str(clone)], check=True)
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "data").symlink_to(data_root)
    pulbench = Path(sys.executable).parent / "pulbench"
    if not pulbench.exists():
        pytest.skip(f"{pulbench} not installed")
    env = {k: v for k, v in os.environ.items() if k not in ("PULBENCH_DATA", "PULBENCH_TRACKERS")}
    env.update(PYTHONPATH=str(clone), PATH=f"{pulbench.parent}{os.pathsep}{env['PATH']}")
    return clone, env


def _run_readme(commands: list[str], clone: Path, env: dict[str, str]) -> str:
    """Run each line as written, in order; return their output together."""
    outputs = []
    for line in commands:
        out = subprocess.run(["bash", "-c", line], cwd=clone, env=env, capture_output=True,
                             text=True, timeout=1800)
        assert out.returncode == 0, f"README command failed: {line}\n{out.stderr[-2000:]}"
        outputs.append(out.stdout)
    return "\n".join(outputs)


def _split(commands: list[str]) -> tuple[list[str], list[str]]:
    run = []
    for line in commands:
        if line.startswith(NOT_RUN):
            continue
        words = shlex.split(line, comments=True)
        assert words[0] == "pulbench", f"README shell line not covered by the tests: {line}"
        run.append(line)
    quick = [c for c in run if shlex.split(c)[1] in QUICK or "--help" in c]
    return quick, run


@pytest.mark.slow
def test_readme_quick_commands_run_on_a_fresh_clone(data_root, tmp_path):
    quick, _ = _split(_readme_commands())
    assert len(quick) >= 4
    output = _run_readme(quick, *_fresh_clone(tmp_path, data_root))
    shown = [ln for b in _blocks(README.read_text(), "") for ln in b.splitlines() if ln.strip()]
    assert shown, "README shows the output of compare"
    for line in shown:  # the output README shows is what the commands print
        assert line in output.splitlines(), f"README shows {line!r}, the commands do not print it"


@pytest.mark.slow
def test_readme_commands_all_run_on_a_fresh_clone(data_root, tmp_path):
    """Every README command in order, tracking, training and reports included."""
    _, everything = _split(_readme_commands())
    _run_readme(everything, *_fresh_clone(tmp_path, data_root))
