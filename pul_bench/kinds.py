"""Benchmark kinds: one typed contract per kind of benchmark, registered in :data:`KINDS`.

A benchmark manifest names its kind (``otb`` one-pass, ``vot`` reset-based, ``got10k`` AO/SR).
The kind is what every verb dispatches through: it runs a tracker (``pul_bench.experiments``),
scores result folders (``pul_bench.analysis``), prints their table and draws their figures
(``pul_bench.plots``). Those modules keep the work; a kind only ties them together and says
which shared command-line options it honours (:attr:`Kind.honours`). An option given to a kind
that does not honour it is refused with one error naming the option and the kind
(:meth:`Kind.check`), never dropped on the way down.

``--precision`` (and ``--device``) are not here: they are tracker arguments, which every
kind's runner hands to the tracker spec, and the spec refuses them for a tracker without a
network (:func:`pul_bench.experiments.common.with_overrides`).
"""

from __future__ import annotations

import dataclasses
import importlib
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar

from pul_bench.analysis import stats
from pul_bench.benchmarks import Benchmark
from pul_bench.errors import PulBenchError
from pul_bench.io import note, write_json
from pul_bench.paths import require_distinct_trackers


@dataclasses.dataclass(frozen=True)
class Options:
    """The scoring options shared by eval, score, compare and plot. A field at its default
    means 'not given', so a kind that does not honour an option only refuses it when given."""

    convention: str | None = None
    resamples: int = stats.DEFAULT_RESAMPLES
    seed: int = stats.DEFAULT_SEED
    strict: bool = False
    seeds: bool = False
    protocol: str = "ope"

    def given(self) -> dict[str, Any]:
        """The options set away from their defaults, by field name."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if getattr(self, f.name) != f.default}


#: How each :class:`Options` field is spelled on the command line.
FLAGS = {"convention": "--convention", "resamples": "--bootstrap", "seed": "--seed",
         "strict": "--strict", "seeds": "--seed-families", "protocol": "--protocol"}


class Kind(ABC):
    """What a benchmark kind runs, scores, tabulates and plots, and which options it honours.

    Subclasses name their experiment and analysis modules; the analysis module provides
    ``score(bench, result_dirs, root, convention, resamples, seed, strict)`` and
    ``format_table(scores)``, the experiment module ``evaluate(bench, tracker, root, out,
    workers, sequences, checkpoint, resamples, seed, overrides, shard)``.
    """

    name: ClassVar[str]
    #: how messages name the kind ("OTB benchmarks")
    title: ClassVar[str]
    #: :class:`Options` fields this kind honours (``strict``: the kind may always be strict)
    honours: ClassVar[frozenset[str]]
    #: verbs beyond eval, score and plot that this kind supports
    verbs: ClassVar[frozenset[str]]
    #: per-sequence scores ``compare`` can pair (the first is its default)
    compare_metrics: ClassVar[tuple[str, ...]]
    #: per-sequence scores aggregated over seed families (``score --seed-families``)
    seed_metrics: ClassVar[tuple[str, ...]]
    experiment: ClassVar[str]
    analysis_module: ClassVar[str]

    def runner(self) -> ModuleType:
        """The experiment module that runs this kind (imported on first use)."""
        return importlib.import_module(self.experiment)

    def analysis(self) -> ModuleType:
        """The analysis module that scores this kind (imported on first use)."""
        return importlib.import_module(self.analysis_module)

    def check(self, bench: Benchmark, options: Options) -> None:
        """Refuse every option given that this kind does not honour, naming it."""
        for name, value in options.given().items():
            if name not in self.honours:
                shown = FLAGS[name] if value is True else f"{FLAGS[name]} {value}"
                owners = [k.title for k in KINDS.values() if name in k.honours]
                raise PulBenchError(f"{shown} applies to {' and '.join(owners)} benchmarks, "
                                    f"not {bench.name} (a {self.title} benchmark)")

    def require(self, bench: Benchmark, verb: str) -> None:
        """Refuse ``verb`` on a kind that does not support it."""
        if verb not in self.verbs:
            owners = [k.title for k in KINDS.values() if verb in k.verbs]
            raise PulBenchError(f"{verb} applies to {' and '.join(owners)} benchmarks; "
                                f"{bench.name!r} is a {self.title} benchmark")

    def run(self, bench: Benchmark, tracker: str, root: Path, out: Path, options: Options,
            workers: int = 1, sequences: Sequence[str] | None = None,
            checkpoint: Path | None = None, overrides: Mapping[str, Any] | None = None,
            shard: tuple[int, int] | None = None) -> dict[str, Any]:
        """Run ``tracker`` on ``bench`` (resumably) and score it: ``{tracker: scores}``, empty
        for a shard or a split without ground truth."""
        self.check(bench, options)
        return self.runner().evaluate(
            bench=bench, tracker=tracker, root=root, out=out, workers=workers,
            sequences=sequences, checkpoint=checkpoint, resamples=options.resamples,
            seed=options.seed, overrides=overrides, shard=shard, **self._protocol(options))

    def score(self, bench: Benchmark, result_dirs: Sequence[Path], root: Path,
              options: Options) -> dict[str, Any]:
        """Score result folders (folder name = tracker name): ``{tracker: scores}``."""
        self.check(bench, options)
        return self.analysis().score(
            bench=bench, result_dirs=list(result_dirs), root=root,
            convention=options.convention, resamples=options.resamples, seed=options.seed,
            strict=options.strict, **self._protocol(options))

    def score_finished(self, bench: Benchmark, result_dir: Path, root: Path,
                       sequences: Sequence[str] | None, options: Options
                       ) -> dict[str, Any] | None:
        """What :meth:`run` returns for the results in ``result_dir`` when every run it would
        make is there, else None; runs nothing (the reports score committed results so)."""
        self.check(bench, options)
        return self.runner().score_finished(bench, result_dir, root,
                                            list(sequences) if sequences else None,
                                            **self._protocol(options))

    def table(self, scores: Mapping[str, Any]) -> str:
        """The plain-text table of ``scores`` (what ``score`` and ``eval`` print)."""
        return self.analysis().format_table(scores)

    @abstractmethod
    def plot(self, bench: Benchmark, result_dirs: Sequence[Path], root: Path, out: Path,
             options: Options) -> tuple[str, list[Path]]:
        """Score ``result_dirs``, write ``out/performance.json`` and the figures; return the
        table and the figure files (or refuse: not every kind has comparison figures)."""

    def submit(self, bench: Benchmark, result_dir: Path, root: Path, out: Path) -> Path:
        """Write ``result_dir`` as ``bench``'s evaluation server takes it (a zip); return its
        path. Refused where the benchmark is scored locally."""
        raise PulBenchError(f"{bench.name} is scored locally (`pulbench score`); no server "
                            "submission format")

    def _protocol(self, options: Options) -> dict[str, str]:
        """The protocol argument, for the kinds whose modules take one."""
        return {"protocol": options.protocol} if "protocol" in self.honours else {}


class OTBKind(Kind):
    """One-pass benchmarks (OTB, LaSOT, UAV123, TrackingNet): OPE, and OTB's TRE/SRE runs."""

    name = "otb"
    title = "OTB"
    honours = frozenset({"convention", "resamples", "seed", "strict", "seeds", "protocol"})
    verbs = frozenset({"compare", "localise"})
    compare_metrics = ("auc", "dp20", "norm_prec")
    seed_metrics = ("auc", "dp20", "norm_prec")
    experiment = "pul_bench.experiments.ope"
    analysis_module = "pul_bench.analysis.otb"

    def plot(self, bench: Benchmark, result_dirs: Sequence[Path], root: Path, out: Path,
             options: Options) -> tuple[str, list[Path]]:
        """Success, precision and per-attribute plots with their bands, legends by score.
        Curves compare only on the same sequences: trackers covering different ones are
        scored again on those they all have."""
        from pul_bench.plots import plot_all

        self.check(bench, options)
        require_distinct_trackers([d.name for d in result_dirs])
        score = self.analysis().score
        run = {"convention": options.convention, "resamples": options.resamples,
               "seed": options.seed, "protocol": options.protocol, "curve_bands": True}
        scores = score(bench=bench, result_dirs=list(result_dirs), root=root, **run)
        covered = [set(s["per_sequence"]) for s in scores.values()]
        common = set.intersection(*covered)
        if any(c != common for c in covered):
            if not common:
                raise PulBenchError("the result folders share no sequence; nothing to compare")
            order = [n for n in next(iter(scores.values()))["per_sequence"] if n in common]
            note(f"trackers cover different sequences; comparing on the {len(order)} they "
                 "all have")
            bench = dataclasses.replace(bench, sequences=tuple(order))
            scores = score(bench=bench, result_dirs=list(result_dirs), root=root, **run)
        write_json(out / "performance.json", scores)
        written = plot_all(scores, out, bench.name, protocol=options.protocol,
                           norm_precision=bench.layout in ("lasot", "trackingnet"))
        return self.table(scores), written

    def submit(self, bench: Benchmark, result_dir: Path, root: Path, out: Path) -> Path:
        """TrackingNet's test chunks go to its server; the other one-pass sets score here."""
        if bench.layout != "trackingnet":
            return super().submit(bench, result_dir, root, out)
        from pul_bench import results
        from pul_bench.datasets.otb import load_otb

        chunk, missing = load_otb(bench, root)
        if not chunk:
            raise PulBenchError(f"no {bench.name} sequences under {root}")
        results.require_all(root, f"the {bench.name} chunk lacks", missing,
                            len(chunk) + len(missing))
        return results.write_trackingnet_submission(result_dir, chunk, out)


