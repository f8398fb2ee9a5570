"""Response-map losses: SiamFC's balanced BCE and PUL's noise-robust (NR) loss.

The NR loss treats the label centre as uncertain: the label map is m(x) = 1[|x - y| <= R] with
y = y~ + eps, eps ~ N(0, alpha I). Units: positions, R and the noise are in *response-map cells*
(one cell = the network's total stride, 8 search-image pixels for SiamFC), and ``alpha`` is a
*variance in cells squared* (alpha = 0.5 cells^2 is a standard deviation of 0.71 cells, 5.7 px).

With h1 = log f, h0 = log(1 - f) and g = sum_x sum_b m_b(x) h_b(x), the paper maximises
log E[exp g] and expands it to second order: L_NR = -E[g] - 1/2 E[g^2]. Estimating the moments
with S sampled label maps, this is exactly -mean_s g_s - 1/2 mean_s g_s^2, which costs O(S n)
instead of the O(n^2) of the matrix form -m_bar^T h - 1/2 h^T V h.

Two choices the paper leaves open, made here:

* g is a class-balanced weighted mean (half the weight on the positive pixels, half on the
  negative ones, as SiamFC's balanced BCE), so g = -(balanced BCE) lies in (-inf, 0] with a scale
  independent of the map size. A plain sum over 289 pixels would put g far below -1, where
* the expansion -g - g^2/2 stops being valid: its slope -(1 + g) changes sign at g = -1, so below
  that a *worse* prediction would *lower* the loss. The guard replaces the quadratic below
  ``guard`` (default -0.9) by its tangent line, so the loss is C1, strictly decreasing in every
  g_s, and a hopeless pair still gets a small gradient (slope 1 + guard = 0.1 of BCE's) instead
  of being rewarded for getting worse.

The Monte-Carlo form -log mean_s exp(g_s) (the exact likelihood of the sampled mixture) is
offered as ``form="mc"``; it needs no guard.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from pul_bench.schema import bounded, out_of_bounds

#: SiamFC's positive radius: 16 search-image pixels / total stride 8.
SIAMFC_RADIUS_CELLS = 2.0


@dataclass(frozen=True)
class NRConfig:
    """Settings of the NR loss; every length is in response-map cells (see the module doc)."""

    radius_cells: float = bounded(SIAMFC_RADIUS_CELLS, lo=0.0, above=True)
    #: variance of the label-centre noise, in cells squared (the paper's alpha)
    alpha_cells2: float = bounded(0.5, lo=0.0)
    samples: int = bounded(16, lo=1)
    #: g below which the Taylor term is replaced by its tangent, in (-1, 0]
    guard: float = bounded(-0.9, lo=-1.0, above=True, hi=0.0)
    form: str = bounded("taylor", choices=("taylor", "mc"))

    def __post_init__(self) -> None:
        if why := out_of_bounds(self):  # a recipe is checked as read; this is for code
            raise ValueError(f"NR {why}")


def cell_grid(size: int, device: torch.device | None = None) -> torch.Tensor:
    """(size*size, 2) cell coordinates (row, col) relative to the map centre."""
    r = torch.arange(size, dtype=torch.float64, device=device) - (size - 1) / 2
    rows, cols = torch.meshgrid(r, r, indexing="ij")
    return torch.stack([rows.reshape(-1), cols.reshape(-1)], dim=1)


def label_maps(size: int, centres: torch.Tensor, radius: float) -> torch.Tensor:
    """Flat disc label maps 1[|x - y| <= radius] for centres (..., 2) in cells -> (..., size^2)."""
    grid = cell_grid(size, centres.device)
    d2 = ((centres.unsqueeze(-2).to(torch.float64) - grid) ** 2).sum(-1)
    return (d2 <= radius * radius + 1e-9).to(torch.float64)


def balanced_weights(maps: torch.Tensor) -> torch.Tensor:
    """Per-pixel weights putting half the mass on each class of a flat 0/1 map (sum 1).

    A map with one class only gives that class all the mass.
    """
    pos = maps.sum(-1, keepdim=True)
    neg = maps.shape[-1] - pos
    w = maps / pos.clamp(min=1) + (1 - maps) / neg.clamp(min=1)
    return w / w.sum(-1, keepdim=True)


def sample_labels(
    batch: int,
    size: int,
    cfg: NRConfig,
    centre: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    device: torch.device | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """S noisy label maps per pair: (maps, balanced weights), each (batch, S, size^2) float64.

    ``centre`` (batch, 2) is the nominal label centre y~ in cells from the map centre (0 if None).
    """
    eps = torch.randn(batch, cfg.samples, 2, generator=generator, dtype=torch.float64)
    eps = eps.to(device) * math.sqrt(cfg.alpha_cells2)
    if centre is not None:
        eps = eps + centre.to(device=device, dtype=torch.float64).unsqueeze(1)
    maps = label_maps(size, eps, cfg.radius_cells)
    return maps, balanced_weights(maps)


def log_likelihoods(
    logits: torch.Tensor, maps: torch.Tensor, weights: torch.Tensor
) -> torch.Tensor:
    """g_s = sum_x w_s(x) [m_s(x) log f(x) + (1 - m_s(x)) log(1 - f(x))]: (B, S), O(S n)."""
    z = logits.reshape(logits.shape[0], 1, -1).to(maps.dtype)
    h1, h0 = F.logsigmoid(z), F.logsigmoid(-z)
    return (weights * (maps * h1 + (1 - maps) * h0)).sum(-1)


def taylor_objective(g: torch.Tensor, guard: float) -> torch.Tensor:
    """Per-sample -g - g^2/2, continued below ``guard`` by its tangent line (see module doc)."""
    gc = torch.clamp(g, min=guard)
    quad = -gc - 0.5 * gc * gc
    return quad - (1 + guard) * (g - gc)


def nr_loss(
    logits: torch.Tensor,
    cfg: NRConfig = NRConfig(),
    centre: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """The NR loss of response maps ``logits`` (B, 1, H, H), averaged over the batch."""
    size = logits.shape[-1]
    maps, weights = sample_labels(logits.shape[0], size, cfg, centre, generator, logits.device)
    g = log_likelihoods(logits, maps, weights)
    if cfg.form == "mc":
        per_pair = -(torch.logsumexp(g, dim=1) - math.log(cfg.samples))
    else:
        per_pair = taylor_objective(g, cfg.guard).mean(1)
    return per_pair.mean().to(logits.dtype)


def balanced_bce(
    logits: torch.Tensor, radius: float = SIAMFC_RADIUS_CELLS, centre: torch.Tensor | None = None
) -> torch.Tensor:
    """SiamFC's class-balanced BCE against the disc label around ``centre`` (default: centre)."""
    b, size = logits.shape[0], logits.shape[-1]
    if centre is None:
        centre = torch.zeros(b, 2, dtype=torch.float64, device=logits.device)
    maps = label_maps(size, centre, radius).to(logits.dtype)
    weights = balanced_weights(maps)
    z = logits.reshape(b, -1)
    per_pair = (weights * F.binary_cross_entropy_with_logits(z, maps, reduction="none")).sum(-1)
    return per_pair.mean()
