"""Intervals, paired tests and seed aggregation, so that a comparison says whether it is real.

Every number is a statistic over a benchmark's sequences, so the sequences are the unit of
resampling. All bootstraps here are vectorised: one (B, S) matrix of resample counts (row b
says how often each of the S sequences was drawn in resample b) multiplies the per-sequence
values, so B = 2,000 resamples cost two matrix products, never a Python loop per resample.

* A score that is a ratio of per-sequence sums (OTB AUC with the MATLAB toolkit's dropped
  empty curves, VOT accuracy pooled over frames, robustness, each point of the EAO curve) is
  resampled as ``counts @ num / counts @ den``, which recomputes it exactly on the resample.
* Intervals are percentile intervals (2.5th and 97.5th percentiles for 95%). Resamples where
  a score is undefined (NaN, e.g. an EAO whose interval no drawn sequence reaches) are left out.
* Resampling is seeded (``numpy.random.default_rng(seed)``): the same seed, number of
  resamples and number of sequences draw the same counts, so output is reproducible and every
  tracker scored in one call is resampled on the same sequence draws.

Paired comparisons (``pulbench compare``) resample the per-sequence differences A - B on the
sequences both trackers cover, test them with the two-sided Wilcoxon signed-rank test
(``scipy.stats.wilcoxon``), and Holm-correct the p-values when more than two trackers are
compared (more than one pair). A side that is a seed family is resampled on two levels
(:func:`paired_seed_columns`): sequences, shared by both sides, then each family's seeds.

Training seeds: result folders ``X``, ``X-s2``, ``X-s3`` ... (``X-s1`` may stand for ``X``) are
the seeds of tracker ``X`` (:func:`seed_groups`). :func:`two_level` aggregates them with a
two-level bootstrap: seeds are drawn with replacement, then sequences, so the interval holds
both sources of variation.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from itertools import combinations
from typing import Any

import numpy as np

from pul_bench.errors import PulBenchError

#: Default number of bootstrap resamples (``--bootstrap``); 0 disables intervals.
DEFAULT_RESAMPLES = 2000
#: Default seed of the resampling (``--seed``).
DEFAULT_SEED = 0
LEVEL = 0.95
ALPHA = 0.05
#: z(1 - alpha/2) + z(power) for a two-sided 5% test with 80% power: 1.960 + 0.842, written
#: out as scipy's ``norm.ppf(0.975) + norm.ppf(0.8)`` (a test checks every bit) so that
#: importing this module, and so scoring, does not import scipy.stats (about 2 s of start-up).
DETECTABLE_Z = 2.8015852181129683
#: What verdicts and claims say when the two tests split this way (significant needs both).
INTERVAL_ONLY = "the interval excludes 0 but the Holm-corrected Wilcoxon p does not"
#: How each metric is named in verdicts and whether a larger value is better.
METRICS = {"auc": ("AUC", True), "dp20": ("DP@20", True), "norm_prec": ("NormP", True),
           "sr50": ("SR@0.5", True), "accuracy": ("A", True), "robustness": ("R", False),
           "failures": ("failures", False), "eao": ("EAO", True),
           "loc_error": ("peak error", False),
           "ao": ("AO", True), "sr75": ("SR@0.75", True)}
#: Scores pooled over frames (GOT-10k): a sequence weighs by its scored frames.
FRAME_POOLED = ("ao", "sr50", "sr75")
_SEED_NAME = re.compile(r"^(?P<base>.+)-s(?P<k>[0-9]+)$")


def resample_counts(n: int, resamples: int, seed: int | np.random.Generator) -> np.ndarray:
    """(resamples, n) counts: how often each of ``n`` items is drawn in each resample.

    Each row is one bootstrap resample of size ``n`` drawn with replacement; the counts come
    from one ``bincount`` of all draws, offset by row. A generator instead of a seed is drawn
    from (and advanced), so that several levels of one bootstrap share one stream. For a
    seed the matrix is drawn once and shared, read-only (every tracker scored on the same
    sequences uses the same one).
    """
    if isinstance(seed, np.random.Generator):
        return _draw_counts(n, resamples, seed)
    return _seeded_counts(n, resamples, int(seed))


@functools.lru_cache(maxsize=8)
def _seeded_counts(n: int, resamples: int, seed: int) -> np.ndarray:
    counts = _draw_counts(n, resamples, np.random.default_rng(seed))
    counts.setflags(write=False)
    return counts


def _draw_counts(n: int, resamples: int, rng: np.random.Generator) -> np.ndarray:
    draws = rng.integers(0, n, size=(resamples, n)) + n * np.arange(resamples)[:, None]
    return np.bincount(draws.ravel(), minlength=resamples * n).reshape(resamples, n)


def ratio_samples(counts: np.ndarray, num: np.ndarray, den: np.ndarray | None = None
                  ) -> np.ndarray:
    """Bootstrap replicates of ``sum(num) / sum(den)`` over sequences (plain mean if no den).

    ``num`` and ``den`` have one row per sequence (extra columns, e.g. EAO curve points, are
    resampled together); the result has one row per resample, NaN where the sum of ``den``
    is 0.
    """
    counts = np.asarray(counts, dtype=np.float64)
    num = np.asarray(num, dtype=np.float64)
    top = counts @ num
    bottom = counts.sum(axis=1) if den is None else counts @ np.asarray(den, dtype=np.float64)
    if bottom.ndim < top.ndim:
        bottom = bottom[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        return top / bottom


def percentile_interval(samples: np.ndarray, level: float = LEVEL) -> list[float]:
    """The percentile interval ``[lo, hi]`` of bootstrap replicates; NaN ones are left out."""
    samples = np.asarray(samples, dtype=np.float64)
    samples = samples[~np.isnan(samples)]
    if not len(samples):
        return [float("nan"), float("nan")]
    tail = 100 * (1 - level) / 2
    lo, hi = np.percentile(samples, [tail, 100 - tail])
    return [float(lo), float(hi)]


def interval(num: Sequence[float] | np.ndarray, den: Sequence[float] | np.ndarray | None = None,
             resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED,
             level: float = LEVEL) -> list[float]:
    """95% bootstrap interval over sequences of ``sum(num) / sum(den)`` (a mean without den)."""
    counts = resample_counts(len(num), resamples, seed)
    return percentile_interval(ratio_samples(counts, num, den), level)


def paired_columns(diffs: np.ndarray, resamples: int = DEFAULT_RESAMPLES,
                   seed: int = DEFAULT_SEED) -> list[dict[str, Any]]:
    """For each column of (S, P) per-sequence differences A - B: the mean difference, its
    paired-bootstrap 95% interval and standard error, the smallest detectable difference and
    the Wilcoxon p-value; one (B, S) x (S, P) product for all bootstraps, one vectorised
    Wilcoxon test. With fewer than 2 resamples there is no interval (``ci`` None) and no
    detectable difference."""
    diffs = np.asarray(diffs, dtype=np.float64)
    reps = (ratio_samples(resample_counts(len(diffs), resamples, seed), diffs)
            if resamples > 1 else None)
    return _paired_summary(diffs, reps)


def paired_seed_columns(families: Mapping[str, np.ndarray], pairs: Sequence[tuple[str, str]],
                        resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED
                        ) -> list[dict[str, Any]]:
    """:func:`paired_columns` for ``pairs`` of seed families: ``families`` maps each tracker
    to its (K, S) per-seed values on the same S sequences (K = 1 for a single run).

    Each resample draws the S sequences (shared by both sides: pairing is by sequence), then
    each family's K seeds with replacement, independently per family (seed k of A and seed k
    of B are unrelated training runs); the replicate is the mean over the drawn sequences of
    (A's mean over its drawn seeds - B's). One generator draws the sequences first (the same
    counts as :func:`paired_columns`), then the seeds of each family with K > 1 in the order
    of ``families``; a family is drawn once and used in all its pairs. ``delta`` and the
    Wilcoxon p are those of the per-sequence seed means; with one seed on every side this is
    :func:`paired_columns` on their differences, exactly."""
    fams = {t: np.atleast_2d(np.asarray(v, dtype=np.float64)) for t, v in families.items()}
    means = {t: v.mean(axis=0) for t, v in fams.items()}
    diffs = np.column_stack([means[a] - means[b] for a, b in pairs])
    if resamples < 2 or all(len(fams[t]) == 1 for pair in pairs for t in pair):
        return paired_columns(diffs, resamples, seed)
    rng = np.random.default_rng(seed)
    counts = resample_counts(len(diffs), resamples, rng).astype(np.float64)
    # (B, S): each family's mean over its drawn seeds, per sequence and resample
    drawn = {t: v if len(v) == 1 else resample_counts(len(v), resamples, rng) @ v / len(v)
             for t, v in fams.items()}
    reps = np.column_stack([(counts * (drawn[a] - drawn[b])).sum(axis=1) for a, b in pairs])
    return _paired_summary(diffs, reps / len(diffs))


def _paired_summary(diffs: np.ndarray, reps: np.ndarray | None) -> list[dict[str, Any]]:
    """The paired-comparison numbers of (S, P) differences from their (B, P) bootstrap
    replicates of the mean difference (None: no interval)."""
    n, cols = diffs.shape
    lo = hi = se = np.full(cols, np.nan)
    if reps is not None:
        tail = 100 * (1 - LEVEL) / 2
        lo, hi = np.percentile(reps, [tail, 100 - tail], axis=0)
        se = np.std(reps, axis=0, ddof=1)
    p = wilcoxon_p(diffs)
    return [{"n_sequences": n, "delta": float(d),
             "ci": None if np.isnan(a) else [float(a), float(b)], "se": float(e),
             "detectable": None if np.isnan(e) else detectable_difference(float(e)),
             "p_value": float(q)}
            for d, a, b, e, q in zip(diffs.mean(axis=0), lo, hi, se, np.atleast_1d(p),
                                     strict=True)]


def wilcoxon_p(diff: Sequence[float] | np.ndarray) -> float | np.ndarray:
    """Two-sided Wilcoxon signed-rank p-value of paired differences (zeros dropped, scipy's
    default); 1.0 when every difference is zero, since then nothing differs. A 2-D array is
    tested column by column (one p-value each), in one vectorised call."""
    diff = np.asarray(diff, dtype=np.float64)
    differs = np.any(diff != 0, axis=0)
    if not np.any(differs):
        return 1.0 if diff.ndim == 1 else np.ones(diff.shape[1])
    from scipy import stats as sps  # imported here: 2 s of start-up that scoring never needs

    if diff.ndim == 1:
        return float(sps.wilcoxon(diff, alternative="two-sided").pvalue)
    p = np.ones(diff.shape[1])
    p[differs] = sps.wilcoxon(diff[:, differs], alternative="two-sided", axis=0).pvalue
    return p


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values: the i-th smallest of m is multiplied by m - i + 1,
    made non-decreasing in that order and capped at 1. Controls the family-wise error."""
    p = np.asarray(p_values, dtype=np.float64)
    m = len(p)
    order = np.argsort(p, kind="stable")
    adjusted = np.minimum(1.0, np.maximum.accumulate(p[order] * (m - np.arange(m))))
    out = np.empty(m)
    out[order] = adjusted
    return out.tolist()


