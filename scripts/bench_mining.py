"""Benchmark: batched temporal mining vs one track at a time (goal: >= 5x the pairs per second).

Tracks the same planned proposals of the shared unlabeled clips twice with the SiamFC procedure:
once all advancing together (``--batch`` tracks per forward pass), once one by one. A random-
weight AlexNet is enough: the work per step does not depend on the weights.

    python scripts/bench_mining.py [--tracks 16] [--length 10] [--batch 16] [--device cpu]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from pul_bench.paths import data_root
from pul_bench.registry import create
from pul_train.mining import BatchMiner, MiningConfig, plan_tracks
from pul_train.proposals import ProposalSettings
from pul_train.video import open_videos


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tracks", type=int, default=16)
    ap.add_argument("--length", type=int, default=10)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--video", default="vtest", help="clip of the shared unlabeled set")
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()

    video = next(v for v in open_videos(data_root() / "unlabeled") if v.name == args.video)
    cfg = MiningConfig(length=args.length, stride=10, per_frame=4)
    plan = plan_tracks([video], cfg, ProposalSettings(), progress=False)[: args.tracks]
    miner = BatchMiner(create("siamfc-random", device=args.device))
    miner.run(video, plan[:2], 1)  # warm-up

    def timed(batch: int) -> tuple[float, np.ndarray]:
        t0 = time.perf_counter()
        out = [miner.run(video, plan[b:b + batch], args.length)
               for b in range(0, len(plan), batch)]
        return time.perf_counter() - t0, np.concatenate([o["box_last"] for o in out])

    t_batch, boxes_batch = timed(args.batch)
    t_one, boxes_one = timed(1)
    print(f"{len(plan)} tracks x {args.length} frames on {video.name}, device "
          f"{miner.device}")
    print(f"  one at a time : {t_one:8.2f} s  {len(plan) / t_one:7.2f} pairs/s")
    print(f"  batch {args.batch:<7d} : {t_batch:8.2f} s  {len(plan) / t_batch:7.2f} pairs/s")
    print(f"  speed-up      : {t_one / t_batch:.2f}x (goal >= 5x); largest box difference "
          f"{np.abs(boxes_batch - boxes_one).max():.2e} px")


if __name__ == "__main__":
    main()
