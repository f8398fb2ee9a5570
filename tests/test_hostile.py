"""Hostile-user probes (issue 23 and later rounds): each row is one command a careless or
adversarial user runs, the exit code it must end with, what it must say, and what must (not) be
left on disk. Extend the tables; a case that needs processes racing lives below them as a test.

Every probe also checks that no raw traceback reaches the user."""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from test_provenance import short_otb, short_vot

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
    slow: bool = False  # runs real evaluations (several seconds): left out by -m "not slow"


def cut_otb(src: Path, root: Path, names: tuple[str, ...] = ("Crossing", "Football1"),
            n: int = 40) -> Path:
    """The first ``n`` frames of each OTB sequence (images linked, not copied)."""
    return short_otb(src, root, n, names)


def cut_vot(src: Path, root: Path, names: tuple[str, ...] = ("ball1", "bag"),
            n: int = 20) -> Path:
    """The first ``n`` frames of each VOT sequence (images linked, not copied)."""
    return short_vot(src, root, n, names)


@pytest.fixture
def ctx(tmp_path: Path, data_root: Path) -> Ctx:
    return Ctx(tmp=tmp_path, data=data_root,
               otb=cut_otb(data_root / "sequences" / "otb", tmp_path / "otb"),
               vot=cut_vot(data_root / "sequences" / "vot", tmp_path / "vot"))


#: A line of io.Progress off a terminal ("kcf: sequence 1/2 Crossing done, 0.1 s elapsed").
PROGRESS_LINE = re.compile(r"^.+: \w+ \d+(/\d+)? .*done, \d+\.\d s elapsed\n?$")


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
    if probe.says:  # what the user is told, beside the per-sequence progress lines of a run
        said = "".join(line for line in text.splitlines(keepends=True)
                       if not PROGRESS_LINE.match(line))
        assert re.search(probe.says, said), f"{probe.says!r} not in:\n{text}"
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
    return ["report", str(path), "--data-root", str(ctx.tmp), "--out", str(ctx.tmp / "a" / "rep"),
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
          prepare=lambda c: quiet_main(eval_otb(c, "--precision", "bf16")), slow=True),
    Probe("23 minor a: the same tensors saved again over the checkpoint are the same set-up",
          lambda c: eval_resaved(c, "--sequences", "Crossing"), 0, r"alexpul",
          prepare=resaved_first, slow=True),
    Probe("23 minor a: a record from before tensor hashes compares the file",
          lambda c: eval_resaved(c, "--sequences", "Crossing"), 2,
          r"different set-up: checkpoint sha256 ",
          prepare=record_of_old_format, slow=True),
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


def vot_pair(ctx: Ctx) -> None:
    """Result folders A and B: NanoTrack's published VOT2018 runs cut to ctx.vot's 20 frames;
    B fails on ball1's frame 2 and again once re-initialised, so no ball1 frame is scored
    (its accuracy cannot be computed)."""
    published = ctx.data / "reference" / "vot2018" / "results" / "NanoTrack" / "baseline"
    for tracker in ("A", "B"):
        for seq in ("bag", "ball1"):
            f = ctx.tmp / tracker / "baseline" / seq / f"{seq}_001.txt"
            f.parent.mkdir(parents=True)
            f.write_text("\n".join((published / seq / f"{seq}_001.txt").read_text()
                                   .splitlines()[:20]) + "\n")
    rows = (ctx.tmp / "A" / "baseline" / "ball1" / "ball1_001.txt").read_text().splitlines()
    lost = ["1", "2", "0", "0", "0", "0", "1", *rows[7:16], "2", "0", "0", "0"]
    (ctx.tmp / "B" / "baseline" / "ball1" / "ball1_001.txt").write_text("\n".join(lost) + "\n")