def smallest_p(n: int) -> float:
    """The smallest two-sided Wilcoxon p-value ``n`` paired differences can give: 2 / 2^n
    (all differences of one sign). Below 6 sequences it is >= 0.05, so no difference there is
    ever significant, whatever its size."""
    return min(1.0, 2.0 / 2.0**n)


def detectable_difference(se: float) -> float:
    """The smallest true difference a two-sided 5% test detects with 80% power:
    ``(z_0.975 + z_0.80) * SE = 2.80 * SE``, where SE is the standard error of the mean
    paired difference (the spread of its paired-bootstrap replicates)."""
    return DETECTABLE_Z * se


def compare(values: Mapping[str, Mapping[str, float | Sequence[float]]], metric: str,
            resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED,
            alpha: float = ALPHA, pairs: Sequence[tuple[str, str]] | None = None
            ) -> list[dict[str, Any]]:
    """Every pair of trackers in ``values`` (``{tracker: {sequence: value}}``, in order; or
    only the given ``pairs`` of its keys), each on the sequences both cover, Holm-corrected
    over the pairs compared: ``a, b, metric, n_sequences, n_seeds_a, n_seeds_b, undefined,
    delta, ci, se, detectable, p_value, p_holm, significant, too_few, verdict`` (``too_few``:
    even the most one-sided outcome could not be significant, see :func:`smallest_p`;
    ``detectable`` is then None).

    A sequence where either tracker's value is NaN (the metric cannot be computed there, e.g.
    a VOT accuracy with no scored frame) is left out of that pair, and named: ``undefined`` is
    ``{tracker: [sequence, ...]}`` and the verdict lists them. One common sequence gives no
    interval (``ci`` None) and decides nothing.

    A seed family gives each sequence a list of its K per-seed values (the same K on every
    sequence, see :func:`sequence_values`): its pairs are then bootstrapped over sequences and
    seeds (:func:`paired_seed_columns`), while ``delta`` and the Wilcoxon p use the
    per-sequence means over seeds. A plain value (or a one-item list) is one seed.

    ``significant`` needs both tests to agree: the Holm-corrected Wilcoxon p below alpha (with
    two trackers there is one pair and p_holm = p_value) and a bootstrap interval of the mean
    difference that excludes 0. (Wilcoxon tests the median of the differences, the interval
    their mean; a few large differences of the other sign can split them, and then the data
    do not say which tracker is better.)"""
    seeds = {t: _seed_count(t, v) for t, v in values.items()}
    undefined = {t: [s for s, v in vals.items() if np.isnan(np.atleast_1d(v)).any()]
                 for t, vals in values.items()}
    results = [{"a": a, "b": b, "metric": metric, "n_sequences": 0, "n_seeds_a": seeds[a],
                "n_seeds_b": seeds[b], "undefined": {
                    t: [s for s in undefined[t] if s in values[a] and s in values[b]]
                    for t in (a, b)}}
               for a, b in (combinations(values, 2) if pairs is None else pairs)]
    # pairs on the same sequences are bootstrapped and tested together, one column each
    by_common: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for p in results:
        left_out = {s for t in (p["a"], p["b"]) for s in p["undefined"][t]}
        p["undefined"] = {t: names for t, names in p["undefined"].items() if names}
        common = tuple(s for s in values[p["a"]] if s in values[p["b"]] and s not in left_out)
        if common:
            by_common.setdefault(common, []).append(p)
    for common, group in by_common.items():
        names = {p[k]: None for p in group for k in ("a", "b")}
        families = {t: np.array([np.atleast_1d(values[t][s]) for s in common], dtype=np.float64).T
                    for t in values if t in names}
        columns = paired_seed_columns(families, [(p["a"], p["b"]) for p in group], resamples,
                                      seed)
        for p, result in zip(group, columns, strict=True):
            p.update(result)
            if len(common) < 2:
                p["ci"] = p["detectable"] = None  # one difference has no spread to resample
    tested = [p for p in results if p["n_sequences"]]
    for p in results:
        p.update(p_holm=None, significant=False, too_few=True)
    for p, adjusted in zip(tested, holm([p["p_value"] for p in tested]), strict=True):
        p["p_holm"] = adjusted
        p["too_few"] = len(tested) * smallest_p(p["n_sequences"]) >= alpha
        if p["too_few"]:
            p["detectable"] = None  # no outcome on so few sequences can reach alpha
        p["significant"] = bool(adjusted < alpha and (p["ci"] is None or p["ci"][0] > 0
                                                      or p["ci"][1] < 0))
    for p in results:
        p["verdict"] = verdict(p, alpha)
    return results


