"""AHM (Alg. 1): the densest neighbourhood becomes the first mini-batch."""

from __future__ import annotations

import pytest
import torch

from pul_train.ahm import ahm_batches, random_batches


def _planted(p: int = 300, d: int = 32, n: int = 10, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    emb = torch.randn(p, d, generator=g)
    members = torch.randperm(p, generator=g)[:n]
    centre = torch.randn(d, generator=g)
    emb[members] = centre + 0.05 * torch.randn(n, d, generator=g)
    return emb, set(members.tolist())


def test_ahm_picks_the_planted_dense_cluster() -> None:
    emb, members = _planted()
    n = len(members)
    batches = ahm_batches(emb, n, steps=4, expansion=emb.shape[0] // n,
                          generator=torch.Generator().manual_seed(1))
    assert len(batches) == 4
    assert set(batches[0].tolist()) == members
    for b in batches:
        assert b.shape == (n,) and len(set(b.tolist())) == n  # anchor not among its neighbours


def test_ahm_with_default_expansion_finds_the_cluster_when_sampled() -> None:
    emb, members = _planted(p=100, n=10, seed=3)
    # 10 * 5 = 50 of 100 candidates: over a few draws a cluster member is a candidate,
    # and then the cluster must be the first batch
    hits = 0
    for s in range(6):
        first = ahm_batches(emb, 10, 3, 5, torch.Generator().manual_seed(s))[0]
        if first[0].item() in members:
            hits += 1
            assert set(first.tolist()) == members
    assert hits > 0


def test_ahm_rejects_batches_larger_than_the_patch_set() -> None:
    with pytest.raises(ValueError):
        ahm_batches(torch.randn(5, 4), 6, 1)


def test_random_batches_are_disjoint() -> None:
    batches = random_batches(30, 8, 3, torch.Generator().manual_seed(0))
    flat = torch.cat(batches).tolist()
    assert len(flat) == 24 and len(set(flat)) == 24
