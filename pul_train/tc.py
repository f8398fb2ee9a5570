"""Temporal-correspondence (TC) learning: fine-tune the BD backbone as a SiamFC on mined pairs.

``prepare`` mines the pairs (resumably, :mod:`pul_train.mining`) with the tracker built from
``mine_with`` (default: the ``init`` checkpoint), then every step trains on SiamFC pairs: the
first patch as exemplar, the search crop around the last patch as instance, the label centred
where the tracker ended. That centre is noisy, which is what the NR loss is for; ``loss: bce``
trains with SiamFC's balanced BCE instead, for the comparison. The contrastive term (weight
``contrastive_weight``, the paper's lambda) is NT-Xent between the pooled features of the first
patch and of the last patch (the central exemplar-sized window of the search features).

Augmentation: the same horizontal flip for both crops, and a random shift of the search crop by
up to ``shift_px`` pixels, which moves the label centre by shift / stride cells.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch import nn

from pul_bench.errors import PulBenchError
from pul_bench.paths import REPO_ROOT
from pul_bench.schema import bounded
from pul_train.bd import nt_xent, pooled
from pul_train.losses import NRConfig, balanced_bce, nr_loss
from pul_train.mining import MiningConfig, PairSet, contact_sheet, mine
from pul_train.video import open_videos

STRIDE = 8.0  # total stride of both backbones: search pixels per response cell


@dataclass(frozen=True)
class TCConfig:
    """The ``tc`` recipe section. Paths are relative to the repository root."""

    init: str = bounded("trackers/weights/alexpul-bd.pt", path=True)  # backbone to fine-tune
    #: checkpoint that mines the pairs (default: ``init``)
    mine_with: str | None = bounded(None, path=True)
    tracker: str = "alexpul-bd"  # tracker spec whose SiamFC settings mine
    lengths: tuple[int, ...] = bounded((10,), lo=1)  # tracking lengths to mine with ``mine_with``
    #: mined folders also trained on (TCL-20: the L=10 set)
    extra_pairs: tuple[str, ...] = bounded((), path=True)
    #: where mined pairs are stored (one folder per model/length)
    pairs_dir: str = bounded("runs/mined", path=True)
    per_frame: int = bounded(2, lo=1)  # proposals tracked from each sampled frame
    mine_batch: int = bounded(64, lo=1)  # tracks advanced together while mining
    min_confidence: float = bounded(0.0, lo=0.0, hi=1.0)  # pairs below are not trained on
    loss: str = bounded("nr", choices=("nr", "bce"))
    nr: NRConfig = field(default_factory=NRConfig)  # used when ``loss`` is nr
    contrastive_weight: float = bounded(1.0, lo=0.0)  # lambda
    temperature: float = bounded(0.5, lo=1e-3)
    batch_size: int = bounded(196, lo=2)
    head_scale: float = bounded(0.001, lo=0.0)
    shift_px: int = bounded(8, lo=0, hi=64)
    pairs_per_epoch: int = bounded(0, lo=0)  # 0: every pair once per epoch
    #: train on a seeded subset of this many kept pairs (0: all); for one pair set, a smaller
    #: size's subset is part of every larger one's, so sizes form a learning curve
    max_pairs: int = bounded(0, lo=0)


def _repo_path(p: str) -> Path:
    """A recipe file's relative path is under the checkout (``--set`` ones arrive absolute:
    relative to the working folder, see :func:`pul_bench.schema.bounded`)."""
    path = Path(p).expanduser()
    return path if path.is_absolute() else REPO_ROOT / path


class TCTask:
    """TC learning as a :func:`pul_train.trainer.train` task."""

    Config = TCConfig

    def __init__(self, recipe: Any, data_root: Any, device: torch.device, progress: bool) -> None:
        self.recipe, self.cfg = recipe, recipe.options
        self.data_root, self.device, self.progress = Path(data_root), device, progress
        self.pairs: PairSet | None = None
        self.keep = np.zeros(0, np.int64)

    def mining_folders(self) -> list[tuple[Path, int]]:
        """(folder, length) of each set this recipe mines itself."""
        ckpt = _repo_path(self.cfg.mine_with or self.cfg.init)
        return [(_repo_path(self.cfg.pairs_dir) / f"{ckpt.stem}-L{n}-s{self.recipe.seed}", int(n))
                for n in self.cfg.lengths]

    def prepare(self, compute: bool) -> None:
        """Mine missing pairs (``compute``) and load every pair set of the recipe."""
        folders = self.mining_folders()
        if compute and folders:
            from pul_bench.registry import create
            from pul_train.trainer import resolve_precision

            ckpt = _repo_path(self.cfg.mine_with or self.cfg.init)
            # mining tracks in the training precision (bf16 on a CPU that has it)
            prec = resolve_precision(self.recipe.runtime.precision, self.device)
            tracker = create(self.cfg.tracker, checkpoint=ckpt, device=self.device.type,
                             precision=prec.name)
            videos = open_videos(self.data_root, self.recipe.data.kind)
            for folder, n in folders:
                cfg = MiningConfig(length=n, stride=self.recipe.data.stride,
                                   per_frame=self.cfg.per_frame, seed=self.recipe.seed)
                mine(tracker, videos, folder, cfg, self.recipe.proposals, self.cfg.mine_batch,
                     checkpoint=str(ckpt), workers=self.recipe.runtime.workers,
                     progress=self.progress)
                sheet = folder / "contact_sheet.png"
                if not sheet.is_file():
                    contact_sheet(PairSet([folder]), sheet, seed=self.recipe.seed)
        self.pairs = PairSet([f for f, _ in folders]
                             + [_repo_path(p) for p in self.cfg.extra_pairs])
        self.keep = np.flatnonzero(self.pairs.field("confidence") >= self.cfg.min_confidence)
        if self.cfg.max_pairs:
            order = np.random.default_rng([self.recipe.seed, 5]).permutation(len(self.keep))
            self.keep = np.sort(self.keep[order[: self.cfg.max_pairs]])
        if len(self.keep) < 2:
            raise PulBenchError(f"{self.recipe.source}: fewer than 2 mined pairs reach "
                                f"min_confidence {self.cfg.min_confidence}")

    def build_model(self) -> nn.Module:
        from pul_bench.checkpoint import apply_state_dict, load_checkpoint
        from pul_bench.models.siamese import SiamFCNet, build_backbone

        backbone = build_backbone(self.recipe.backbone)
        path = _repo_path(self.cfg.init)
        if not path.is_file():
            raise PulBenchError(f"{self.recipe.source}: tc.init checkpoint not found: {path} "
                                f"(train the BD stage first)")
        state, _ = load_checkpoint(path)
        apply_state_dict(backbone, state, path)
        return PairNet(SiamFCNet(backbone, self.cfg.head_scale))

    def phase(self, epoch: int) -> str:
        return f"tc-{self.cfg.loss}"

    def epoch_batches(self, epoch: int, model: nn.Module) -> list[np.ndarray]:
        """A seeded shuffle of the kept pairs in mini-batches of ``batch_size``."""
        rng = np.random.default_rng([self.recipe.seed, epoch, 3])
        order = rng.permutation(self.keep)
        if self.cfg.pairs_per_epoch:
            order = order[: self.cfg.pairs_per_epoch]
        size = min(self.cfg.batch_size, len(order))
        return [order[i:i + size] for i in range(0, len(order) - size + 1, size)]

    def make_batch(self, epoch: int, step: int, indices: np.ndarray) -> dict[str, torch.Tensor]:
        """Exemplars, shifted search crops and the label centres (cells) they imply."""
        assert self.pairs is not None
        seed = self.recipe.seed
        return pair_batch(((*self.pairs.pair(int(n)),
                            np.random.default_rng([seed, epoch, step, j, 4]))
                           for j, n in enumerate(indices)), self.cfg.shift_px)

    def loss(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
        """L_NR (or balanced BCE) + lambda * NT-Xent(first patch, last patch)."""
        zf, xf, r = model(batch["z"], batch["x"])
        loss = response_loss(r, batch["centre"], self.cfg.loss, self.cfg.nr)
        if self.cfg.contrastive_weight > 0:
            o = (xf.shape[-1] - zf.shape[-1]) // 2
            last = xf[:, :, o:o + zf.shape[-2], o:o + zf.shape[-1]]
            loss = loss + self.cfg.contrastive_weight * nt_xent(
                pooled(zf), pooled(last), self.cfg.temperature)
        return loss, 2 * batch["z"].shape[0]

    def export(self, model: nn.Module) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        return model.net.backbone.state_dict(), {
            "architecture": self.recipe.backbone, "stage": f"tc-{self.cfg.loss}",
            "init": self.cfg.init, "pairs": len(self.keep),
            "lengths": sorted({int(v) for v in self.pairs.pair_lengths()}) if self.pairs else []}


class PairNet(nn.Module):
    """A SiamFC whose forward also returns both features (for the contrastive term), so that
    the whole step runs through ``forward`` and DistributedDataParallel sees it."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, z: torch.Tensor, x: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        zf, xf = self.net.embed(z), self.net.embed(x)
        return zf, xf, self.net.correlate(zf, xf)


