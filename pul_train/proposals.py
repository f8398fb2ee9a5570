"""Object proposals for BD learning: OpenCV EdgeBoxes, then NMS, computed once and cached on disk.

EdgeBoxes needs an edge map and an edge-orientation map. Its usual source, the structured-forest
edge model (``model.yml.gz``), cannot be downloaded offline, so by default the edges come from
what ships with OpenCV: the per-pixel strongest colour-channel Sobel gradient of the lightly
blurred frame, thinned by non-maximum suppression across the gradient direction, scaled to [0, 1]
by its 99th percentile, with edges below ``edge_floor`` (0.5) dropped: texture edges made
EdgeBoxes ten times slower and lowered its best-IoU on the shared OTB targets (0.32 -> 0.40 mean
over 18 frames, 2.5 -> 0.23 s per frame). The orientation is computed from the smoothed edge
map's second derivatives, the same way the structured-forest code does, so EdgeBoxes sees the
convention it expects. A user may pass the structured-forest model file (``edge_model``).

Boxes are float32 rows ``[x, y, w, h, score]`` in 0-based pixels of the full-size frame.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from pul_bench import geometry
from pul_bench.errors import InputError, PulBenchError
from pul_bench.io import atomic_path, progress_bar
from pul_bench.schema import bounded
from pul_train.video import FrameRef

CACHE_ENV = "PUL_TRAIN_CACHE"
_VERSION = 1  # bump when the computation changes, so old cache entries are not reused


@dataclass(frozen=True)
class ProposalSettings:
    """EdgeBoxes settings; everything here is part of the cache key."""

    candidates: int = bounded(500, lo=1)  # boxes EdgeBoxes returns before our NMS
    #: boxes overlapping a better one by this IoU or more are dropped
    nms_iou: float = bounded(0.6, lo=0.0, hi=1.0)
    keep: int = bounded(64, lo=1)  # boxes kept per frame after NMS
    #: frames are shrunk to this long side for speed; boxes are scaled back
    max_side: int = bounded(640, lo=1)
    #: boxes thinner than this (full-size pixels) are dropped
    min_side: int = bounded(16, lo=0)
    #: default edge map: weaker (scaled, [0, 1]) edges are dropped
    edge_floor: float = bounded(0.5, lo=0.0, hi=1.0)
    edge_model: str | None = None  # structured-forest model file (model.yml.gz), optional


def default_cache_dir() -> Path:
    """``$PUL_TRAIN_CACHE`` or ``~/.cache/pul_train``, with a ``proposals`` sub-folder."""
    base = os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "pul_train"
    return Path(base) / "proposals"


def sobel_edges(image: np.ndarray, floor: float = 0.5) -> np.ndarray:
    """Thin [0, 1] edge magnitudes of an RGB uint8 image (the default, model-free edge map)."""
    img = cv2.GaussianBlur(image.astype(np.float32) / 255.0, (0, 0), 1.0)
    gx = cv2.Sobel(img, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(img, cv2.CV_32F, 0, 1, ksize=3)
    mag = np.sqrt(gx * gx + gy * gy)
    best = mag.argmax(axis=2)[..., None]  # the colour channel with the strongest gradient
    mag = np.take_along_axis(mag, best, 2)[..., 0]
    gx = np.take_along_axis(gx, best, 2)[..., 0]
    gy = np.take_along_axis(gy, best, 2)[..., 0]
    # non-maximum suppression across the edge: keep a pixel only if it beats both neighbours
    # along the gradient direction, quantised to 0, 45, 90 or 135 degrees
    angle = (np.degrees(np.arctan2(gy, gx)) + 180.0) % 180.0
    sector = (((angle + 22.5) // 45.0) % 4).astype(np.int8)
    pad = np.pad(mag, 1)
    h, w = mag.shape
    shifts = {0: ((0, 1), (0, -1)), 1: ((1, 1), (-1, -1)), 2: ((1, 0), (-1, 0)),
              3: ((1, -1), (-1, 1))}
    keep = np.zeros_like(mag, dtype=bool)
    for s, ((dy1, dx1), (dy2, dx2)) in shifts.items():
        n1 = pad[1 + dy1:1 + dy1 + h, 1 + dx1:1 + dx1 + w]
        n2 = pad[1 + dy2:1 + dy2 + h, 1 + dx2:1 + dx2 + w]
        keep |= (sector == s) & (mag >= n1) & (mag >= n2)
    thin = np.where(keep, mag, 0.0).astype(np.float32)
    scale = np.percentile(thin[thin > 0], 99) if np.any(thin > 0) else 1.0
    edges = np.clip(thin / max(float(scale), 1e-6), 0.0, 1.0)
    edges[edges < floor] = 0.0
    return edges.astype(np.float32)


def edge_orientation(edges: np.ndarray) -> np.ndarray:
    """Orientation in [0, pi) from the smoothed edge map's second derivatives."""
    e = cv2.blur(edges, (9, 9))  # a box filter close to the triangle filter of the original
    ox = cv2.Sobel(e, cv2.CV_32F, 1, 0, ksize=3)
    oy = cv2.Sobel(e, cv2.CV_32F, 0, 1, ksize=3)
    oxx = cv2.Sobel(ox, cv2.CV_32F, 1, 0, ksize=3)
    oxy = cv2.Sobel(ox, cv2.CV_32F, 0, 1, ksize=3)
    oyy = cv2.Sobel(oy, cv2.CV_32F, 0, 1, ksize=3)
    o = np.arctan(oyy * np.sign(-oxy) / (oxx + 1e-5))
    return np.mod(o, np.pi).astype(np.float32)


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> np.ndarray:
    """Indices of the boxes kept by greedy NMS (best score first); drops IoU >= ``iou``."""
    order = np.argsort(-scores, kind="stable")
    kept: list[int] = []
    while order.size:
        i = order[0]
        kept.append(int(i))
        rest = order[1:]
        overlap = geometry.iou(np.broadcast_to(boxes[i, :4], (len(rest), 4)), boxes[rest, :4])
        order = rest[overlap < iou]
    return np.asarray(kept, dtype=np.int64)