def _seed_count(tracker: str, values: Mapping[str, float | Sequence[float]]) -> int:
    """How many seeds a tracker's per-sequence values hold (1 for plain values)."""
    counts = {len(np.atleast_1d(v)) for v in values.values()} or {1}
    if len(counts) > 1:
        raise PulBenchError(f"{tracker}: per-seed values of different lengths "
                            f"({', '.join(map(str, sorted(counts)))}); every sequence needs "
                            "one value per seed")
    return counts.pop()


def verdict(pair: Mapping[str, Any], alpha: float = ALPHA) -> str:
    """One line: who is better (in the metric's direction) with the difference, its interval,
    the (Holm-corrected) p-value and the number of sequences; or, when the two tests split,
    which one says so; or that no difference was detectable at that size."""
    a, b, metric = pair["a"], pair["b"], pair["metric"]
    label, higher_better = METRICS.get(metric, (metric, True))
    left_out = "".join(f" ({', '.join(seqs)} left out: no {metric} for {t} there)"
                       for t, seqs in pair.get("undefined", {}).items())
    if not pair["n_sequences"]:
        return f"{a} vs {b}: no common sequence, nothing to compare{left_out}"
    if pair["n_sequences"] == 1:
        return (f"{a} vs {b}: one common sequence, nothing can be decided (Δ{label} "
                f"{pair['delta']:+.3f} on that sequence alone){left_out}")
    first_better = (pair["delta"] > 0) == higher_better
    significant = pair["significant"] and pair["delta"] != 0
    # a verdict reads "X better than Y", so its delta is X - Y
    sign = -1.0 if significant and not first_better else 1.0
    numbers = f"Δ{label} {sign * pair['delta']:+.3f}"
    if pair["ci"] is not None:
        lo, hi = sorted(sign * np.asarray(pair["ci"]))
        numbers += f" [{lo:+.3f}, {hi:+.3f}]"
    numbers += f", p = {_p(pair['p_holm'])}, {pair['n_sequences']} sequences"
    if not significant:
        det = pair["detectable"]
        reach = ("; too few sequences for any difference to be significant" if pair["too_few"]
                 else "" if det is None else f"; detectable: ±{det:.3f}")
        ci, p_holm = pair["ci"], pair["p_holm"]
        if ci is not None and (ci[0] > 0 or ci[1] < 0):
            split = f"undecided, {INTERVAL_ONLY}"
        elif p_holm is not None and p_holm < alpha:
            split = f"undecided, the Wilcoxon p is below {alpha:g} but the interval includes 0"
        else:
            split = "no detectable difference"
        return f"{a} vs {b}: {split} ({numbers}{reach}){left_out}"
    better, worse = (a, b) if first_better else (b, a)
    return f"{better} better than {worse}: {numbers}{left_out}"


