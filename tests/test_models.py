"""Backbone feature sizes and the Siamese response, pinned for both architectures."""

from __future__ import annotations

import pytest
import torch

from pul_bench.errors import PulBenchError
from pul_bench.models.alexnet import AlexNetV1
from pul_bench.models.ciresnet import CIResNet22
from pul_bench.models.siamese import SiamFCNet, build_backbone, xcorr

SIZES = {  # name: (channels, exemplar 127 ->, search 255 ->)
    "alexnet": (256, 6, 22),
    "ciresnet22": (512, 5, 21),
}


@pytest.mark.parametrize("name", SIZES)
def test_feature_and_response_sizes(name: str) -> None:
    torch.manual_seed(0)
    net = SiamFCNet(build_backbone(name), head_scale=0.001).eval()
    c, zs, xs = SIZES[name]
    z = torch.rand(2, 3, 127, 127) * 255
    x = torch.rand(2, 3, 255, 255) * 255
    with torch.no_grad():
        assert net.embed(z).shape == (2, c, zs, zs)
        assert net.embed(x).shape == (2, c, xs, xs)
        assert net(z, x).shape == (2, 1, 17, 17)
        assert net(z[:1], x).shape == (2, 1, 17, 17)


def test_build_backbone_types_and_unknown_name() -> None:
    assert isinstance(build_backbone("alexnet"), AlexNetV1)
    assert isinstance(build_backbone("ciresnet22"), CIResNet22)
    with pytest.raises(PulBenchError, match="unknown backbone 'vgg'"):
        build_backbone("vgg")
    # a recipe's own backbone, by factory reference: the one builder serves training and tracking
    assert isinstance(build_backbone("pul_bench.models.alexnet:AlexNetV1"), AlexNetV1)
    with pytest.raises(PulBenchError, match="cannot load backbone factory"):
        build_backbone("pul_bench.models.alexnet:Nope")


def test_alexnet_layer_layout() -> None:
    """Grouped convolutions as in SiamFC: 2 groups in conv2, conv4 and conv5."""
    net = AlexNetV1()
    groups = [net.conv1[0].groups, net.conv2[0].groups, net.conv3[0].groups,
              net.conv4[0].groups, net.conv5[0].groups]
    assert groups == [1, 2, 1, 2, 2]
    assert sum(p.numel() for p in net.parameters()) == 2_336_320


def test_xcorr_batched_equals_per_pair_loop() -> None:
    torch.manual_seed(1)
    z = torch.randn(3, 8, 4, 4)
    x = torch.randn(3, 8, 10, 10)
    batched = xcorr(z, x)
    looped = torch.cat([torch.nn.functional.conv2d(x[i:i + 1], z[i:i + 1]) for i in range(3)])
    assert batched.shape == (3, 1, 7, 7)
    torch.testing.assert_close(batched, looped)
    with pytest.raises(ValueError):
        xcorr(z[:2], x)


def test_head_scale_and_peak_at_matching_location() -> None:
    """A search image that contains the exemplar's features at an offset peaks there."""
    torch.manual_seed(2)
    z = torch.randn(1, 16, 5, 5)
    x = torch.randn(1, 16, 21, 21) * 0.1
    x[:, :, 3:8, 10:15] = z[0]
    net = SiamFCNet(torch.nn.Identity(), head_scale=0.1)
    r = net.correlate(z, x)
    assert r.shape == (1, 1, 17, 17)
    assert divmod(int(r.argmax()), 17) == (3, 10)
    torch.testing.assert_close(r, xcorr(z, x) * 0.1)


@pytest.mark.parametrize("name", SIZES)
def test_features_are_translation_equivariant(name: str) -> None:
    """Shifting the input by the stride shifts the (unpadded / border-cropped) features by 1."""
    torch.manual_seed(3)
    net = build_backbone(name).eval()
    img = torch.rand(1, 3, 263, 263) * 255
    with torch.no_grad():
        a = net(img[:, :, :255, :255])
        b = net(img[:, :, 8:, 8:])
    torch.testing.assert_close(a[:, :, 1:, 1:], b[:, :, :-1, :-1], rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("last_relu", [True, False])
def test_ci_unit_equals_cropping_its_output(last_relu: bool) -> None:
    """The unit crops early for speed; it must equal SiamDW's definition (crop the output)."""
    from pul_bench.models.ciresnet import CIBottleneck

    torch.manual_seed(6)
    unit = CIBottleneck(64, 32, last_relu=last_relu).eval()
    for m in unit.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.5, 2)
    x = torch.randn(2, 64, 15, 15)
    with torch.no_grad():
        y = unit.relu(unit.bn1(unit.conv1(x)))
        y = unit.relu(unit.bn2(unit.conv2(y)))
        y = unit.bn3(unit.conv3(y)) + unit.downsample(x)
        want = (unit.relu(y) if last_relu else y)[:, :, 1:-1, 1:-1]
        torch.testing.assert_close(unit(x), want, rtol=1e-5, atol=1e-5)