def got10k_split(ctx: Ctx, split: str = "val", count: int = 2) -> Path:
    """ctx.otb's sequences as the first ``count`` GOT-10k ``split`` sequences (images linked;
    val: cover labels, all visible); tracker folder T holds their ground truth as results,
    with rows 6-9 NaN (a tracker that lost the target)."""
    from pul_bench.benchmarks import get_benchmark
    from pul_bench.datasets.otb import read_boxes

    names = get_benchmark(f"got10k-{split}").sequences[:count]
    root = ctx.tmp / "got10k" / split
    for name, seq in zip(names, ["Crossing", "Football1"] * count, strict=False):
        d = root / name
        d.mkdir(parents=True)
        gt = read_boxes(ctx.otb / seq / "groundtruth_rect.txt") - [1, 1, 0, 0]
        rows = [",".join(f"{v:.3f}" for v in box) for box in gt]
        (d / "groundtruth.txt").write_text("\n".join(rows if split == "val" else rows[:1])
                                           + "\n")
        (d / "meta_info.ini").write_text("[METAINFO]\nresolution: (360, 240)\n")
        if split == "val":
            (d / "cover.label").write_text("8\n" * len(gt))
        for k, img in enumerate(sorted((ctx.otb / seq / "img").iterdir()), 1):
            (d / f"{k:08d}.jpg").symlink_to(img.resolve())
        rows[5:9] = ["nan,nan,nan,nan"] * 4
        (ctx.tmp / "T" / name).mkdir(parents=True)
        (ctx.tmp / "T" / name / f"{name}_001.txt").write_text("\n".join(rows) + "\n")
    (root / "list.txt").write_text("\n".join(names) + "\n")
    return root


def tre_runs_cut(ctx: Ctx) -> None:
    """kcf/tre/: 20 TRE runs of Crossing as eval writes them on ctx.otb (40 rows each)."""
    rows = (ctx.otb / "Crossing" / "groundtruth_rect.txt").read_text()
    for k in range(1, 21):
        f = ctx.tmp / "kcf" / "tre" / f"Crossing_{k}.txt"
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(rows)


def ope_cut(ctx: Ctx) -> None:
    """kcf/Crossing.txt: a one-pass result made on ctx.otb's 40 frames of Crossing."""
    (ctx.tmp / "kcf").mkdir()
    (ctx.tmp / "kcf" / "Crossing.txt").write_text(
        (ctx.otb / "Crossing" / "groundtruth_rect.txt").read_text())


def published_crossing(ctx: Ctx) -> None:
    """one/KCF and one/TLD: the published OTB results of Crossing only."""
    for tracker in ("KCF", "TLD"):
        (ctx.tmp / "one" / tracker).mkdir(parents=True)
        (ctx.tmp / "one" / tracker / "Crossing.txt").write_text(
            (ctx.data / "reference" / "otb" / "results" / tracker / "Crossing.txt").read_text())


def unlabelled_girl(ctx: Ctx) -> None:
    """ctx.otb/Girl: an OTB2015 sequence folder with images but no groundtruth_rect.txt."""
    (ctx.otb / "Girl" / "img").mkdir(parents=True)
    (ctx.otb / "Girl" / "img" / "0001.jpg").symlink_to(ctx.otb / "Crossing" / "img" / "0001.jpg")


def clips_one_empty(ctx: Ctx) -> None:
    """clips/a: three frames of an unlabeled clip; clips/b: an empty clip folder."""
    (ctx.tmp / "clips" / "b").mkdir(parents=True)
    (ctx.tmp / "clips" / "a").mkdir()
    for k in range(1, 4):
        (ctx.tmp / "clips" / "a" / f"{k:08d}.jpg").symlink_to(
            ctx.data / "unlabeled" / "carphone" / f"{k:08d}.jpg")


