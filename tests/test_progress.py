"""Off a terminal, long work says what it is doing: one plain line per finished item (sequence,
epoch, report section, mined shard) with the elapsed time, and nothing per frame."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from pul_bench.cli import cli
from pul_bench.io import progress_bar

LINE = re.compile(r"^(.+): (\w+) (\d+)/(\d+) (.*)done, \d+\.\d s elapsed$")


def _cut(src: Path, root: Path, names: tuple[str, ...], n: int) -> Path:
    """The first ``n`` frames of OTB sequences (images linked, not copied)."""
    for name in names:
        (root / name / "img").mkdir(parents=True)
        rows = (src / name / "groundtruth_rect.txt").read_text().splitlines()[:n]
        (root / name / "groundtruth_rect.txt").write_text("\n".join(rows) + "\n")
        for i in range(1, n + 1):
            (root / name / "img" / f"{i:04d}.jpg").symlink_to(src / name / "img" / f"{i:04d}.jpg")
    return root


def test_redirected_eval_prints_one_line_per_sequence(otb_sequences: Path, tmp_path: Path) -> None:
    names = ("Crossing", "Football1", "Girl")
    root = _cut(otb_sequences, tmp_path / "otb", names, 6)
    result = CliRunner().invoke(cli, ["eval", "otb", "siamfc-random", "--root", str(root),
                                      "--out", str(tmp_path / "runs"), "--device", "cpu"])
    assert result.exit_code == 0, (result.output, result.exception)
    lines = [m for m in map(LINE.match, result.stderr.splitlines()) if m]
    assert [(m[2], m[3], m[4], m[5].strip()) for m in lines] == [
        ("sequence", str(k), "3", name) for k, name in enumerate(names, 1)]
    # quiet otherwise: no bar redraws, no per-frame lines
    assert len(result.stderr.splitlines()) <= len(names) + 2, result.stderr


def test_bar_over_items_says_each_one_off_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    with progress_bar(["a", "b"], desc="report r", unit="section") as bar:
        for sec in bar:
            bar.set_postfix_str(sec)
    for _ in progress_bar(range(5), desc="inner", leave=False):  # nested: no lines
        pass
    for _ in progress_bar(range(3), desc="quiet", disable=True):
        pass
    with progress_bar(range(2, 4), desc="bd", unit="epoch", initial=2, total=4) as bar:
        for epoch in bar:  # a resumed run: epochs 3 and 4 of 4
            bar.set_postfix(loss=f"{epoch / 10:.1f}")
    lines = err.getvalue().splitlines()
    assert [LINE.match(x).groups()[:4] for x in lines] == [
        ("report r", "section", "1", "2"), ("report r", "section", "2", "2"),
        ("bd", "epoch", "3", "4"), ("bd", "epoch", "4", "4")]
    assert lines[0].startswith("report r: section 1/2 a done, ")
    assert lines[3].startswith("bd: epoch 4/4 loss=0.3 done, ")


def test_library_messages_go_through_io() -> None:
    """One channel: outside io.py and the CLI (cli.py, commands/, whose output is the result),
    library code says things through io.note / io.status, never print, tqdm.write or
    warnings.warn."""
    root = Path(__file__).resolve().parents[1]
    direct = ("print(", "tqdm.write(", "warnings.warn(", "sys.stderr.write(")
    found = [f"{p.relative_to(root)}: {d}"
             for pkg in ("pul_bench", "pul_train") for p in sorted((root / pkg).rglob("*.py"))
             if p.name not in ("io.py", "cli.py") and p.parent.name != "commands"
             for d in direct if d in p.read_text()]
    assert found == []
