"""Hostile-user probes (issue 23 and later rounds): each row is one command a careless or
adversarial user runs, the exit code it must end with, what it must say, and what must (not) be
left on disk. Extend the tables; a case that needs processes racing lives below them as a test.

Every probe also checks that no raw traceback reaches the user."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
import time
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

def quiet_main(argv: list[str]) -> None:
    """Run a command that must succeed (a probe's preparation)."""
    try:
        main(argv)
    except SystemExit as e:
        assert e.code in (0, None), f"{argv} exited {e.code}"


WEIGHTS = Path(__file__).resolve().parents[1] / "trackers" / "weights"


def out_dir(ctx: Ctx) -> Path:
    return ctx.tmp / "out"


def otb_results(ctx: Ctx, tracker: str = "alexpul") -> Path:
    return out_dir(ctx) / "results" / "otb" / tracker


def eval_otb(ctx: Ctx, *extra: str) -> list[str]:
    return ["eval", "otb", "alexpul", "--root", str(ctx.otb), "--out", str(out_dir(ctx)),
            "--device", "cpu", "--bootstrap", "0", *extra]


def eval_identity(ctx: Ctx, sequences: str) -> list[str]:
    return ["eval", "otb", "identity", "--root", str(ctx.otb), "--out", str(out_dir(ctx)),
            "--bootstrap", "0", "--sequences", sequences]


def nothing_written(ctx: Ctx) -> None:
    assert not out_dir(ctx).exists(), sorted(out_dir(ctx).rglob("*"))


def recipe(ctx: Ctx, name: str = "tiny", section: str = "tab",
           sequences: str = "[Crossing]") -> list[str]:
    """``pulbench report`` of a one-table recipe (identity on the cut OTB root, --root = tmp)."""
    path = ctx.tmp / "recipe.yaml"
    path.write_text(f"""name: "{name}"
title: t
scale: s
data:
  otb: {{benchmark: otb, root: otb, sequences: {sequences}}}
sections:
  - kind: table
    id: "{section}"
    title: t
    metrics: [{{data: otb, metric: auc}}]
    groups: [A]
    rows:
      - {{label: identity, cells: [identity]}}
""")
    return ["report", str(path), "--root", str(ctx.tmp), "--out", str(ctx.tmp / "a" / "rep"),
            "--runs", str(ctx.tmp / "a" / "runs")]


def resave(ctx: Ctx, date: str) -> Path:
    """alexpul-bd's tensors saved again at one path, with only the date changed."""
    from pul_bench.checkpoint import load_checkpoint, save_checkpoint

    weights, meta = load_checkpoint(WEIGHTS / "alexpul-bd.pt")
    path = ctx.tmp / "retrained.pt"
    save_checkpoint(path, weights, {**meta, "date": date}, fp16=meta["dtype"] == "float16")
    return path


def eval_resaved(ctx: Ctx, *extra: str) -> list[str]:
    return eval_otb(ctx, "--checkpoint", str(ctx.tmp / "retrained.pt"), *extra)


def resaved_first(ctx: Ctx) -> None:
    """Crossing run with the checkpoint saved on one date, then the file saved again (the
    set-up is compared even when nothing is left to run)."""
    resave(ctx, "2026-01-01T00:00:00+00:00")
    quiet_main(eval_resaved(ctx, "--sequences", "Crossing"))
    resave(ctx, "2026-02-01T00:00:00+00:00")


def record_of_old_format(ctx: Ctx) -> None:
    """A complete folder whose record predates tensor hashes (no ``weights_sha256``), then the
    same tensors saved again: the file differs, so the old record refuses it."""
    resave(ctx, "2026-01-01T00:00:00+00:00")
    quiet_main(eval_resaved(ctx, "--sequences", "Crossing"))
    record = otb_results(ctx) / "run.json"
    old = json.loads(record.read_text())
    old.pop("weights_sha256", None)
    record.write_text(json.dumps(old))
    resave(ctx, "2026-02-01T00:00:00+00:00")


def nothing_escaped(ctx: Ctx) -> None:
    """No file named ``escaped*`` anywhere under the scratch folder."""
    assert not [p for p in ctx.tmp.rglob("escaped*")], sorted(ctx.tmp.rglob("escaped*"))


SETUP_PROBES: list[Probe] = [
    Probe("23.2 complete bf16 folder, then the default precision",
          lambda c: eval_otb(c), 2, r"different set-up: args\.precision bf16 -> fp32",
          prepare=lambda c: quiet_main(eval_otb(c, "--precision", "bf16"))),
    Probe("23 minor a: the same tensors saved again over the checkpoint are the same set-up",
          lambda c: eval_resaved(c, "--sequences", "Crossing"), 0, r"alexpul",
          prepare=resaved_first),
    Probe("23 minor a: a record from before tensor hashes compares the file",
          lambda c: eval_resaved(c, "--sequences", "Crossing"), 2,
          r"different set-up: checkpoint sha256 ",
          prepare=record_of_old_format),
    Probe("23.3 a sequence named twice in --sequences",
          lambda c: eval_identity(c, "Crossing,Crossing,Football1"), 2,
          r"--sequences names Crossing more than once", check=nothing_written),
    Probe("23.3 a sequence named twice in a recipe's data",
          lambda c: recipe(c, sequences="[Crossing, Football1, Crossing]"), 2,
          r"recipe\.yaml:5: .*sequences names Crossing more than once"),
    Probe("23.4 a --sequences name that climbs out of the root",
          lambda c: eval_identity(c, "../otb/Crossing"), 2,
          r"sequence '\.\./otb/Crossing' holds '/'", check=nothing_written),
    Probe("23.4 a report section id that climbs out of --out",
          lambda c: recipe(c, section="../../escaped-section"), 2,
          r"recipe\.yaml:\d+: .*id '\.\./\.\./escaped-section' holds '/'",
          check=nothing_escaped),
    Probe("23.4 a report name that climbs out of reports/",
          lambda c: recipe(c, name="../../escaped-report"), 2,
          r"recipe\.yaml:1: name '\.\./\.\./escaped-report' holds '/'"),
    Probe("23.4 a report name on the command line that climbs out of reports/",
          lambda c: ["report", "../../escaped"], 2, r"report '\.\./\.\./escaped' holds '/'"),
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

_RACER = """import sys, time
from pathlib import Path
from pul_bench.cli import main
Path(sys.argv[2]).touch()
go = Path(sys.argv[1])
while not go.exists():
    time.sleep(0.002)
main(sys.argv[3:])
"""


def race(ctx: Ctx, *argvs: list[str]) -> list[subprocess.CompletedProcess]:
    """Run each command in its own process, all released at the same instant (a start file)."""
    import pul_bench

    env = {**os.environ, "PULBENCH_DATA": str(ctx.data),
           "PYTHONPATH": os.pathsep.join([str(Path(pul_bench.__file__).parents[1]),
                                          os.environ.get("PYTHONPATH", "")])}
    go, ready = ctx.tmp / "go", [ctx.tmp / f"ready-{i}" for i in range(len(argvs))]
    procs = [subprocess.Popen([sys.executable, "-c", _RACER, str(go), str(r), *argv], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for r, argv in zip(ready, argvs, strict=True)]
    deadline = time.monotonic() + 120
    while not all(r.exists() for r in ready) and time.monotonic() < deadline:
        time.sleep(0.01)  # until every process has imported the CLI and waits
    go.touch()
    done = []
    for p, argv in zip(procs, argvs, strict=True):
        out, err = p.communicate(timeout=300)
        done.append(subprocess.CompletedProcess(argv, p.returncode, out, err))
    return done



@pytest.mark.parametrize(("kind", "first", "second", "record_key"), [  # differing set-ups
    ("otb", [], ["--precision", "bf16"], "precision"),
    ("otb", ["--checkpoint", str(WEIGHTS / "alexpul-bd.pt")],
     ["--checkpoint", str(WEIGHTS / "alexpul-tcl10.pt")], "weights_sha256"),
    ("vot", [], ["--precision", "bf16"], "precision"),
], ids=["otb-precision", "otb-checkpoint", "vot-precision"])
def test_shards_of_two_set_ups_started_at_once(ctx: Ctx, kind: str, first: list[str],
                                               second: list[str], record_key: str) -> None:
    """23.1: shards 1/2 and 2/2 with different set-ups, started at the same instant: one set-up
    runs, the other is refused with the reason before it tracks, and leaves no result."""
    root = ctx.otb if kind == "otb" else ctx.vot
    base = ["eval", kind, "alexpul", "--root", str(root), "--out", str(out_dir(ctx)),
            "--device", "cpu"]
    # shard K of N takes the K-th of the sorted names
    names = ["Crossing", "Football1"] if kind == "otb" else ["bag", "ball1"]
    runs = race(ctx, [*base, "--shard", "1/2", *first], [*base, "--shard", "2/2", *second])
    for r in runs:
        assert "Traceback" not in r.stderr, r.stderr
    assert sorted(r.returncode for r in runs) == [0, 2], [(r.returncode, r.stderr) for r in runs]
    won = 0 if runs[0].returncode == 0 else 1
    lost = runs[1 - won]
    assert re.search(r"(holds results of|in use by a run of) a different set-up[^:]*: "
                     rf"(args\.)?{record_key.replace('_', ' ')} ", lost.stderr), lost.stderr
    folder = out_dir(ctx) / "results" / kind / "alexpul"
    made = {p.name for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")}
    assert any(names[won] in m for m in made), made
    assert not any(names[1 - won] in m for m in made), made
    record = json.loads((folder / "run.json").read_text())
    if record_key == "precision":
        assert record["args"]["precision"] == ("fp32", "bf16")[won], record
    else:
        assert Path(record["checkpoint"]).name == Path((first, second)[won][1]).name, record


_HOLDER = """import sys, time
from pathlib import Path
from pul_bench.experiments import common
from pul_bench.registry import get_spec
spec = get_spec("kcf")
common.build_tracker(spec, None, "otb", Path(sys.argv[1]), common.set_up(spec, None))
Path(sys.argv[2]).touch()
time.sleep(float(sys.argv[3]))
"""


def test_a_record_claims_its_folder_only_while_its_run_lives(ctx: Ctx) -> None:
    """23.1: a run recorded but without results yet refuses a different set-up while its
    process lives; once it has died (killed before its first result), it blocks nothing."""
    import pul_bench
    from pul_bench.errors import PulBenchError
    from pul_bench.experiments import common
    from pul_bench.registry import get_spec

    env = {**os.environ, "PYTHONPATH": str(Path(pul_bench.__file__).parents[1])}
    folder, ready = otb_results(ctx, "kcf"), ctx.tmp / "ready"
    spec = get_spec("kcf")
    csrt = {**common.set_up(spec, None), "args": {**spec.args, "algorithm": "csrt"}}
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(folder), str(ready), "60"],
                              env=env)
    try:
        deadline = time.monotonic() + 60
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        with pytest.raises(PulBenchError, match="in use by a run of a different set-up that "
                           "has no results yet: args.algorithm kcf -> csrt"):
            common.build_tracker(spec, None, "otb", folder, csrt)
    finally:
        holder.kill()
        holder.wait()
    common.build_tracker(spec, None, "otb", folder, csrt)  # the holder died without results
    assert json.loads((folder / "run.json").read_text())["args"]["algorithm"] == "csrt"


@pytest.mark.parametrize(("env", "file", "text", "argv"), [
    ("PULBENCH_TRACKERS", "climber.yaml",
     "name: ../../../../escaped2\ndescription: d\nfactory: pul_bench.trackers.opencv:OpenCVTracker"
     "\nargs: {algorithm: kcf}\n", ["eval", "otb", "../../../../escaped2"]),
    ("PULBENCH_DATASETS", "climber.yaml",
     "name: ../../../../escaped3\nkind: otb\n", ["eval", "../../../../escaped3", "identity"]),
], ids=["spec-name", "benchmark-name"])
def test_names_from_specs_and_manifests_stay_under_out(
        ctx: Ctx, env: str, file: str, text: str, argv: list[str],
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """23.4: a spec or manifest whose ``name:`` climbs out (``../``) is refused where it is read,
    naming its file and line, and nothing is written outside --out."""
    folder = ctx.tmp / "specs"
    folder.mkdir()
    (folder / file).write_text(text)
    monkeypatch.setenv(env, str(folder))
    out = ctx.tmp / "o1" / "o2" / "out"
    probe = Probe("23.4", lambda c: [*argv, "--root", str(c.otb), "--out", str(out),
                                     "--sequences", "Crossing", "--bootstrap", "0"],
                  2, r"climber\.yaml:1: .*name '\.\./\.\./\.\./\.\./escaped\d' holds '/'",
                  check=nothing_escaped)
    run_probe(probe, ctx, capsys)


def test_a_set_path_is_relative_to_the_working_folder(
        ctx: Ctx, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """23 minor b: ``--set tc.init=mine.pt`` names ./mine.pt, as any path on a command line
    does, not a file in the checkout (a recipe file's own paths stay under the checkout)."""
    monkeypatch.chdir(ctx.tmp)
    probe = Probe("23 minor b", lambda c: ["train", "tc", "--config", "alexpul-tcl10", "--set",
                                          "tc.init=mine.pt", "--out", str(c.tmp / "train")],
                  2, "checkpoint not found: " + re.escape(str(ctx.tmp / "mine.pt")))
    run_probe(probe, ctx, capsys)


# ---- NaN probes that need more than one command ---------------------------------------------


# ---- OS-error probes that need more than one command ----------------------------------------
