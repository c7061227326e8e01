"""Calibration: several reviewers score the same replies. For every reply with submitted
reviews from two or more reviewers under one rubric version, report per category
Krippendorff's alpha (ordinal; nominal for binary scales) and % agreement of the ratings,
and each reviewer's mean deviation of their review score from the reply's mean score."""

from __future__ import annotations

import statistics
from datetime import datetime

import sqlite_utils

from rubrics.agreement import krippendorff_alpha, percent_agreement
from rubrics.calendar import parse_instant
from rubrics.rubric import Rubric
from rubrics.store import get_rubric
from storage import reviews as review_store


def _r(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def ratings_by_review(db: sqlite_utils.Database) -> dict[int, dict]:
    """Every stored rating: {review_id: {category: rating or None for N/A}}."""
    ratings: dict[int, dict] = {}
    for row in review_store.all_ratings(db):
        ratings.setdefault(row["review_id"], {})[row["category"]] = row["rating"]
    return ratings


def category_agreement(rubric: Rubric, shared: dict, ratings: dict[int, dict]) -> dict:
    """Per category of `rubric`: {"alpha", "metric", "agreement_pct"} over `shared`
    ({reply: [reviews with "id" and "reviewer"]}) and `ratings` (see `ratings_by_review`)."""
    categories = {}
    for category in rubric.categories:
        units = {
            t: {r["reviewer"]: ratings.get(r["id"], {}).get(category.key) for r in rs}
            for t, rs in shared.items()
        }
        metric = "nominal" if category.scale.kind == "binary" else "ordinal"
        categories[category.key] = {
            "alpha": _r(krippendorff_alpha(units, metric)),
            "metric": metric,
            "agreement_pct": _r(percent_agreement(units), 2),
        }
    return categories


def calibration_report(
    db: sqlite_utils.Database, start: datetime, end: datetime, rubric_name: str | None = None,
    hidden: set[int] = frozenset(),
) -> list[dict]:
    """One entry per rubric version, over reviews submitted in [start, end), leaving out
    the reviews whose ids are in `hidden` (scores a calibration participant may not see
    yet)."""
    reviews = [
        row for row in review_store.submitted_reviews(db)
        if start <= parse_instant(row["submitted_at"]) < end
        and (rubric_name is None or row["rubric_name"] == rubric_name)
        and row["id"] not in hidden
    ]
    ratings = ratings_by_review(db)
    groups: dict[tuple, dict[tuple, list]] = {}
    for review in reviews:
        target = (review["target_kind"], review["conversation_id"], review["message_id"],
                  review["draft_id"])
        version = (review["rubric_name"], review["rubric_version"])
        groups.setdefault(version, {}).setdefault(target, []).append(review)
    report = []
    for (name, version), targets in sorted(groups.items()):
        shared = {t: rs for t, rs in targets.items() if len({r["reviewer"] for r in rs}) >= 2}
        if not shared:
            continue
        categories = category_agreement(get_rubric(db, name, version), shared, ratings)
        deviations: dict[str, list[float]] = {}
        for rs in shared.values():
            mean = statistics.fmean(r["score"] for r in rs)
            for r in rs:
                deviations.setdefault(r["reviewer"], []).append(r["score"] - mean)
        report.append({
            "rubric": name,
            "rubric_version": version,
            "replies": len(shared),
            "reviews": sum(len(rs) for rs in shared.values()),
            "categories": categories,
            "reviewers": {
                reviewer: {
                    "reviews": len(values),
                    "mean_deviation": _r(statistics.fmean(values), 2),
                    "mean_abs_deviation": _r(statistics.fmean(abs(v) for v in values), 2),
                }
                for reviewer, values in sorted(deviations.items())
            },
        })
    return report
