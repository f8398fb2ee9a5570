"""A claims section: each claim a paired comparison a - b over the sequences (Holm over the
section's claims), its outcome and, when undecided, how many sequences would decide it."""

from __future__ import annotations

import math
from itertools import count
from typing import Any

from pul_bench.analysis import stats
from pul_bench.reports import evaluation as ev
from pul_bench.reports.model import OK, ClaimReading, ClaimsResult, Evaluated, NotReady, unique
from pul_bench.reports.recipe import METRIC_LABELS, Claim, Recipe, Section, entry_name
from pul_bench.reports.shared import caption, comparisons


def claims(ctx: ev.Context, recipe: Recipe, sec: Section, data: dict[str, Any]) -> ClaimsResult:
    """Evaluate both sides of every claim, test each distinct pair once, read each claim."""
    states: dict[str, Evaluated] = {}
    res = ClaimsResult(sec)
    for e in (e for c in sec.claims for e in (c.a, c.b)):
        per_source = {k: ev.evaluate(ctx, e, recipe.data[k]) for k in sec.data_keys()}
        states[entry_name(e)] = state = (pooled(per_source, sec.metric) if sec.pooled
                                         else per_source[sec.data])
        res.not_ready += NotReady.of(e, state)
    res.not_ready = unique(res.not_ready)
    named = {n: s.scores for n, s in states.items() if s.ok}
    pairs = [(entry_name(c.a), entry_name(c.b)) for c in sec.claims]
    # 'a > b' and 'a >= b' on the same pair are one test, counted once by Holm
    tested = {(p["a"], p["b"]): p for p in comparisons(named, list(dict.fromkeys(pairs)),
                                                       sec.metric) if p["n_sequences"]}
    res.claims = [claim_outcome(c, tested.get(pair), len(tested), states, sec.metric)
                  for c, pair in zip(sec.claims, pairs, strict=True)]
    res.caption = caption(recipe, sec, data, sec.data_keys(), res.not_ready,
                          _rule(sec, len(tested)))
    return res


def pooled(states: dict[str, Evaluated], metric: str) -> Evaluated:
    """One entry's scores on several data sources as one set of sequences, each named
    ``<data key>/<sequence>``: the value is the mean over all of them, with its bootstrap
    interval over them (seed families keep their per-seed values where every source has the
    same seeds). Not scored on one source: that source's state."""
    lacking = [s for s in states.values() if not s.ok]
    if lacking:
        return lacking[0]
    per_seq = {f"{k}/{q}": v for k, s in states.items()
               for q, v in s.scores["per_sequence"].items()}
    out: dict[str, Any] = {"per_sequence": per_seq, "n_sequences": len(per_seq),
                           "n_seeds": min(s.scores.get("n_seeds", 1) for s in states.values())}
    by_seed = [s.scores.get("seed_per_sequence") for s in states.values()]
    if all(by_seed) and len({len(b) for b in by_seed}) == 1:
        out["seed_per_sequence"] = [
            {f"{k}/{q}": v for k, b in zip(states, by_seed, strict=True) for q, v in b[i].items()}
            for i in range(len(by_seed[0]))]
    values = [stats.sequence_value(v, metric) for v in per_seq.values()]
    out[metric] = sum(values) / len(values)
    out[f"{metric}_ci"] = stats.interval(values)
    return Evaluated(OK, out)


