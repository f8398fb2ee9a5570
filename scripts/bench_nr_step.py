"""Benchmark: one training step with the NR loss vs one with balanced BCE (goal: NR <= 1.1x BCE).

SiamFC AlexNet, batch of 127/255 pairs, Adam, CPU by default. Steps of the two losses are
interleaved so that load from other processes hits both alike; medians are reported.

    python scripts/bench_nr_step.py [--batch 8] [--repeats 10] [--samples 16]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from pul_bench.models.siamese import SiamFCNet, build_backbone
from pul_train.losses import NRConfig, balanced_bce, nr_loss


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--samples", type=int, default=16, help="noise samples S of the NR loss")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()

    torch.manual_seed(0)
    device = torch.device(args.device)
    net = SiamFCNet(build_backbone("alexnet"), head_scale=0.001).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=1e-5)
    z = 255 * torch.rand(args.batch, 3, 127, 127, device=device)
    x = 255 * torch.rand(args.batch, 3, 255, 255, device=device)
    cfg = NRConfig(samples=args.samples)
    losses = {"bce": balanced_bce, "nr": lambda r: nr_loss(r, cfg)}

    def step(name: str) -> float:
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        losses[name](net(z, x)).backward()
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - t0

    for name in losses:  # warm-up
        step(name)
    times: dict[str, list[float]] = {name: [] for name in losses}
    for _ in range(args.repeats):
        for name in losses:
            times[name].append(step(name))
    med = {name: statistics.median(t) for name, t in times.items()}
    print(f"AlexNet SiamFC step, batch {args.batch}, {device}, {torch.get_num_threads()} threads, "
          f"median of {args.repeats}")
    print(f"  BCE step: {med['bce'] * 1000:.1f} ms")
    print(f"  NR  step: {med['nr'] * 1000:.1f} ms  (S={args.samples} noise samples)")
    ratio = med["nr"] / med["bce"]
    print(f"  NR / BCE: {ratio:.3f}  (goal <= 1.10: {'met' if ratio <= 1.10 else 'NOT met'})")


if __name__ == "__main__":
    main()
