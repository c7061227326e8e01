"""Survey arithmetic: the Net Promoter Score of 0-10 answers and the mean of CES (1-7) and
CSAT (1-5) answers, each with its count (docs/metrics.md, "Survey results")."""

from __future__ import annotations

import statistics


def _round(value, digits=2):
    return None if value is None else round(value, digits)


PROMOTER = 9  # NPS answers 9-10 promote, 0-6 detract, 7-8 are passive
DETRACTOR = 6


def nps(answers: list[int]) -> dict:
    """Net Promoter Score of 0-10 answers: % promoters (9-10) − % detractors (0-6), −100 to
    100, with the counts; score None when there is no answer."""
    promoters = sum(1 for a in answers if a >= PROMOTER)
    detractors = sum(1 for a in answers if a <= DETRACTOR)
    n = len(answers)
    return {"n": n, "promoters": promoters, "passives": n - promoters - detractors,
            "detractors": detractors,
            "score": _round(100 * (promoters - detractors) / n) if n else None}


def mean(answers: list[int]) -> dict:
    """{"n", "mean"} of survey answers (mean None when there is none)."""
    return {"n": len(answers), "mean": _round(statistics.fmean(answers)) if answers else None}


def survey_metrics(conversations: list[dict]) -> dict:
    """NPS, mean CES and mean CSAT of conversations (rows with nps, ces, csat; None: not
    answered), each with its own n."""
    def answers(field):
        return [c[field] for c in conversations if c[field] is not None]

    return {"conversations": len(conversations), "nps": nps(answers("nps")),
            "ces": mean(answers("ces")), "csat": mean(answers("csat"))}
