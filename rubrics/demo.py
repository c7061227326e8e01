"""Demo reviews: a seeded sample of the demo conversations' agent replies scored with the
default rubric, so the quality and quality x speed reports of a demo home have data.
Each agent has a skill level; ratings scatter around it; some categories are N/A."""

from __future__ import annotations

import random

import sqlite_utils

from rubrics import reviews, store
from storage import conversations as conversation_store

DEMO_REVIEWERS = ("Sofia Rossi", "Priya Raman", "Lee Park")


def _rating(rng: random.Random, category, skill: float):
    if category.na_allowed and rng.random() < 0.15:
        return "na"
    low, high = category.scale.min, category.scale.max
    value = low + (high - low) * min(max(rng.gauss(skill, 0.2), 0.0), 1.0)
    return round(value)


def add_demo_reviews(db: sqlite_utils.Database, count: int = 160, seed: int = 7) -> int:
    """Score `count` agent replies (seeded choice, never by their author); returns how many."""
    rng = random.Random(seed)
    rubric = store.ensure_default_rubric(db)
    replies = [
        (row["conversation_id"], row["message_id"], row["author"])
        for row in conversation_store.agent_messages(db, with_text=True)
    ]
    agents = sorted({author for _, _, author in replies})
    skill = {agent: rng.uniform(0.65, 0.95) for agent in agents}
    added = 0
    for conversation_id, message_id, author in rng.sample(replies, min(count, len(replies))):
        reviewer = rng.choice([r for r in DEMO_REVIEWERS if r != author])
        ratings = {c.key: _rating(rng, c, skill[author]) for c in rubric.categories}
        target = reviews.resolve_target(db, conversation_id, message_id)
        reviews.add_review(db, target, reviewer, ratings, rubric.name)
        added += 1
    return added