def _p(p: float) -> str:
    return f"{p:.2g}" if p >= 1e-4 else f"{p:.1e}"


def seed_groups(names: Sequence[str]) -> dict[str, list[str]]:
    """Group tracker names into seed families: ``X``, ``X-s1``..``X-sK`` are seeds of ``X``
    (``X`` itself is seed 1). Names keep their order; a name without a seed suffix whose
    family has no other member is a family of one."""
    groups: dict[str, dict[int, str]] = {}
    for name in names:
        m = _SEED_NAME.match(name)
        base, k = (m["base"], int(m["k"])) if m else (name, 1)
        family = groups.setdefault(base, {})
        if k in family:
            raise PulBenchError(f"{family[k]!r} and {name!r} are both seed {k} of {base!r}")
        family[k] = name
    return {base: [family[k] for k in sorted(family)] for base, family in groups.items()}


def two_level(num: np.ndarray, den: np.ndarray | None = None,
              resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED,
              level: float = LEVEL) -> dict[str, Any]:
    """Aggregate K seeds of one tracker on S sequences: ``num``/``den`` are (K, S) per-seed,
    per-sequence parts of a ratio score (see :func:`ratio_samples`).

    Returns the mean over seeds of each seed's score, its interval from a two-level bootstrap
    (each resample draws K seeds with replacement, then S sequences, and averages the drawn
    seeds' scores on the drawn sequences), the seed-to-seed standard deviation (ddof 1; 0 with
    one seed) and the per-seed scores.
    """
    num = np.atleast_2d(np.asarray(num, dtype=np.float64))
    den = np.ones_like(num) if den is None else np.atleast_2d(np.asarray(den, dtype=np.float64))
    k, s = num.shape
    per_seed = num.sum(axis=1) / den.sum(axis=1)
    rng = np.random.default_rng(seed)
    seed_counts = resample_counts(k, resamples, int(rng.integers(2**31)))
    seq_counts = resample_counts(s, resamples, int(rng.integers(2**31)))
    with np.errstate(invalid="ignore", divide="ignore"):
        ratios = (seq_counts @ num.T) / (seq_counts @ den.T)  # (B, K): each seed, drawn seqs
    reps = (seed_counts * ratios).sum(axis=1) / k
    return {"mean": float(per_seed.mean()), "ci": percentile_interval(reps, level),
            "seed_sd": float(per_seed.std(ddof=1)) if k > 1 else 0.0,
            "per_seed": per_seed.tolist(), "n_seeds": k, "n_sequences": s}