def shift_search(x: np.ndarray, rng: np.random.Generator, max_px: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Translate a search crop by up to ``max_px`` (edges replicated); return it and the new
    position of its centre relative to the crop centre, (row, col) in pixels."""
    if max_px == 0:
        return x, np.zeros(2)
    dx, dy = rng.integers(-max_px, max_px + 1, size=2)
    m = np.array([[1, 0, dx], [0, 1, dy]], np.float32)
    out = cv2.warpAffine(x, m, (x.shape[1], x.shape[0]), borderMode=cv2.BORDER_REPLICATE)
    return out, np.array([dy, dx], np.float64)


def pair_batch(items: Iterable[tuple[np.ndarray, np.ndarray, np.random.Generator]],
               shift_px: int = 8) -> dict[str, torch.Tensor]:
    """Stack (exemplar, search, rng) pairs into a batch: each search crop shifted by up to
    ``shift_px`` (so the target is not always centred) and both flipped half the time; the
    label centre comes out in response-map cells."""
    zs, xs, centres = [], [], []
    for z, x, rng in items:
        x, centre = shift_search(x, rng, shift_px)
        if rng.random() < 0.5:
            z, x, centre = z[:, ::-1], x[:, ::-1], centre * np.array([1.0, -1.0])
        zs.append(z)
        xs.append(x)
        centres.append(centre / STRIDE)
    return {"z": to_nchw(zs), "x": to_nchw(xs),
            "centre": torch.from_numpy(np.array(centres, np.float64))}


def response_loss(r: torch.Tensor, centre: torch.Tensor, loss: str, nr: NRConfig
                  ) -> torch.Tensor:
    """The NR loss or balanced BCE of responses ``r`` for labels at ``centre`` (cells)."""
    r = r.float()
    return nr_loss(r, nr, centre) if loss == "nr" else balanced_bce(r, centre=centre)


def to_nchw(images: list[np.ndarray]) -> torch.Tensor:
    """RGB uint8 HWC images -> one float NCHW batch (raw 0..255, as the backbones expect)."""
    return torch.from_numpy(np.ascontiguousarray(np.stack(images))).permute(0, 3, 1, 2).float()
