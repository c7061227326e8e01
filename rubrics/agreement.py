"""Inter-rater agreement: Krippendorff's alpha (ordinal and nominal) and plain % agreement.

Follows Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability": values of units
coded by fewer than two coders are not pairable and are dropped; o_ck is the coincidence
matrix, n_c its marginals, n the number of pairable values, and
    alpha = 1 - (n - 1) * sum(o_ck * d2_ck) / sum(n_c * n_k * d2_ck)
with d2 nominal = (c != k) and d2 ordinal = (sum_{g=c..k} n_g - (n_c + n_k) / 2) ** 2."""

from __future__ import annotations

from collections import Counter, defaultdict
from itertools import permutations


def _pairable(units: dict) -> list[list]:
    return [
        [v for v in coders.values() if v is not None]
        for coders in units.values()
        if sum(v is not None for v in coders.values()) >= 2
    ]


def krippendorff_alpha(units: dict, metric: str = "ordinal") -> float | None:
    """Alpha for {unit: {coder: value or None}}. None when it is undefined (fewer than two
    pairable values, or no variation at all)."""
    pairable = _pairable(units)
    coincidences: dict[tuple, float] = defaultdict(float)
    for values in pairable:
        m = len(values)
        for a, b in permutations(range(m), 2):
            coincidences[(values[a], values[b])] += 1 / (m - 1)
    marginals: Counter = Counter()
    for (c, _k), count in coincidences.items():
        marginals[c] += count
    n = sum(marginals.values())
    if n < 2:
        return None
    ordered = sorted(marginals)
    rank = {value: i for i, value in enumerate(ordered)}

    def d2(c, k) -> float:
        if metric == "nominal":
            return float(c != k)
        lo, hi = sorted((rank[c], rank[k]))
        between = sum(marginals[ordered[g]] for g in range(lo, hi + 1))
        return (between - (marginals[c] + marginals[k]) / 2) ** 2

    observed = sum(count * d2(c, k) for (c, k), count in coincidences.items())
    expected = sum(marginals[c] * marginals[k] * d2(c, k) for c in ordered for k in ordered)
    if expected == 0:
        return None
    return 1 - (n - 1) * observed / expected


def percent_agreement(units: dict) -> float | None:
    """Share of agreeing pairs among all pairs of coders that rated the same unit, x 100."""
    agree = total = 0
    for values in _pairable(units):
        for i in range(len(values)):
            for j in range(i + 1, len(values)):
                total += 1
                agree += values[i] == values[j]
    return 100 * agree / total if total else None
