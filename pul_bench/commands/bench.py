"""``pulbench bench``: measurements of trackers (``speed``; ``precision``, the accuracy cost of a
lower inference precision).

``bench speed`` times the per-frame update (crop, network, response post-processing; not image
decoding) on real frames, for the optimised tracker and, in the same run and on the same frames,
the plain eager network (fp32, NCHW, batch norm unfused). Rounds alternate between the two, so
load from other processes affects both alike. Without a trained checkpoint it times seeded
random weights of the same network: speed does not depend on the weights.

``bench precision`` runs the OTB one-pass evaluation twice, fp32 and the lower precision, on
the same sequences and reports both AUCs and their difference.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from pathlib import Path

import click
import numpy as np
from tqdm import tqdm

from pul_bench.commands.evaluate import sequence_names
from pul_bench.errors import PulBenchError
from pul_bench.io import json_text, progress_bar
from pul_bench.paths import data_root
from pul_bench.registry import get_spec
from pul_bench.tracker import PRECISIONS, Tracker, read_image


@click.group("bench")
def bench_cmd() -> None:
    """Measure trackers: tracking speed, and the score change of a lower precision."""


def _frames(root: Path, sequences: list[str] | None, per_sequence: int,
            total: int) -> list[tuple[list[np.ndarray], np.ndarray]]:
    """Up to ``per_sequence`` decoded frames of each OTB-layout sequence, ``total`` at most."""
    from pul_bench.io import read_table

    names = sequences or sorted(p.name for p in root.iterdir() if (p / "img").is_dir())
    if not names:
        raise PulBenchError(f"no OTB-layout sequences (<name>/img/) under {root}")
    out, count = [], 0
    for name in names:
        seq = root / name
        gt_file = next(iter(sorted(seq.glob("groundtruth*.txt"))), None)
        if gt_file is None:
            raise PulBenchError(f"{seq}: no groundtruth*.txt")
        box = read_table(gt_file, 4)[0].copy()
        box[:2] -= 1  # OTB files are 1-based
        files = sorted((seq / "img").glob("*.jpg"))[: min(per_sequence, total - count)]
        if len(files) < 2:
            continue
        out.append(([read_image(f) for f in files], box))
        count += len(files)
        if count >= total:
            break
    return out


def _time_round(tracker: Tracker, images: list[np.ndarray], box: np.ndarray,
                bar: tqdm) -> list[float]:
    tracker.init(images[0], box)
    times = []
    for image in images[1:]:
        t0 = time.perf_counter()
        tracker.update(image)
        times.append(time.perf_counter() - t0)
        bar.update(1)
    return times


def _gflop_per_frame(tracker: Tracker, image: np.ndarray, box: np.ndarray) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    tracker.init(image, box)
    with FlopCounterMode(display=False) as counter:
        tracker.responses(image)
    return counter.get_total_flops() / 1e9


@bench_cmd.command("speed")
@click.argument("tracker")
@click.option("--precision", type=click.Choice(PRECISIONS), default="fp32",
              show_default=True, help="Inference precision of the optimised tracker.")
@click.option("--threads", type=int, help="torch intra-op threads (default: torch's choice).")
@click.option("--root", type=click.Path(path_type=Path, file_okay=False),
              help="OTB-layout folder of real frames (default: the shared sequences/otb).")
@click.option("--sequences", help="Comma-separated subset of sequence names.")
@click.option("--frames", "total", type=int, default=120, show_default=True,
              help="Frames timed per round, over all sequences.")
@click.option("--per-sequence", type=int, default=40, show_default=True,
              help="Frames taken from each sequence.")
@click.option("--rounds", type=int, default=2, show_default=True,
              help="Alternating rounds (eager, optimised) over the same frames.")
@click.option("--checkpoint", type=click.Path(path_type=Path, dir_okay=False),
              help="Weights to load instead of the spec's.")
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON object (fps, gflop_per_frame, gflops, eager_fps, speedup).")
def speed_cmd(tracker: str, precision: str, threads: int | None, root: Path | None,
              sequences: str | None, total: int, per_sequence: int, rounds: int,
              checkpoint: Path | None, as_json: bool) -> None:
    """Median tracking fps of TRACKER on real frames, its GFLOP per frame and GFLOP/s,
    against the plain eager PyTorch network measured in the same run."""
    spec = get_spec(tracker)
    note = None
    if checkpoint is None and spec.checkpoint is not None and not spec.checkpoint.is_file():
        spec = dataclasses.replace(spec, checkpoint=None)
        note = "checkpoint missing: timing seeded random weights of the same network"
    fast = spec.create(checkpoint=checkpoint, precision=precision, threads=threads)
    if not hasattr(fast, "responses"):
        raise PulBenchError(f"tracker {tracker!r} is not a Siamese tracker; bench speed times "
                            "SiamFCTracker specs")
    eager = spec.create(checkpoint=checkpoint, precision="fp32", threads=threads,
                        optimize=False)
    root = root or data_root() / "sequences" / "otb"
    names = sequence_names(sequences)
    clips = _frames(root, names, per_sequence, total)
    n = sum(len(images) - 1 for images, _ in clips)
    times: dict[str, list[float]] = {"eager": [], "fast": []}
    with progress_bar(total=2 * rounds * n, desc=f"bench {tracker}", unit="frame",
                      disable=as_json) as bar:
        for _ in range(rounds):
            for images, box in clips:
                times["eager"] += _time_round(eager, images, box, bar)
                times["fast"] += _time_round(fast, images, box, bar)
    images, box = clips[0]
    gflop = _gflop_per_frame(eager, images[1], box)
    fps = 1 / statistics.median(times["fast"])
    eager_fps = 1 / statistics.median(times["eager"])
    import torch

    result = {
        "tracker": tracker, "precision": precision, "device": str(fast.device),
        "threads": torch.get_num_threads(), "frames": n, "rounds": rounds,
        "fps": round(fps, 2), "gflop_per_frame": round(gflop, 3), "gflops": round(fps * gflop, 1),
        "eager_fps": round(eager_fps, 2), "eager_gflops": round(eager_fps * gflop, 1),
        "speedup": round(fps / eager_fps, 3), "note": note,
    }
    if as_json:
        click.echo(json_text(result))
        return
    if note:
        click.echo(f"note: {note}")
    click.echo(f"{tracker} ({precision}, {result['device']}, {result['threads']} threads, "
               f"{n} frames x {rounds} rounds)")
    click.echo(f"  optimised : {fps:7.2f} fps  {fps * gflop:7.1f} GFLOP/s")
    click.echo(f"  eager fp32: {eager_fps:7.2f} fps  {eager_fps * gflop:7.1f} GFLOP/s")
    click.echo(f"  {gflop:.2f} GFLOP per frame; speedup {fps / eager_fps:.2f}x")


@bench_cmd.command("precision")
@click.argument("tracker")
@click.option("--precision", type=click.Choice(["bf16", "fp16"]), default="bf16",
              show_default=True, help="The precision compared with fp32.")
@click.option("--root", type=click.Path(path_type=Path, file_okay=False),
              help="OTB-layout folder (default: the shared sequences/otb).")
@click.option("--sequences", help="Comma-separated subset of sequence names.")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False),
              default=Path("runs/bench-precision"), show_default=True,
              help="Where both runs' results go (resumable).")
@click.option("--checkpoint", type=click.Path(path_type=Path, dir_okay=False),
              help="Weights to load instead of the spec's.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def precision_cmd(tracker: str, precision: str, root: Path | None, sequences: str | None,
                  out: Path, checkpoint: Path | None, as_json: bool) -> None:
    """OTB AUC of TRACKER in fp32 and in a lower precision on the same sequences."""
    from pul_bench.benchmarks import get_benchmark
    from pul_bench.experiments.ope import evaluate
    from pul_bench.registry import register

    spec = get_spec(tracker)
    bench = get_benchmark("otb")
    names = sequence_names(sequences)
    aucs = {}
    for prec in ("fp32", precision):
        variant = f"{tracker}@{prec}"
        register(variant, spec.factory, spec.description, args={**spec.args, "precision": prec},
                 checkpoint=spec.checkpoint, train=spec.train)
        scores = evaluate(bench=bench, tracker=variant, root=root or bench.default_root(),
                          out=out, sequences=names, checkpoint=checkpoint)
        aucs[prec] = scores[variant]["auc"]
    result = {"tracker": tracker, "auc_fp32": aucs["fp32"], f"auc_{precision}": aucs[precision],
              "auc_change": aucs[precision] - aucs["fp32"]}
    if as_json:
        click.echo(json_text(result))
        return
    click.echo(f"{tracker}: AUC fp32 {aucs['fp32']:.4f}, {precision} {aucs[precision]:.4f}, "
               f"change {result['auc_change']:+.4f}")
