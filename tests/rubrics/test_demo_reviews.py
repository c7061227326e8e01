"""Demo reviews: seeded, valid against the default rubric, never self-reviews, and they give
the quality report something to show."""

from __future__ import annotations

from pathlib import Path

from rubrics.demo import add_demo_reviews
from storage.db import connect
from suggest.conversations import import_conversations
from suggest.demo import write_conversations


def _home(tmp_path: Path, name: str):
    db = connect(tmp_path / name / "replykit.db")
    path = tmp_path / f"{name}.jsonl"
    write_conversations(path, n_conversations=60, seed=3)
    import_conversations(db, path)
    return db


def test_demo_reviews_are_seeded_valid_and_never_self_reviews(tmp_path):
    first, second = _home(tmp_path, "a"), _home(tmp_path, "b")
    assert add_demo_reviews(first, count=25, seed=5) == 25
    assert add_demo_reviews(second, count=25, seed=5) == 25
    query = (
        "SELECT r.reviewer, r.author, r.conversation_id, r.message_id, r.score, r.state "
        "FROM reviews r ORDER BY r.conversation_id, r.message_id, r.reviewer"
    )
    rows = first.execute(query).fetchall()
    assert rows == second.execute(query).fetchall()
    assert all(reviewer != author for reviewer, author, *_ in rows)
    assert {state for *_, state in rows} == {"submitted"}
    assert all(0 <= score <= 100 for *_, score, _ in rows)
    first.close()
    second.close()


def test_demo_reviews_feed_the_quality_report(tmp_path):
    from datetime import UTC, datetime

    from rubrics import reports

    db = _home(tmp_path, "q")
    add_demo_reviews(db, count=25, seed=5)
    report = reports.quality_report(
        db, {}, datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
    )
    assert report["overall"]["reviews"] == 25
    assert report["overall"]["rubric_versions"] == {"support-reply v1": 25}
    db.close()
