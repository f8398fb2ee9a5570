"""The SiamFC tracking procedure (Bertinetto et al., 2016), shared by SiamFC, SiamFC+ and PUL.

Every tracker of the family runs this one procedure; only the backbone weights and the
hyper-parameters in its spec (``trackers/*.yaml``) differ, so a score difference between two
of them comes from the backbone. Per frame: crop ``scale_num`` squares of side
``x_sz * scale_step ** k`` around the last centre (padded with the first frame's mean colour),
embed them in one batch, correlate with the exemplar features cached at ``init``, upsample each
17x17 response ``response_up`` times (bicubic), penalise the non-unit scales, take the best,
normalise it and blend with a cosine window, then move the centre by the peak's displacement and
damp the size change with ``scale_lr``; the search size stays within ``size_clamp`` times its
initial value.

Inference is tuned for CPUs (``optimize=True``): batch norm folded into the convolutions,
channels-last tensors, ``inference_mode``, and optionally bfloat16 weights (AMX/AVX512-BF16).
``optimize=False`` is the plain eager network that ``pulbench bench speed`` compares against.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from pul_bench.checkpoint import apply_state_dict, load_backbone_init, load_checkpoint
from pul_bench.errors import InputError, PulBenchError
from pul_bench.geometry import box_center, context_size, crop_pyramid, crop_square
from pul_bench.models.siamese import SiamFCNet, build_backbone
from pul_bench.tracker import PRECISIONS, Box, Tracker

DTYPES = dict(zip(PRECISIONS, (torch.float32, torch.bfloat16, torch.float16), strict=True))
TUNABLE = ("scale_step", "scale_lr", "scale_penalty", "window_influence")


def load_net(backbone: str, head_scale: float, checkpoint: str | Path | None = None,
             init: str | Path | None = None, seed: int = 0) -> SiamFCNet:
    """The network in eval mode: trained weights from ``checkpoint``, else an ``init`` file on a
    seeded random backbone, else seeded random weights (the ``*-random`` sanity floor)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = build_backbone(backbone)
    if checkpoint is not None:
        state, meta = load_checkpoint(checkpoint)
        if meta.get("architecture") != backbone:
            raise InputError(checkpoint, f"checkpoint is for {meta.get('architecture')!r}, "
                                         f"this tracker needs {backbone!r}")
        apply_state_dict(net, state, checkpoint)
    elif init is not None:
        load_backbone_init(init, net)
    return SiamFCNet(net, head_scale).eval()


def fold_batch_norms(module: nn.Module) -> nn.Module:
    """Fold every eval-mode batch norm into the convolution feeding it, in place.

    Pairs are a Conv2d directly followed by a BatchNorm2d in a Sequential, or sibling attributes
    ``convN``/``bnN`` (the ResNet naming); the BN becomes an Identity, so forward code is unchanged.
    """
    for child in list(module.children()):
        fold_batch_norms(child)
    names = dict(module.named_children())
    if isinstance(module, nn.Sequential):
        keys = list(names)
        pairs = list(zip(keys, keys[1:], strict=False))
    else:
        pairs = [(f"conv{k[2:]}", k) for k in names if k.startswith("bn")]
    for conv_name, bn_name in pairs:
        conv, bn = names.get(conv_name), names.get(bn_name)
        if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
            setattr(module, conv_name, fuse_conv_bn_eval(conv, bn))
            setattr(module, bn_name, nn.Identity())
    return module


def optimize_for_inference(net: SiamFCNet, dtype: torch.dtype) -> SiamFCNet:
    """A copy with batch norm folded into the convolutions, channels-last and cast to ``dtype``."""
    out = copy.deepcopy(net).eval()
    fold_batch_norms(out.backbone)
    return out.to(memory_format=torch.channels_last).to(dtype)



def auto_precision(device: str) -> str:
    """``precision: auto``: fp32 on a CPU; on CUDA bf16 where the GPU has it, else fp16. fp16 tops
    out at 65504, which an untrained AlexNet's correlations pass on real frames (the H200 run of
    ``scripts/bench_mining.py`` gave NaN responses), while bf16 keeps fp32's range."""
    if torch.device(device).type != "cuda":
        return "fp32"
    return "bf16" if torch.cuda.is_bf16_supported() else "fp16"