def format_ci(value: float, ci: Sequence[float] | None) -> str:
    """``0.582 [0.55, 0.61]`` (the value with 3 decimals, the interval with 2; no interval if
    none was computed)."""
    if ci is None:
        return f"{value:.3f}"
    return f"{value:.3f} [{ci[0]:.2f}, {ci[1]:.2f}]"


def ci_cells(score: Mapping[str, Any], keys: Sequence[str], cell: int) -> str:
    """A table row's cells for ``keys`` of one tracker's ``score``, each value with its
    ``<key>_ci`` interval where there is one, right-aligned in ``cell`` characters."""
    return "  ".join(f"{format_ci(score[k], score.get(k + '_ci')):>{cell}}" for k in keys)


def table_intervals(scores: Sequence[Mapping[str, Any]]) -> tuple[int, str | None]:
    """A score table's cell width (room for :func:`format_ci`'s interval where any score has
    one) and the footnote saying how the intervals were drawn (None without intervals)."""
    boot = next((s["bootstrap"] for s in scores if "bootstrap" in s), None)
    if boot is None:
        return 6, None
    return 18, (f"[lo, hi]: 95% interval, bootstrap over sequences ({boot['resamples']} "
                f"resamples, seed {boot['seed']})")


def sequence_parts(entry: Mapping[str, float], metric: str) -> tuple[float, float]:
    """(numerator, denominator) of one sequence's share of ``metric``, from a ``per_sequence``
    entry of ``score``: OTB scores are plain means over sequences; VOT accuracy and GOT-10k
    AO / SR pool frames and robustness is failures per 100 frames, as the dataset scores are."""
    if metric == "accuracy":
        weight = float(entry["accuracy_frames"])
        return (float(entry["accuracy"]) * weight if weight else 0.0), weight
    if metric == "robustness":
        return 100.0 * float(entry["failures"]), float(entry["frames"])
    if metric in FRAME_POOLED and "frames" in entry:
        return float(entry[metric]) * float(entry["frames"]), float(entry["frames"])
    if metric not in entry:
        raise PulBenchError(f"no per-sequence {metric!r} in these scores; per-sequence "
                            f"metrics are {', '.join(k for k in entry if k in METRICS)}")
    return float(entry[metric]), 1.0


