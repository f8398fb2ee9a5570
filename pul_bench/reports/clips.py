"""The clip-length study (Fig. 3): clips of L frames cut from each sequence, run as an OTB-layout
folder of image symlinks under ``<runs>/clips/<data key>/L<length>/``."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pul_bench import results
from pul_bench.datasets.otb import OTBSequence, load_otb
from pul_bench.io import write_text
from pul_bench.kinds import Options, kind_of
from pul_bench.reports import evaluation as ev
from pul_bench.reports.model import OK, READY, Evaluated
from pul_bench.reports.recipe import DataSource, Entry


def clip_starts(seq: OTBSequence, length: int, max_clips: int) -> list[int]:
    """0-based first frames of the clips of ``length`` frames cut from ``seq``.

    The sequence is tiled from its first frame into non-overlapping windows of ``length``
    frames (a shorter tail is dropped); windows whose first frame is unannotated are dropped;
    if more than ``max_clips`` remain, ``max_clips`` evenly spaced ones are kept (first and last
    included). Deterministic: the same sequence always gives the same clips.
    """
    starts = [k * length for k in range(len(seq) // length) if seq.valid[k * length]]
    if len(starts) > max_clips:
        idx = np.round(np.linspace(0, len(starts) - 1, max_clips)).astype(int)
        starts = [starts[i] for i in idx]
    return starts


def clip_name(seq: str, start: int) -> str:
    """``Girl-f0101``: the clip of ``seq`` that starts at its 1-based evaluated frame 101."""
    return f"{seq}-f{start + 1:04d}"


def make_clips(seqs: Sequence[OTBSequence], length: int, max_clips: int, folder: Path
               ) -> list[str]:
    """Write the clips of ``length`` frames as an OTB-layout folder of image symlinks.

    Existing clips are kept (their ground truth is rewritten only if it changed); returns the
    clip names, in sequence order.
    """
    names = []
    for s in seqs:
        for start in clip_starts(s, length, max_clips):
            name = clip_name(s.name, start)
            d = folder / name
            text = results.format_otb_boxes(s.groundtruth[start:start + length])
            gt_file = d / "groundtruth_rect.txt"
            if not gt_file.is_file() or gt_file.read_text() != text:
                write_text(gt_file, text)
            (d / "img").mkdir(exist_ok=True)
            for i, frame in enumerate(s.frames[start:start + length]):
                link = d / "img" / f"{i + 1:04d}{Path(frame).suffix}"
                if not link.is_symlink():
                    os.symlink(Path(frame).resolve(), link)
            names.append(name)
    return names


def evaluate_clips(ctx: ev.Context, entry: Entry, src: DataSource, length: int,
                   max_clips: int) -> Evaluated:
    """Scores of ``entry`` over every clip of ``length`` frames cut from ``src``'s sequences;
    with ``seeds`` > 1, each seed's, merged (per clip the mean over seeds)."""
    if entry.seeds > 1:
        seeds = entry.seed_entries()
        return ev.merged(seeds, [evaluate_clips(ctx, e, src, length, max_clips) for e in seeds])
    state = ev.status(entry)
    if state.status != READY:
        return state
    bench = ctx.benchmark(src)
    seqs, _ = load_otb(bench, ctx.root(src), src.sequences)
    folder = ev.precision_runs(ctx.runs, src.precision) / "clips" / src.key / f"L{length}"
    names = make_clips(seqs, length, max_clips, folder / "sequences")
    if not names:
        return Evaluated("no clips", reason=f"no sequence has {length} frames")
    clip_bench = dataclasses.replace(bench, sequences=None, annotations=None)
    scores = kind_of(bench).run(
        clip_bench, entry.tracker, folder / "sequences", ev.out_folder(folder, entry), Options(),
        workers=ctx.workers, sequences=names, checkpoint=ev.checkpoint_path(entry),
        overrides=ev.overrides(entry, src))
    return Evaluated(OK, scores[entry.tracker])
