"""Does the BD data pipeline keep up with training? Prints pure forward/backward throughput
(one fixed batch, no data work) and the throughput of the real epoch loop (patch crops cut one
epoch ahead, augmentation in the prefetch thread, the same model and optimizer), interleaved
round by round so that load from other processes hits both alike. Goal: pipeline >= 90% of
pure. AHM's per-epoch embedding pass is model compute, not data work: it is timed apart.

    python scripts/bench_bd_pipeline.py                  # CPU-scale recipe, AlexNet
    python scripts/bench_bd_pipeline.py --recipe alexpul-bd-ahm --first-epoch 10   # AHM phase
    python scripts/bench_bd_pipeline.py --recipe alexpul-bd-ahm-paper --data-root /data
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ThreadPoolExecutor

import torch

from pul_bench.paths import data_root
from pul_train.recipe import load_recipe, task_class
from pul_train.trainer import (
    Dist,
    resolve_precision,
    resolve_root,
    run_epoch,
    to_device,
    train_step,
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--recipe", default="alexpul-bd")
    ap.add_argument("--data-root", default=None)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--first-epoch", type=int, default=0,
                    help="epoch the rounds start at (e.g. 10 for alexpul-bd-ahm's AHM phase)")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    recipe = load_recipe(args.recipe)
    root = resolve_root(recipe, args.data_root or data_root())
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    d = Dist(0, 1, device)
    task = task_class(recipe.task)(recipe, root, device, False)
    task.prepare(compute=True)
    model = task.build_model().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=recipe.optimizer.lr)
    prec = resolve_precision(recipe.runtime.precision, device, recipe.runtime.channels_last)
    if prec.channels_last:
        model = model.to(memory_format=torch.channels_last)
    scaler = torch.amp.GradScaler(device.type, enabled=prec.scaled)
    e0 = args.first_epoch
    plan = task.epoch_batches(e0, model)
    fixed = to_device(task.make_batch(e0, 0, plan[0]), device, prec)

    def pure_step() -> int:
        return train_step(task, model, opt, scaler, prec, fixed)[1]

    pure_step()  # warm-up
    pure_imgs = pipe_imgs = 0
    pure_s = pipe_s = crop_s = ahm_s = 0.0
    with ThreadPoolExecutor(1) as loader:
        for r in range(args.rounds):
            if device.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            for _ in range(len(plan)):
                pure_imgs += pure_step()
            if device.type == "cuda":
                torch.cuda.synchronize()
            pure_s += time.perf_counter() - t0
            plan = task.epoch_batches(e0 + r + 1, model)
            crop_s += task.timing["crop_wait_s"]
            ahm_s += task.timing["ahm_s"]
            row = run_epoch(task, model, opt, scaler, prec, loader, e0 + r + 1, plan, d, False)
            pipe_imgs += row["images"]
            pipe_s += row["seconds"]
            print(f"round {r + 1}: pure {pure_imgs / pure_s:.1f} img/s, pipeline "
                  f"{pipe_imgs / pipe_s:.1f} img/s (data wait {row['data_wait_s']:.2f} s)",
                  flush=True)
    pure, pipe = pure_imgs / pure_s, pipe_imgs / pipe_s
    with_crops = pipe_imgs / (pipe_s + crop_s)
    with_ahm = pipe_imgs / (pipe_s + crop_s + ahm_s)
    print(f"device {device}, precision {prec.name}, threads {torch.get_num_threads()}, "
          f"recipe {args.recipe}, phase {task.phase(e0 + 1)}")
    print(f"pure forward/backward: {pure:.1f} images/s")
    print(f"data pipeline + training: {pipe:.1f} images/s = {100 * pipe / pure:.1f}% of pure")
    print(f"  + waiting for the epoch's patch crops ({crop_s:.2f} s): {with_crops:.1f} images/s"
          f" = {100 * with_crops / pure:.1f}% of pure")
    if task.phase(e0 + 1) == "ahm":
        print(f"  + AHM embedding and ranking ({ahm_s:.2f} s): {with_ahm:.1f} images/s = "
              f"{100 * with_ahm / pure:.1f}% of pure")


if __name__ == "__main__":
    main()
