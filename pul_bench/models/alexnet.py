"""AlexNet-v1, the SiamFC backbone (Bertinetto et al., 2016): five convolutions, total stride 8.

Input: float RGB images with raw pixel values in 0..255, shape (B, 3, H, W), no mean/std
normalisation (SiamFC trains and tracks on raw values; the batch norms absorb the scale).
A 127x127 exemplar gives 6x6x256 features and a 255x255 search image 22x22x256, so their
cross-correlation is the 17x17 SiamFC response. No padding anywhere: features are exactly
translation-equivariant, which the tracker's displacement arithmetic relies on.
"""

from __future__ import annotations

import torch
from torch import nn


def _bn(channels: int) -> nn.BatchNorm2d:
    # SiamFC's batch norms: small epsilon, slow running statistics.
    return nn.BatchNorm2d(channels, eps=1e-6, momentum=0.05)


class AlexNetV1(nn.Module):
    """conv 11/2 96, pool; conv 5 256 (2 groups), pool; conv 3 384; conv 3 384 (2 groups);
    conv 3 256 (2 groups, no BN or ReLU: the features feed a correlation, not a classifier)."""

    out_channels = 256
    total_stride = 8

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Sequential(
            nn.Conv2d(3, 96, 11, 2), _bn(96), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2))
        self.conv2 = nn.Sequential(
            nn.Conv2d(96, 256, 5, 1, groups=2), _bn(256), nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2))
        self.conv3 = nn.Sequential(nn.Conv2d(256, 384, 3, 1), _bn(384), nn.ReLU(inplace=True))
        self.conv4 = nn.Sequential(
            nn.Conv2d(384, 384, 3, 1, groups=2), _bn(384), nn.ReLU(inplace=True))
        self.conv5 = nn.Sequential(nn.Conv2d(384, 256, 3, 1, groups=2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) raw 0..255 RGB -> (B, 256, (H - 87) / 8 + 1, same for W)."""
        return self.conv5(self.conv4(self.conv3(self.conv2(self.conv1(x)))))
