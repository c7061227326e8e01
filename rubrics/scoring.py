"""Scoring a set of ratings against a rubric.

category score = (rating - scale min) / (scale max - scale min) x 100
review score   = sum(category score x weight) / sum(weight), over rated categories only
N/A (and, for a trial score, unrated) categories leave both sums. A critical category whose
score is below 50 sets the review score to 0 and marks the review auto-failed. Arithmetic is
exact (fractions); results are rounded to 2 decimals only at the end."""

from __future__ import annotations

from fractions import Fraction

from replykit.errors import InputError
from rubrics.rubric import Rubric

NA_WORDS = {"na", "n/a"}
BINARY_WORDS = {"yes": 1, "no": 0, "pass": 1, "fail": 0, "true": 1, "false": 0}
CRITICAL_FLOOR = 50


def parse_ratings(text: str) -> dict[str, str]:
    """Split 'accurate=4,clear=3,empathy=na' into {key: raw value}."""
    ratings: dict[str, str] = {}
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        key, sep, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key or not value:
            raise InputError(f"expected KEY=RATING, got {part!r}", "--ratings")
        if key in ratings:
            raise InputError(f"category {key!r} rated twice", "--ratings")
        ratings[key] = value
    return ratings


def check_ratings(rubric: Rubric, ratings: dict) -> dict[str, int | None]:
    """Validate raw ratings ({key: int | 'na' | None | '3' | 'yes'}) against the rubric and
    return {key: int rating or None for N/A}. Unknown categories, ratings outside the scale
    and N/A where the category does not allow it are InputErrors."""
    checked: dict[str, int | None] = {}
    for key, raw in ratings.items():
        category = rubric.category(key)
        value = raw
        if isinstance(value, str):
            word = value.strip().lower()
            if word in NA_WORDS:
                value = None
            elif category.scale.kind == "binary" and word in BINARY_WORDS:
                value = BINARY_WORDS[word]
            else:
                try:
                    value = int(word)
                except ValueError:
                    value = word
        if value is None:
            if not category.na_allowed:
                raise InputError(f"category {key!r} does not allow N/A")
            checked[key] = None
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not (
            category.scale.min <= value <= category.scale.max
        ):
            raise InputError(
                f"rating {raw!r} for category {key!r} is outside its scale "
                f"{category.scale.min}-{category.scale.max}"
            )
        checked[key] = value
    return checked


def category_score(rubric: Rubric, key: str, rating: int) -> Fraction:
    """(rating - min) / (max - min) x 100, exact."""
    scale = rubric.category(key).scale
    return Fraction(rating - scale.min, scale.max - scale.min) * 100


def _round(value: Fraction | None) -> float | None:
    return None if value is None else round(float(value), 2)


def score(rubric: Rubric, ratings: dict) -> dict:
    """Score ratings: {"score": 0-100 or None when nothing weighted was rated,
    "auto_failed": bool, "categories": {key: category score or None}} for every category."""
    checked = check_ratings(rubric, ratings)
    categories: dict[str, Fraction | None] = {}
    total = Fraction(0)
    weights = 0
    auto_failed = False
    for category in rubric.categories:
        rating = checked.get(category.key)
        if rating is None:
            categories[category.key] = None
            continue
        value = category_score(rubric, category.key, rating)
        categories[category.key] = value
        total += value * category.weight
        weights += category.weight
        if category.critical and value < CRITICAL_FLOOR:
            auto_failed = True
    result = total / weights if weights else None
    if auto_failed:
        result = Fraction(0)
    return {
        "score": _round(result),
        "auto_failed": auto_failed,
        "categories": {key: _round(value) for key, value in categories.items()},
    }


def missing_categories(rubric: Rubric, ratings: dict) -> list[str]:
    """Categories with no rating at all (N/A counts as rated)."""
    return [key for key in rubric.keys if key not in ratings]
