"""The fully-convolutional Siamese network: one backbone embeds both images, and the response
is their cross-correlation scaled by a fixed factor (0.001 for SiamFC, 0.1 for SiamFC+), so that
logits start in a range where the logistic loss trains well and tracking sees the same map.
"""

from __future__ import annotations

import importlib

import torch
import torch.nn.functional as F
from torch import nn

from pul_bench.errors import PulBenchError
from pul_bench.models.alexnet import AlexNetV1
from pul_bench.models.ciresnet import CIResNet22

BACKBONES: dict[str, type[nn.Module]] = {"alexnet": AlexNetV1, "ciresnet22": CIResNet22}


def build_backbone(name: str) -> nn.Module:
    """A freshly initialised backbone by name (``alexnet``, ``ciresnet22``) or by factory
    reference ``module:callable`` (your own backbone, e.g. in a training recipe)."""
    if ":" in name:
        module, _, attr = name.partition(":")
        try:
            factory = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as e:
            raise PulBenchError(f"cannot load backbone factory {name!r}: {e}") from None
        return factory()
    try:
        return BACKBONES[name]()
    except KeyError:
        raise PulBenchError(
            f"unknown backbone {name!r}; known: {', '.join(BACKBONES)}") from None


def xcorr(z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Cross-correlate exemplar features ``z`` (1 or B, C, h, w) with search features ``x``
    (B, C, H, W) -> (B, 1, H - h + 1, W - w + 1).

    One exemplar is slid over every search image with a plain convolution; B exemplars are
    paired with B search images in one grouped convolution (batch folded into channels).
    """
    if z.shape[0] == 1:
        return F.conv2d(x, z)
    b, c, h, w = x.shape
    if z.shape[0] != b:
        raise ValueError(f"xcorr: {z.shape[0]} exemplars for {b} search images")
    out = F.conv2d(x.reshape(1, b * c, h, w), z, groups=b)
    return out.reshape(b, 1, out.shape[-2], out.shape[-1])


class SiamFCNet(nn.Module):
    """Backbone + scaled cross-correlation head; ``forward(z, x)`` -> (B, 1, 17, 17) for
    127x127 exemplars and 255x255 search images (raw 0..255 RGB floats)."""

    def __init__(self, backbone: nn.Module, head_scale: float) -> None:
        super().__init__()
        self.backbone = backbone
        self.head_scale = float(head_scale)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Backbone features of a batch of images."""
        return self.backbone(x)

    def correlate(self, zf: torch.Tensor, xf: torch.Tensor) -> torch.Tensor:
        """Response from already-embedded exemplars and search images (see :func:`xcorr`)."""
        return xcorr(zf, xf) * self.head_scale

    def forward(self, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return self.correlate(self.embed(z), self.embed(x))
