"""The PUL chain on one accelerator, timed: BD (with AHM) -> temporal mining -> TC, then tracking.

Made for a borrowed GPU that cannot reach the shared data folder: it first copies the smallest
shared unlabeled clips and one OTB sequence into ``--data`` (default ``gpu_data/`` in the
checkout, git-ignored), so that folder can travel with the checkout. The device tool carries at
most 64 MiB with the tracked files, so the default budget is what those leave. The GPU machine's
OpenCV has no contrib modules (no EdgeBoxes), so the copied frames' proposals are computed here
and stored beside them; there they are put into the proposal cache before training. Then it
trains with ``runtime.precision: auto`` (bf16, or fp16 with loss scaling) and prints one JSON
object: BD images/s, mining pairs/s, TC pairs/s, tracking fps and peak memory per stage. With
``--json`` the object is rewritten after every stage, and a stage that fails leaves its
traceback there, so one borrowed run tells everything it reached.

    python scripts/gpu_chain.py --copy-only                 # here: fill gpu_data/
    python scripts/gpu_chain.py --device cuda --json gpu_chain.json   # on the GPU machine
    python scripts/gpu_chain.py --device cpu --dry-run --out /tmp/gc  # seconds: checks the plumbing

``--dry-run`` shrinks every stage (two clips, one epoch each, a handful of pairs and frames).
No stage reads an evaluation sequence for training: the OTB sequence is only tracked.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pul_bench.datasets.otb import read_boxes
from pul_bench.io import atomic_path, json_text, write_json
from pul_bench.paths import REPO_ROOT, data_root
from pul_bench.tracker import read_image
from pul_train.proposals import CACHE_ENV, ProposalSettings, cache_path, frame_proposals
from pul_train.video import FrameRef, image_files

TRACK_SEQUENCE = "Crossing"  # 120 frames, 1.5 MiB
CARRY_LIMIT_MIB = 64.0  # the device tool's limit on the tracked files plus carried folders
BD_RECIPE = "alexpul-bd-ahm"


def default_budget_mib(margin_mib: float = 2.0) -> float:
    """What the carry limit leaves beside the checkout's tracked files, less a margin."""
    names = subprocess.run(["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True,
                           check=True).stdout.decode().split("\0")
    tracked = sum((REPO_ROOT / n).stat().st_size for n in names if (REPO_ROOT / n).is_file())
    return CARRY_LIMIT_MIB - tracked / 2**20 - margin_mib


def proposal_settings() -> ProposalSettings:
    """The BD recipe's proposal settings: part of the cache key on both machines."""
    from pul_train.recipe import load_recipe

    return load_recipe(BD_RECIPE, []).proposals


def store_proposals(data: Path, clips: list[str], settings: ProposalSettings) -> None:
    """Compute (or read from this machine's cache) every frame's proposals of each clip and
    store them in ``data/proposals/<clip>.npz``, keyed by the frame's file name."""
    for name in clips:
        target = data / "proposals" / f"{name}.npz"
        if target.is_file():
            continue
        frames = [FrameRef(f) for f in image_files(data / "unlabeled" / name)]
        boxes = frame_proposals(frames, settings, workers=2, progress=False)
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(target) as tmp, open(tmp, "wb") as f:
            np.savez(f, **{fr.path.name: b for fr, b in zip(frames, boxes, strict=True)})


def seed_proposal_cache(data: Path, clips_root: Path, settings: ProposalSettings,
                        cache: Path) -> int:
    """Write the stored proposals where ``frame_proposals`` looks for this machine's copies of
    the frames (its cache key holds their paths); returns how many frames were seeded."""
    seeded = 0
    for stored in sorted((data / "proposals").glob("*.npz")):
        clip = clips_root / stored.stem
        if not clip.is_dir():
            continue
        with np.load(stored) as boxes:
            for name in boxes.files:
                path = cache_path(FrameRef(clip / name), settings, cache)
                path.parent.mkdir(parents=True, exist_ok=True)
                np.save(path, boxes[name])
                seeded += 1
    return seeded


def copy_data(src: Path, dest: Path, budget_mib: float, clips: int | None) -> list[str]:
    """Copy the smallest unlabeled clips (all, or ``clips`` of them) that fit ``budget_mib``,
    and the tracking sequence, into ``dest``; existing copies are kept. Returns the clips."""
    sizes = {d.name: sum(f.stat().st_size for f in image_files(d))
             for d in sorted((src / "unlabeled").iterdir()) if d.is_dir()}
    seq = src / "sequences" / "otb" / TRACK_SEQUENCE
    left = budget_mib * 2**20 - sum(f.stat().st_size for f in seq.rglob("*") if f.is_file())
    chosen = []
    for name in sorted(sizes, key=lambda n: (sizes[n], n)):
        if sizes[name] > left or (clips is not None and len(chosen) == clips):
            break
        chosen.append(name)
        left -= sizes[name]
    for name in chosen:
        target = dest / "unlabeled" / name
        if not target.is_dir():
            shutil.copytree(src / "unlabeled" / name, target.with_suffix(".tmp"),
                            dirs_exist_ok=True)
            target.with_suffix(".tmp").rename(target)
    if not (dest / "otb" / TRACK_SEQUENCE).is_dir():
        shutil.copytree(seq, dest / "otb" / TRACK_SEQUENCE)
    return chosen


def peak_memory(device: torch.device) -> float:
    """Peak memory so far in MiB: the GPU's allocator on CUDA, the process's RSS on CPU."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)


def run_chain(clips: Path, seq: Path, out: Path, device: torch.device, dry_run: bool,
              result: dict[str, Any], saved: Callable[[], None]) -> None:
    """BD+AHM, mining and TC on the clip folders in ``clips``, then tracking on the OTB
    sequence ``seq``; each stage's figures go into ``result``, then ``saved`` is called."""
    from pul_bench.registry import create
    from pul_train.recipe import load_recipe
    from pul_train.tc import TCTask
    from pul_train.trainer import train

    common = [f"data.root={clips.resolve()}", f"runtime.device={device.type}",
              "runtime.precision=auto", "runtime.channels_last=true",
              f"runtime.workers={min(8, os.cpu_count() or 1)}"]  # crop threads feed the GPU
    if dry_run:
        bd_sets = ["epochs=2", "data.stride=30", "bd.patches_per_video=4", "bd.batch_size=2",
                   "bd.ahm_start_epoch=1", "bd.ahm_expansion=2", "bd.frames_per_video=2"]
        tc_sets = ["epochs=1", "data.stride=40", "tc.per_frame=1", "tc.batch_size=4",
                   "tc.lengths=[3]"]
        track_frames = 8
    else:
        bd_sets = ["epochs=12", "data.stride=5", "bd.patches_per_video=24", "bd.batch_size=32",
                   "bd.ahm_start_epoch=4", "bd.frames_per_video=8",
                   "bd.sampling=across_clips", "bd.mask_iou=0.3", "bd.embed_batch=512"]
        tc_sets = ["epochs=3", "data.stride=5", "tc.per_frame=4", "tc.batch_size=64",
                   "tc.mine_batch=256"]
        track_frames = 0  # all
    result.update(device=str(device), dry_run=dry_run, torch=torch.__version__)
    if device.type == "cuda":
        result["gpu"] = torch.cuda.get_device_name(device)

    _reset_peak(device)
    bd_recipe = load_recipe(BD_RECIPE, [*common, *bd_sets])
    t0 = time.perf_counter()
    bd = train(bd_recipe, out / "bd", progress=False)
    rows = bd["log"]
    result["bd"] = {"seconds": round(time.perf_counter() - t0, 2),
                    "images_per_s": round(sum(r["images"] for r in rows)
                                          / sum(r["seconds"] for r in rows), 1),
                    "final_loss": round(rows[-1]["loss"], 4),
                    "overlap_neg": rows[-1].get("overlap_neg"),
                    "peak_mib": round(peak_memory(device), 1)}
    saved()

    model = str(Path(bd["model"]).resolve())
    tc_common = [*common, *tc_sets, f"tc.init={model}", "tc.extra_pairs=[]",
                 f"tc.pairs_dir={(out / 'mined').resolve()}"]
    tc_recipe = load_recipe("alexpul-tcl10", tc_common)
    _reset_peak(device)
    t0 = time.perf_counter()
    task = TCTask(tc_recipe, clips, device, False)
    task.prepare(compute=True)  # mines (stored; train() below finds the pairs done)
    mine_s = time.perf_counter() - t0
    pairs = len(task.keep)
    result["mining"] = {"pairs": pairs, "seconds": round(mine_s, 2),
                        "pairs_per_s": round(pairs / mine_s, 2),
                        "peak_mib": round(peak_memory(device), 1)}
    saved()

    _reset_peak(device)
    t0 = time.perf_counter()
    tc = train(tc_recipe, out / "tc", progress=False)
    rows = tc["log"]
    result["tc"] = {"seconds": round(time.perf_counter() - t0, 2),
                    "pairs_per_s": round(sum(r["images"] for r in rows) / 2
                                         / sum(r["seconds"] for r in rows), 1),
                    "final_loss": round(rows[-1]["loss"], 4),
                    "peak_mib": round(peak_memory(device), 1)}
    saved()

    _reset_peak(device)
    frames = image_files(seq / "img")
    gt = read_boxes(seq / "groundtruth_rect.txt")
    n = min(len(frames), len(gt)) if not track_frames else track_frames
    tracker = create("alexpul-tcl10", checkpoint=tc["model"], device=device.type)
    images = [read_image(f) for f in frames[:n]]
    box0 = gt[0].copy()
    box0[:2] -= 1  # OTB files are 1-based
    tracker.init(images[0], box0)
    t0 = time.perf_counter()
    for image in images[1:]:
        tracker.update(image)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    seconds = time.perf_counter() - t0
    result["tracking"] = {"sequence": TRACK_SEQUENCE, "frames": n - 1,
                          "fps": round((n - 1) / seconds, 1),
                          "peak_mib": round(peak_memory(device), 1)}
    saved()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    ap.add_argument("--dry-run", action="store_true", help="tiny stages: checks the plumbing")
    ap.add_argument("--data", type=Path, default=REPO_ROOT / "gpu_data",
                    help="where the copied clips live (default: gpu_data/ in the checkout)")
    ap.add_argument("--source", type=Path, default=None,
                    help="shared data folder to copy from (default: the usual one)")
    ap.add_argument("--budget-mib", type=float, default=None,
                    help="most MiB to copy (default: what 64 MiB leaves beside the tracked "
                         "files, less 2)")
    ap.add_argument("--copy-only", action="store_true", help="only fill --data")
    ap.add_argument("--out", type=Path, default=REPO_ROOT / "runs" / "gpu_chain")
    ap.add_argument("--json", type=Path, help="also write the result here, after every stage")
    args = ap.parse_args(argv)
    if args.device == "cuda" and not args.copy_only and not torch.cuda.is_available():
        print("no CUDA device here: use --device cpu (e.g. with --dry-run)", file=sys.stderr)
        return 2
    if not args.copy_only and (args.out / "bd").exists():
        print(f"{args.out} holds an earlier chain: choose another --out", file=sys.stderr)
        return 2
    settings = proposal_settings()
    source = args.source or data_root(required=False)
    if source is not None and (source / "unlabeled").is_dir():
        budget = args.budget_mib if args.budget_mib is not None else default_budget_mib()
        clips = copy_data(source, args.data, budget, 2 if args.dry_run else None)
        store_proposals(args.data, clips, settings)
    else:  # the GPU machine: the copy travelled with the checkout
        clips = sorted(d.name for d in (args.data / "unlabeled").iterdir() if d.is_dir())
    if args.copy_only:
        print(f"{len(clips)} clips in {args.data / 'unlabeled'}, with their proposals")
        return 0
    root = args.data / "unlabeled"
    if args.dry_run:  # two clips only, linked into the run folder
        clips, root = clips[:2], args.out / "clips"
        root.mkdir(parents=True, exist_ok=True)
        for name in clips:
            if not (root / name).exists():
                (root / name).symlink_to((args.data / "unlabeled" / name).resolve())
    cache = Path(os.environ.get(CACHE_ENV) or args.out / "cache") / "proposals"
    os.environ[CACHE_ENV] = str(cache.parent)
    result: dict[str, Any] = {
        "clips": len(clips), "frames": sum(len(image_files(root / c)) for c in clips),
        "proposals_seeded": seed_proposal_cache(args.data, root, settings, cache)}

    def saved() -> None:
        if args.json:
            write_json(args.json, result)

    try:
        run_chain(root, args.data / "otb" / TRACK_SEQUENCE, args.out, torch.device(args.device),
                  args.dry_run, result, saved)
    except Exception:
        result["error"] = traceback.format_exc()
        saved()
        print(json_text(result))
        return 1
    print(json_text(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
