"""BD learning: NT-Xent against a hand computation, and the augmentations' contract."""

from __future__ import annotations

import math

import numpy as np
import torch

from pul_train.bd import augment, nt_xent


def _hand_nt_xent(views: list[list[float]], temperature: float) -> float:
    """Textbook NT-Xent over 2n views where view i's twin is i + n (mod 2n)."""
    unit = [[x / math.sqrt(sum(c * c for c in v)) for x in v] for v in views]
    m = len(unit)
    total = 0.0
    for i in range(m):
        twin = (i + m // 2) % m
        sims = {k: sum(a * b for a, b in zip(unit[i], unit[k], strict=True)) / temperature
                for k in range(m) if k != i}
        total += -math.log(math.exp(sims[twin]) / sum(math.exp(s) for s in sims.values()))
    return total / m


def test_nt_xent_equals_hand_computation() -> None:
    z1 = [[1.0, 0.0, 0.0], [0.0, 2.0, 1.0], [1.0, 1.0, -1.0]]
    z2 = [[0.9, 0.1, 0.0], [0.5, 1.0, 1.0], [-1.0, 2.0, 0.5]]
    for t in (0.5, 1.0, 0.1):
        got = nt_xent(torch.tensor(z1), torch.tensor(z2), temperature=t).item()
        assert math.isclose(got, _hand_nt_xent(z1 + z2, t), rel_tol=1e-5)


def test_nt_xent_rewards_matching_twins() -> None:
    g = torch.Generator().manual_seed(0)
    z = torch.randn(8, 16, generator=g)
    aligned = nt_xent(z, z + 0.01 * torch.randn(8, 16, generator=g))
    shuffled = nt_xent(z, z[torch.randperm(8, generator=g)])
    assert aligned < shuffled
    # gradients flow to both views
    a, b = z.clone().requires_grad_(), z.flip(0).clone().requires_grad_()
    nt_xent(a, b).backward()
    assert a.grad.abs().sum() > 0 and b.grad.abs().sum() > 0


def test_augment_is_seeded_and_varied() -> None:
    base = (np.random.default_rng(0).random((190, 190, 3)) * 255).astype(np.uint8)
    a = augment(base, 127, np.random.default_rng(5))
    b = augment(base, 127, np.random.default_rng(5))
    c = augment(base, 127, np.random.default_rng(6))
    assert a.shape == (127, 127, 3) and a.dtype == np.float32
    assert 0.0 <= a.min() and a.max() <= 255.0
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).mean() > 1.0
