"""How well a Siamese network localises its target, without the tracking loop.

Tracking AUC mixes the network with the procedure around it (window penalty, scale search,
drift after a first failure), so small training changes disappear in its run-to-run noise.
This measure isolates the network: on a fixed, seeded set of labeled frame pairs
(template frame t, search frame t + gap) it crops the exemplar around the true box at t, crops
the search region where the tracker would (centred on the target's position at t, at the
tracker's search size), takes the raw response of the unit scale, upsampled as the tracker does,
and measures the distance from its peak to the true centre at t + gap, in pixels and divided by
the target's size sqrt(w * h) at t + gap. No cosine window, no scale penalty, no state carried
from one pair to the next.

The pairs depend only on (seed, sequence name, its length, gap, pairs per sequence), so two
checkpoints are always measured on the same pairs and their per-sequence means can be paired.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from pul_bench.analysis import stats
from pul_bench.datasets.otb import OTBSequence
from pul_bench.errors import PulBenchError
from pul_bench.geometry import box_center
from pul_bench.tracker import Tracker, read_image


@dataclass(frozen=True)
class Pair:
    """One template/search frame pair of a sequence (0-based frame indices)."""

    sequence: str
    template: int
    search: int


def sample_pairs(sequences: Sequence[OTBSequence], per_sequence: int, gap: int,
                 seed: int) -> list[Pair]:
    """Up to ``per_sequence`` pairs (t, t + gap) per sequence, both frames annotated.

    Each sequence draws from its own generator seeded by (seed, crc32 of its name), so adding
    or removing a sequence never changes the pairs of the others.
    """
    if gap < 1 or per_sequence < 1:
        raise PulBenchError(f"gap and pairs per sequence must be >= 1 (got {gap}, {per_sequence})")
    pairs: list[Pair] = []
    for s in sequences:
        ok = np.flatnonzero(s.valid[:-gap] & s.valid[gap:]) if len(s) > gap else np.array([], int)
        if not len(ok):
            continue
        rng = np.random.default_rng([seed, zlib.crc32(s.name.encode())])
        chosen = np.sort(rng.choice(ok, size=min(per_sequence, len(ok)), replace=False))
        pairs += [Pair(s.name, int(t), int(t) + gap) for t in chosen]
    return pairs


def peak_errors(tracker: Tracker, sequences: Sequence[OTBSequence],
                pairs: Sequence[Pair]) -> np.ndarray:
    """(P, 2) per pair: peak-to-centre distance in pixels, and divided by sqrt(w * h)."""
    if not hasattr(tracker, "responses"):
        raise PulBenchError(f"{type(tracker).__name__} has no response map; the localisation "
                            "measure applies to Siamese (SiamFC-procedure) trackers")
    by_name = {s.name: s for s in sequences}
    out = np.empty((len(pairs), 2))
    for i, p in enumerate(pairs):
        seq = by_name[p.sequence]
        if not seq.frames:
            raise PulBenchError(f"{p.sequence}: no images (the measure needs the image folders)")
        tracker.init(read_image(seq.frames[p.template]), seq.groundtruth[p.template])
        r = tracker.responses(read_image(seq.frames[p.search]))[tracker.scale_num // 2]
        up = tracker.window.shape[0]
        resp = cv2.resize(r, (up, up), interpolation=cv2.INTER_CUBIC)
        row, col = np.unravel_index(int(np.argmax(resp)), resp.shape)
        truth = seq.groundtruth[p.search]
        dist = float(np.hypot(*(tracker.peak_to_frame(row, col) - box_center(truth))))
        out[i] = dist, dist / np.sqrt(truth[2] * truth[3])
    return out


#: Normalised errors are clipped here: beyond one target size the peak has simply missed, and
#: how far a distractor lies should not dominate the mean.
CLIP = 1.0


def summarise(pairs: Sequence[Pair], errors: np.ndarray) -> dict[str, dict[str, float]]:
    """Per sequence: ``error`` (mean normalised error clipped at :data:`CLIP`), ``hit50``
    (share of pairs whose peak lies within half a target size) and ``error_px`` (mean pixels)."""
    rows: dict[str, list[int]] = {}
    for i, p in enumerate(pairs):
        rows.setdefault(p.sequence, []).append(i)
    out = {}
    for n, idx in rows.items():
        e = errors[idx]
        out[n] = {"error": float(np.minimum(e[:, 1], CLIP).mean()),
                  "hit50": float((e[:, 1] <= 0.5).mean()), "error_px": float(e[:, 0].mean()),
                  "pairs": int(len(e))}
    return out


def mean_error(per_seq: dict[str, dict[str, float]], resamples: int = stats.DEFAULT_RESAMPLES,
               seed: int = stats.DEFAULT_SEED) -> tuple[float, list[float] | None]:
    """The mean over sequences of :func:`summarise`'s per-sequence errors, with its bootstrap
    interval over sequences (None with ``resamples`` 0): sequences weigh equally, not pairs."""
    values = [v["error"] for v in per_seq.values()]
    ci = stats.interval(values, resamples=resamples, seed=seed) if resamples else None
    return float(np.mean(values)), ci