def sequence_value(entry: Mapping[str, float], metric: str) -> float:
    """One sequence's value of ``metric`` (what a paired comparison pairs)."""
    num, den = sequence_parts(entry, metric)
    return num / den if den else float("nan")


def sequence_values(score: Mapping[str, Any], metric: str) -> dict[str, float | list[float]]:
    """Each sequence's value of ``metric`` in a score dict, as :func:`compare` pairs them; a
    seed family merged by :func:`merge_seeds` gives the list of its per-seed values, so that
    its comparisons are resampled over its seeds as well as over sequences."""
    by_seed = score.get("seed_per_sequence")
    if by_seed is None:
        return {q: sequence_value(e, metric) for q, e in score["per_sequence"].items()}
    return {q: [sequence_value(p[q], metric) for p in by_seed] for q in score["per_sequence"]}


def aggregate_seeds(scores: Mapping[str, Mapping[str, Any]], metrics: Sequence[str],
                    resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED
                    ) -> dict[str, dict[str, Any]]:
    """Scores of each seed family (:func:`seed_groups`) on the sequences all its seeds cover:
    ``{tracker: {seeds, n_seeds, n_sequences, <metric>, <metric>_ci, <metric>_seed_sd,
    <metric>_per_seed}}`` from :func:`two_level` (no ``_ci`` when ``resamples`` is 0).

    OTB scores are taken as the mean of per-sequence scores, which is the dataset score
    unless a sequence's curve is all zero (the MATLAB toolkit then drops it).
    """
    out: dict[str, dict[str, Any]] = {}
    for base, names in seed_groups(list(scores)).items():
        per_seq = [scores[n]["per_sequence"] for n in names]
        common = [s for s in per_seq[0] if all(s in p for p in per_seq[1:])]
        if not common:
            raise PulBenchError(f"the seeds of {base} ({', '.join(names)}) share no sequence")
        entry: dict[str, Any] = {"seeds": names, "n_seeds": len(names),
                                 "n_sequences": len(common)}
        for metric in metrics:
            parts = np.array([[sequence_parts(p[s], metric) for s in common] for p in per_seq])
            agg = two_level(parts[..., 0], parts[..., 1], max(resamples, 1), seed)
            entry[metric] = agg["mean"]
            if resamples > 0:
                entry[f"{metric}_ci"] = agg["ci"]
            entry[f"{metric}_seed_sd"] = agg["seed_sd"]
            entry[f"{metric}_per_seed"] = agg["per_seed"]
        out[base] = entry
    return out


