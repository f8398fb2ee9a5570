"""Background-discrimination (BD) learning: contrastive learning on EdgeBox proposal patches.

Each epoch takes ``patches_per_video`` proposals from one random sampled frame of every video.
Every patch gives two augmented views; NT-Xent on the globally pooled backbone features asks
each view to pick its twin among all other views of the mini-batch, so the backbone learns to
tell one object from the background and from other objects. After ``ahm_start_epoch`` the
mini-batches come from anchor-based hard negative mining (:mod:`pul_train.ahm`).

Augmentations (each view independently; a small set on purpose):

* crop jitter: the centre moves by up to 10% of the crop side in x and y;
* scale: the crop side is multiplied by a log-uniform factor in [0.8, 1.25];
* horizontal flip with probability 0.5;
* colour, with probability 0.8: brightness, contrast and saturation factors each in [0.7, 1.3];
* Gaussian blur with probability 0.5, sigma in [0.1, 1.5].

Patches are cropped like SiamFC exemplars (square, ``context`` of the box's mean side added,
padded with the frame's mean colour) so BD sees what the tracker will see.

Sampling switches (the paper's behaviour is the default of each):

* ``frames_per_video``: the video's ``patches_per_video`` proposals come from this many random
  sampled frames (paper: 1);
* ``sampling: across_clips``: a mini-batch holds at most one patch per frame, and AHM takes an
  anchor's neighbours from other frames (paper: random mini-batches, neighbours from anywhere);
* ``mask_iou``: two proposals of one frame overlapping by more than this IoU are left out of
  each other's NT-Xent denominator (paper: null, every other view is a negative).

Proposals of one frame overlap often (NMS keeps boxes up to IoU 0.6), and as negatives they push
apart two views of one object. Each epoch logs ``overlap_neg``, the share of in-batch negative
pairs of one frame with IoU > 0.3, and ``overlap_neg_loss``, the share left in the loss after
masking.
"""

from __future__ import annotations

import math
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from pul_bench.errors import PulBenchError
from pul_bench.geometry import crop_matrix, exemplar_crop, iou
from pul_bench.schema import bounded
from pul_train.ahm import ahm_batches, random_batches, spread_batches
from pul_train.proposals import frame_proposals
from pul_train.video import FrameRef, open_videos

MARGIN = 1.5  # stored crops cover ~1.5x the patch so that jitter and zoom-out stay inside
SCALE_RANGE = (0.8, 1.25)
SHIFT = 0.1
COLOUR_P, COLOUR_RANGE = 0.8, (0.7, 1.3)
BLUR_P, BLUR_SIGMA = 0.5, (0.1, 1.5)
FALSE_NEG_IOU = 0.3  # a same-frame negative above this IoU shows the anchor's object (logged)


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.5,
            exclude: torch.Tensor | None = None) -> torch.Tensor:
    """NT-Xent (SimCLR) loss of paired embeddings (B, D): mean over all 2B views.

    For view i with twin j: -log(exp(s_ij / t) / sum_{k != i} exp(s_ik / t)), s = cosine.
    ``exclude`` (B, B) bool marks pairs of patches that are not each other's negatives: both
    views of each are left out of the other's denominator (its diagonal must be False).
    """
    n = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2]).float(), dim=1)
    sim = (z @ z.t()) / temperature
    drop = torch.eye(2 * n, dtype=torch.bool, device=z.device)
    if exclude is not None:
        drop = drop | exclude.to(z.device, torch.bool).repeat(2, 2)
    sim = sim.masked_fill(drop, float("-inf"))
    twin = torch.cat([torch.arange(n, 2 * n), torch.arange(n)]).to(z.device)
    return F.cross_entropy(sim, twin)


def pooled(features: torch.Tensor) -> torch.Tensor:
    """Global average pooling: (B, C, h, w) -> (B, C)."""
    return features.mean(dim=(2, 3))