NAN_PROBES: list[Probe] = [
    Probe("23.5 compare: a NaN accuracy is named and left out",
          lambda c: ["compare", "vot2018", str(c.tmp / "A"), str(c.tmp / "B"), "--root",
                     str(c.vot)], 0,
          r"A vs B: one common sequence, nothing can be decided.*\(ball1 left out: no accuracy "
          r"for B there\)", prepare=vot_pair),
    Probe("23.5 score vot: a sequence without scored frames and an unreachable EAO are named",
          lambda c: ["score", "vot2018", str(c.tmp / "A"), str(c.tmp / "B"), "--root",
                     str(c.vot)], 0,
          r"note: no sequence in \S+ reaches the end of vot2018's EAO interval \[100, 356\] "
          r"\(the longest has 20 frames\)[\s\S]*note: \S+B/baseline/ball1: no frame of ball1 "
          r"is scored", prepare=vot_pair),
    Probe("23.6 score got10k-val: NaN rows are failures by got10k's rule, named",
          lambda c: ["score", "got10k-val", str(c.tmp / "T"), "--root", str(got10k_split(c)),
                     "--bootstrap", "0"], 0,
          r"T\s+0\.897\s+0\.897[\s\S]*note: \S+GOT-10k_Val_000001_001\.txt:6: 4 scored "
          r"row\(s\) with NaN \(first here\) count as failures, overlap 0, as got10k's"),
    Probe("23.7 submit got10k-test from a root with 2 of 180 sequences",
          lambda c: ["submit", "got10k-test", str(c.tmp / "T"), "--root",
                     str(got10k_split(c, "test")), "--out", str(c.tmp / "sub.zip")], 2,
          r"error: \S+test: the got10k-test split lacks 178 of 180 sequences \(first: "
          r"GOT-10k_Test_000003\); the server needs all of them",
          check=lambda c: not (c.tmp / "sub.zip").exists() or pytest.fail("zip written")),
    Probe("23.11 localise --bootstrap -1",
          lambda c: ["localise", "otb", "siamfc", "--root", str(c.otb), "--bootstrap", "-1"], 2,
          r"Invalid value for '--bootstrap': -1 is not in the range x>=0"),
    Probe("23.12 export of a tracker without a network",
          lambda c: ["export", "kcf", "--onnx", str(c.tmp / "x.onnx")], 2,
          r"error: tracker 'kcf' \(\S+OpenCVTracker\) has no network backbone to export",
          check=lambda c: not (c.tmp / "x.onnx").exists() or pytest.fail("file written")),
    Probe("23 score vot2018 --strict",
          lambda c: ["score", "vot2018", str(c.tmp / "A"), "--root", str(c.vot), "--strict"], 0,
          r"A\s+0\.713 \[", prepare=vot_pair),
    Probe("23 eval got10k-val --bootstrap 0 is honoured",
          lambda c: ["eval", "got10k-val", "kcf", "--root", str(got10k_split(c)), "--out",
                     str(c.tmp / "runs"), "--bootstrap", "0"], 0,
          r"\nkcf\s+0\.\d{3}\s+0\.\d{3}\s+0\.\d{3}\s+2\n"),
    Probe("23 plot got10k-val --protocol tre is refused",
          lambda c: ["plot", "got10k-val", str(c.tmp / "T"), "--root", str(got10k_split(c)),
                     "--out", str(c.tmp / "plots"), "--protocol", "tre"], 2,
          r"--protocol tre applies to OTB benchmarks, not got10k-val",
          check=lambda c: not (c.tmp / "plots").exists() or pytest.fail("plots written")),
    Probe("23 README: TRE results of another root say which --root",
          lambda c: ["score", "otb2015", str(c.tmp / "kcf"), "--protocol", "tre"], 2,
          r"Crossing_1\.txt:40: 40 boxes but run 1 of Crossing covers 120 frames .*; scored "
          r"against \S+, the default annotations: results made by eval --root DIR are scored "
          r"with the same --root DIR \(eval's default is --root \S+sequences/otb\)",
          prepare=tre_runs_cut),
    Probe("23 README: compare with a missing result folder",
          lambda c: ["compare", "otb2015", str(c.tmp / "csrt"), str(c.tmp / "kcf")], 2,
          r"error: \S+csrt: no such result folder", prepare=ope_cut),
    Probe("23 README: a short OPE file is a note, not a UserWarning",
          lambda c: ["score", "otb2015", str(c.tmp / "kcf"), "--bootstrap", "0"], 0,
          r"^(?![\s\S]*(UserWarning|\.py:\d+))[\s\S]*note: \S+Crossing\.txt:40: only 40 "
          r"boxes but Crossing has 120 evaluated frames", prepare=ope_cut),
    Probe("23 no-groundtruth note said once",
          lambda c: ["eval", "otb2015", "kcf", "--root", str(c.otb), "--out", str(c.tmp / "runs"),
                     "--bootstrap", "0"], 0,
          r"^(?![\s\S]*no groundtruth_rect[\s\S]*no groundtruth_rect)[\s\S]*note: \S+Girl: "
          r"no groundtruth_rect\.txt, so Girl cannot be evaluated", prepare=unlabelled_girl),
    Probe("23 compare on one sequence decides nothing",
          lambda c: ["compare", "otb2015", str(c.tmp / "one" / "KCF"), str(c.tmp / "one" / "TLD")],
          0, r"KCF vs TLD: one common sequence, nothing can be decided \(ΔAUC \+0\.317 on that "
          r"sequence alone\)", prepare=published_crossing),
    Probe("23 training clips: an empty clip folder is named",
          lambda c: ["train", "proposals", str(c.tmp / "clips"), "--out", str(c.tmp / "p.png")],
          0, r"note: \S+clips/b: no images \(.*\), so this clip is skipped",
          prepare=clips_one_empty),
]


