"""Temporal mining: follow a random proposal with the BD-trained SiamFC for ``length`` frames and
keep (first patch, last patch) as a training pair, with the tracker's confidence.

Tracks start on the sampled frames (one in ``stride``, as in BD) and run through the *next*
``length`` consecutive frames of the original video. Many tracks advance together: per frame
step, the search crops of every track (all scales) are cut on the device in one batched
resampling and embedded in one forward pass; each track then takes the SiamFC step (``follow``) of
:class:`~pul_bench.trackers.siamfc.SiamFCTracker` itself, so mining follows exactly the tracking
procedure used in evaluation.

On disk (``out``): ``mining.json`` (settings, the video list, the plan size) and shards
``pairs-NNNNN.npz`` of ``shard`` pairs each, written atomically. A run that is interrupted
resumes at the first missing shard; the plan is fixed by the seed, so a resumed run writes what
an uninterrupted run would have. Each pair holds the exemplar crop of the first patch (127 px,
SiamFC context) and the search crop around the last patch (255 px, the same context, so its
central 127 px are the last patch's exemplar crop), JPEG-encoded, plus boxes and per-step
peak scores. ``confidence`` is the mean over steps of sigmoid(peak response).
"""

from __future__ import annotations

import json
import math
import zipfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import click
import cv2
import numpy as np
import torch

from pul_bench.errors import InputError, PulBenchError
from pul_bench.geometry import box_center, context_size, crop_batch
from pul_bench.io import atomic_path, progress_bar, write_json
from pul_bench.schema import bounded, out_of_bounds
from pul_bench.trackers.siamfc import SiamFCTracker
from pul_train.proposals import ProposalSettings, frame_proposals
from pul_train.video import FrameRef, Video

FORMAT = "pul_train.mining"
JPEG_QUALITY = 92
CROP_CHUNK = 16  # crops resampled per call (bounds the per-call copy of the frame)


@dataclass(frozen=True)
class MiningConfig:
    """What to mine; every field is part of the on-disk identity of a mining run."""

    length: int = bounded(10, lo=1)  # frames tracked after the start frame (TCL-10 / TCL-20)
    stride: int = bounded(10, lo=1)  # start frames: one in ``stride``
    per_frame: int = bounded(2, lo=1)  # proposals tracked from each start frame
    top: int = bounded(32, lo=1)  # proposals drawn from the ``top`` best of a frame
    shard: int = bounded(256, lo=1)  # pairs per file
    seed: int = bounded(0, lo=0)

    def __post_init__(self) -> None:
        if why := out_of_bounds(self):
            raise PulBenchError(f"mining settings: {why}: {self}")


@dataclass(frozen=True)
class Start:
    """One planned track: video index, start frame index, and the proposal box [x, y, w, h]."""

    video: int
    frame: int
    box: tuple[float, float, float, float]


def plan_tracks(videos: Sequence[Video], cfg: MiningConfig, proposals: ProposalSettings,
                workers: int = 1, progress: bool = True) -> list[Start]:
    """Every track to mine, sorted by video and frame, drawn from EdgeBoxes with ``cfg.seed``."""
    starts = [(v, i) for v, video in enumerate(videos)
              for i in range(0, len(video.frames) - cfg.length, cfg.stride)]
    frames = [videos[v].frames[i] for v, i in starts]
    boxes = frame_proposals(frames, proposals, workers=workers, progress=progress)
    rng = np.random.default_rng([cfg.seed, 7])
    plan = []
    for (v, i), cand in zip(starts, boxes, strict=True):
        cand = cand[: cfg.top]
        if len(cand) == 0:
            continue
        for k in np.sort(rng.choice(len(cand), min(cfg.per_frame, len(cand)), replace=False)):
            plan.append(Start(v, i, tuple(float(c) for c in cand[k, :4])))
    return plan


