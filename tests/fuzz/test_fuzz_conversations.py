"""Fuzzing the conversation import (CSV and JSONL): every file either imports, storing each
message as given, or fails with an InputError naming the file, and changes nothing."""

from __future__ import annotations

from fuzzing import check_typed_error, fuzz_settings, mutated, record_file, texts
from hypothesis import example, given
from hypothesis import strategies as st

from suggest import conversations

FIELDS = [*conversations.REQUIRED, *conversations.CONVERSATION_FIELDS, "saved_reply_id"]
times = st.sampled_from(["2026-09-01T09:00:00Z", "2026-09-01T16:30:00+07:00",
                         "2026-09-01T12:00:00+03:30", "2026-03-29T01:30:00+01:00"]) | texts
message = st.fixed_dictionaries({
    "conversation_id": st.sampled_from(["C1", "C2", "گفتگو-۳"]),
    "message_id": st.sampled_from(["m1", "m2", "m3"]),
    "role": st.sampled_from(conversations.ROLES),
    "author": st.sampled_from(["Emma Stone", "สมชาย ใจดี", "سارا احمدی", "Ana Agent"]),
    "channel": st.sampled_from(["email", "chat"]),
    "created_at": times,
    "body": st.sampled_from(["Hi, can I get a refund? emma@example.com",
                             "ลืมรหัสผ่าน เข้าสู่ระบบไม่ได้ค่ะ", "<p>سلام</p>\n> quoted"]) | texts,
}, optional={
    "subject": texts, "priority": st.sampled_from(["urgent", "normal"]),
    "status": st.sampled_from(["open", "closed"]), "csat": st.integers(0, 6).map(str) | texts,
    "customer_id": texts, "customer_email": st.just("emma@example.com") | texts,
    "resolved_at": times, "team": texts, "saved_reply_id": texts,
}).flatmap(lambda r: mutated(r, FIELDS))


@fuzz_settings(scale=0.7)
@given(file=record_file(st.lists(message, max_size=5), list(conversations.REQUIRED)))
# found by fuzzing: a lone surrogate escape in a JSON line (UnicodeEncodeError when stored)
@example(file=(".jsonl", b'{"conversation_id": "C9", "message_id": "m1", "role": "customer", '
                         b'"author": "x", "channel": "chat", "created_at": "2026-01-01T00:00:00Z",'
                         b' "body": "\\udc80"}\n'))
def test_conversation_import(fuzz_home, watch, tmp_path, file):
    suffix, data = file
    path = tmp_path / f"messages{suffix}"
    path.write_bytes(data)
    db = fuzz_home.db
    before = watch.snapshot()
    try:
        counts = conversations.import_conversations(db, path)
    except Exception as exc:  # noqa: BLE001 - anything but our typed error fails the test
        check_typed_error(exc, str(path))
        watch.assert_unchanged(before)
        return
    records = list(conversations._records(path, None))
    assert counts["messages"] + counts["skipped"] == len(records)
    for number, record in records:
        expected, _ = conversations.validate_message(record, f"line {number}, ")
        stored = db.execute(
            "SELECT role, created_at, body FROM messages WHERE conversation_id = ? "
            "AND message_id = ?", [expected["conversation_id"], expected["message_id"]],
        ).fetchone()
        assert stored == (expected["role"], expected["created_at"], expected["body"])