def _rule(sec: Section, n_tested: int) -> str:
    """How to read the claims: the test, the outcomes and the 'to decide' column."""
    label = METRIC_LABELS[sec.metric]
    rule = (f"Δ = a − b in {label}: the mean of the per-sequence differences; [lo, hi]: its 95% "
            "paired-bootstrap interval over the sequences; p: two-sided Wilcoxon signed-rank, "
            f"Holm-corrected over the {n_tested} distinct comparison(s). 'a > b' reads 'a is "
            "better than b'" + ("" if stats.METRICS.get(sec.metric, ("", True))[1] else
                               f" (for {label}, lower is better: 'above 0' below means on the "
                               "side where a is better, Δ < 0)") + ". 'a > b' holds when "
            "both agree (p < 0.05 and the interval above 0) and is contradicted when both agree "
            "the other way; 'a >= b' holds when the interval lies above 0, is contradicted when it "
            "lies below, and otherwise is consistent (a is not shown worse), equality not "
            "excluded. To decide: the smallest difference these sequences detect (80% power at "
            "5%: 2.8 × the standard error of Δ) and the approximate number of sequences at which "
            "the observed Δ would be decided, n·(detectable/|Δ|)², if Δ and the spread stayed "
            "the same (for '>' at least the number at which a Wilcoxon test can reach p < 0.05).")
    if any(e.seeds > 1 for c in sec.claims for e in (c.a, c.b)):
        rule += (" A seed family's per-sequence value is its mean over seeds (Δ and p use "
                 "these); its intervals resample the sequences and then, within each side "
                 "independently, its seeds, so they hold the seed-to-seed variation. That part "
                 "of the spread does not shrink with more sequences, so for seed families the "
                 "number of sequences to decide may be too low. 'n × K' gives the sequences "
                 "and the seeds of a/b.")
    return rule


def claim_outcome(claim: Claim, pair: dict[str, Any] | None, family: int,
                  states: dict[str, Evaluated], metric: str) -> ClaimReading:
    """Read one claim from its paired comparison ``pair`` (one of ``family`` Holm-corrected
    tests): the outcome and, when undecided, the detectable difference and the sequences that
    would decide the observed one."""
    a, b = states[entry_name(claim.a)], states[entry_name(claim.b)]
    lacking = [st.status for st in (a, b) if not st.ok]
    if lacking or pair is None:
        text = lacking[0] if lacking else "no common sequence"
        return ClaimReading(claim, a, b, metric, pair, text, text)
    lo, hi = pair["ci"] or (math.nan, math.nan)
    sign = 1 if stats.METRICS.get(metric, (metric, True))[1] else -1  # lower better: a > b is Δ < 0
    if sign < 0:
        lo, hi = -hi, -lo
    decided = pair["significant"] if claim.relation == ">" else (lo > 0 or hi < 0)
    if decided and (lo > 0 or hi < 0):
        outcome = "holds" if lo > 0 else "contradicted"
        return ClaimReading(claim, a, b, metric, pair, outcome, outcome)
    if claim.relation == ">=":
        reading = "consistent (a is not shown worse), equality not excluded"
    elif lo > 0 or hi < 0:
        reading = f"undecided: {stats.INTERVAL_ONLY}"
    else:
        reading = "undecided"
    extra = {} if math.isnan(pair["se"]) else _to_decide(claim, pair, family, sign)
    return ClaimReading(claim, a, b, metric, pair, "undecided", reading, **extra)


def _to_decide(claim: Claim, pair: dict[str, Any], family: int, sign: int) -> dict[str, Any]:
    """The detectable difference and the sequences at which the observed Δ would be decided."""
    n, delta = pair["n_sequences"], abs(pair["delta"])
    detectable = stats.detectable_difference(pair["se"])  # also where too few for Wilcoxon
    needed = math.ceil(n * (detectable / delta) ** 2) if delta else None
    if needed is not None and claim.relation == ">":
        needed = max(needed, next(k for k in count(1)
                                  if family * stats.smallest_p(k) < stats.ALPHA))
    against = sign * pair["delta"] < 0  # the observed Δ points away from the claim
    text = (f"detectable ±{detectable:.3f}; " + (
        "Δ = 0: no number of sequences" if needed is None else
        f"|Δ| = {delta:.3f}: over {100 * n} sequences (100× these) would still not decide it"
        if needed > 100 * n else
        f"Δ points against the claim: ≈{needed} sequences would contradict it" if against else
        f"≈{needed} sequences"))
    return {"to_decide": {"detectable": detectable, "sequences": needed, "against": against},
            "to_decide_text": text}
