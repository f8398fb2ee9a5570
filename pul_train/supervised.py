"""Supervised baselines (SiamFC, SiamDW) and the label-noise experiment (the paper's Fig. 6).

SiamFC pair sampling: a labeled frame i and another labeled frame j at most ``max_gap`` frames
away in the same sequence; the exemplar is the 127-px crop around box i (context 0.5 of the
mean side), the instance the 255-px crop around box j, so the label sits at the map centre
(then moved by the search-shift augmentation of :mod:`pul_train.tc`). ``noise_px`` > 0 moves
every ground-truth centre by that many frame pixels in a random direction, fixed per frame (a
corrupted annotation, not fresh jitter each epoch), which is what the NR loss should absorb
better than balanced BCE. Training refuses sequences that are evaluation sequences.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from pul_bench.errors import PulBenchError
from pul_bench.geometry import exemplar_crop
from pul_bench.schema import bounded
from pul_bench.tracker import read_image
from pul_train.labeled import check_disjoint, open_labeled
from pul_train.losses import NRConfig
from pul_train.tc import PairNet, pair_batch, response_loss

EXEMPLAR, INSTANCE, CONTEXT = 127, 255, 0.5


@dataclass(frozen=True)
class SupervisedConfig:
    """The ``supervised`` recipe section."""

    loss: str = bounded("bce", choices=("nr", "bce"))
    noise_px: float = bounded(0.0, lo=0.0)  # ground-truth centre displacement, frame pixels
    nr: NRConfig = field(default_factory=NRConfig)  # used when ``loss`` is nr
    pairs_per_epoch: int = bounded(512, lo=1)
    batch_size: int = bounded(8, lo=1)
    max_gap: int = bounded(50, lo=1)  # frames between exemplar and instance
    head_scale: float = bounded(0.001, lo=0.0)
    shift_px: int = bounded(8, lo=0, hi=64)
    init: str | None = bounded(None, path=True)  # optional backbone checkpoint to start from


def noisy_boxes(boxes: np.ndarray, noise_px: float, rng: np.random.Generator) -> np.ndarray:
    """``boxes`` with each centre moved by exactly ``noise_px`` in a random direction."""
    angle = rng.uniform(0, 2 * math.pi, len(boxes))
    out = boxes.copy()
    out[:, 0] += noise_px * np.cos(angle)
    out[:, 1] += noise_px * np.sin(angle)
    return out


def _crop(path: Path, box: np.ndarray, out_size: int) -> np.ndarray:
    return exemplar_crop(read_image(path), box, CONTEXT, out_size, zoom=out_size / EXEMPLAR)


class SupervisedTask:
    """Supervised SiamFC training as a :func:`pul_train.trainer.train` task."""

    Config = SupervisedConfig

    def __init__(self, recipe: Any, data_root: Any, device: torch.device, progress: bool) -> None:
        from pul_bench.paths import data_root as shared

        self.recipe, self.cfg = recipe, recipe.options
        self.seqs = open_labeled(data_root, recipe.data.kind)
        base = shared(required=False)
        if base is not None:
            check_disjoint(self.seqs, [p for p in (base / "sequences").glob("*") if p.is_dir()])
        self.boxes = [noisy_boxes(s.boxes, self.cfg.noise_px,
                                  np.random.default_rng([recipe.seed, k, 6]))
                      if self.cfg.noise_px else s.boxes for k, s in enumerate(self.seqs)]
        self.valid = [s.valid() for s in self.seqs]
        if not any(len(v) >= 2 for v in self.valid):
            raise PulBenchError(f"{data_root}: no sequence has two labeled frames")

    def prepare(self, compute: bool) -> None:
        """Nothing to precompute: frames are read when batches are made."""

    def build_model(self) -> nn.Module:
        from pul_bench.models.siamese import SiamFCNet, build_backbone

        backbone = build_backbone(self.recipe.backbone)
        if self.cfg.init:
            from pul_bench.checkpoint import apply_state_dict, load_checkpoint

            state, _ = load_checkpoint(self.cfg.init)
            apply_state_dict(backbone, state, self.cfg.init)
        return PairNet(SiamFCNet(backbone, self.cfg.head_scale))

    def phase(self, epoch: int) -> str:
        return f"{self.cfg.loss}-noise{self.cfg.noise_px:g}"

    def epoch_batches(self, epoch: int, model: nn.Module) -> list[np.ndarray]:
        """``pairs_per_epoch`` (sequence, frame i, frame j) triples, sequences drawn uniformly."""
        rng = np.random.default_rng([self.recipe.seed, epoch, 5])
        usable = [k for k, v in enumerate(self.valid) if len(v) >= 2]
        triples = []
        for _ in range(self.cfg.pairs_per_epoch):
            k = usable[rng.integers(len(usable))]
            v = self.valid[k]
            i = v[rng.integers(len(v))]
            near = v[(np.abs(v - i) <= self.cfg.max_gap) & (v != i)]
            j = near[rng.integers(len(near))] if len(near) else i
            triples.append((k, i, j))
        t = np.array(triples, np.int64)
        size = min(self.cfg.batch_size, len(t))
        return [t[b:b + size] for b in range(0, len(t) - size + 1, size)]

    def make_batch(self, epoch: int, step: int, triples: np.ndarray) -> dict[str, torch.Tensor]:
        def items():
            for n, (k, i, j) in enumerate(triples):
                frames, boxes = self.seqs[k].frames, self.boxes[k]
                yield (_crop(frames[i], boxes[i], EXEMPLAR), _crop(frames[j], boxes[j], INSTANCE),
                       np.random.default_rng([self.recipe.seed, epoch, step, n, 8]))

        return pair_batch(items(), self.cfg.shift_px)

    def loss(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
        _, _, r = model(batch["z"], batch["x"])
        return response_loss(r, batch["centre"], self.cfg.loss, self.cfg.nr), 2 * len(batch["z"])

    def export(self, model: nn.Module) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        return model.net.backbone.state_dict(), {
            "architecture": self.recipe.backbone, "stage": "supervised",
            "loss": self.cfg.loss, "noise_px": self.cfg.noise_px,
            "sequences": [s.name for s in self.seqs]}