class SiamFCTracker(Tracker):
    """SiamFC-procedure tracker over a Siamese backbone; all hyper-parameters come from the spec.

    ``per_benchmark`` maps a benchmark name (e.g. ``otb2015``) to tuned values of
    ``scale_step``/``scale_lr``/``scale_penalty``/``window_influence`` (SiamDW's published
    tables); :meth:`set_benchmark` applies them.
    """

    deterministic = True

    def __init__(self, *, backbone: str, head_scale: float, context: float, exemplar_size: int,
                 instance_size: int, scale_num: int, scale_step: float, scale_penalty: float,
                 scale_lr: float, window_influence: float, response_up: int,
                 size_clamp: Sequence[float], checkpoint: str | Path | None = None,
                 init: str | Path | None = None, seed: int = 0, precision: str = "auto",
                 threads: int | None = None, device: str = "auto", optimize: bool = True,
                 per_benchmark: Mapping[str, Mapping[str, float]] | None = None) -> None:
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        if precision == "auto":
            precision = auto_precision(device)
        if precision not in DTYPES:
            raise PulBenchError(f"precision must be one of {', '.join(PRECISIONS)}, not "
                                f"{precision!r}")
        if torch.device(device).type == "cuda" and not torch.cuda.is_available():
            raise PulBenchError(f"device {device!r}: no CUDA device here (torch "
                                f"{torch.__version__}); use --device cpu or auto")
        if precision == "fp16" and device == "cpu":
            raise PulBenchError("fp16 inference needs a CUDA device; use bf16 on a CPU")
        if scale_num < 1 or scale_num % 2 == 0:
            raise PulBenchError(f"scale_num must be odd and positive, not {scale_num}")
        if threads:
            torch.set_num_threads(int(threads))
        self.context, self.exemplar_size, self.instance_size = context, exemplar_size, instance_size
        self.scale_num, self.scale_step, self.scale_penalty = scale_num, scale_step, scale_penalty
        self.scale_lr, self.window_influence = scale_lr, window_influence
        self.response_up, self.size_clamp = response_up, (float(size_clamp[0]),
                                                          float(size_clamp[1]))
        self.per_benchmark = {k.lower(): dict(v) for k, v in (per_benchmark or {}).items()}
        for name, values in self.per_benchmark.items():
            unknown = set(values) - set(TUNABLE)
            if unknown:
                raise PulBenchError(f"per_benchmark[{name!r}]: unknown keys {sorted(unknown)}")
        self.device = torch.device(device)
        self.precision = precision  # resolved: what a results folder's set-up record holds
        self.dtype = DTYPES[precision]
        self.optimized = optimize
        net = load_net(backbone, head_scale, checkpoint, init, seed)
        self.stride = net.backbone.total_stride
        self.net = (optimize_for_inference(net, self.dtype) if optimize
                    else net.to(self.dtype)).to(self.device)

    def set_benchmark(self, name: str) -> bool:
        """Use the spec's tuned values for benchmark ``name``; False if it has none."""
        values = self.per_benchmark.get(name.lower())
        if values is None:
            return False
        for key, value in values.items():
            setattr(self, key, float(value))
        return True

    def _to_tensor(self, crops: np.ndarray) -> torch.Tensor:
        """(N, H, W, 3) uint8 -> (N, 3, H, W) float on the device; the NHWC buffer already
        is a channels-last tensor, so the optimised path copies nothing it does not cast."""
        x = torch.from_numpy(crops).to(self.device).permute(0, 3, 1, 2)
        if not self.optimized:
            x = x.contiguous()
        return x.to(self.dtype)

    def init(self, image: np.ndarray, box: Sequence[float]) -> None:
        self.center = box_center(box)
        self.target_sz = np.array(box[2:4], dtype=np.float64)
        z_sz = float(context_size(box, self.context))
        self.x_sz = self.x_sz0 = z_sz * self.instance_size / self.exemplar_size
        self.fill = image.reshape(-1, image.shape[-1]).mean(axis=0)
        z = crop_square(image, self.center, z_sz, self.exemplar_size, self.fill)[None]
        with torch.inference_mode():
            self.zf = self.net.embed(self._to_tensor(z))
        up = self.response_up * (self.instance_size - self.exemplar_size) // self.stride \
            + self.response_up
        hann = np.hanning(up)
        self.window = np.outer(hann, hann)
        self.window /= self.window.sum()
        k = np.arange(self.scale_num) - self.scale_num // 2
        self.scales = self.scale_step ** k
        self.penalties = np.where(k == 0, 1.0, self.scale_penalty)

    def responses(self, image: np.ndarray) -> np.ndarray:
        """The raw (scale_num, 17, 17) responses around the current state, as float32."""
        crops = crop_pyramid(image, self.center, self.x_sz * self.scales, self.instance_size,
                             self.fill)
        with torch.inference_mode():
            r = self.net.correlate(self.zf, self.net.embed(self._to_tensor(crops)))
        return r[:, 0].float().cpu().numpy()

    def peak_to_frame(self, row: int, col: int, scale: float = 1.0) -> np.ndarray:
        """Frame point under cell (row, col) of the upsampled response of the search crop at
        ``scale``: the response centre is the current centre, one cell is a stride / up pixel."""
        disp = (np.array([col, row]) - (self.window.shape[0] - 1) / 2) * self.stride \
            / self.response_up
        return self.center + disp * self.x_sz * scale / self.instance_size

    def fork(self) -> SiamFCTracker:
        """A tracker sharing this one's network and settings with its own tracking state (set by
        :meth:`init`): what advances many targets in one batched forward pass (mining)."""
        return copy.copy(self)

    def update(self, image: np.ndarray) -> Box:
        return self.follow(self.responses(image))

    def follow(self, r: np.ndarray) -> Box:
        """Take the tracking step on raw responses ``r`` (:meth:`responses`' shape), computed
        here or in a caller's batch; move the state and return the new box."""
        up = self.window.shape[0]
        resp = cv2.resize(np.ascontiguousarray(r.transpose(1, 2, 0)), (up, up),
                          interpolation=cv2.INTER_CUBIC).reshape(up, up, -1)
        best = int(np.argmax(resp.max(axis=(0, 1)) * self.penalties))
        m = resp[:, :, best] - resp[:, :, best].min()
        m /= m.sum() + 1e-16
        m = (1 - self.window_influence) * m + self.window_influence * self.window
        row, col = np.unravel_index(int(np.argmax(m)), m.shape)
        self.center = self.peak_to_frame(row, col, self.scales[best])
        scale = (1 - self.scale_lr) + self.scale_lr * self.scales[best]
        self.target_sz = self.target_sz * scale
        lo, hi = self.size_clamp
        self.x_sz = float(np.clip(self.x_sz * scale, lo * self.x_sz0, hi * self.x_sz0))
        w, h = self.target_sz
        return np.array([self.center[0] - w / 2, self.center[1] - h / 2, w, h])

