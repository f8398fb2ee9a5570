"""Running and scoring what a report needs, reusing every result already on disk.

Results live in one shared runs folder (``--runs``, default ``runs``), in the layout of
``pulbench eval --out runs``: ``<runs>/results/<benchmark>/<tracker>/``. A report and a manual
``pulbench eval`` therefore reuse each other's finished sequences (the runners skip them and
refuse results made by another set-up). An entry with its own checkpoint runs under
``<runs>/checkpoints/<checkpoint stem>/``; clips for the clip-length study (:mod:`.clips`) are
cut into ``<runs>/clips/<data key>/L<length>/`` (an OTB-layout folder of symlinks) and run there.
A data source with ``localise`` measures peak errors on frame pairs instead of tracking; each pair's
error is kept in ``<runs>/localise/<benchmark>/<tracker>/pairs.json`` (with the same set-up
record as results) and measured again only for another set-up, which is refused likewise.
A data source with ``precision`` (``bf16``, say) runs everything of its own under
``<runs>/precision-<precision>/`` in the same layout: the folder ``pulbench eval --precision
bf16 --out <runs>/precision-bf16`` fills, while the default-precision results stay apart (a
results folder refuses another set-up, and precision is part of it).

Committed raw results (``reports/runs/``, the same layout, without timings; each folder holds its
set-up record ``run.json`` and the rest packed losslessly in ``kept.tar.xz``, which keeps the
checkout small enough to travel to a GPU machine) stand in for
checkpoints kept out of git (training seeds 2 and 3, Fig. 6): a folder there is scored, without
running anything, when its set-up record names the set-up the report asks for, its checkpoint
identified by content (the file's sha256, or for an absent file the sha256 that
``trackers/weights/MANIFEST.yaml`` lists under its name), and it holds every run the runner would
make. ``pulbench report --keep`` copies the results a report ran there.

An entry whose tracker is not registered or whose checkpoint is missing (and not stood in for
by committed results) is never run: it is reported with its status and the command that trains
it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from pul_bench.analysis import stats
from pul_bench.benchmarks import Benchmark, get_benchmark
from pul_bench.checkpoint import listed_sha256
from pul_bench.datasets.otb import load_otb
from pul_bench.errors import InputError, PulBenchError
from pul_bench.experiments import common
from pul_bench.io import atomic_path, update_json
from pul_bench.kinds import Options, kind_of
from pul_bench.paths import REPO_ROOT
from pul_bench.registry import TrackerSpec, get_spec, spec_file
from pul_bench.reports.model import OK, READY, Evaluated
from pul_bench.reports.recipe import DataSource, Entry


@dataclasses.dataclass
class Context:
    """Where data, runs and committed results live for one report, and results computed so
    far (by key)."""

    data_root: Path
    runs: Path
    workers: int = 1
    kept: Path | None = None  # committed results (None: not read)
    keep: bool = False  # copy what runs into ``kept``
    cache: dict[tuple, Evaluated] = dataclasses.field(default_factory=dict)

    def root(self, src: DataSource) -> Path:
        p = Path(src.root)
        return p if p.is_absolute() else self.data_root / p

    def benchmark(self, src: DataSource) -> Benchmark:
        bench = get_benchmark(src.benchmark, self.data_root)
        if src.eao_interval is not None:
            bench = dataclasses.replace(bench, eao_interval=src.eao_interval)
        return bench


def status(entry: Entry) -> Evaluated:
    """Ready to run, or why the entry cannot run and the command that would fix it."""
    spec = get_spec(entry.tracker)  # an unknown name is an error, never "not trained"
    ckpt = checkpoint_path(entry)
    if ckpt is not None:
        if not ckpt.is_file():
            return Evaluated("not trained", reason=f"checkpoint missing: {entry.checkpoint}",
                             train=entry.train)
        return Evaluated(READY)
    ok, why = spec.ready()
    if ok:
        return Evaluated(READY)
    missing_ckpt = spec.checkpoint is not None and not spec.checkpoint.is_file()
    reason = why.split("; train it with:")[0].replace(f"{REPO_ROOT}{os.sep}", "")
    return Evaluated("not trained" if missing_ckpt else "unavailable", reason=reason,
                     train=entry.train or spec.train)


def checkpoint_path(entry: Entry) -> Path | None:
    """The entry's own checkpoint (relative paths from the checkout), None for the spec's."""
    if entry.checkpoint is None:
        return None
    p = Path(entry.checkpoint)
    return p if p.is_absolute() else REPO_ROOT / p


def overrides(entry: Entry, src: DataSource) -> dict[str, Any]:
    """``src``'s precision, for a tracker that has one; a correlation filter runs as it is."""
    if src.precision is None or not get_spec(entry.tracker).takes("precision"):
        return {}
    return {"precision": src.precision}