def format_seeds(aggregated: Mapping[str, Mapping[str, Any]], metrics: Sequence[str]) -> str:
    """A table of seed families: mean over seeds [two-level 95% interval] ± seed-to-seed SD."""
    width = max([len(t) for t in aggregated] + [7])
    cell = 26  # "0.582 [0.55, 0.61] ±0.012"
    head = "  ".join(f"{METRICS.get(m, (m,))[0]:>{cell}}" for m in metrics)
    lines = [f"{'tracker':<{width}}  seeds  seqs  {head}"]
    for name, e in aggregated.items():
        texts = [f"{format_ci(e[m], e.get(m + '_ci'))} ±{e[m + '_seed_sd']:.3f}" for m in metrics]
        row = "  ".join(f"{t:>{cell}}" for t in texts)
        lines.append(f"{name:<{width}}  {e['n_seeds']:5d}  {e['n_sequences']:4d}  {row}")
    lines.append("mean over seeds [95% interval, bootstrap over seeds then sequences] "
                 "± seed-to-seed standard deviation")
    return "\n".join(lines)


def _mean_over(values: list[Any]) -> Any:
    """The mean over seeds of one score entry: numbers, equal-length curves and dicts of them
    (per-attribute scores) elementwise; anything else (names, counts of differing shape) is the
    first seed's."""
    first = values[0]
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return float(np.mean(values))
    if isinstance(first, list) and all(isinstance(v, list) and len(v) == len(first)
                                       for v in values):
        try:
            return np.mean(np.asarray(values, dtype=float), axis=0).tolist()
        except (TypeError, ValueError):
            return first
    if isinstance(first, dict) and all(isinstance(v, dict) and v.keys() == first.keys()
                                       for v in values):
        return {k: _mean_over([v[k] for v in values]) for k in first}
    return first


def merge_seeds(seed_scores: Sequence[Mapping[str, Any]], resamples: int = DEFAULT_RESAMPLES,
                seed: int = DEFAULT_SEED) -> dict[str, Any]:
    """One score dict for K seeds of a tracker, shaped like a single seed's: each score with
    per-sequence parts (:func:`sequence_parts`) becomes the mean over seeds with its two-level
    interval (``_ci``) and seed-to-seed SD (``_seed_sd``); other numbers, curves and
    per-attribute scores become the mean over seeds without an interval (the first seed's
    would not cover the others); ``per_sequence``
    holds the mean over seeds on the sequences all seeds cover and ``seed_per_sequence`` each
    seed's own (a list of K, for :func:`sequence_values`); ``n_seeds`` is K."""
    first = seed_scores[0]
    if len(seed_scores) == 1:
        return {**first, "n_seeds": 1}
    common = [q for q in first["per_sequence"]
              if all(q in s["per_sequence"] for s in seed_scores)]
    entry = first["per_sequence"][common[0]] if common else {}
    # a sequence's failures add up to the total, which is a sum, not a mean over sequences
    metrics = [m for m in METRICS if m != "failures"
               and (m in entry or (m == "robustness" and "frames" in entry))]
    out: dict[str, Any] = {k: _mean_over([s.get(k) for s in seed_scores])
                           for k in first if not k.endswith("_ci") and k != "per_sequence"}
    family = {"x" if k == 1 else f"x-s{k}": s for k, s in enumerate(seed_scores, 1)}
    agg = aggregate_seeds(family, metrics, resamples, seed)["x"] if metrics else {}
    for m in metrics:
        out[m] = agg[m]
        out[f"{m}_seed_sd"] = agg[f"{m}_seed_sd"]
        if f"{m}_ci" in agg:
            out[f"{m}_ci"] = agg[f"{m}_ci"]
    out["per_sequence"] = {q: {k: float(np.mean([s["per_sequence"][q][k] for s in seed_scores]))
                               for k, v in first["per_sequence"][q].items()
                               if isinstance(v, int | float)} for q in common}
    out["seed_per_sequence"] = [{q: {k: s["per_sequence"][q][k] for k in out["per_sequence"][q]}
                                 for q in common} for s in seed_scores]
    out.update(n_seeds=len(seed_scores), n_sequences=len(common))
    return out