def augment(base: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """One augmented ``size`` x ``size`` float32 view of a stored crop (see module docstring)."""
    b = base.shape[0]
    side = size * math.exp(rng.uniform(*np.log(SCALE_RANGE)))  # crop side in base pixels
    cx = b / 2.0 + rng.uniform(-SHIFT, SHIFT) * side
    cy = b / 2.0 + rng.uniform(-SHIFT, SHIFT) * side
    m = crop_matrix((cx, cy), side, size)  # the tracker's crop map, on the stored crop
    if rng.random() < 0.5:  # horizontal flip about the view's centre
        m[0] = -m[0]
        m[0, 2] += size - 1
    view = cv2.warpAffine(base, m, (size, size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REFLECT).astype(np.float32)
    if rng.random() < COLOUR_P:
        # brightness b, contrast c (about the mean m), saturation s (about the grey value) are
        # linear in the colour: one 3x4 transform c*b*S x + (1 - c)*b*m, S = s*I + (1 - s)/3
        bright, contrast, sat = (float(v) for v in rng.uniform(*COLOUR_RANGE, size=3))
        grey_mix = sat * np.eye(3) + (1.0 - sat) / 3.0
        offset = (1.0 - contrast) * bright * float(view.mean())
        m = np.hstack([contrast * bright * grey_mix, np.full((3, 1), offset)])
        view = cv2.transform(view, m.astype(np.float32))
    if rng.random() < BLUR_P:
        view = cv2.GaussianBlur(view, (0, 0), rng.uniform(*BLUR_SIGMA))
    return np.clip(view, 0.0, 255.0).astype(np.float32, copy=False)


@dataclass(frozen=True)
class BDConfig:
    """The ``bd`` recipe section."""

    patches_per_video: int = bounded(12, lo=1)  # proposals per video per epoch
    frames_per_video: int = bounded(1, lo=1)  # random sampled frames they come from
    sampling: str = bounded("paper", choices=("paper", "across_clips"))
    mask_iou: float | None = bounded(None, lo=0.0, hi=1.0)  # same-frame pairs not negatives
    batch_size: int = bounded(64, lo=2)  # N: patches per mini-batch (2N views)
    temperature: float = bounded(0.5, lo=1e-3)  # NT-Xent tau, as tc.temperature
    patch_size: int = bounded(127, lo=1)  # SiamFC exemplar size
    context: float = bounded(0.5, lo=0.0)  # SiamFC exemplar context
    #: first AHM epoch (0-based); null: random batches only
    ahm_start_epoch: int | None = bounded(20, lo=0)
    ahm_expansion: int = bounded(5, lo=1)  # E: N * E candidate anchors per epoch
    embed_batch: int = bounded(128, lo=1)  # patches per forward pass when embedding for AHM


class BDTask:
    """BD learning as a trainer task: data plan per epoch, batches of views, NT-Xent loss."""

    Config = BDConfig

    def __init__(self, recipe: Any, data_root: Any, device: torch.device, progress: bool) -> None:
        self.recipe = recipe
        self.cfg: BDConfig = recipe.options
        if self.cfg.batch_size < 2:
            raise PulBenchError(f"{recipe.source}: bd.batch_size must be >= 2")
        self.device = device
        self.progress = progress
        self.videos = open_videos(data_root, recipe.data.kind)
        self.frames = [v.sampled(recipe.data.stride) for v in self.videos]
        self.boxes: dict[FrameRef, np.ndarray] = {}
        self.crops = np.zeros((0, 1, 1, 3), np.uint8)
        self.frame_id: dict[FrameRef, int] = {}
        self.patch_frame = np.zeros(0, np.int64)  # the epoch's patches: frame id, IoU > mask
        self.masked = np.zeros((0, 0), bool)
        self.stats: dict[str, float] = {}  # the last planned epoch's overlap shares (logged)
        self._pool: ThreadPoolExecutor | None = None
        self._ahead: tuple[int, Future] | None = None
        self.timing: dict[str, float] = {}  # seconds of the last epoch_batches, by part

    def build_model(self) -> nn.Module:
        from pul_bench.models.siamese import build_backbone

        return build_backbone(self.recipe.backbone)

    def prepare(self, compute: bool) -> None:
        """Proposals of every sampled frame (computed if ``compute``, else read from cache)."""
        flat = [f for frames in self.frames for f in frames]
        boxes = frame_proposals(flat, self.recipe.proposals, workers=self.recipe.runtime.workers,
                                progress=self.progress and compute)
        self.boxes = dict(zip(flat, boxes, strict=True))
        self.frame_id = {f: i for i, f in enumerate(flat)}

    def phase(self, epoch: int) -> str:
        """``random`` or ``ahm``: how the epoch's mini-batches are formed."""
        start = self.cfg.ahm_start_epoch
        return "random" if start is None or epoch < start else "ahm"

    def _patch_set(self, epoch: int) -> list[tuple[FrameRef, np.ndarray]]:
        rng = np.random.default_rng([self.recipe.seed, epoch, 1])
        chosen = []
        k = self.cfg.frames_per_video
        for frames in self.frames:
            if k == 1:  # the paper's draw, kept bit for bit
                picks = [rng.integers(len(frames))]
            else:
                picks = np.sort(rng.choice(len(frames), min(k, len(frames)), replace=False))
            quota = np.full(len(picks), self.cfg.patches_per_video // len(picks))
            quota[: self.cfg.patches_per_video % len(picks)] += 1
            for f, q in zip(picks, quota, strict=True):
                boxes = self.boxes[frames[f]]
                if len(boxes) == 0 or q == 0:
                    continue
                pick = rng.choice(len(boxes), min(int(q), len(boxes)), replace=False)
                chosen.append((frames[f], boxes[np.sort(pick)]))
        return chosen

    def _patch_overlaps(self, chosen: list[tuple[FrameRef, np.ndarray]]) -> np.ndarray:
        """(P, P) IoU of every two patches of one frame (0 across frames and on the diagonal);
        also sets the epoch's ``patch_frame``."""
        self.patch_frame = np.concatenate(
            [np.full(len(b), self.frame_id[f], np.int64) for f, b in chosen])
        boxes = np.concatenate([b[:, :4] for _, b in chosen]).astype(np.float64)
        i, j = np.nonzero(self.patch_frame[:, None] == self.patch_frame[None, :])
        off = i != j
        out = np.zeros((len(boxes), len(boxes)))
        out[i[off], j[off]] = iou(boxes[i[off]], boxes[j[off]])
        return out

    def _overlap_stats(self, plan: list[np.ndarray], overlap: np.ndarray) -> dict[str, float]:
        """Shares of the plan's negative pairs that show the anchor's object (same frame,
        IoU > ``FALSE_NEG_IOU``): sampled, and left in the loss after ``mask_iou``."""
        pairs = hit = kept = 0
        for b in plan:
            sub = overlap[np.ix_(b, b)] > FALSE_NEG_IOU
            pairs += len(b) * (len(b) - 1)
            hit += int(sub.sum())
            kept += int((sub & ~self.masked[np.ix_(b, b)]).sum())
        return {"overlap_neg": round(hit / max(pairs, 1), 5),
                "overlap_neg_loss": round(kept / max(pairs, 1), 5)}

    def _crop_frame(self, item: tuple[FrameRef, np.ndarray]) -> np.ndarray:
        frame, boxes = item
        image = frame.read()
        fill = image.reshape(-1, 3).mean(axis=0)
        p = self.cfg.patch_size
        size = p + 2 * round(p * (MARGIN - 1) / 2)  # its centre p x p: exactly the exemplar crop
        return np.stack([exemplar_crop(image, b[:4], self.cfg.context, size, size / p, fill)
                         for b in boxes])

    def _epoch_crops(self, epoch: int) -> np.ndarray:
        """The stored crops of the epoch's patch set; depends on the seed and epoch only."""
        chosen = self._patch_set(epoch)
        with ThreadPoolExecutor(self.recipe.runtime.workers) as pool:
            crops = list(pool.map(self._crop_frame, chosen))
        if not crops:
            raise PulBenchError("no proposals in any sampled frame: nothing to train on")
        return np.concatenate(crops)

    def epoch_batches(self, epoch: int, model: nn.Module) -> list[np.ndarray]:
        """The epoch's mini-batches (patch indices): random, or AHM after the warm-up.

        The next epoch's crops are cut in a background thread while this epoch trains (they
        do not depend on the model), so only the AHM embedding is left between epochs.
        """
        t0 = time.perf_counter()
        ahead, self._ahead = self._ahead, None
        self.crops = ahead[1].result() if ahead and ahead[0] == epoch else \
            self._epoch_crops(epoch)
        if epoch + 1 < self.recipe.epochs:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="bd-prefetch")
            self._ahead = (epoch + 1, self._pool.submit(self._epoch_crops, epoch + 1))
        t1 = time.perf_counter()
        overlap = self._patch_overlaps(self._patch_set(epoch))
        mask_iou = self.cfg.mask_iou
        self.masked = overlap > mask_iou if mask_iou is not None else np.zeros_like(overlap, bool)
        n = len(self.crops)
        size = min(self.cfg.batch_size, n)
        steps = max(1, n // size)
        gen = torch.Generator().manual_seed(self.recipe.seed * 100_003 + epoch)
        groups = self.patch_frame if self.cfg.sampling == "across_clips" else None
        if self.phase(epoch) == "random":
            batches = random_batches(n, size, steps, gen) if groups is None else \
                spread_batches(groups, size, steps, gen)
        else:
            batches = ahm_batches(self.embed(model), size, steps, self.cfg.ahm_expansion, gen,
                                  groups)
        plan = [b.numpy() for b in batches]
        if not plan:
            raise PulBenchError(f"{self.recipe.source}: epoch {epoch + 1} has no mini-batch of "
                                f"{size} patches from {size} different frames; raise "
                                f"bd.frames_per_video or lower bd.batch_size")
        self.stats = self._overlap_stats(plan, overlap)
        self.timing = {"crop_wait_s": t1 - t0, "ahm_s": time.perf_counter() - t1}
        return plan

    @torch.no_grad()
    def embed(self, model: nn.Module) -> torch.Tensor:
        """Pooled features of the centre crop of every patch of the epoch, in eval mode and
        in the training precision."""
        from pul_train.trainer import resolve_precision

        prec = resolve_precision(self.recipe.runtime.precision, self.device)
        was_training = model.training
        model.eval()
        p, off = self.cfg.patch_size, (self.crops.shape[1] - self.cfg.patch_size) // 2
        out = []
        for i in range(0, len(self.crops), self.cfg.embed_batch):
            x = self.crops[i:i + self.cfg.embed_batch, off:off + p, off:off + p]
            x = torch.from_numpy(np.ascontiguousarray(x)).permute(0, 3, 1, 2).float()
            with prec.autocast():
                out.append(pooled(model(x.to(self.device))).float().cpu())
        model.train(was_training)
        return torch.cat(out)

    def make_batch(self, epoch: int, step: int, indices: np.ndarray) -> dict[str, torch.Tensor]:
        """Two augmented views of each patch: (2N, 3, P, P) float, first views then second."""
        views = np.empty((2, len(indices), self.cfg.patch_size, self.cfg.patch_size, 3),
                         np.float32)
        for j, idx in enumerate(indices):
            for v in range(2):
                rng = np.random.default_rng([self.recipe.seed, epoch, step, j, v, 2])
                views[v, j] = augment(self.crops[idx], self.cfg.patch_size, rng)
        x = torch.from_numpy(views.reshape(-1, *views.shape[2:])).permute(0, 3, 1, 2)
        batch = {"views": x.contiguous()}
        if self.cfg.mask_iou is not None:
            batch["exclude"] = torch.from_numpy(self.masked[np.ix_(indices, indices)])
        return batch

    def loss(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
        """NT-Xent of the two views' pooled features, and the number of images seen."""
        x = batch["views"]
        z = pooled(model(x))
        n = x.shape[0] // 2
        return nt_xent(z[:n], z[n:], self.cfg.temperature, batch.get("exclude")), x.shape[0]

    def export(self, model: nn.Module) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """The backbone's weights and metadata for a tracker checkpoint."""
        phase = "bd" if self.cfg.ahm_start_epoch is None else "bd+ahm"
        return model.state_dict(), {"architecture": self.recipe.backbone, "stage": phase}