def _spec(entry: Entry, src: DataSource) -> TrackerSpec:
    """The entry's tracker spec with ``src``'s precision, where it has one."""
    return common.with_overrides(get_spec(entry.tracker), overrides(entry, src),
                                 entry.checkpoint is not None)


def precision_runs(base: Path, precision: str | None) -> Path:
    """The folder of one inference ``precision`` under a runs folder ``base`` (results of each
    precision are kept apart; None: the specs' own, ``base`` itself)."""
    return base if precision is None else base / f"precision-{precision}"


def _folder(base: Path, entry: Entry, src: DataSource, bench: Benchmark) -> Path:
    """Where ``entry``'s results on ``src`` are under a runs folder ``base``."""
    kind = "localise" if src.localise is not None else "results"
    base = out_folder(precision_runs(base, src.precision), entry)
    return base / kind / bench.name / entry.tracker


def out_folder(base: Path, entry: Entry) -> Path:
    """Where ``entry`` runs under ``base``: an entry with its own checkpoint apart, by its stem."""
    return base if entry.checkpoint is None else base / "checkpoints" / Path(entry.checkpoint).stem


def evaluate(ctx: Context, entry: Entry, src: DataSource) -> Evaluated:
    """Scores of ``entry`` on ``src`` (committed results if they stand in for it, else running
    what is missing), or its not-ready status.

    An entry with ``seeds`` > 1 is scored once per seed and merged
    (:func:`pul_bench.analysis.stats.merge_seeds`); it is ready only when every seed is.
    """
    if entry.seeds > 1:
        return _evaluate_seeds(ctx, entry, src)
    key = (entry.tracker, entry.checkpoint, src)
    if key in ctx.cache:
        return ctx.cache[key]
    kept = _kept_scores(ctx, entry, src)
    state = status(entry) if kept is None else Evaluated(OK, kept)
    if kept is None and state.status == READY:
        if src.localise is not None:
            scores = localise(ctx, entry, src)
        else:
            bench = ctx.benchmark(src)
            scores = kind_of(bench).run(
                bench, entry.tracker, ctx.root(src),
                out_folder(precision_runs(ctx.runs, src.precision), entry),
                Options(protocol=src.protocol), workers=ctx.workers,
                sequences=list(src.sequences) if src.sequences else None,
                checkpoint=checkpoint_path(entry), overrides=overrides(entry, src))[entry.tracker]
        state = Evaluated(OK, scores)
        if ctx.keep and ctx.kept is not None:
            _keep(ctx, entry, src)
    ctx.cache[key] = state
    return state


def _set_up(entry: Entry, src: DataSource) -> dict[str, Any] | None:
    """The set-up record that results of ``entry`` on ``src`` must carry; for an absent
    checkpoint, the one listed under its name in ``weights/MANIFEST.yaml`` beside the tracker's
    spec file (None if it lists none)."""
    ckpt, spec = checkpoint_path(entry), _spec(entry, src)
    path = ckpt or spec.checkpoint
    if path is None or path.is_file():
        return common.set_up(spec, ckpt)
    source = spec_file(spec)
    manifest = source.parent / "weights" / "MANIFEST.yaml" if source else None
    sha = listed_sha256(manifest, path.stem) if manifest and manifest.is_file() else None
    return None if sha is None else common.set_up(spec, ckpt, sha)


