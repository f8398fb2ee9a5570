"""Every benchmark kind x every shared option, over the verbs that take it (issue 25: 1).

Each cell runs the real command on real data cut small and checks that the option is honoured
(the output, or what is written, changes as the option says) or refused with one clear error
naming the option and the kind: never ignored, never a traceback. The table is written out
here, apart from :mod:`pul_bench.kinds`, and a last test checks that each kind declares what
the table finds.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from pathlib import Path

import pytest
from test_hostile import Ctx, cut_otb, cut_vot, got10k_split, vot_pair

from pul_bench.benchmarks import get_benchmark
from pul_bench.cli import main
from pul_bench.datasets.otb import read_boxes
from pul_bench.kinds import KINDS, Options, kind_of

BENCH = {"otb": "otb", "vot": "vot2018", "got10k": "got10k-val"}


@dataclasses.dataclass
class World:
    """Per kind: its data root and result folders A, B, A-s2 (a seed of A) and S (one file a
    row short); for OTB also A and B's TRE runs (made by eval, so they fit the cut root)."""

    tmp: Path
    roots: dict[str, Path]

    def folders(self, kind: str, *names: str) -> list[str]:
        return [str(self.tmp / kind / n) for n in names]


def _otb_results(root: Path, out: Path) -> None:
    """A and B: each sequence's ground truth shifted by a per-frame offset, B's also wider."""
    for name, spread in (("A", 1.0), ("B", 1.4)):
        for seq in ("Crossing", "Football1"):
            boxes = read_boxes(root / seq / "groundtruth_rect.txt")
            moved = [[x + i % 13, y + i % 11, w * spread, h]
                     for i, (x, y, w, h) in enumerate(boxes)]
            (out / name).mkdir(parents=True, exist_ok=True)
            (out / name / f"{seq}.txt").write_text(
                "".join(",".join(f"{v:g}" for v in b) + "\n" for b in moved))


def _cut_row(folder: Path, pattern: str) -> None:
    """Drop the last row of the first file matching ``pattern`` under ``folder``."""
    f = sorted(folder.rglob(pattern))[0]
    f.write_text("".join(f.read_text().splitlines(keepends=True)[:-1]))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, data_root: Path) -> World:
    tmp = tmp_path_factory.mktemp("kinds")
    otb = cut_otb(data_root / "sequences" / "otb", tmp / "data" / "otb")
    vot = cut_vot(data_root / "sequences" / "vot", tmp / "data" / "vot")
    ctx = Ctx(tmp=tmp / "vot", data=data_root, otb=otb, vot=vot)
    vot_pair(ctx)  # A and B on the cut VOT root; B's bag boxes also 3 pixels to the right
    bag = tmp / "vot" / "B" / "baseline" / "bag" / "bag_001.txt"
    bag.write_text("".join(
        (f"{float(r.split(',')[0]) + 3:g}," + r.split(",", 1)[1] if "," in r else r) + "\n"
        for r in bag.read_text().splitlines()))
    ctx = dataclasses.replace(ctx, tmp=tmp / "got10k")
    got = got10k_split(ctx)  # T: ground truth with four NaN rows
    shutil.copytree(tmp / "got10k" / "T", tmp / "got10k" / "A")
    shutil.copytree(tmp / "got10k" / "T", tmp / "got10k" / "B")
    for k, f in enumerate(sorted((tmp / "got10k" / "B").rglob("*_001.txt"))):
        rows = f.read_text().splitlines()  # B loses the target 6 or 12 frames
        f.write_text("\n".join(rows[:12] + ["0,0,1,1"] * 6 * (k + 1) + rows[12 + 6 * (k + 1):])
                     + "\n")
    (otb / "initOmit").mkdir()  # TRE's start frames: no range to omit
    _otb_results(otb, tmp / "otb")
    for kind in ("otb", "vot", "got10k"):
        shutil.copytree(tmp / kind / "B", tmp / kind / "A-s2")
        shutil.copytree(tmp / kind / "A", tmp / kind / "S")
        _cut_row(tmp / kind / "S", "*_001.txt" if kind != "otb" else "Crossing.txt")
    return World(tmp, {"otb": otb, "vot": vot, "got10k": got})