class BatchMiner:
    """Advances a batch of tracks of one video frame by frame with one forward pass per step."""

    def __init__(self, tracker: SiamFCTracker) -> None:
        self.base = tracker
        self.device = tracker.device
        self.scales = tracker.scale_step ** (np.arange(tracker.scale_num) - tracker.scale_num // 2)

    def _tensor(self, image: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(image).to(self.device).permute(2, 0, 1)[None].float()

    def _crops(self, frames: dict[FrameRef, torch.Tensor], which: Sequence[FrameRef],
               centers: np.ndarray, sizes: np.ndarray, fills: np.ndarray,
               out_size: int) -> torch.Tensor:
        """Crops (N, 3, out, out) float32: crop n is cut from frame ``which[n]``."""
        out = torch.empty(len(which), 3, out_size, out_size, device=self.device)
        for ref in dict.fromkeys(which):
            idx = [n for n, r in enumerate(which) if r == ref]
            for c in range(0, len(idx), CROP_CHUNK):
                sel = idx[c:c + CROP_CHUNK]
                img = frames[ref].expand(len(sel), -1, -1, -1)
                out[sel] = crop_batch(img, torch.from_numpy(centers[sel]),
                                      torch.from_numpy(sizes[sel]), out_size,
                                      torch.from_numpy(fills[sel]))
        return out

    def _net_input(self, crops: torch.Tensor) -> torch.Tensor:
        x = crops.to(self.base.dtype)
        return x.contiguous(memory_format=torch.channels_last) if self.base.optimized else x

    @torch.inference_mode()
    def run(self, video: Video, starts: Sequence[Start], length: int) -> dict[str, np.ndarray]:
        """Track every start for ``length`` frames; return crops (uint8 NHWC) and metadata."""
        t = self.base
        cache: dict[FrameRef, np.ndarray] = {}

        def frame(i: int) -> FrameRef:
            ref = video.frames[i]
            if ref not in cache:
                cache[ref] = ref.read()
            return ref

        tracks = []
        first = [frame(s.frame) for s in starts]
        for s, ref in zip(starts, first, strict=True):
            track = t.fork()
            track.init(cache[ref], s.box)
            tracks.append(track)
        z_sz = context_size(np.array([s.box for s in starts]), t.context)
        frames = {ref: self._tensor(cache[ref]) for ref in dict.fromkeys(first)}
        centers = np.array([tr.center for tr in tracks])
        fills = np.array([tr.fill for tr in tracks])
        z_crops = self._crops(frames, first, centers, z_sz, fills, t.exemplar_size)
        zf = torch.cat([tr.zf for tr in tracks]).repeat_interleave(t.scale_num, 0)
        n, s_n = len(tracks), t.scale_num
        peaks = np.zeros((n, length), np.float32)
        boxes = np.zeros((n, 4))
        for step in range(1, length + 1):
            cache_keep = {frame(s.frame + step) for s in starts}
            for ref in list(cache):
                if ref not in cache_keep:
                    del cache[ref]
            which = [video.frames[s.frame + step] for s in starts for _ in range(s_n)]
            frames = {ref: self._tensor(cache[ref]) for ref in dict.fromkeys(which)}
            centers = np.repeat(np.array([tr.center for tr in tracks]), s_n, 0)
            sizes = np.concatenate([tr.x_sz * self.scales for tr in tracks])
            crops = self._crops(frames, which, centers, sizes, np.repeat(fills, s_n, 0),
                                t.instance_size)
            r = t.net.correlate(zf, t.net.embed(self._net_input(crops)))
            r = r[:, 0].float().cpu().numpy().reshape(n, s_n, *r.shape[-2:])
            # the logistic of the peak logit, as tanh: exp overflows below -709 (a CIResNet-22
            # response reaches -1e3 with SiamDW's head scale)
            peaks[:, step - 1] = 0.5 + 0.5 * np.tanh(0.5 * r.reshape(n, -1).max(1))
            for i, tr in enumerate(tracks):
                boxes[i] = tr.follow(r[i])
        last = [video.frames[s.frame + length] for s in starts]
        x_sz = context_size(boxes, t.context) * t.instance_size / t.exemplar_size
        x_crops = self._crops(frames, last, box_center(boxes), x_sz, fills, t.instance_size)

        def to_uint8(c: torch.Tensor) -> np.ndarray:
            return c.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()

        return {"z": to_uint8(z_crops), "x": to_uint8(x_crops), "peaks": peaks,
                "box0": np.array([s.box for s in starts], np.float32),
                "box_last": boxes.astype(np.float32),
                "confidence": peaks.mean(1).astype(np.float32)}


def _encode(crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """JPEG-encode RGB crops into one flat byte array plus offsets (N + 1)."""
    blobs = []
    for c in crops:
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(c, cv2.COLOR_RGB2BGR),
                               [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not ok:
            raise PulBenchError("JPEG encoding of a mined crop failed")
        blobs.append(buf.reshape(-1))
    offsets = np.concatenate([[0], np.cumsum([len(b) for b in blobs])]).astype(np.int64)
    return (np.concatenate(blobs) if blobs else np.zeros(0, np.uint8)), offsets


def _identity(videos: Sequence[Video], cfg: MiningConfig, proposals: ProposalSettings,
              tracker_name: str, checkpoint: str) -> dict:
    return {"format": FORMAT, "version": 1, "config": asdict(cfg),
            "proposals": asdict(proposals), "tracker": tracker_name, "checkpoint": checkpoint,
            "videos": [[v.name, len(v.frames)] for v in videos]}


def mine(tracker: SiamFCTracker, videos: Sequence[Video], out: str | Path, cfg: MiningConfig,
         proposals: ProposalSettings | None = None, batch: int = 64, checkpoint: str = "",
         workers: int = 1, progress: bool = True) -> Path:
    """Mine every planned pair into ``out`` (resuming if it holds the same run); return ``out``.

    ``batch`` (tracks advanced together) only changes speed, never the pairs.
    """
    out = Path(out)
    proposals = proposals or ProposalSettings()
    ident = _identity(videos, cfg, proposals, tracker.name, checkpoint)
    if tracker.dtype != torch.float32:  # reduced-precision tracks are another mining run
        ident["precision"] = str(tracker.dtype).removeprefix("torch.")
    meta_path = out / "mining.json"
    if meta_path.is_file():
        old = json.loads(meta_path.read_text())
        if {k: old.get(k) for k in ident} != ident:
            raise PulBenchError(f"{out} holds a different mining run (settings, tracker or "
                                f"videos differ): choose another --out")
    plan = plan_tracks(videos, cfg, proposals, workers, progress)
    if not plan:
        raise PulBenchError(f"no video is longer than {cfg.length} frames with proposals: "
                            f"nothing to mine")
    write_json(meta_path, {**ident, "pairs": len(plan), "shards": math.ceil(len(plan) / cfg.shard)})
    miner = BatchMiner(tracker)
    shards = range(0, len(plan), cfg.shard)
    finished = [s for s in shards if _shard_path(out, s // cfg.shard).is_file()]
    bar = progress_bar(total=len(plan), initial=sum(min(cfg.shard, len(plan) - s)
                                                    for s in finished),
                       desc=f"mining L={cfg.length}", unit="pair", disable=not progress,
                       item="shard", items=len(shards), items_done=len(finished))
    for s in shards:
        path = _shard_path(out, s // cfg.shard)
        if s in finished:
            continue
        part = plan[s:s + cfg.shard]
        results = []
        for v in dict.fromkeys(p.video for p in part):
            mine_v = [p for p in part if p.video == v]
            for b in range(0, len(mine_v), batch):
                results.append(miner.run(videos[v], mine_v[b:b + batch], cfg.length))
                bar.update(len(mine_v[b:b + batch]))
        merged = {k: np.concatenate([r[k] for r in results]) for k in results[0]}
        z_jpg, z_off = _encode(merged.pop("z"))
        x_jpg, x_off = _encode(merged.pop("x"))
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, z_jpg=z_jpg, z_off=z_off, x_jpg=x_jpg, x_off=x_off,
                     video=np.array([p.video for p in part], np.int32),
                     frame=np.array([p.frame for p in part], np.int32), **merged)
        bar.finished(path.name)
    bar.close()
    return out


def _shard_path(out: Path, k: int) -> Path:
    return out / f"pairs-{k:05d}.npz"


class PairSet:
    """The mined pairs of one or more mining folders, decoded on access."""

    def __init__(self, folders: Sequence[str | Path]) -> None:
        self.shards: list[dict[str, np.ndarray]] = []
        self.lengths: list[int] = []
        for folder in folders:
            folder = Path(folder)
            meta_path = folder / "mining.json"
            if not meta_path.is_file():
                raise InputError(meta_path, "not a mining folder (run 'pul_train mine' first)")
            meta = json.loads(meta_path.read_text())
            for k in range(meta["shards"]):
                path = _shard_path(folder, k)
                if not path.is_file():
                    raise InputError(path, "shard missing: mining did not finish (resume it)")
                try:
                    with np.load(path) as npz:
                        self.shards.append({key: npz[key] for key in npz.files})
                except (OSError, ValueError, KeyError, zipfile.BadZipFile) as e:
                    raise InputError(path, f"damaged pair shard: {e}") from None
                self.lengths.append(meta["config"]["length"])
        self.index = [(s, i) for s, sh in enumerate(self.shards) for i in range(len(sh["video"]))]

    def __len__(self) -> int:
        return len(self.index)

    def _decode(self, shard: dict[str, np.ndarray], key: str, i: int) -> np.ndarray:
        off = shard[f"{key}_off"]
        buf = shard[f"{key}_jpg"][off[i]:off[i + 1]]
        return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)

    def pair(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Pair ``n``: (exemplar crop 127x127x3, search crop 255x255x3), RGB uint8."""
        s, i = self.index[n]
        return self._decode(self.shards[s], "z", i), self._decode(self.shards[s], "x", i)

    def field(self, name: str) -> np.ndarray:
        """A per-pair metadata column (``confidence``, ``box_last``, ...) over all pairs."""
        return np.concatenate([sh[name] for sh in self.shards])

    def pair_lengths(self) -> np.ndarray:
        """The tracking length of every pair (10 or 20 frames)."""
        return np.concatenate([np.full(len(sh["video"]), n)
                               for sh, n in zip(self.shards, self.lengths, strict=True)])


def contact_sheet(pairs: PairSet, path: str | Path, count: int = 24, seed: int = 0) -> Path:
    """A PNG of ``count`` random pairs: first patch | last patch (search centre), confidence."""
    from pul_bench.plots import pair_sheet, save_image

    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(len(pairs), min(count, len(pairs)), replace=False))
    conf = pairs.field("confidence")
    cells = [(*pairs.pair(int(n)), f"#{n} conf {conf[n]:.2f}") for n in pick]
    return save_image(pair_sheet(cells), path)


@click.command("mine")
@click.option("--checkpoint", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              required=True, help="Backbone that tracks (the BD, or TCL-10, model).")
@click.option("--tracker", default="alexpul-bd", show_default=True,
              help="Tracker spec whose SiamFC settings are used.")
@click.option("--source", type=click.Path(path_type=Path, exists=True), default=None,
              help="Unlabeled videos (default: the shared data's unlabeled/).")
@click.option("--kind", default="auto", show_default=True, help="Video layout of SOURCE.")
@click.option("--length", type=click.IntRange(min=1), default=10, show_default=True,
              help="Frames tracked after each start frame: 10 for TCL-10, 20 for TCL-20.")
@click.option("--stride", type=click.IntRange(min=1), default=10, show_default=True,
              help="One start frame in every STRIDE frames of a video.")
@click.option("--per-frame", type=click.IntRange(min=1), default=2, show_default=True,
              help="Proposals tracked from each start frame.")
@click.option("--draw-seed", "seed", type=int, default=0, show_default=True,
              help="Seed of the proposal draw (part of the run's identity, as every setting).")
@click.option("--batch", type=click.IntRange(min=1), default=64, show_default=True,
              help="Tracks advanced together (speed only: the pairs do not change).")
@click.option("--device", default="auto", show_default=True,
              help="Torch device of the tracking network: auto (CUDA if present), cpu, cuda.")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="Folder of the mined pairs (shards, mining.json, contact_sheet.png).")
def mine_cmd(checkpoint: Path, tracker: str, source: Path | None, kind: str, length: int,
             stride: int, per_frame: int, seed: int, batch: int, device: str, out: Path) -> None:
    """Mine (first patch, last patch) pairs by tracking proposals; resumes an interrupted OUT and
    writes OUT/contact_sheet.png."""
    from pul_bench.paths import data_root
    from pul_bench.registry import create
    from pul_train.video import open_videos

    videos = open_videos(source or data_root() / "unlabeled", kind)
    cfg = MiningConfig(length=length, stride=stride, per_frame=per_frame, seed=seed)
    mine(create(tracker, checkpoint=checkpoint, device=device), videos, out, cfg, batch=batch,
         checkpoint=str(checkpoint.resolve()))
    pairs = PairSet([out])
    sheet = contact_sheet(pairs, out / "contact_sheet.png", seed=seed)
    conf = pairs.field("confidence")
    click.echo(f"{len(pairs)} pairs in {out} (confidence median {np.median(conf):.3f}); "
               f"contact sheet: {sheet}")
