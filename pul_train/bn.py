"""Batch-norm running statistics re-estimated on independent crops before a checkpoint is written.

Why: a tracker runs its backbone in eval mode, normalising with the running statistics that
training averaged over its mini-batches. AHM's mini-batches are an anchor and its nearest
neighbours in embedding space, TC's are 8 exemplar/search pairs: their batch statistics describe a
cluster of look-alikes, so the running averages do not describe the crops a tracker feeds. On
CIResNet-22 (24 batch norms, from scratch) this alone wrecks tracking: for respul-bd-ahm the BN
inputs of random training-clip crops have 4.1x the running variance, its pooled embedding's
effective rank drops from 32 (BD) to 17, and re-estimating the statistics, weights unchanged,
lowers its peak error on the 10 OTB sequences from 0.766 to 0.524 (``scripts/diagnose_bn.py``).

The estimate is the plain average over batches of exemplar-size (127 px) and search-size
(255 px) crops, random frame, centre and size, of the recipe's own training video: never an
evaluation sequence.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from pul_bench.geometry import crop_square
from pul_train.video import Video

EXEMPLAR, INSTANCE = 127, 255
#: crops per forward pass, exemplar and search size
BATCH = {EXEMPLAR: 32, INSTANCE: 16}


def random_crops(videos: Sequence[Video], n: int, size: int, seed: int) -> np.ndarray:
    """``n`` square crops resized to ``size`` (N, size, size, 3) uint8: random frame, centre in
    the middle 60% and context side 15-45% of the frame's short side (times size / 127, as a
    search region is to its exemplar)."""
    rng = np.random.default_rng([seed, size, 7])
    out = np.empty((n, size, size, 3), np.uint8)
    for i in range(n):
        v = videos[rng.integers(len(videos))]
        img = v.frames[rng.integers(len(v.frames))].read()
        h, w = img.shape[:2]
        side = rng.uniform(0.15, 0.45) * min(h, w) * size / EXEMPLAR
        centre = rng.uniform([0.2 * w, 0.2 * h], [0.8 * w, 0.8 * h])
        out[i] = crop_square(img, centre, side, size, img.reshape(-1, 3).mean(0))
    return out


def probe_batches(videos: Sequence[Video], n: int, seed: int) -> list[torch.Tensor]:
    """``n`` exemplar crops and ``n // 2`` search crops as float NCHW batches (raw 0..255)."""
    out = []
    for size, count in ((EXEMPLAR, n), (INSTANCE, n // 2)):
        crops = torch.from_numpy(random_crops(videos, count, size, seed)).permute(0, 3, 1, 2)
        out += list(crops.float().split(BATCH[size]))
    return out


def _norms(backbone: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    return [m for m in backbone.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


@torch.no_grad()
def recalibrate(backbone: nn.Module, batches: Sequence[torch.Tensor]) -> None:
    """Set ``backbone``'s batch-norm running statistics, in place, to the plain average of their
    batch statistics over ``batches``; the weights and each norm's momentum are untouched, and
    the module is left in eval mode."""
    norms = _norms(backbone)
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
    backbone.train()
    device = next(backbone.parameters()).device
    for b in batches:
        backbone(b.to(device))
    for m, momentum in zip(norms, momenta, strict=True):
        m.momentum = momentum
    backbone.eval()


def mismatch(backbone: nn.Module, batches: Sequence[torch.Tensor]) -> dict[str, float]:
    """How far the eval-mode batch norms' running statistics are from their inputs on
    ``batches``: ``bn_shift``, |input mean - running mean| / running std averaged over channels,
    then over layers (``bn_shift_max`` the worst layer); ``bn_var``, the median over layers of
    the channel-median ratio input variance / running variance (1 where they agree)."""
    norms = _norms(backbone)
    sums: dict[nn.Module, list[torch.Tensor]] = {m: [] for m in norms}

    def hook(m: nn.Module, inp: tuple[torch.Tensor], _out: torch.Tensor) -> None:
        x = inp[0].float().transpose(0, 1).flatten(1)
        sums[m].append(torch.stack([x.mean(1), (x * x).mean(1)]))

    handles = [m.register_forward_hook(hook) for m in norms]
    backbone.eval()
    with torch.no_grad():
        for b in batches:
            backbone(b)
    for h in handles:
        h.remove()
    shifts, ratios = [], []
    for m, parts in sums.items():
        mean, sq = torch.stack(parts).mean(0)
        var = (sq - mean ** 2).clamp_min(0)
        std = (m.running_var + m.eps).sqrt()
        shifts.append(float(((mean - m.running_mean).abs() / std).mean()))
        ratios.append(float((var / (m.running_var + m.eps)).median()))
    return {"bn_shift": float(np.mean(shifts)), "bn_shift_max": float(np.max(shifts)),
            "bn_var": float(np.median(ratios)), "layers": len(shifts)}