# ---- OS errors, YAML tags, spec parameters (issue 23: 8-10) ---------------------------------

TINY_TABLE = """title: tiny
scale: "test scale"
data:
  otb: {benchmark: otb, root: otb, sequences: [Crossing, Football1]}
sections:
  - kind: table
    id: tab
    title: tiny table
    metrics: [{data: otb, metric: auc}]
    groups: [A]
    rows:
      - label: identity
        cells: [identity]
"""

#: a recipe for one tiny BD epoch on one short clip (AlexNet, 6 patches)
TINY_BD = """task: bd
backbone: alexnet
epochs: 1
seed: 3
data: {{root: {root}, kind: folders, stride: 20}}
runtime: {{device: cpu, workers: 1, threads: 1}}
bd: {{patches_per_video: 6, batch_size: 6, embed_batch: 8}}
"""


def a_file(c: Ctx, name: str = "afile") -> Path:
    """A plain file where a probe then asks for a folder."""
    (c.tmp / name).write_text("in the way\n")
    return c.tmp / name


def tiny_bd(c: Ctx) -> None:
    """``tmp/tiny.yaml``: :data:`TINY_BD` on the unlabeled clip 'tree' (linked)."""
    (c.tmp / "clips").mkdir()
    (c.tmp / "clips" / "tree").symlink_to(c.data / "unlabeled" / "tree")
    (c.tmp / "tiny.yaml").write_text(TINY_BD.format(root=c.tmp / "clips"))


def tn_chunk(c: Ctx) -> None:
    """A TrackingNet-layout chunk ``tmp/tn`` annotating Crossing (the published KCF has it)."""
    (c.tmp / "tn" / "anno").mkdir(parents=True)
    (c.tmp / "tn" / "anno" / "Crossing.txt").write_text(
        (c.data / "reference" / "otb" / "anno" / "Crossing.txt").read_text())


def results_kept(c: Ctx, out: str = "out", tracker: str = "kcf",
                 names: tuple[str, ...] = ("Crossing", "Football1")) -> None:
    """The sequences' results were written before the failure, and stay."""
    folder = c.tmp / out / "results" / "otb" / tracker
    for name in names:
        assert len((folder / f"{name}.txt").read_text().splitlines()) == 40


def absent(c: Ctx, *names: str) -> None:
    """Nothing was made at these paths (a command's file, an output left half-made)."""
    made = [name for name in names if (c.tmp / name).exists()]
    assert not made, made


