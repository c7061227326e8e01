"""The hand-checked speed fixture shared by the speed, report and API tests.

Calendar: the default (UTC, Mon-Fri 09:00-12:00 + 13:00-17:30). SLA: the defaults (email 4 h
first response / 8 h response business; email urgent 1 h / 2 h; chat 2 min / 5 min calendar).
Period: Mon 2024-05-06 .. Fri 2024-05-10 (end 2024-05-11T00:00Z).

A (email, normal) cust 09:00, cust 09:30, alice 10:00, resolved 10:30, csat 5
    alice: 1 h cal / 1 h bus (from the FIRST customer message), first response, within 4 h
    resolution 09:00-10:30 = 5400 s both clocks; one agent reply -> first-contact resolved
B (email, normal) cust Mon 16:00, bob Tue 11:00, cust Tue 11:30, bob Tue 15:00,
    resolved Tue 15:00, csat 3
    bob #1: 19 h = 68400 s cal; bus Mon 16:00-17:30 1.5 h + Tue 09:00-11:00 2 h = 12600 s,
            first response, within 4 h (14400)
    bob #2: 3.5 h = 12600 s cal; bus 11:30-12:00 + 13:00-15:00 = 2.5 h = 9000 s, within 8 h
    resolution Mon 16:00 -> Tue 15:00: 23 h = 82800 s cal; bus 1.5 + 3 + 2 = 6.5 h = 23400 s
C (chat, normal) Wed cust 10:00:00, alice 10:05:00, alice 10:06:00 (answers nothing),
    resolved 10:10
    alice #1: 300 s both, first response, chat target 120 s calendar -> breached by 180 s
    resolution 600 s both; two agent replies -> not first-contact resolved
D (email, urgent) Thu cust 09:00, never answered, open
    backlog at 2024-05-11T00:00Z: waiting Thu 7.5 h + Fri 7.5 h = 15 h business > 1 h ->
    overdue by 14 h = 50400 s
"""

from __future__ import annotations

from datetime import UTC, datetime

from storage.db import write_transaction

START = datetime(2024, 5, 6, tzinfo=UTC)
END = datetime(2024, 5, 11, tzinfo=UTC)


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


def load_speed_fixture(db):
    add_conversation(db, "A", [
        ("customer", "cust-a", "2024-05-06T09:00:00Z"),
        ("customer", "cust-a", "2024-05-06T09:30:00Z"),
        ("agent", "alice", "2024-05-06T10:00:00Z"),
    ], resolved_at="2024-05-06T10:30:00Z", csat=5)
    add_conversation(db, "B", [
        ("customer", "cust-b", "2024-05-06T16:00:00Z"),
        ("agent", "bob", "2024-05-07T11:00:00Z"),
        ("customer", "cust-b", "2024-05-07T11:30:00Z"),
        ("agent", "bob", "2024-05-07T15:00:00Z"),
    ], resolved_at="2024-05-07T15:00:00Z", csat=3)
    add_conversation(db, "C", [
        ("customer", "cust-c", "2024-05-08T10:00:00Z"),
        ("agent", "alice", "2024-05-08T10:05:00Z"),
        ("agent", "alice", "2024-05-08T10:06:00Z"),
    ], channel="chat", resolved_at="2024-05-08T10:10:00Z")
    add_conversation(db, "D", [
        ("customer", "cust-d", "2024-05-09T09:00:00Z"),
    ], priority="urgent")
