"""A saved reply's usage has one definition (`suggest.feedback.usage`): the curation's last
use, the stale list and the reports' usage table give the same figures on a seeded history of
feedback events and messages sent from saved replies."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

import storage.search
from replykit import users
from suggest import conversations, curation, feedback
from web import create_app

SENT = {"refund-policy": "2026-10-02T09:05:00+00:00", "invoice-copy": "2026-10-05T09:05:00+00:00"}


@pytest.fixture
def seeded(loaded_engine, tmp_path):
    """(engine, {reply id: when it was last inserted}): the small library with feedback on
    three replies and one imported conversation per reply in SENT whose agent answer was sent
    from that saved reply."""
    db = loaded_engine.db
    path = tmp_path / "messages.jsonl"
    with open(path, "w", encoding="utf-8") as f:
        for number, (reply_id, at) in enumerate(SENT.items()):
            base = {"conversation_id": f"C{number}", "channel": "email", "subject": "Question"}
            f.write(json.dumps({**base, "message_id": "m1", "role": "customer",
                                "author": "Ana Lima", "created_at": at[:14] + "00:00+00:00",
                                "body": "Where is my money?"}) + "\n")
            f.write(json.dumps({**base, "message_id": "m2", "role": "agent", "author": "Kim",
                                "created_at": at, "body": "Here is how refunds work.",
                                "saved_reply_id": reply_id}) + "\n")
    conversations.import_conversations(db, path)
    inserted_at = {}
    for reply_id, events in {
        "refund-policy": ["shown", "shown", "shown", "inserted", "edited", "dismissed"],
        "invoice-copy": ["shown", "shown"],
        "password-reset": ["shown", "inserted"],
    }.items():
        for event in events:
            row = feedback.record(db, reply_id, event)
            if event == "inserted":
                inserted_at[reply_id] = row["created_at"]
    return loaded_engine, inserted_at


def test_usage_counts_feedback_and_sent_messages(seeded):
    engine, inserted_at = seeded
    db = engine.db
    rows = {row["reply_id"]: row for row in feedback.usage(db)}
    fields = ("shown", "inserted", "edited", "dismissed", "sent", "used", "last_used",
              "acceptance_rate")
    expected = {
        "refund-policy": (3, 1, 1, 1, 1, 2, inserted_at["refund-policy"], 0.3333),
        "invoice-copy": (2, 0, 0, 0, 1, 1, SENT["invoice-copy"], 0.0),
        "password-reset": (1, 1, 0, 0, 0, 1, inserted_at["password-reset"], 1.0),
        "order-tracking": (0, 0, 0, 0, 0, 0, None, None),
    }
    for reply_id, figures in expected.items():
        assert tuple(rows[reply_id][f] for f in fields) == figures, reply_id
    assert feedback.usage(db, "invoice-copy") == [rows["invoice-copy"]]
    assert feedback.usage(db, "no-such-reply") == []


def test_curation_uses_the_same_last_use(seeded):
    db = seeded[0].db
    usage = {row["reply_id"]: row for row in feedback.usage(db)}
    assert curation.last_used(db) == {
        reply_id: row["last_used"] for reply_id, row in usage.items() if row["last_used"]}
    for row in curation.stale(db, days=0, min_shown=1, min_acceptance=0.5):
        assert row["last_used"] == usage[row["id"]]["last_used"], row["id"]
        assert row["acceptance_rate"] == usage[row["id"]]["acceptance_rate"], row["id"]


def test_the_reports_usage_table_agrees(seeded):
    engine = seeded[0]
    db = engine.db
    users.add_user(db, "lee", "a-long-test-password", ["lead"], team="billing")
    app = create_app({"TESTING": True, "REPLYKIT_CONFIG": engine.config})
    with app.test_client() as client:  # a page: signed in through the form, as a browser
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
        client.post("/login", data={"username": "lee", "password": "a-long-test-password",
                                    "csrf_token": token})
        response = client.get("/reports/tables/usage?format=csv")
    assert response.status_code == 200
    table = {row["id"]: row for row in csv.DictReader(io.StringIO(response.get_data(as_text=True)))}
    assert {"refund-policy", "invoice-copy", "password-reset"} <= set(table)
    for row in feedback.usage(db):
        if row["reply_id"] not in table:  # a reply restricted to teams the lead is not in
            continue
        shown = table[row["reply_id"]]
        assert (int(shown["shown"]), int(shown["used"]), shown["last_used"] or None) == (
            row["shown"], row["used"], row["last_used"]), row["reply_id"]


def test_ranking_reads_the_same_uses(seeded):
    """The ranking signals' lean query counts exactly `usage()`'s `used` (inserted + sent),
    and the reply count of the whole library."""
    engine, _ = seeded
    rows = feedback.usage(engine.db)
    uses, replies = storage.search.reply_uses(engine.db)
    assert uses == {row["reply_id"]: row["used"] for row in rows if row["used"]}
    assert uses == {"refund-policy": 2, "invoice-copy": 1, "password-reset": 1}
    assert replies == len(rows)