OS_PROBES: list[Probe] = [
    Probe("23.8 eval --out below a file",
          lambda c: ["eval", "otb", "kcf", "--root", str(c.otb), "--out", str(c.tmp / "afile/o")],
          2, r"afile/o/results/otb/kcf: \S*afile is a file, where a directory is needed",
          prepare=a_file),
    Probe("23.8 eval result file is a directory",
          lambda c: ["eval", "otb", "kcf", "--root", str(c.otb), "--out", str(c.tmp / "out")],
          2, r"1 of 2 sequences failed \(the others are saved\):\n  Crossing: \S*/out/results/"
             r"otb/kcf/Crossing\.txt: is a directory, where a file is needed",
          prepare=lambda c: (c.tmp / "out/results/otb/kcf/Crossing.txt").mkdir(parents=True),
          check=lambda c: results_kept(c, names=("Football1",))),
    Probe("23.8 eval reports folder is a file: results kept",
          lambda c: ["eval", "otb", "kcf", "--root", str(c.otb), "--out", str(c.tmp / "out")],
          2, r"out/reports/otb: \S*out/reports is a file, where a directory is needed",
          prepare=lambda c: (c.tmp / "out").mkdir() or a_file(c, "out/reports"),
          check=results_kept),
    Probe("23.8 eval --out read-only (/sys)",
          lambda c: ["eval", "otb", "kcf", "--root", str(c.otb), "--out", "/sys/pulbench-probe"],
          2, r"/sys/pulbench-probe\S*: (permission denied|read-only file system)"),
    Probe("23.8 plot --out below a file",
          lambda c: ["plot", "otb2015", str(c.data / "reference/otb/results/KCF"),
                     "--out", str(c.tmp / "afile/plots")],
          2, r"afile/plots\S*: \S*afile is a file, where a directory is needed", prepare=a_file),
    Probe("23.8 submit --out below a file",
          lambda c: ["submit", "trackingnet", str(c.data / "reference/otb/results/KCF"),
                     "--root", str(c.tmp / "tn"), "--out", str(c.tmp / "afile/x.zip")],
          2, r"afile/x\.zip: \S*afile is a file, where a directory is needed",
          prepare=lambda c: (a_file(c), tn_chunk(c)) and None),
    Probe("23.8 report --out below a file: runs kept",
          lambda c: ["report", str(c.tmp / "r.yaml"), "--data-root", str(c.tmp), "--runs",
                     str(c.tmp / "runs"), "--kept", str(c.tmp / "kept"),
                     "--out", str(c.tmp / "afile/rep")],
          2, r"afile/rep\S*: \S*afile is a file, where a directory is needed",
          prepare=lambda c: (a_file(c), (c.tmp / "r.yaml").write_text(TINY_TABLE)) and None,
          check=lambda c: results_kept(c, "runs", "identity")),
    Probe("23.8 train --out below a file fails before training",
          lambda c: ["train", "bd", "--config", str(c.tmp / "tiny.yaml"), "--quiet",
                     "--out", str(c.tmp / "afile/run")],
          2, r"afile/run/checkpoints: \S*afile is a file, where a directory is needed",
          prepare=lambda c: (a_file(c), tiny_bd(c)) and None),
    Probe("23.9 !!python tag in --set",
          lambda c: ["train", "bd", "--config", str(c.tmp / "tiny.yaml"), "--out",
                     str(c.tmp / "run"), "--set",
                     f"seed=!!python/object/apply:os.system ['touch {c.tmp / 'PWNED'}']"],
          2, r"--set seed=!!python.*: YAML tag '!!python/object/apply:os\.system' is not "
             r"allowed", prepare=tiny_bd, check=lambda c: absent(c, "PWNED", "run")),
    Probe("23.9 !!python tag in a report recipe",
          lambda c: ["report", str(c.tmp / "r.yaml"), "--data-root", str(c.tmp), "--out",
                     str(c.tmp / "rep")],
          2, r"r\.yaml:2: YAML tag '!!python/name:os\.system' is not allowed",
          prepare=lambda c: (c.tmp / "r.yaml").write_text(
              TINY_TABLE.replace('"test scale"', "!!python/name:os.system ''")),
          check=lambda c: absent(c, "rep")),
]