@pytest.fixture(scope="module")
def tre(world: World) -> Path:
    """Identity's TRE runs on the cut OTB root, as eval makes them, under two names (a and b);
    returns the folder holding both."""
    runs = world.tmp / "otb" / "tre-runs"
    try:
        main(["eval", "otb", "identity", "--root", str(world.roots["otb"]), "--out", str(runs),
              "--protocol", "tre", "--bootstrap", "0", "--sequences", "Crossing"])
    except SystemExit as e:
        assert e.code in (0, None)
    folder = world.tmp / "otb" / "tre"
    shutil.copytree(runs / "results" / "otb" / "identity", folder / "a")
    shutil.copytree(runs / "results" / "otb" / "identity", folder / "b")
    return folder


def run(argv: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of one command, run in-process; never a traceback."""
    code = 0
    try:
        main(argv)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err, out.out + out.err
    return code, out.out, out.err


def refused(argv: list[str], capsys: pytest.CaptureFixture, says: str) -> None:
    """The command ends with exit 2 and one error line matching ``says``."""
    code, out, err = run(argv, capsys)
    errors = [line for line in err.splitlines() if line.startswith(("error:", "Error:"))]
    assert code == 2 and len(errors) == 1 and re.search(says, errors[0]), (code, out, err)


def differs(base: list[str], changed: list[str], capsys: pytest.CaptureFixture) -> None:
    """Both commands succeed and print different things (the option changed the output)."""
    code, before, err = run(base, capsys)
    assert code == 0, err
    code, after, err = run(changed, capsys)
    assert code == 0, err
    assert after != before, f"{changed[-3:]} changed nothing:\n{after}"


def _refusal(flag: str, kind: str) -> str:
    return rf"{re.escape(flag)} applies to OTB benchmarks, not {BENCH[kind]} \(a " \
           rf"{KINDS[kind].title} benchmark\)"


# ---- score: --strict --bootstrap --seed --convention --seeds --protocol ---------------------

def score(world: World, kind: str, *folders: str) -> list[str]:
    return ["score", BENCH[kind], *world.folders(kind, *(folders or ("A", "B"))), "--root",
            str(world.roots[kind]), "--json"]


KINDS_ = ("otb", "vot", "got10k")


@pytest.mark.parametrize("kind", KINDS_)
def test_score_strict(world: World, kind: str, capsys: pytest.CaptureFixture) -> None:
    """--strict refuses a file a row short on every kind, naming it (VOT and GOT-10k always
    do: their toolkits refuse it; OTB's toolkit scores it on the common frames, with a note)."""
    refused(score(world, kind, "S") + ["--strict"], capsys, r"S/\S+\.txt")
    code, _, err = run(score(world, kind, "S"), capsys)
    assert (code, "note:" in err) == ((0, True) if kind == "otb" else (2, False)), err


@pytest.mark.parametrize("kind", KINDS_)
def test_score_bootstrap_and_seed(world: World, kind: str,
                                  capsys: pytest.CaptureFixture) -> None:
    base = score(world, kind)
    code, out, _ = run(base + ["--bootstrap", "0"], capsys)
    assert code == 0 and "_ci" not in out and "bootstrap" not in json.loads(out)["A"]
    code, out, _ = run(base, capsys)
    assert code == 0 and "_ci" in out
    differs(base + ["--bootstrap", "20", "--seed", "1"],
            base + ["--bootstrap", "20", "--seed", "2"], capsys)


@pytest.mark.parametrize(("kind", "convention", "outcome"), [
    ("otb", "pysot", "honoured"),  # pysot's 21 thresholds: another AUC
    ("otb", "vot", r"convention 'vot' does not apply to OTB benchmarks"),
    ("vot", "got10k", "honoured"),  # overlaps without the pixel convention
    ("got10k", "pysot", r"convention 'pysot' does not apply to GOT-10k benchmarks"),
])
def test_score_convention(world: World, kind: str, convention: str, outcome: str,
                          capsys: pytest.CaptureFixture) -> None:
    base = score(world, kind, "A", "B") + ["--bootstrap", "0"]
    if outcome == "honoured":
        differs(base, base + ["--convention", convention], capsys)
    else:
        refused(base + ["--convention", convention], capsys, outcome)


@pytest.mark.parametrize("kind", KINDS_)
def test_score_seeds(world: World, kind: str, capsys: pytest.CaptureFixture) -> None:
    """--seeds adds A's family (A, A-s2) with two seeds."""
    base = score(world, kind, "A", "A-s2", "B") + ["--bootstrap", "0"]
    code, out, _ = run(base + ["--seed-families"], capsys)
    assert code == 0 and json.loads(out)["seeds"]["A"]["n_seeds"] == 2, out


@pytest.mark.parametrize("kind", KINDS_)
def test_score_protocol(world: World, kind: str, capsys: pytest.CaptureFixture) -> None:
    """--protocol tre scores OTB's TRE runs (A has none: the error names A/tre); elsewhere it
    is refused before anything is read."""
    argv = score(world, kind) + ["--protocol", "tre"]
    refused(argv, capsys, r"A/tre" if kind == "otb" else _refusal("--protocol tre", kind))


def test_score_tre(world: World, tre: Path, capsys: pytest.CaptureFixture) -> None:
    argv = ["score", "otb", str(tre / "a"), "--root", str(world.roots["otb"]), "--json",
            "--bootstrap", "0"]
    code, out, err = run(argv + ["--protocol", "tre"], capsys)
    assert code == 0 and json.loads(out)["a"]["protocol"] == "tre", err
    refused(argv, capsys, r"tre/a: no result file")  # one-pass scoring does not read tre/


# ---- eval: --bootstrap --seed --protocol --precision ----------------------------------------

def evaluate(world: World, kind: str, tracker: str = "identity", out: str = "runs"
             ) -> list[str]:
    return ["eval", BENCH[kind], tracker, "--root", str(world.roots[kind]), "--out",
            str(world.tmp / kind / out), "--json"]


@pytest.mark.parametrize("kind", KINDS_)
def test_eval_bootstrap_seed_protocol(world: World, tre: Path, kind: str,
                                      capsys: pytest.CaptureFixture) -> None:
    """The first eval runs; the others only score again, as each option says."""
    base = evaluate(world, kind)
    code, out, err = run(base + ["--bootstrap", "0"], capsys)
    assert code == 0 and "_ci" not in out, err  # issue 25: got10k ignored --bootstrap 0
    differs(base + ["--bootstrap", "20", "--seed", "1"],
            base + ["--bootstrap", "20", "--seed", "2"], capsys)
    if kind == "otb":  # the TRE runs the fixture made: eval only scores them
        code, out, err = run(evaluate(world, kind, out="tre-runs") + [
            "--protocol", "tre", "--bootstrap", "0", "--sequences", "Crossing"], capsys)
        assert code == 0 and json.loads(out)["identity"]["protocol"] == "tre", err
        assert len(list((world.tmp / kind / "tre-runs").rglob("tre/Crossing_*.txt"))) == 20
    else:
        refused(base + ["--protocol", "tre"], capsys, _refusal("--protocol tre", kind))


@pytest.mark.parametrize("kind", KINDS_)
def test_eval_precision(world: World, kind: str, capsys: pytest.CaptureFixture,
                        monkeypatch: pytest.MonkeyPatch) -> None:
    """--precision reaches the tracker spec on every kind: a tracker without a network refuses
    it, naming the flag; and every kind's runner hands it to the spec's overrides (caught
    there, so no network runs)."""
    refused(evaluate(world, kind) + ["--precision", "bf16"], capsys,
            r"--precision bf16 is for network trackers")
    from pul_bench.errors import PulBenchError
    from pul_bench.experiments import common

    def caught(spec: object, overrides: dict, checkpoint: bool = False) -> object:
        raise PulBenchError(f"overrides reached the runner: {sorted(overrides.items())}")

    monkeypatch.setattr(common, "with_overrides", caught)
    refused(evaluate(world, kind, "alexpul") + ["--precision", "bf16"], capsys,
            r"overrides reached the runner: \[\('device', None\), \('precision', 'bf16'\)\]")


# ---- compare: --bootstrap --seed --convention --seeds --protocol ----------------------------

def compare(world: World, kind: str, *folders: str) -> list[str]:
    return ["compare", BENCH[kind], *world.folders(kind, *(folders or ("A", "B"))), "--root",
            str(world.roots[kind]), "--json"]


@pytest.mark.parametrize("kind", KINDS_)
def test_compare_options(world: World, kind: str, capsys: pytest.CaptureFixture) -> None:
    """Two sequences per kind: 3 resamples let the seed show in the interval."""
    base = compare(world, kind) + (["--metric", "robustness"] if kind == "vot" else [])
    differs(base + ["--bootstrap", "0"], base, capsys)
    differs(base + ["--bootstrap", "3", "--seed", "1"],
            base + ["--bootstrap", "3", "--seed", "2"], capsys)
    code, out, err = run(compare(world, kind, "A", "A-s2", "B") + ["--seed-families"], capsys)
    assert code == 0 and json.loads(out)[0]["n_seeds_a"] == 2, err
    convention = {"otb": "pysot", "vot": "got10k", "got10k": "pysot"}[kind]
    if kind == "got10k":
        refused(base + ["--convention", convention], capsys,
                r"convention 'pysot' does not apply to GOT-10k benchmarks")
    else:  # A's accuracy, VOT's default metric, moves with the convention
        differs(compare(world, kind), compare(world, kind) + ["--convention", convention],
                capsys)
    if kind != "otb":
        refused(base + ["--protocol", "sre"], capsys, _refusal("--protocol sre", kind))


def test_compare_tre(world: World, tre: Path, capsys: pytest.CaptureFixture) -> None:
    """OTB --protocol tre pairs the TRE runs eval made."""
    argv = ["compare", "otb", str(tre / "a"), str(tre / "b"), "--root", str(world.roots["otb"]),
            "--bootstrap", "0"]
    code, out, err = run(argv + ["--protocol", "tre"], capsys)
    assert code == 0 and out.startswith("otb TRE: auc"), err


# ---- plot: --convention --protocol ----------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS_)
def test_plot_options(world: World, kind: str, capsys: pytest.CaptureFixture) -> None:
    """OTB honours both; GOT-10k has one convention and no TRE; VOT has no plot verb."""
    def plot(name: str, *extra: str) -> list[str]:
        return ["plot", BENCH[kind], *world.folders(kind, "A", "B"), "--root",
                str(world.roots[kind]), "--out", str(world.tmp / kind / name), *extra]

    def scores(name: str) -> str:
        return (world.tmp / kind / name / "performance.json").read_text()

    if kind == "vot":
        for extra in ([], ["--convention", "pysot"], ["--protocol", "tre"]):
            refused(plot("p", *extra), capsys, r"plot draws OTB and GOT-10k comparison plots; "
                    r"'vot2018' is a VOT benchmark")
        assert not (world.tmp / kind / "p").exists()
        return
    assert run(plot("matlab"), capsys)[0] == 0
    if kind == "otb":
        assert run(plot("pysot", "--convention", "pysot"), capsys)[0] == 0
        assert scores("pysot") != scores("matlab")
        refused(plot("tre", "--protocol", "tre"), capsys, r"A/tre")  # A has no TRE runs
    else:
        refused(plot("pysot", "--convention", "pysot"), capsys,
                r"convention 'pysot' does not apply to GOT-10k benchmarks")
        refused(plot("tre", "--protocol", "tre"), capsys, _refusal("--protocol tre", kind))
        assert not (world.tmp / kind / "tre").exists()


# ---- what the kinds declare -----------------------------------------------------------------

def test_kinds_declare_what_they_honour() -> None:
    """The registry agrees with the table above: every kind honours every shared option but
    --protocol, which only OTB honours; and a refusal names the flag and the kind."""
    for name, kind in KINDS.items():
        assert kind.name == name and kind_of(get_benchmark(BENCH[name])) is kind
        assert kind.honours == {f.name for f in dataclasses.fields(Options)} - (
            set() if name == "otb" else {"protocol"})
    with pytest.raises(Exception, match=_refusal("--protocol sre", "vot")):
        KINDS["vot"].check(get_benchmark("vot2018"), Options(protocol="sre"))

