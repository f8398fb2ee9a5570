"""CIResNet-22, the SiamFC+ backbone of SiamDW (Zhang & Peng, CVPR 2019).

"Cropping-inside-residual" units remove the feature-map border that zero padding touched, so
features stay translation-equivariant despite padded 3x3 convolutions. Layout: 7x7/2 stem
conv with a 2-pixel border crop and a 2x2/2 max pool; stage 1 with 3 bottleneck units
(64 -> 256 channels); stage 2 with 4 units (128 -> 512 channels) and a 2x2/2 max pool after its
first unit. Total stride 8, 512 output channels, no ReLU after the last unit.
127x127 -> 5x5, 255x255 -> 21x21: a 17x17 response, as AlexNet-v1 gives.

Input: float RGB, raw 0..255 pixel values (as :mod:`pul_bench.models.alexnet`). Module names
follow SiamDW's (``conv1``, ``bn1``, ``layer1.N``, ``layer2.N`` with the pool at index 1) so an
ImageNet-style initialisation in that layout loads without renaming.
"""

from __future__ import annotations

import torch
from torch import nn


class CIBottleneck(nn.Module):
    """1x1 -> 3x3 -> 1x1 bottleneck whose output loses its 1-pixel padded border."""

    expansion = 4

    def __init__(self, in_channels: int, planes: int, last_relu: bool = True) -> None:
        super().__init__()
        out = planes * self.expansion
        self.conv1 = nn.Conv2d(in_channels, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.relu = nn.ReLU(inplace=True)
        self.last_relu = last_relu
        self.downsample = None
        if in_channels != out:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out, 1, bias=False), nn.BatchNorm2d(out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.relu(self.bn1(self.conv1(x)))
        # Crop right after the only padded layer: everything after it (1x1 convolutions, batch
        # norm, the sum, ReLU) acts per pixel, so this equals cropping the unit's output while
        # sparing the border's share of that work.
        y = self.relu(self.bn2(self.conv2(y)))[:, :, 1:-1, 1:-1]
        x = x[:, :, 1:-1, 1:-1]
        y = self.bn3(self.conv3(y)) + (x if self.downsample is None else self.downsample(x))
        return self.relu(y) if self.last_relu else y


class CIResNet22(nn.Module):
    """CIResNet-22: (B, 3, H, W) raw 0..255 RGB -> (B, 512, h, w), total stride 8."""

    out_channels = 512
    total_stride = 8

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(2, 2)
        self.layer1 = nn.Sequential(
            CIBottleneck(64, 64), CIBottleneck(256, 64), CIBottleneck(256, 64))
        self.layer2 = nn.Sequential(
            CIBottleneck(256, 128), nn.MaxPool2d(2, 2), CIBottleneck(512, 128),
            CIBottleneck(512, 128), CIBottleneck(512, 128, last_relu=False))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Stem (stride 2, crop 2), pool (stride 4), stage 1, stage 2 (stride 8)."""
        x = self.relu(self.bn1(self.conv1(x)))[:, :, 2:-2, 2:-2]
        return self.layer2(self.layer1(self.maxpool(x)))
