"""The NR loss against its literal matrix definition, closed-form moments and autograd."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.stats import ncx2

from pul_train.losses import (
    NRConfig,
    balanced_bce,
    balanced_weights,
    label_maps,
    log_likelihoods,
    nr_loss,
    sample_labels,
    taylor_objective,
)


def stacked(maps: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """The weighted class maps [m~_1, m~_0] of every sample, (..., 2n)."""
    return torch.cat([weights * maps, weights * (1 - maps)], dim=-1)


def dense_loss(logits: torch.Tensor, maps: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Literal -m_bar^T h - 1/2 h^T V h with the n x n moment matrices, averaged over the batch."""
    out = []
    for b in range(logits.shape[0]):
        z = logits[b].reshape(-1)
        h = torch.cat([torch.nn.functional.logsigmoid(z), torch.nn.functional.logsigmoid(-z)])
        m = stacked(maps[b], weights[b])  # (S, 2n)
        m_bar = m.mean(0)
        v = m.T @ m / m.shape[0]  # second moment E[m m^T], (2n, 2n)
        out.append(-m_bar @ h - 0.5 * h @ v @ h)
    return torch.stack(out).mean()


def quadrature_moments(size: int, centre: tuple[float, float], cfg: NRConfig):
    """E[m~] and E[m~ m~^T] by integrating the Gaussian over a fine grid of label centres."""
    sd = math.sqrt(cfg.alpha_cells2)
    step = 0.02
    ax = np.arange(-6 * sd + step / 2, 6 * sd, step)
    yr, yc = np.meshgrid(ax + centre[0], ax + centre[1], indexing="ij")
    ys = torch.from_numpy(np.stack([yr.ravel(), yc.ravel()], 1))
    p = np.exp(-((yr - centre[0]) ** 2 + (yc - centre[1]) ** 2) / (2 * cfg.alpha_cells2))
    p = torch.from_numpy((p / (2 * math.pi * cfg.alpha_cells2) * step * step).ravel())
    maps = label_maps(size, ys, cfg.radius_cells)
    m = stacked(maps, balanced_weights(maps))
    return (p[:, None] * m).sum(0), m.T @ (p[:, None] * m), (p[:, None] * maps).sum(0)


def test_label_map_is_siamfc_disc():
    m = label_maps(17, torch.zeros(2, dtype=torch.float64), 2.0).reshape(17, 17)
    assert m.sum() == 13  # |x| <= 2 cells on the lattice: 1 + 4 + 4 + 4
    assert m[8, 8] == 1 and m[8, 10] == 1 and m[9, 9] == 1 and m[9, 10] == 0


def test_balanced_weights_give_each_class_half():
    maps = label_maps(9, torch.tensor([[0.3, -1.2], [0.0, 0.0]]), 2.0)
    w = balanced_weights(maps)
    assert torch.allclose((w * maps).sum(-1), torch.full((2,), 0.5, dtype=torch.float64))
    assert torch.allclose((w * (1 - maps)).sum(-1), torch.full((2,), 0.5, dtype=torch.float64))


def test_sampled_moments_match_closed_form():
    cfg = NRConfig(samples=40_000)
    size, centre = 5, (0.3, -0.4)
    mean_q, second_q, plain_q = quadrature_moments(size, centre, cfg)
    # the unweighted expectation has a closed form: P(|y - x| <= R), a non-central chi-square
    axis = np.arange(size) - (size - 1) / 2
    cells = np.stack(np.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2)
    d2 = ((cells - np.array(centre)) ** 2).sum(1)
    exact = ncx2.cdf(cfg.radius_cells**2 / cfg.alpha_cells2, 2, d2 / cfg.alpha_cells2)
    np.testing.assert_allclose(plain_q.numpy(), exact, atol=2e-3)

    gen = torch.Generator().manual_seed(0)
    maps, weights = sample_labels(1, size, cfg, torch.tensor([centre]), gen)
    m = stacked(maps[0], weights[0])
    mean_s, second_s = m.mean(0), m.T @ m / m.shape[0]
    se = m.std(0) / math.sqrt(cfg.samples)
    se2 = (m[:, :, None] * m[:, None, :]).std(0) / math.sqrt(cfg.samples)
    assert (mean_s - mean_q).abs().le(5 * se + 2e-4).all()
    assert (second_s - second_q).abs().le(5 * se2 + 2e-4).all()
    assert not torch.allclose(mean_s, mean_s.round())  # the noise really blurs the label


