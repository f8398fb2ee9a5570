"""A compare section: our trackers beside published raw results on the sequences both cover,
scored alike (:class:`.model.CompareResult`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from pul_bench import results
from pul_bench.benchmarks import Benchmark
from pul_bench.datasets.otb import OTBSequence, load_otb, match_names, read_boxes
from pul_bench.errors import InputError, PulBenchError
from pul_bench.reports import evaluation as ev
from pul_bench.reports.model import Compared, CompareResult, NotReady, unique
from pul_bench.reports.recipe import Recipe, Section, entry_name
from pul_bench.reports.shared import caption, comparisons, uncertainty

#: Up to this many common sequences are named in a compare caption; more are only tabled.
_LISTED = 20


def published_dirs(ctx: ev.Context, recipe: Recipe, sec: Section) -> tuple[Path, list[Path]]:
    """A compare section's published results folder and its tracker folders, which must exist
    (checked before any section runs, so a wrong path fails at once, naming the recipe line)."""
    pub_root = Path(sec.published)
    pub_root = pub_root if pub_root.is_absolute() else ctx.data_root / pub_root
    if not pub_root.is_dir():
        raise InputError(recipe.source, f"section {sec.id}: published results folder {pub_root} "
                         "does not exist", sec.published_line)
    names = sec.published_trackers or tuple(sorted(p.name for p in pub_root.iterdir()
                                                   if p.is_dir()))
    dirs = [pub_root / n for n in names]
    for d in dirs:
        if not d.is_dir():
            raise InputError(recipe.source, f"section {sec.id}: no published result folder {d}",
                             sec.published_line)
    return pub_root, dirs


def compare(ctx: ev.Context, recipe: Recipe, sec: Section,
            data: dict[str, Any]) -> CompareResult:
    """Score the published results and our trackers on the sequences every published set
    covers; verdicts of ours against each published tracker and between neighbouring
    published ones (AUC)."""
    from pul_bench.analysis.otb import score_results

    pub_root, dirs = published_dirs(ctx, recipe, sec)
    src = recipe.data[sec.data]
    bench = ctx.benchmark(src)
    seqs, _ = load_otb(bench, ctx.root(src), src.sequences)
    published, _ = published_results(dirs, seqs)
    common = [s for s in seqs if all(s.name in published[d.name] for d in dirs)]
    if not common:
        raise PulBenchError(f"section {sec.id}: no sequence under {ctx.root(src)} has "
                            f"published results in every folder of {pub_root}")
    published, cut = published_results(dirs, common)
    if sec.annotations:
        ann = Path(sec.annotations)
        check_annotations(common, ann if ann.is_absolute() else ctx.data_root / ann, bench)
    convention = bench.convention or "matlab"
    scored = [Compared(n, False, s) for n, s in score_results(
        common, published, convention, curve_bands=True).items()]
    sub = dataclasses.replace(src, sequences=tuple(s.name for s in common))
    not_ready = []
    for e in sec.trackers:
        state = ev.evaluate(ctx, e, sub)
        not_ready += NotReady.of(e, state)
        if state.ok:
            scored.append(Compared(entry_name(e), True, state.scores))
    res = CompareResult(
        sec, not_ready=unique(not_ready),
        ranked=sorted(scored, key=lambda t: (-t.scores["auc"], t.shown)),
        sequences=[s.name for s in common], frames=sum(len(s) for s in common),
        excluded=[s.name for s in seqs if s not in common], cut=cut,
        published_dir=ev.shown_path(pub_root, ctx.data_root),
        where=f"{len(common)} {bench.name.upper()} sequences "
              f"({sum(len(s) for s in common):,} frames)")
    _verdicts(res, scored)
    res.caption = caption(recipe, sec, data, [], res.not_ready,
                          " ".join(_notes(res, data[sec.data]["root"], bench, convention)))
    return res


def _verdicts(res: CompareResult, scored: list[Compared]) -> None:
    """Ours against each published tracker (``scored``: published, then ours, as scored); each
    published one against the next one below it."""
    named = {t.shown: t.scores for t in scored}
    theirs = [t.shown for t in scored if not t.ours]
    res.comparisons = comparisons(named, [(a.shown, b) for a in scored if a.ours
                                          for b in theirs], "auc")
    res.between = comparisons(named, list(pairwise(t.shown for t in res.ranked if not t.ours)),
                              "auc")


def _notes(res: CompareResult, root: str, bench: Benchmark, convention: str) -> list[str]:
    listed = (", ".join(res.sequences) if len(res.sequences) <= _LISTED
              else "listed in the per-sequence table")
    notes = [f"Scored on the {len(res.sequences)} sequences present in {root} that every "
             f"published result set covers ({listed}; {res.frames:,} frames), all as "
             f"`pulbench score {bench.name}` scores them ({convention} convention)."]
    for name, (kept, full) in res.cut.items():
        notes.append(f"{name}: only the first {kept} of its {full:,} frames are present; every "
                     f"tracker is scored on those {kept} (the published boxes are cut there; "
                     "one-pass tracking is causal, so this equals running on those frames).")
    if res.excluded:
        notes.append(f"Excluded (no published results): {', '.join(res.excluded)}.")
    scores = [t.scores for t in res.ranked]
    notes.append(uncertainty(scores, res.comparisons + res.between))
    if any("success_curve_ci" in s for s in scores):
        notes.append("Shaded: pointwise 95% intervals of each curve (the same bootstrap)"
                     + ("; a seed family's curve is the mean of its seeds' curves, without a "
                        "band." if any(s.get("n_seeds", 1) > 1 for s in scores) else "."))
    return notes


def published_results(result_dirs: Sequence[Path], seqs: Sequence[OTBSequence]
                      ) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, list[int]]]:
    """Published boxes (0-based) of each folder on ``seqs``, cut to the frames present.

    A sequence folder may hold only the first frames of the official sequence (Human3: 199 of
    1,698). One-pass tracking is causal, so the first N published boxes are exactly what the
    tracker would output on those N frames; they are kept and the rest dropped. Files are found
    and their one-pass rows taken as :mod:`pul_bench.results` reads every OTB result. Returns
    ``({tracker: {seq: boxes}}, {seq: [frames kept, frames published]})`` for cut sequences.
    """
    out: dict[str, dict[str, np.ndarray]] = {}
    cut: dict[str, list[int]] = {}
    for d in result_dirs:
        found = results.find_otb_results(d, [s.name for s in seqs])
        boxes = {}
        for s in (s for s in seqs if s.name in found):
            b = results.one_pass_rows(read_boxes(found[s.name]), s)
            if len(b) < len(s):
                raise InputError(found[s.name], f"{len(b)} boxes but {s.name} has {len(s)} "
                                 "frames here")
            if len(b) > len(s):
                cut[s.name] = [len(s), len(b)]
            b = b[:len(s)].copy()
            b[:, :2] -= 1.0
            boxes[s.name] = b
        out[d.name] = boxes
    return out, cut


def check_annotations(seqs: Sequence[OTBSequence], reference: Path, bench: Benchmark) -> None:
    """Refuse sequences whose ground truth is not the official one's first frames.

    Guards the cut above: a folder holding some other part of a sequence would otherwise be
    scored against the wrong published boxes.
    """
    ref, _ = load_otb(dataclasses.replace(bench, sequences=None), reference)
    official = {s.name: s for s in ref}
    names = match_names([s.name for s in seqs], official)
    for s in seqs:
        if s.name not in names:
            continue
        o = official[names[s.name]]
        if len(o) < len(s) or not np.allclose(o.groundtruth[:len(s)], s.groundtruth,
                                              equal_nan=True):
            raise InputError(s.source or reference, f"{s.name}: ground truth differs from the "
                             f"official first {len(s)} frames in {o.source}")
