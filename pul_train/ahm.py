"""Anchor-based hard negative mining (AHM, Alg. 1 of the PUL paper), batched in torch.

Random mini-batches mostly hold patches that are easy to tell apart. AHM instead builds each
mini-batch around an anchor patch and its N-1 nearest neighbours in the current embedding, so
every patch's negatives are the patches most like it. Anchors come from N*E random candidates,
ranked by how dense their neighbourhood is (summed similarity to the N-1 nearest neighbours);
the T densest become the T mini-batches of the epoch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def random_batches(n: int, size: int, steps: int, generator: torch.Generator) -> list[torch.Tensor]:
    """``steps`` disjoint random mini-batches of ``size`` indices out of ``n`` (the warm-up)."""
    perm = torch.randperm(n, generator=generator)
    return [perm[i * size:(i + 1) * size] for i in range(steps)]


def ahm_batches(
    embeddings: torch.Tensor,
    size: int,
    steps: int,
    expansion: int = 5,
    generator: torch.Generator | None = None,
) -> list[torch.Tensor]:
    """Alg. 1: ``steps`` mini-batches, each an anchor followed by its ``size`` - 1 neighbours.

    ``embeddings`` (P, D) are globally pooled features; similarity is the dot product of the
    L2-normalised features (cosine). ``size`` * ``expansion`` candidate anchors are drawn at
    random (all P if fewer); a candidate's score is its summed similarity to its ``size`` - 1
    nearest neighbours; the ``steps`` best-scoring candidates are the anchors (fewer if there
    are fewer candidates). Neighbourhoods of different anchors may overlap.
    """
    p = embeddings.shape[0]
    if not 2 <= size <= p:
        raise ValueError(f"AHM mini-batch size {size} must be in [2, {p}] (the patch count)")
    z = F.normalize(embeddings.float(), dim=1)
    n_cand = min(p, size * expansion)
    cand = torch.randperm(p, generator=generator)[:n_cand]
    sim = z[cand] @ z.t()  # (C, P)
    sim[torch.arange(n_cand), cand] = float("-inf")  # an anchor is not its own neighbour
    near_sim, near_idx = sim.topk(size - 1, dim=1)
    score = near_sim.sum(dim=1)
    best = score.argsort(descending=True, stable=True)[: min(steps, n_cand)]
    batches = torch.cat([cand[best, None], near_idx[best]], dim=1)
    return list(batches.unbind(0))