@pytest.mark.parametrize("form_size", [5, 17])
def test_linear_form_equals_dense_matrix_form(form_size):
    cfg = NRConfig(samples=7)
    logits = (0.3 * torch.randn(3, 1, form_size, form_size, dtype=torch.float64,
                                generator=torch.Generator().manual_seed(1)))
    centre = torch.tensor([[0.0, 0.0], [1.5, -0.7], [-2.0, 3.0]], dtype=torch.float64)
    fast = nr_loss(logits, cfg, centre, torch.Generator().manual_seed(5))
    maps, weights = sample_labels(3, form_size, cfg, centre, torch.Generator().manual_seed(5))
    assert (log_likelihoods(logits, maps, weights) > cfg.guard).all()  # Taylor region
    assert abs(fast.item() - dense_loss(logits, maps, weights).item()) < 1e-6
    # float32 logits give the same value (the loss is accumulated in float64)
    fast32 = nr_loss(logits.float(), cfg, centre, torch.Generator().manual_seed(5))
    assert abs(fast32.item() - fast.item()) < 1e-6


def test_gradients_match_autograd_of_dense_form():
    cfg = NRConfig(samples=6)
    logits = 0.5 * torch.randn(2, 1, 9, 9, dtype=torch.float64,
                               generator=torch.Generator().manual_seed(2))
    a = logits.clone().requires_grad_(True)
    nr_loss(a, cfg, generator=torch.Generator().manual_seed(9)).backward()
    b = logits.clone().requires_grad_(True)
    maps, weights = sample_labels(2, 9, cfg, generator=torch.Generator().manual_seed(9))
    dense_loss(b, maps, weights).backward()
    assert torch.allclose(a.grad, b.grad, atol=1e-10)
    # and the hand-derived gradient: dL/dz = -mean_s (1 + g_s) w_s (m_s - f) / B
    g = log_likelihoods(logits, maps, weights)
    f = torch.sigmoid(logits.reshape(2, 1, -1))
    manual = -((1 + g)[..., None] * weights * (maps - f)).mean(1) / 2
    assert torch.allclose(a.grad.reshape(2, -1), manual, atol=1e-10)


def test_guard_is_tangent_continuation():
    g = torch.linspace(-5, 0, 2001, dtype=torch.float64)
    raw = -g - 0.5 * g * g
    guarded = taylor_objective(g, -0.9)
    inside = g >= -0.9
    assert torch.equal(guarded[inside], raw[inside])
    assert (guarded.diff() < 0).all()  # strictly decreasing in g: worse fit, higher loss
    assert not (raw.diff() < 0).all()  # the bare expansion rewards g < -1


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    scale=st.floats(0.1, 8.0),
    step=st.floats(0.01, 5.0),
    positive=st.booleans(),
    form=st.sampled_from(["taylor", "mc"]),
)
def test_loss_never_decreases_when_a_prediction_gets_worse(seed, scale, step, positive, form):
    cfg = NRConfig(samples=8, form=form)
    gen = torch.Generator().manual_seed(seed)
    logits = scale * torch.randn(1, 1, 17, 17, dtype=torch.float64, generator=gen)
    maps, _ = sample_labels(1, 17, cfg, generator=torch.Generator().manual_seed(seed))
    # a pixel that is positive (or negative) in every sampled label: lowering (raising) it is worse
    always = maps[0].all(0) if positive else (~maps[0].bool()).all(0)
    assume(always.any())  # rarely a sample moves the disc off the centre pixel
    idx = int(torch.nonzero(always)[seed % int(always.sum())])
    worse = logits.clone().reshape(-1)
    worse[idx] += -step if positive else step
    before = nr_loss(logits, cfg, generator=torch.Generator().manual_seed(seed))
    after = nr_loss(worse.reshape(logits.shape), cfg, generator=torch.Generator().manual_seed(seed))
    assert after.item() >= before.item()


def test_noise_free_nr_reduces_to_balanced_bce():
    gen = torch.Generator().manual_seed(3)
    logits = torch.randn(4, 1, 17, 17, dtype=torch.float64, generator=gen)
    bce = balanced_bce(logits)
    mc = nr_loss(logits, NRConfig(alpha_cells2=0.0, samples=3, form="mc"))
    assert torch.allclose(mc, bce)
    small = 0.1 * logits + 3 * (label_maps(17, torch.zeros(4, 2), 2.0).reshape(4, 1, 17, 17) - 0.5)
    b = balanced_bce(small, centre=torch.zeros(4, 2))
    per = [balanced_bce(small[i : i + 1]) for i in range(4)]
    taylor = nr_loss(small, NRConfig(alpha_cells2=0.0, samples=2))
    assert torch.allclose(taylor, torch.stack([p - 0.5 * p * p for p in per]).mean())
    assert torch.allclose(b, torch.stack(per).mean())


def test_balanced_bce_at_chance_is_log2():
    assert math.isclose(balanced_bce(torch.zeros(2, 1, 17, 17)).item(), math.log(2), rel_tol=1e-6)


def test_config_rejects_invalid_guard_and_form():
    with pytest.raises(ValueError, match="guard"):
        NRConfig(guard=-1.0)
    with pytest.raises(ValueError, match="form"):
        NRConfig(form="exact")