class VOTKind(Kind):
    """Reset-based supervised benchmarks (VOT2016-2019 short-term): A, R, EAO. Results are
    always read strictly (the VOT toolkit refuses a trajectory of another length), so
    ``--strict`` asks for what already holds."""

    name = "vot"
    title = "VOT"
    honours = frozenset({"convention", "resamples", "seed", "strict", "seeds"})
    verbs = frozenset({"compare"})
    compare_metrics = ("accuracy", "robustness", "failures")
    seed_metrics = ("accuracy", "robustness")
    experiment = "pul_bench.experiments.supervised"
    analysis_module = "pul_bench.analysis.vot"

    def plot(self, bench: Benchmark, result_dirs: Sequence[Path], root: Path, out: Path,
             options: Options) -> tuple[str, list[Path]]:
        """Refused: VOT's figures (EAO curve, A-R plot) are drawn by eval."""
        raise PulBenchError(f"plot draws OTB and GOT-10k comparison plots; {bench.name!r} is a "
                            "VOT benchmark, whose EAO and A-R plots eval draws")


class GOT10kKind(Kind):
    """GOT-10k splits: AO and SR over repetitions, scored by got10k's rules. Results are
    always read strictly (got10k refuses a repetition of another length)."""

    name = "got10k"
    title = "GOT-10k"
    honours = frozenset({"convention", "resamples", "seed", "strict", "seeds"})
    verbs = frozenset({"compare"})
    compare_metrics = ("ao", "sr50", "sr75")
    seed_metrics = ("ao", "sr50", "sr75")
    experiment = "pul_bench.experiments.got10k"
    analysis_module = "pul_bench.analysis.got10k"

    def score_finished(self, bench: Benchmark, result_dir: Path, root: Path,
                       sequences: Sequence[str] | None, options: Options
                       ) -> dict[str, Any] | None:
        """Refused: the reports' recipes take no GOT-10k data (they have no GOT-10k metric)."""
        raise PulBenchError(f"the reports do not score GOT-10k benchmarks ({bench.name})")

    def plot(self, bench: Benchmark, result_dirs: Sequence[Path], root: Path, out: Path,
             options: Options) -> tuple[str, list[Path]]:
        """GOT-10k's success plot (101 thresholds), legend by AO, as got10k's
        ``plot_curves``."""
        from pul_bench.plots import save, success_plot

        scores = self.score(bench, result_dirs, root, options)
        write_json(out / "performance.json", scores)
        as_auc = {name: {**s, "auc": s["ao"]} for name, s in scores.items()}
        written = save(success_plot(as_auc, f"Success plots on {bench.name.upper()} "
                                    "(legend: AO)"), out / "success")
        return self.table(scores), written

    def submit(self, bench: Benchmark, result_dir: Path, root: Path, out: Path) -> Path:
        """The split's every sequence, in the layout got10k's ``report`` zips."""
        from pul_bench import results
        from pul_bench.datasets.got10k import load_got10k

        seqs, missing = load_got10k(bench, root)
        results.require_all(root, f"the {bench.name} split lacks", missing,
                            len(seqs) + len(missing))
        return results.write_got10k_submission(result_dir, [s.name for s in seqs], out)


#: Every benchmark kind, by the name manifests give (``kind:``).
KINDS: dict[str, Kind] = {k.name: k for k in (OTBKind(), VOTKind(), GOT10kKind())}


def kind_of(bench: Benchmark) -> Kind:
    """The kind of ``bench``, which every verb dispatches through."""
    try:
        return KINDS[bench.kind]
    except KeyError:
        raise PulBenchError(f"benchmark {bench.name!r} has kind {bench.kind!r}; known kinds: "
                            f"{', '.join(KINDS)}") from None
