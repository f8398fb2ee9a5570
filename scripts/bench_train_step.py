"""How fast does one training step run in fp32, bf16 and channels-last? BD (NT-Xent on two
augmented views of real proposal patches) and TC (SiamFC pairs cut from real frames, NR loss +
contrastive term) training steps per second and achieved GFLOP/s, every precision in the same
run: rounds are interleaved (each round times every mode once) so that load from other
processes hits all alike, and medians over rounds are reported. Speed-ups are medians of each
round's ratio to the fp32 time of the same round, so load that drifts between rounds cancels.

Every mode starts from the same weights and trains on the same batches in the same order, so
their loss curves are comparable; an fp32 run with seed 2 (BD: another initialisation; TC: the
same checkpoint, other shifts and flips of the same pairs) gives the seed noise they are compared
with (mean |difference| of the per-step losses from the fp32 run's).

    python scripts/bench_train_step.py                    # both tasks, 5 rounds of 6 steps
    python scripts/bench_train_step.py --task bd --rounds 9 --json out.json
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from pul_bench.geometry import exemplar_crop
from pul_bench.io import json_text, write_json
from pul_bench.paths import data_root
from pul_train.bd import BDTask
from pul_train.recipe import load_recipe
from pul_train.tc import TCTask, pair_batch
from pul_train.trainer import Precision, cpu_has_bf16, resolve_root, to_device, train_step

MODES = {"fp32": (None, False), "fp32+cl": (None, True), "bf16": (torch.bfloat16, False),
         "bf16+cl": (torch.bfloat16, True)}
TC_GAP = 10  # frames between a TC pair's exemplar and search frame


def bd_setup(recipe_name: str, batches: int) -> tuple[Any, list[dict[str, torch.Tensor]]]:
    """The BD task and ``batches`` real mini-batches of its first epoch."""
    recipe = load_recipe(recipe_name)
    task = BDTask(recipe, resolve_root(recipe, data_root()), torch.device("cpu"), False)
    task.prepare(compute=True)
    plan = task.epoch_batches(0, task.build_model())
    if task._pool is not None:  # the next epoch's crops are not needed here
        task._pool.shutdown(cancel_futures=True)
    return task, [task.make_batch(0, s, plan[s % len(plan)]) for s in range(batches)]


def tc_setup(recipe_name: str, bd: BDTask, batches: int, seed: int = 1
             ) -> tuple[Any, list[dict]]:
    """The TC task and ``batches`` batches of (exemplar, search) crops of one proposal on two
    real frames ``TC_GAP`` apart (no mining needed to time a step); ``seed`` draws the
    shifts and flips."""
    recipe = load_recipe(recipe_name)
    task = TCTask(recipe, resolve_root(recipe, data_root()), torch.device("cpu"), False)
    size = recipe.options.batch_size
    rng = np.random.default_rng(0)
    items = []
    for video in bd.videos:
        for i in range(0, len(video.frames) - TC_GAP, 50):
            ref = video.frames[i]
            boxes = bd.boxes.get(ref)
            if boxes is None or not len(boxes):
                continue
            box = boxes[rng.integers(min(8, len(boxes)))]
            a, b = ref.read(), video.frames[i + TC_GAP].read()
            items.append((exemplar_crop(a, box[:4], 0.5, 127),
                          exemplar_crop(b, box[:4], 0.5, 255, zoom=255 / 127)))
            if len(items) == size * batches:
                break
        if len(items) == size * batches:
            break
    return task, [pair_batch(((z, x, np.random.default_rng([seed, s, j]))
                              for j, (z, x) in enumerate(items[s * size:(s + 1) * size])))
                  for s in range(len(items) // size)]


def step_flops(task: Any, model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> float:
    """Floating-point operations of one forward + backward pass (PyTorch's counter)."""
    m = copy.deepcopy(model)
    with FlopCounterMode(display=False) as counter:
        loss, _ = task.loss(m, batch)
        loss.backward()
    return float(counter.get_total_flops())


def bench(name: str, task: Any, make_model: Callable[[int], torch.nn.Module],
          batches: list[dict], noise_batches: list[dict], modes: list[str], rounds: int,
          steps: int, lr: float) -> dict[str, Any]:
    """Interleaved timing and loss curves of every mode, and of the fp32 seed-noise run
    (``make_model(2)`` on ``noise_batches``)."""
    runs: dict[str, dict[str, Any]] = {}
    for mode in [*modes, "fp32 (seed 2)"]:
        dtype, cl = MODES.get(mode, (None, False))
        noise = mode not in MODES
        model = make_model(2 if noise else 1)
        if cl:
            model = model.to(memory_format=torch.channels_last)
        prec = Precision(dtype, cl, "cpu")
        runs[mode] = {"prec": prec, "model": model, "losses": [], "times": [],
                      "opt": torch.optim.Adam(model.parameters(), lr=lr),
                      "scaler": torch.amp.GradScaler("cpu", enabled=False),
                      "batches": [to_device(b, torch.device("cpu"), prec)
                                  for b in (noise_batches if noise else batches)]}
    flops = step_flops(task, make_model(1), batches[0])
    for r in range(rounds + 1):  # round 0 warms up (oneDNN picks its kernels)
        for mode, run in runs.items():
            t0 = time.perf_counter()
            for s in range(steps):
                b = run["batches"][(r * steps + s) % len(batches)]
                loss, _ = train_step(task, run["model"], run["opt"], run["scaler"], run["prec"],
                                     b)
                run["losses"].append(loss)
            if r:
                run["times"].append((time.perf_counter() - t0) / steps)
            print(f"{name} round {r} {mode}: {steps / (time.perf_counter() - t0):.2f} steps/s",
                  flush=True)
    base = np.array(runs["fp32"]["losses"])
    out: dict[str, Any] = {"gflop_per_step": round(flops / 1e9, 2), "steps": len(base),
                           "modes": {}}
    for mode, run in runs.items():
        sec = statistics.median(run["times"])
        out["modes"][mode] = {
            "steps_per_s": round(1 / sec, 3), "gflop_per_s": round(flops / sec / 1e9, 1),
            # per round, against the fp32 time of the same round: load that drifts between
            # rounds cancels out (the median of the ratios, not the ratio of the medians)
            "speedup_vs_fp32": round(statistics.median(
                f / t for f, t in zip(runs["fp32"]["times"], run["times"], strict=True)), 2),
            "loss_first": round(run["losses"][0], 4), "loss_last": round(run["losses"][-1], 4),
            "mean_abs_loss_diff_vs_fp32": round(float(np.abs(np.array(run["losses"]) - base)
                                                      .mean()), 4)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--task", choices=("bd", "tc", "both"), default="both")
    ap.add_argument("--bd-recipe", default="alexpul-bd")
    ap.add_argument("--tc-recipe", default="alexpul-tcl10")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=6, help="steps per mode per round")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    modes = list(MODES) if cpu_has_bf16() else ["fp32", "fp32+cl"]
    n_batches = args.steps * (args.rounds + 1)
    bd, bd_batches = bd_setup(args.bd_recipe, n_batches)
    result: dict[str, Any] = {"threads": torch.get_num_threads(), "cpu_bf16": cpu_has_bf16(),
                              "torch": torch.__version__}
    if args.task in ("bd", "both"):
        def bd_model(seed: int) -> torch.nn.Module:
            torch.manual_seed(seed)
            return bd.build_model()

        result["bd"] = bench("bd", bd, bd_model, bd_batches, bd_batches, modes, args.rounds,
                             args.steps, bd.recipe.optimizer.lr)
        print(json.dumps(result["bd"]), flush=True)
    if args.task in ("tc", "both"):
        tc, tc_batches = tc_setup(args.tc_recipe, bd, min(n_batches, 12))
        _, tc_noise = tc_setup(args.tc_recipe, bd, min(n_batches, 12), seed=2)

        def tc_model(seed: int) -> torch.nn.Module:
            torch.manual_seed(seed)
            return tc.build_model()

        result["tc"] = bench("tc", tc, tc_model, tc_batches, tc_noise, modes, args.rounds,
                             args.steps, tc.recipe.optimizer.lr)
    text = json_text(result)
    print(text)
    if args.json:
        write_json(args.json, result)


if __name__ == "__main__":
    main()
