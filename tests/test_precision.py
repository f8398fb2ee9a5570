"""Training precision (runtime.precision, runtime.channels_last): the switch resolves as
documented, and a bf16 / channels-last step computes what the fp32 step does, on real patches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import pul_train.trainer as trainer
from pul_bench.errors import InputError, PulBenchError
from pul_bench.geometry import exemplar_crop
from pul_bench.models.siamese import build_backbone
from pul_bench.tracker import read_image
from pul_train.bd import nt_xent, pooled
from pul_train.recipe import load_recipe
from pul_train.trainer import Precision, cpu_has_bf16, resolve_precision, to_device, train_step

CPU = torch.device("cpu")


def test_precision_switch_resolves_as_documented(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_precision("fp32", CPU).dtype is None
    monkeypatch.setattr(trainer, "cpu_has_bf16", lambda: True)
    assert resolve_precision("auto", CPU).dtype == torch.bfloat16
    assert resolve_precision("bf16", CPU, channels_last=True).name == "bf16+cl"
    monkeypatch.setattr(trainer, "cpu_has_bf16", lambda: False)
    assert resolve_precision("auto", CPU).name == "fp32"  # emulated bf16 would be slower
    with pytest.raises(PulBenchError, match="no native bf16"):
        resolve_precision("bf16", CPU)
    assert not Precision(torch.bfloat16, False, "cuda").scaled
    assert Precision(torch.float16, False, "cuda").scaled


def test_recipe_precision_is_checked_like_the_file() -> None:
    recipe = load_recipe("alexpul-bd", ["runtime.precision=auto", "runtime.channels_last=true"])
    assert (recipe.runtime.precision, recipe.runtime.channels_last) == ("auto", True)
    with pytest.raises(InputError, match="must be one of"):
        load_recipe("alexpul-bd", ["runtime.precision=fp16"])


class _BD:
    """The BD loss on a batch of two views (what BDTask.loss computes)."""

    def loss(self, net: torch.nn.Module, batch: dict[str, torch.Tensor]
             ) -> tuple[torch.Tensor, int]:
        z = pooled(net(batch["views"]))
        n = z.shape[0] // 2
        return nt_xent(z[:n], z[n:]), 2 * n


@pytest.fixture(scope="module")
def views(data_root: Path) -> dict[str, torch.Tensor]:
    """Eight real 127-px patches of one unlabeled frame, and their mirror images as twins."""
    image = read_image(data_root / "unlabeled" / "cup" / "00000001.jpg")
    h, w = image.shape[:2]
    rng = np.random.default_rng(0)
    boxes = [(rng.uniform(0, w * 0.6), rng.uniform(0, h * 0.6), w * 0.3, h * 0.3)
             for _ in range(8)]
    a = np.stack([exemplar_crop(image, b, 0.5, 127) for b in boxes]).astype(np.float32)
    x = torch.from_numpy(np.concatenate([a, a[:, :, ::-1]])).permute(0, 3, 1, 2).contiguous()
    return {"views": x}


def _step(prec: Precision, views: dict[str, torch.Tensor]) -> tuple[float, torch.Tensor, dict]:
    torch.manual_seed(0)
    net = build_backbone("alexnet")
    if prec.channels_last:
        net = net.to(memory_format=torch.channels_last)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    opt = torch.optim.SGD(net.parameters(), lr=1.0)  # the update is the gradient itself
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    loss, n = train_step(_BD(), net, opt, scaler, prec, to_device(views, CPU, prec))
    assert n == 16
    grad = (before["conv1.0.weight"] - net.state_dict()["conv1.0.weight"]).flatten()
    return loss, grad, net.state_dict()


def test_channels_last_fp32_step_equals_the_plain_step(views: dict) -> None:
    loss, grad, _ = _step(Precision(None, False, "cpu"), views)
    loss_cl, grad_cl, state = _step(Precision(None, True, "cpu"), views)
    assert abs(loss - loss_cl) < 1e-4 * abs(loss)
    # the same sums in another order (measured 0.3%; bf16 differs by about 8%)
    assert float(torch.linalg.vector_norm(grad_cl - grad) / torch.linalg.vector_norm(grad)) < 1e-2
    assert state["conv1.0.weight"].is_contiguous(memory_format=torch.channels_last)


@pytest.mark.skipif(not cpu_has_bf16(), reason="this CPU has no native bf16")
def test_bf16_step_follows_the_fp32_step(views: dict) -> None:
    loss, grad, _ = _step(Precision(None, False, "cpu"), views)
    loss16, grad16, state = _step(Precision(torch.bfloat16, True, "cpu"), views)
    assert abs(loss16 - loss) < 0.01 * abs(loss)  # bf16 keeps 8 bits of mantissa
    cosine = float(torch.nn.functional.cosine_similarity(grad16, grad, dim=0))
    assert cosine > 0.99
    assert all(v.dtype == torch.float32 for v in state.values() if v.is_floating_point())
