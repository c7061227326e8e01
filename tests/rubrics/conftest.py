"""Fixtures for the rubrics tests: a real migrated SQLite file and conversation rows."""

from __future__ import annotations

import pytest

from replykit.db import connect, write_transaction


@pytest.fixture
def db(tmp_path):
    database = connect(tmp_path / "replykit.db")
    yield database
    database.close()


def add_conversation(db, cid, messages, channel="email", priority="normal", resolved_at=None,
                     csat=None, status=None):
    """Insert a conversation; `messages` are (role, author, created_at[, body]) tuples."""
    with write_transaction(db):
        db["conversations"].insert(
            {
                "id": cid,
                "subject": f"subject {cid}",
                "channel": channel,
                "priority": priority,
                "status": status or ("resolved" if resolved_at else "open"),
                "csat": csat,
                "customer_name": "Customer",
                "resolved_at": resolved_at,
                "first_message_at": messages[0][2] if messages else None,
            }
        )
        for seq, message in enumerate(messages, start=1):
            role, author, created_at = message[:3]
            body = message[3] if len(message) > 3 else f"{role} message {seq}"
            db["messages"].insert(
                {
                    "conversation_id": cid,
                    "message_id": f"m{seq}",
                    "seq": seq,
                    "role": role,
                    "author": author,
                    "channel": channel,
                    "created_at": created_at,
                    "body": body,
                    "clean_body": body,
                }
            )


def table_counts(db) -> dict[str, int]:
    """Row counts of every rubrics-area table (to assert that bad input wrote nothing)."""
    names = ("rubric_versions", "reviews", "review_ratings", "review_drafts",
             "review_assignments", "review_disputes", "review_history")
    return {name: db[name].count for name in names}
