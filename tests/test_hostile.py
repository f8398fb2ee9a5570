"""Hostile-user probes (issue 23 and later rounds): each row is one command a careless or
adversarial user runs, the exit code it must end with, what it must say, and what must (not) be
left on disk. Extend the tables; a case that needs processes racing lives below them as a test.

Every probe also checks that no raw traceback reaches the user."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from pul_bench.cli import main


@dataclasses.dataclass
class Ctx:
    """What a probe may use: a scratch folder and real data cut small."""

    tmp: Path
    data: Path  # the shared data root
    otb: Path  # an OTB-layout root: Crossing and Football1, first 40 frames (images linked)
    vot: Path  # a VOT-layout root: ball1 and bag, first 20 frames (images linked)


@dataclasses.dataclass(frozen=True)
class Probe:
    case: str  # the issue item, e.g. "23.3 duplicate --sequences"
    argv: Callable[[Ctx], list[str]]
    code: int  # the exit code it must end with (0: no SystemExit or exit 0)
    says: str = ""  # a regex that stdout + stderr must match
    prepare: Callable[[Ctx], None] | None = None
    check: Callable[[Ctx], None] | None = None  # asserts on what is left on disk


def cut_otb(src: Path, root: Path, names: tuple[str, ...] = ("Crossing", "Football1"),
            n: int = 40) -> Path:
    """The first ``n`` frames of each OTB sequence (images linked, not copied)."""
    for name in names:
        seq = root / name
        (seq / "img").mkdir(parents=True)
        rows = (src / name / "groundtruth_rect.txt").read_text().splitlines()[:n]
        (seq / "groundtruth_rect.txt").write_text("\n".join(rows) + "\n")
        for i in range(1, n + 1):
            (seq / "img" / f"{i:04d}.jpg").symlink_to(src / name / "img" / f"{i:04d}.jpg")
    return root


def cut_vot(src: Path, root: Path, names: tuple[str, ...] = ("ball1", "bag"),
            n: int = 20) -> Path:
    """The first ``n`` frames of each VOT sequence (images linked, not copied)."""
    root.mkdir(parents=True)
    (root / "list.txt").write_text("".join(f"{name}\n" for name in names))
    for name in names:
        seq = root / name
        (seq / "color").mkdir(parents=True)
        rows = (src / name / "groundtruth.txt").read_text().splitlines()[:n]
        (seq / "groundtruth.txt").write_text("\n".join(rows) + "\n")
        for i in range(1, n + 1):
            (seq / "color" / f"{i:08d}.jpg").symlink_to(src / name / "color" / f"{i:08d}.jpg")
    return root


@pytest.fixture
def ctx(tmp_path: Path, data_root: Path) -> Ctx:
    return Ctx(tmp=tmp_path, data=data_root,
               otb=cut_otb(data_root / "sequences" / "otb", tmp_path / "otb"),
               vot=cut_vot(data_root / "sequences" / "vot", tmp_path / "vot"))


def run_probe(probe: Probe, ctx: Ctx, capsys: pytest.CaptureFixture) -> str:
    """Run one probe's command in-process; return what it printed."""
    if probe.prepare is not None:
        probe.prepare(ctx)
    code = 0
    try:
        main(probe.argv(ctx))
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    out = capsys.readouterr()
    text = out.out + out.err
    assert "Traceback" not in text, text
    assert code == probe.code, f"exit {code}, expected {probe.code}:\n{text}"
    if probe.says:
        assert re.search(probe.says, text), f"{probe.says!r} not in:\n{text}"
    if probe.check is not None:
        probe.check(ctx)
    return text


# ---- set-up records, names and folders (issue 23: 1-4) --------------------------------------

SETUP_PROBES: list[Probe] = [
]


# ---- NaN, JSON and scoring rules (issue 23: 5-7, 11, 12, score/eval options) ----------------

NAN_PROBES: list[Probe] = [
]


# ---- OS errors, YAML tags, spec parameters (issue 23: 8-10) ---------------------------------

OS_PROBES: list[Probe] = [
]


# ---------------------------------------------------------------------------------------------

PROBES = [*SETUP_PROBES, *NAN_PROBES, *OS_PROBES]


@pytest.mark.parametrize("probe", PROBES, ids=[p.case for p in PROBES])
def test_probe(probe: Probe, ctx: Ctx, capsys: pytest.CaptureFixture) -> None:
    run_probe(probe, ctx, capsys)


# ---- set-up probes that need processes racing (issue 23: 1) ---------------------------------


# ---- NaN probes that need more than one command ---------------------------------------------


# ---- OS-error probes that need more than one command ----------------------------------------