def edge_boxes(image: np.ndarray, settings: ProposalSettings) -> np.ndarray:
    """Proposals for one RGB frame: (n, 5) float32 ``[x, y, w, h, score]``, best first."""
    if not hasattr(cv2, "ximgproc"):
        raise PulBenchError("EdgeBoxes needs OpenCV's contrib modules (cv2.ximgproc), which this "
                            "OpenCV lacks: install opencv-contrib-python-headless, or compute "
                            "the proposals where it is installed (pul_train proposals)")
    h, w = image.shape[:2]
    scale = min(1.0, settings.max_side / max(h, w))
    small = cv2.resize(image, (round(w * scale), round(h * scale)),
                       interpolation=cv2.INTER_AREA) if scale < 1.0 else image
    if settings.edge_model:
        model = Path(settings.edge_model)
        if not model.is_file():
            raise InputError(model, "structured-forest edge model file not found")
        sed = cv2.ximgproc.createStructuredEdgeDetection(str(model))
        edges = sed.detectEdges(small.astype(np.float32) / 255.0)
        orient = sed.computeOrientation(edges)
        edges = sed.edgesNms(edges, orient)
    else:
        edges = sobel_edges(small, settings.edge_floor)
        orient = edge_orientation(edges)
    eb = cv2.ximgproc.createEdgeBoxes(maxBoxes=settings.candidates)
    boxes, scores = eb.getBoundingBoxes(edges, orient)
    if len(boxes) == 0:
        return np.zeros((0, 5), np.float32)
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4) / scale
    scores = np.asarray(scores, np.float64).reshape(-1)
    ok = (boxes[:, 2] >= settings.min_side) & (boxes[:, 3] >= settings.min_side)
    boxes, scores = boxes[ok], scores[ok]
    # clip to the image (scaling back can overshoot by a fraction of a pixel)
    x1 = np.clip(boxes[:, 0], 0, w)
    y1 = np.clip(boxes[:, 1], 0, h)
    boxes[:, 2] = np.clip(boxes[:, 0] + boxes[:, 2], 0, w) - x1
    boxes[:, 3] = np.clip(boxes[:, 1] + boxes[:, 3], 0, h) - y1
    boxes[:, 0], boxes[:, 1] = x1, y1
    kept = nms(boxes, scores, settings.nms_iou)[: settings.keep]
    return np.concatenate([boxes[kept], scores[kept, None]], axis=1).astype(np.float32)


def cache_path(frame: FrameRef, settings: ProposalSettings, cache_dir: Path) -> Path:
    """Where ``frame``'s proposals under ``settings`` are cached (keyed by both)."""
    payload = {"v": _VERSION, "frame": frame.key(), "settings": asdict(settings)}
    if settings.edge_model and Path(settings.edge_model).is_file():
        payload["model"] = FrameRef(Path(settings.edge_model)).key()
    digest = hashlib.sha1(json.dumps(payload, sort_keys=True).encode()).hexdigest()
    return cache_dir / digest[:2] / f"{digest}.npy"


def _load(path: Path) -> np.ndarray | None:
    try:
        return np.load(path)
    except (OSError, ValueError):
        return None  # missing or damaged entry: recompute


def _compute_one(args: tuple[FrameRef, ProposalSettings, Path]) -> np.ndarray:
    frame, settings, path = args
    cv2.setNumThreads(1)  # parallelism comes from the process pool
    boxes = edge_boxes(frame.read(), settings)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.save(f, boxes)
    return boxes


def frame_proposals(
    frames: list[FrameRef],
    settings: ProposalSettings | None = None,
    cache_dir: str | Path | None = None,
    workers: int = 1,
    progress: bool = True,
) -> list[np.ndarray]:
    """Proposals for every frame, read from the cache or computed in ``workers`` processes."""
    settings = settings or ProposalSettings()
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    paths = [cache_path(f, settings, cache) for f in frames]
    out: list[np.ndarray | None] = [_load(p) if p.is_file() else None for p in paths]
    todo = [i for i, b in enumerate(out) if b is None]
    bar = progress_bar(total=len(todo), desc="proposals", unit="frame",
                       disable=not progress or not todo)
    jobs = [(frames[i], settings, paths[i]) for i in todo]
    if workers > 1 and len(todo) > 1:
        ctx = multiprocessing.get_context("spawn")  # safe beside torch's threads
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            for i, boxes in zip(todo, pool.map(_compute_one, jobs, chunksize=4), strict=True):
                out[i] = boxes
                bar.update()
    else:
        for i, job in zip(todo, jobs, strict=True):
            out[i] = _compute_one(job)
            bar.update()
    bar.close()
    return [b for b in out if b is not None]