def _kept_scores(ctx: Context, entry: Entry, src: DataSource) -> dict[str, Any] | None:
    """Scores of ``entry`` from the committed results, if they stand in for it (see the module
    docstring), else None."""
    if ctx.kept is None:
        return None
    bench = ctx.benchmark(src)
    folder = _folder(ctx.kept, entry, src, bench)
    record = folder / common.RECORD
    if not record.is_file():
        return None
    made_by = _set_up(entry, src)
    if made_by is None or common.differs(record, made_by):
        return None
    with _unpacked(folder) as files:
        if src.localise is not None:
            return localise(ctx, entry, src, files)
        scores = kind_of(bench).score_finished(bench, files, ctx.root(src), src.sequences,
                                               Options(protocol=src.protocol))
    return None if scores is None else scores[entry.tracker]


#: The raw results of a committed folder, beside its plain set-up record.
KEPT_ARCHIVE = "kept.tar.xz"


def _keep(ctx: Context, entry: Entry, src: DataSource) -> None:
    """Put ``entry``'s results on ``src`` into the committed results (:func:`pack_kept`)."""
    bench = ctx.benchmark(src)
    pack_kept(_folder(ctx.runs, entry, src, bench), _folder(ctx.kept, entry, src, bench))


def pack_kept(source: Path, target: Path) -> None:
    """Replace ``target`` by ``source``'s set-up record and raw results, without timings: the
    record as it is, the rest packed into :data:`KEPT_ARCHIVE` with neutral times and owners,
    so the same results pack to the same bytes and git sees no change."""
    files = sorted(p for p in source.rglob("*") if p.is_file() and p.name != common.RECORD
                   and not any(part.startswith(".") or part == "times"
                               for part in p.relative_to(source).parts)
                   and "_time." not in p.name)

    def neutral(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
        return info

    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    with atomic_path(target / KEPT_ARCHIVE) as tmp, tarfile.open(tmp, "w:xz") as tar:
        for p in files:
            tar.add(p, arcname=p.relative_to(source).as_posix(), filter=neutral)
    shutil.copy2(source / common.RECORD, target / common.RECORD)


@contextlib.contextmanager
def _unpacked(folder: Path) -> Iterator[Path]:
    """``folder`` itself, or, where it packs its results in :data:`KEPT_ARCHIVE`, a temporary
    folder of the same name (scorers name a tracker by its folder) holding them and its set-up
    record."""
    archive = folder / KEPT_ARCHIVE
    if not archive.is_file():
        yield folder
        return
    with tempfile.TemporaryDirectory(prefix="pulbench-kept-") as tmp:
        out = Path(tmp) / folder.name
        out.mkdir()
        try:
            with tarfile.open(archive) as tar:
                tar.extractall(out, filter="data")
        except (tarfile.TarError, OSError, EOFError) as e:
            raise InputError(archive, f"not a readable results archive ({e})") from None
        shutil.copy2(folder / common.RECORD, out / common.RECORD)
        yield out


def _evaluate_seeds(ctx: Context, entry: Entry, src: DataSource) -> Evaluated:
    seeds = entry.seed_entries()
    return merged(seeds, [evaluate(ctx, e, src) for e in seeds])


def merged(seeds: list[Entry], states: list[Evaluated]) -> Evaluated:
    """One state for a seed family: the first lacking seed's status, else the merged scores."""
    lacking = [(e, s) for e, s in zip(seeds, states, strict=True) if not s.ok]
    if lacking:
        e, state = lacking[0]
        return dataclasses.replace(state, reason=f"{len(lacking)} of {len(seeds)} seeds not "
                                   f"ready ({', '.join(x.tracker for x, _ in lacking)}); "
                                   f"{e.tracker}: {state.reason}")
    return Evaluated(OK, stats.merge_seeds([s.scores for s in states]))


def localise(ctx: Context, entry: Entry, src: DataSource,
             kept: Path | None = None) -> dict[str, Any] | None:
    """``loc_error`` of a single-seed ``entry`` on ``src``'s seeded pairs
    (:mod:`pul_bench.analysis.localisation`): the mean over sequences of each sequence's mean
    clipped error, its bootstrap interval over sequences, and per sequence ``loc_error``,
    ``hit50``, ``error_px`` and ``pairs``. Pairs measured before are read back, not measured.
    With ``kept`` (a committed folder whose record names this set-up), nothing is measured:
    None unless that folder holds every pair."""
    from pul_bench.analysis.localisation import mean_error, peak_errors, sample_pairs, summarise

    bench = ctx.benchmark(src)
    seqs, missing = load_otb(bench, ctx.root(src), src.sequences)
    if src.sequences and missing:
        raise PulBenchError(f"sequences not found under {ctx.root(src)}: {', '.join(missing)}")
    pairs = sample_pairs(seqs, src.localise.pairs, src.localise.gap, src.localise.seed)
    if not pairs:
        raise PulBenchError(f"data '{src.key}': no sequence is longer than {src.localise.gap} "
                            "annotated frames")
    folder = kept or _folder(ctx.runs, entry, src, bench)
    if kept is None:
        ckpt, spec = checkpoint_path(entry), _spec(entry, src)
        made_by = common.set_up(spec, ckpt)
        common.check_set_up(folder, made_by)
    cache = folder / "pairs.json"
    keys = [f"{p.sequence}:{p.template}:{p.search}" for p in pairs]
    try:
        known = json.loads(cache.read_text()) if cache.is_file() else {}
    except json.JSONDecodeError as e:
        raise InputError(cache, f"not valid JSON: {e.msg}", e.lineno) from None
    todo = [(k, p) for k, p in zip(keys, pairs, strict=True) if k not in known]
    if todo and kept is not None:
        return None
    if todo:
        tracker = common.build_tracker(spec, ckpt, bench.name, folder, made_by)
        errors = peak_errors(tracker, seqs, [p for _, p in todo])
        new = {k: e.tolist() for (k, _), e in zip(todo, errors, strict=True)}
        known = update_json(cache, lambda before: {**before, **new})
    per_seq = summarise(pairs, np.array([known[k] for k in keys]))
    error, ci = mean_error(per_seq)
    return {"loc_error": error, "loc_error_ci": ci,
            "pairs": len(pairs), "n_sequences": len(per_seq),
            "per_sequence": {n: {"loc_error": v["error"], "hit50": v["hit50"],
                                 "error_px": v["error_px"], "pairs": v["pairs"]}
                             for n, v in per_seq.items()}}


def data_summary(ctx: Context, src: DataSource) -> dict[str, Any]:
    """Which sequences of ``src`` are present and how many frames they hold."""
    bench = ctx.benchmark(src)
    root = ctx.root(src)
    if bench.kind == "otb":
        seqs, missing = load_otb(bench, root, src.sequences)
        lengths = {s.name: len(s) for s in seqs}
    else:
        from pul_bench.datasets.vot import load_sequences

        names = list(src.sequences) if src.sequences else bench.sequences
        vseqs, missing = load_sequences(root, names)
        lengths = {s.name: len(s) for s in vseqs}
    out = {"benchmark": bench.name, "kind": bench.kind, "root": shown_path(root, ctx.data_root),
           "sequences": lengths, "frames": sum(lengths.values()), "missing": list(missing),
           "precision": src.precision}
    if bench.kind == "vot":
        out["eao_interval"] = list(bench.eao_interval) if bench.eao_interval else None
        standard = get_benchmark(src.benchmark).eao_interval
        out["standard_eao_interval"] = list(standard) if standard else None
    return out


def shown_path(path: Path, data_root: Path) -> str:
    """A path as a reader can follow it: relative to the data root where possible."""
    try:
        return f"<data>/{path.resolve().relative_to(data_root.resolve())}"
    except ValueError:
        return str(path)