# ---------------------------------------------------------------------------------------------

PROBES = [*SETUP_PROBES, *NAN_PROBES, *OS_PROBES]


@pytest.mark.parametrize("probe", [pytest.param(p, marks=pytest.mark.slow) if p.slow else p
                                   for p in PROBES], ids=[p.case for p in PROBES])
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
@pytest.mark.slow
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


def _strict_json(text: str) -> object:
    """``json.loads`` that refuses NaN and infinities (which Python's json would accept)."""
    import json

    def refuse(word: str) -> None:
        raise AssertionError(f"{word} in JSON output")
    return json.loads(text, parse_constant=refuse)


def test_nan_json_is_null(ctx: Ctx, capsys: pytest.CaptureFixture) -> None:
    """23.5: every --json output with an undefined metric is valid JSON (null, never NaN):
    compare (a NaN accuracy left out) and score (EAO on sequences shorter than its interval)."""
    vot_pair(ctx)
    dirs = [str(ctx.tmp / "A"), str(ctx.tmp / "B")]
    main(["compare", "vot2018", *dirs, "--root", str(ctx.vot), "--json"])
    (pair,) = _strict_json(capsys.readouterr().out)
    assert pair["undefined"] == {"B": ["ball1"]} and pair["n_sequences"] == 1
    assert pair["ci"] is None and pair["delta"] == 0.0
    main(["score", "vot2018", *dirs, "--root", str(ctx.vot), "--json"])
    scores = _strict_json(capsys.readouterr().out)
    assert scores["B"]["eao"] is None and scores["B"]["per_sequence"]["ball1"]["accuracy"] is None
    assert scores["A"]["accuracy"] > 0.7


def test_export_without_the_onnx_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture) -> None:
    """23.12: no onnx package -> one line naming the extra, no file, no traceback."""
    import sys

    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now raises ImportError
    with pytest.raises(SystemExit) as e:
        main(["export", "siamfc", "--onnx", str(tmp_path / "x.onnx")])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "Traceback" not in err
    assert "needs the onnx extra: pip install 'pul_bench[onnx]'" in err
    assert not (tmp_path / "x.onnx").exists()
    with pytest.raises(SystemExit) as e:  # kcf has no network: said first, whatever is installed
        main(["export", "kcf", "--onnx", str(tmp_path / "x.onnx")])
    assert e.value.code == 2 and "has no network backbone to export" in capsys.readouterr().err


# ---- OS-error probes that need more than one command ----------------------------------------


SPECS = {  # spec file -> what it says; each would run a command or fail at eval on the old code
    "tagged.yaml": "name: tagged\ndescription: a python tag\nfactory: pul_bench.tracker:"
                   "IdentityTracker\nargs:\n"
                   "  x: !!python/object/apply:os.system ['touch {mark}']\n",
    "system.yaml": "name: system\ndescription: os.system as a factory\nfactory: os:system\n"
                   "args:\n  command: touch {mark}\n",
    "kcf-typo.yaml": "name: kcf-typo\ndescription: a mistyped OpenCV parameter\nfactory: "
                     "pul_bench.trackers.opencv:OpenCVTracker\nargs:\n  algorithm: kcf\n"
                     "  params: {{detect_thresh: high}}\n",
}
SPEC_ERRORS = {
    "tagged": r"tagged\.yaml:5: YAML tag '!!python/object/apply:os\.system' is not allowed",
    "system": r"factory os:system is a builtin_function_or_method, not a tracker class or a "
              r"function defined in Python",
    "kcf-typo": r"kcf-typo\.yaml:6: args\.params\.detect_thresh: kcf: parameter detect_thresh "
                r"must be float, got 'high'",
}


