"""``pulbench bench``: measurements of trackers (``speed``; ``precision``, the accuracy cost of a
lower inference precision).

``bench speed`` times the per-frame update (crop, network, response post-processing; not image
decoding) on real frames, for the optimised tracker and, in the same run and on the same frames,
the plain eager network (fp32, NCHW, batch norm unfused) of a SiamFC-family tracker, and any
``--against`` trackers (NanoTrack beside AlexPUL). Rounds alternate between them, so load from
other processes affects all alike. Without a trained checkpoint it times seeded random weights
of the same network: speed does not depend on the weights. Trackers of other families (ONNX
NanoTrack, OpenCV) are timed as they are, without the eager variant or a FLOP count.

``bench precision`` runs the OTB one-pass evaluation twice, fp32 and the lower precision, on
the same sequences and reports both AUCs and their difference.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from pathlib import Path
from typing import Any

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
    """Up to ``per_sequence`` decoded frames of each OTB-layout sequence, ``total`` at most, with
    the first box; read by the OTB dataset reader, so its special cases hold (two targets in one
    folder, a later first annotated frame, images past the last box)."""
    from pul_bench.benchmarks import get_benchmark
    from pul_bench.datasets.otb import load_otb

    seqs, missing = load_otb(get_benchmark("otb"), root, sequences)
    if missing:
        raise PulBenchError(f"no OTB-layout sequence {', '.join(missing)} under {root}")
    if not seqs:
        raise PulBenchError(f"no OTB-layout sequences (<name>/img/) under {root}")
    out, count = [], 0
    for seq in seqs:
        files = seq.frames[: min(per_sequence, total - count)]
        if len(files) < 2:
            continue
        out.append(([read_image(f) for f in files], seq.groundtruth[0].copy()))
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
@click.option("--against", multiple=True,
              help="Another tracker timed in the same rounds on the same frames (repeatable).")
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON object (fps, gflop_per_frame, gflops, eager_fps, speedup, "
                   "against).")
def speed_cmd(tracker: str, precision: str, threads: int | None, root: Path | None,
              sequences: str | None, total: int, per_sequence: int, rounds: int,
              checkpoint: Path | None, against: tuple[str, ...], as_json: bool) -> None:
    """Median tracking fps of TRACKER on real frames; for a SiamFC-family tracker also its
    GFLOP per frame and GFLOP/s against the plain eager PyTorch network, and for each
    --against tracker its fps, all measured in the same run."""
    spec, note = _timed_spec(tracker, checkpoint)
    fast = _build(spec, checkpoint, precision=precision, threads=threads)
    timed = {"fast": fast}
    if hasattr(fast, "responses"):  # a SiamFC-family tracker: the eager network beside it
        timed["eager"] = _build(spec, checkpoint, precision="fp32", threads=threads,
                                optimize=False)
    for name in against:
        other, other_note = _timed_spec(name, None)
        timed[name] = _build(other, None, precision=precision, threads=threads)
        note = "; ".join(x for x in (note, other_note and f"{name}: {other_note}") if x) or None
    root = root or data_root() / "sequences" / "otb"
    names = sequence_names(sequences)
    clips = _frames(root, names, per_sequence, total)
    n = sum(len(images) - 1 for images, _ in clips)
    times: dict[str, list[float]] = {key: [] for key in timed}
    with progress_bar(total=len(timed) * rounds * n, desc=f"bench {tracker}", unit="frame",
                      disable=as_json) as bar:
        for _ in range(rounds):
            for images, box in clips:
                for key, t in timed.items():
                    times[key] += _time_round(t, images, box, bar)
    fps = {key: 1 / statistics.median(v) for key, v in times.items()}
    import torch

    result = {
        "tracker": tracker, "precision": precision if spec.takes("precision") else None,
        "device": str(getattr(fast, "device", "cpu")), "threads": torch.get_num_threads(),
        "frames": n, "rounds": rounds, "fps": round(fps["fast"], 2), "gflop_per_frame": None,
        "gflops": None, "eager_fps": None, "eager_gflops": None, "speedup": None,
        "against": {name: round(fps[name], 2) for name in against}, "note": note,
    }
    if "eager" in timed:
        images, box = clips[0]
        gflop = _gflop_per_frame(timed["eager"], images[1], box)
        result.update(gflop_per_frame=round(gflop, 3), gflops=round(fps["fast"] * gflop, 1),
                      eager_fps=round(fps["eager"], 2),
                      eager_gflops=round(fps["eager"] * gflop, 1),
                      speedup=round(fps["fast"] / fps["eager"], 3))
    if as_json:
        click.echo(json_text(result))
        return
    if note:
        click.echo(f"note: {note}")
    click.echo(f"{tracker} ({result['precision'] or 'its own precision'}, {result['device']}, "
               f"{result['threads']} torch threads, {n} frames x {rounds} rounds)")
    if "eager" in timed:
        click.echo(f"  optimised : {fps['fast']:7.2f} fps  {result['gflops']:7.1f} GFLOP/s")
        click.echo(f"  eager fp32: {fps['eager']:7.2f} fps  {result['eager_gflops']:7.1f} GFLOP/s")
        click.echo(f"  {result['gflop_per_frame']:.2f} GFLOP per frame; speedup "
                   f"{result['speedup']:.2f}x")
    else:
        click.echo(f"  {tracker}: {fps['fast']:7.2f} fps")
    for name in against:
        click.echo(f"  {name}: {fps[name]:7.2f} fps (same frames, same rounds)")


def _timed_spec(name: str, checkpoint: Path | None) -> tuple[Any, str | None]:
    """The spec to time; a missing trained checkpoint times seeded random weights instead."""
    spec = get_spec(name)
    if checkpoint is None and spec.checkpoint is not None and not spec.checkpoint.is_file():
        return (dataclasses.replace(spec, checkpoint=None),
                "checkpoint missing: timing seeded random weights of the same network")
    return spec, None


def _build(spec: Any, checkpoint: Path | None, **options: Any) -> Tracker:
    """The tracker, given those of ``options`` its factory takes (NanoTrack has no precision)."""
    return spec.create(checkpoint=checkpoint,
                       **{k: v for k, v in options.items() if spec.takes(k)})


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
    bench = get_benchmark("otb", data_root(required=False))
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
