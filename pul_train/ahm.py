"""Anchor-based hard negative mining (AHM, Alg. 1 of the PUL paper), batched in torch.

Random mini-batches mostly hold patches that are easy to tell apart. AHM instead builds each
mini-batch around an anchor patch and its N-1 nearest neighbours in the current embedding, so
every patch's negatives are the patches most like it. Anchors come from N*E random candidates,
ranked by how dense their neighbourhood is (summed similarity to the N-1 nearest neighbours);
the T densest become the T mini-batches of the epoch.

With ``groups`` (the frame each patch was cut from) a mini-batch holds at most one patch per
frame: proposals of one frame often show the same object (EdgeBoxes' NMS keeps boxes up to IoU
0.6 apart), and as each other's negatives they would teach the backbone to separate an object
from itself. AHM then takes each candidate's nearest neighbours among the other frames; the
ranking is still Alg. 1's, over those neighbours.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def random_batches(n: int, size: int, steps: int, generator: torch.Generator) -> list[torch.Tensor]:
    """``steps`` disjoint random mini-batches of ``size`` indices out of ``n`` (the warm-up)."""
    perm = torch.randperm(n, generator=generator)
    return [perm[i * size:(i + 1) * size] for i in range(steps)]


def spread_batches(groups: np.ndarray, size: int, steps: int,
                   generator: torch.Generator) -> list[torch.Tensor]:
    """Up to ``steps`` disjoint random mini-batches of ``size`` patches, no two of one group.

    The patches are laid out group after group (groups and patches in random order) and dealt
    to the B mini-batches in turn, so a group of at most B patches lands in B different ones;
    patches beyond B in a group, and what is left over, sit the epoch out.
    """
    n = len(groups)
    _, inverse = np.unique(groups, return_inverse=True)
    perm = torch.randperm(n, generator=generator).numpy()
    group_rank = torch.randperm(int(inverse.max()) + 1 if n else 0, generator=generator).numpy()
    order = perm[np.argsort(group_rank[inverse[perm]], kind="stable")]
    ranked = group_rank[inverse[order]]
    starts = np.r_[0, np.flatnonzero(np.diff(ranked)) + 1] if n else np.zeros(0, np.int64)
    occurrence = np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n]))
    count = min(steps, n // size)
    while count > 0:
        kept = order[occurrence < count]
        if len(kept) >= count * size:
            return [torch.from_numpy(kept[j::count][:size].copy()) for j in range(count)]
        count = len(kept) // size
    return []


def ahm_batches(
    embeddings: torch.Tensor,
    size: int,
    steps: int,
    expansion: int = 5,
    generator: torch.Generator | None = None,
    groups: np.ndarray | None = None,
) -> list[torch.Tensor]:
    """Alg. 1: ``steps`` mini-batches, each an anchor followed by its ``size`` - 1 neighbours.

    ``embeddings`` (P, D) are globally pooled features; similarity is the dot product of the
    L2-normalised features (cosine). ``size`` * ``expansion`` candidate anchors are drawn at
    random (all P if fewer); a candidate's score is its summed similarity to its ``size`` - 1
    nearest neighbours; the ``steps`` best-scoring candidates are the anchors (fewer if there
    are fewer candidates). Neighbourhoods of different anchors may overlap.

    With ``groups`` (P,), a candidate's neighbours are its most similar patches taken greedily
    so that no two patches of the batch (anchor included) share a group; a candidate without
    ``size`` - 1 such neighbours is not ranked.
    """
    p = embeddings.shape[0]
    if not 2 <= size <= p:
        raise ValueError(f"AHM mini-batch size {size} must be in [2, {p}] (the patch count)")
    z = F.normalize(embeddings.float(), dim=1)
    n_cand = min(p, size * expansion)
    cand = torch.randperm(p, generator=generator)[:n_cand]
    sim = z[cand] @ z.t()  # (C, P)
    sim[torch.arange(n_cand), cand] = float("-inf")  # an anchor is not its own neighbour
    if groups is None:
        near_sim, near_idx = sim.topk(size - 1, dim=1)
    else:
        near_sim, near_idx = _distinct_neighbours(sim, cand, groups, size - 1)
    score = near_sim.sum(dim=1)
    best = score.argsort(descending=True, stable=True)[: min(steps, n_cand)]
    best = best[torch.isfinite(score[best])]
    batches = torch.cat([cand[best, None], near_idx[best]], dim=1)
    return list(batches.unbind(0))


def _distinct_neighbours(sim: torch.Tensor, cand: torch.Tensor, groups: np.ndarray, k: int
                         ) -> tuple[torch.Tensor, torch.Tensor]:
    """For each candidate row of ``sim``, its ``k`` most similar patches with no two (and none
    with the candidate) in one group; rows that cannot be filled score -inf."""
    order = sim.argsort(dim=1, descending=True, stable=True).numpy()
    sims = sim.numpy()
    near_sim = np.full((len(order), k), -np.inf, np.float32)
    near_idx = np.zeros((len(order), k), np.int64)
    for r, row in enumerate(order):
        used, n = {int(groups[int(cand[r])])}, 0
        for j in row:
            g = int(groups[j])
            if g in used or not np.isfinite(sims[r, j]):
                continue
            near_sim[r, n], near_idx[r, n] = sims[r, j], j
            used.add(g)
            n += 1
            if n == k:
                break
    return torch.from_numpy(near_sim), torch.from_numpy(near_idx)