@pytest.mark.parametrize("name", SPEC_ERRORS)
def test_hostile_spec_is_listed_not_run(name: str, ctx: Ctx, capsys: pytest.CaptureFixture,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """23.9, 23.10 and spec trust: a spec folder holding a !!python tag, `factory: os:system`
    or a mistyped OpenCV parameter still lists every tracker (that one not ready, with the
    reason at file:line), eval refuses it in one line and runs no command, and kcf still runs."""
    specs, mark = ctx.tmp / "specs", ctx.tmp / "PWNED"
    specs.mkdir()
    (specs / f"{name}.yaml").write_text(SPECS[f"{name}.yaml"].format(mark=mark))
    monkeypatch.setenv("PULBENCH_TRACKERS", str(specs))
    says = SPEC_ERRORS[name]
    text = run_probe(Probe("trackers", lambda c: ["trackers"], 0,
                           rf"\n{re.escape(name)} +not ready .*\n +.*{says}"), ctx, capsys)
    assert re.search(r"\nkcf +ready", text) and not mark.exists()
    refused = rf"^error: tracker '{name}' is not ready: .*{says}[^\n]*\n\Z"
    run_probe(Probe(name, lambda c: ["eval", "otb", name, "--root", str(c.otb),
                                     "--out", str(c.tmp / "out")], 2, refused), ctx, capsys)
    assert not mark.exists() and not (ctx.tmp / "out").exists()
    run_probe(Probe("kcf", lambda c: ["eval", "otb", "kcf", "--root", str(c.otb), "--out",
                                      str(c.tmp / "out")], 0), ctx, capsys)
    results_kept(ctx)


@pytest.mark.parametrize("code, says", [(errno.ENOSPC, "disk full"),
                                        (errno.EROFS, "read-only file system"),
                                        (errno.EACCES, "permission denied")])
def test_report_write_fails_results_stay(ctx: Ctx, capsys: pytest.CaptureFixture,
                                         monkeypatch: pytest.MonkeyPatch, code: int,
                                         says: str) -> None:
    """23.8: a full disk, a read-only file system or a denied write (tests run as root, so
    emulated) when eval writes its scores is one line naming the file; the sequences' results
    are kept, and the rerun after the fix reuses them."""
    real = os.replace

    def replace(src: str, dst: str) -> None:
        if str(dst).endswith("performance.json"):
            raise OSError(code, os.strerror(code))  # as a failed write: no file name
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    argv = ["eval", "otb", "kcf", "--root", str(ctx.otb), "--out", str(ctx.tmp / "out")]
    says = rf"^error: \S*out/reports/otb/performance\.json: {says}[^\n]*\n\Z"
    run_probe(Probe("full", lambda c: argv, 2, says), ctx, capsys)
    results_kept(ctx)
    stamp = (ctx.tmp / "out/results/otb/kcf/Crossing.txt").stat().st_mtime_ns
    monkeypatch.setattr(os, "replace", real)
    run_probe(Probe("again", lambda c: argv, 0), ctx, capsys)
    assert (ctx.tmp / "out/results/otb/kcf/Crossing.txt").stat().st_mtime_ns == stamp
    assert not list((ctx.tmp / "out/reports/otb").glob(".performance.json.*.tmp"))


def test_proposal_cache_below_a_file(ctx: Ctx, capsys: pytest.CaptureFixture,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """23.8: a proposal cache ($PUL_TRAIN_CACHE) where a file stands is one line naming it."""
    tiny_bd(ctx)
    monkeypatch.setenv("PUL_TRAIN_CACHE", str(a_file(ctx)))
    run_probe(Probe("cache", lambda c: ["train", "proposals", str(c.tmp / "clips"), "--all",
                                        "--stride", "30", "--workers", "1"],
                    2, r"^error: \S*afile/proposals/\S+: \S*afile is a file, where a directory "
                       r"is needed\n\Z"), ctx, capsys)
