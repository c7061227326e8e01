"""Import of past conversations (CSV and JSONL): pairing customer messages with agent replies,
timestamps, all-or-nothing errors, idempotent re-import, encodings, scripts and cleaning."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from replykit.errors import InputError
from suggest.cleaning import clean_body
from suggest.conversations import import_conversations, parse_timestamp

pytestmark = pytest.mark.both_backends

FIELDS = (
    "conversation_id",
    "message_id",
    "role",
    "author",
    "channel",
    "created_at",
    "body",
    "subject",
    "csat",
    "resolved_at",
    "saved_reply_id",
)


def msg(conv, mid, role, at, body, **extra):
    return {
        "conversation_id": conv,
        "message_id": mid,
        "role": role,
        "author": "Dana" if role == "customer" else "Agent Kim",
        "channel": "email",
        "created_at": at,
        "body": body,
        **extra,
    }


def write(path, rows):
    """Rows as JSONL or CSV, by the path's extension."""
    if path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    else:
        with open(path, "w", encoding="utf-8", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=FIELDS, restval="")
            writer.writeheader()
            writer.writerows(rows)
    return path


def counts(db):
    return tuple(
        db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
        for t in ("conversations", "messages", "past_replies", "documents")
    )


def pasts(db):
    return list(db.query("SELECT * FROM past_replies ORDER BY id"))


BASIC = [
    msg("c1", "m1", "customer", "2026-03-01T09:00:00+07:00", "Hi, I was charged twice."),
    msg("c1", "m2", "customer", "2026-03-01T09:05:00+07:00", "Order A-1 also shows two payments"),
    msg(
        "c1",
        "m3",
        "agent",
        "2026-03-01T03:30:00Z",
        "Sorry! I refunded the second charge.",
        subject="Double charge",
        csat=5,
        resolved_at="2026-03-01T04:00:00Z",
    ),
    msg("c1", "m4", "customer", "2026-03-01T04:10:00Z", "thanks"),
    msg("c1", "m5", "agent", "2026-03-01T04:12:00Z", "You're welcome."),
]


# ------------------------------------------------------------------ timestamps


@given(
    st.datetimes(
        min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31), timezones=st.timezones()
    )
)
def test_any_aware_time_round_trips_to_the_same_utc_instant(moment):
    if moment.utcoffset() is None:  # a zone that cannot resolve this wall time
        return
    text = parse_timestamp(moment.isoformat(), "field created_at")
    parsed = datetime.fromisoformat(text)
    assert parsed.utcoffset() == timedelta(0)
    # same instant (compared by arithmetic: == between zones is False for ambiguous wall times)
    assert parsed.replace(tzinfo=None) == moment.replace(tzinfo=None) - moment.utcoffset()


@given(st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31)))
def test_naive_times_are_rejected(moment):
    with pytest.raises(InputError, match=r"^field created_at: .* has no timezone \(add Z or an"):
        parse_timestamp(moment.isoformat(), "field created_at")


@pytest.mark.parametrize(
    "value, message",
    [
        ("", "is required: an ISO 8601 time with a timezone"),
        (None, "is required: an ISO 8601 time with a timezone"),
        ("yesterday", "'yesterday' is not an ISO 8601 time"),
        ("2026-02-30T10:00:00Z", "'2026-02-30T10:00:00Z' is not an ISO 8601 time"),
        ("2026-03-01", "'2026-03-01' has no timezone (add Z or an offset like +07:00)"),
        ("0001-01-01T00:00:00+05:00", "'0001-01-01T00:00:00+05:00' is out of range in UTC"),
    ],
)
def test_bad_timestamps_are_input_errors(value, message):
    with pytest.raises(InputError) as info:
        parse_timestamp(value, "f.csv line 3, field created_at")
    assert str(info.value) == f"f.csv line 3, field created_at: {message}"


def test_z_suffix_and_offsets_become_utc():
    assert parse_timestamp("2026-01-02T03:04:05z", "w") == "2026-01-02T03:04:05+00:00"
    assert (
        parse_timestamp(" 2026-01-02T10:04:05.250+07:00 ", "w")
        == "2026-01-02T03:04:05.250000+00:00"
    )


# ------------------------------------------------------------------ import


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_two_customer_messages_before_a_reply_make_one_past_reply(home, tmp_path, suffix):
    path = write(tmp_path / f"conv{suffix}", BASIC)
    assert import_conversations(home.db, path) == {
        "messages": 5,
        "skipped": 0,
        "conversations": 1,
        "past_replies": 2,
    }
    first, second = pasts(home.db)
    assert first["id"] == "c1:m3"
    assert first["question"] == "Hi, I was charged twice.\nOrder A-1 also shows two payments"
    assert first["answer"] == "Sorry! I refunded the second charge."
    assert first["asked_at"] == "2026-03-01T02:00:00+00:00"  # the first customer message, in UTC
    assert first["answered_at"] == "2026-03-01T03:30:00+00:00"
    assert (first["agent"], first["saved_reply_id"]) == ("Agent Kim", None)
    assert (second["id"], second["question"], second["answer"]) == (
        "c1:m5",
        "thanks",
        "You're welcome.",
    )
    conv = home.db["conversations"].get("c1")
    assert (conv["subject"], conv["csat"], conv["resolved_at"], conv["customer_name"]) == (
        "Double charge",
        5,
        "2026-03-01T04:00:00+00:00",
        "Dana",
    )
    assert conv["first_message_at"] == "2026-03-01T02:00:00+00:00"
    assert home.db.execute("SELECT COUNT(*) FROM documents WHERE kind = 'past'").fetchone()[0] == 2


def test_rows_out_of_order_are_paired_by_time(home, tmp_path):
    path = write(tmp_path / "c.jsonl", [BASIC[2], BASIC[1], BASIC[0]])
    import_conversations(home.db, path)
    (past,) = pasts(home.db)
    assert past["question"] == "Hi, I was charged twice.\nOrder A-1 also shows two payments"


def test_empty_bodies_are_stored_but_pair_nothing(home, tmp_path):
    rows = [
        msg("c2", "m1", "customer", "2026-03-01T09:00:00Z", ""),
        msg("c2", "m2", "agent", "2026-03-01T09:01:00Z", "Hello? Anything I can help with?"),
        msg("c2", "m3", "customer", "2026-03-01T09:02:00Z", "my parcel is late"),
        msg("c2", "m4", "agent", "2026-03-01T09:03:00Z", ""),
        msg("c2", "m5", "customer", "2026-03-01T09:04:00Z", "<p>&nbsp;</p>"),
        msg("c2", "m6", "agent", "2026-03-01T09:05:00Z", "It arrives tomorrow."),
    ]
    import_conversations(home.db, write(tmp_path / "c.jsonl", rows))
    assert home.db.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 6
    # m2 answers an empty message; m4 is empty so the pending question is dropped with it
    assert [(p["id"], p["question"]) for p in pasts(home.db)] == []


def test_an_empty_agent_message_does_not_swallow_the_next_answer(home, tmp_path):
    rows = [
        msg("c3", "m1", "customer", "2026-03-01T09:00:00Z", "where is my parcel"),
        msg("c3", "m2", "agent", "2026-03-01T09:01:00Z", "Checking now."),
        msg("c3", "m3", "customer", "2026-03-01T09:02:00Z", ""),
        msg("c3", "m4", "customer", "2026-03-01T09:03:00Z", "any news?"),
        msg("c3", "m5", "agent", "2026-03-01T09:04:00Z", "It left the depot."),
    ]
    import_conversations(home.db, write(tmp_path / "c.csv", rows))
    assert [(p["id"], p["question"]) for p in pasts(home.db)] == [
        ("c3:m2", "where is my parcel"),
        ("c3:m5", "any news?"),
    ]


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
@pytest.mark.parametrize(
    "change, field, message",
    [
        ({"created_at": "2026-03-01T09:05:00"}, "created_at", "has no timezone"),
        ({"created_at": "next tuesday"}, "created_at", "is not an ISO 8601 time"),
        ({"created_at": ""}, "created_at", "is required"),
        ({"role": "bot"}, "role", "'bot' is not a role: use customer or agent"),
        ({"conversation_id": ""}, "conversation_id", "is required"),
        ({"csat": "7"}, "csat", "'7' is not a score from 1 to 5"),
        ({"resolved_at": "2026-03-01"}, "resolved_at", "has no timezone"),
    ],
)
def test_a_bad_row_names_line_and_field_and_writes_nothing(
    home, tmp_path, suffix, change, field, message
):
    import_conversations(home.db, write(tmp_path / f"before{suffix}", [BASIC[0]]))
    before = counts(home.db)
    rows = [dict(r) for r in BASIC]
    rows[1].update(change)  # line 2 of a JSONL file, line 3 of a CSV (after the header)
    path = write(tmp_path / f"bad{suffix}", rows)
    with pytest.raises(InputError) as info:
        import_conversations(home.db, path)
    line = 2 if suffix == ".jsonl" else 3
    assert info.value.where == f"{path} line {line}, field {field}"
    assert message in info.value.message
    assert counts(home.db) == before


def test_reimport_is_idempotent_and_a_conflicting_duplicate_is_an_error(home, tmp_path):
    path = write(tmp_path / "c.jsonl", BASIC)
    import_conversations(home.db, path)
    before = counts(home.db)
    assert import_conversations(home.db, path) == {
        "messages": 0,
        "skipped": 5,
        "conversations": 0,
        "past_replies": 0,
    }
    assert counts(home.db) == before
    # the same message twice in one file is fine too
    twice = write(tmp_path / "twice.jsonl", [BASIC[4], BASIC[4]])
    assert import_conversations(home.db, twice)["skipped"] == 2

    changed = [dict(r) for r in BASIC]
    changed[2]["body"] = "A different answer"
    extra = msg("c9", "m1", "customer", "2026-03-02T00:00:00Z", "new conversation")
    path = write(tmp_path / "conflict.jsonl", [extra, *changed])
    with pytest.raises(InputError) as info:
        import_conversations(home.db, path)
    assert str(info.value) == (
        f"{path} line 4, field message_id: message 'm3' of conversation 'c1' is already stored "
        "with different content"
    )
    assert counts(home.db) == before  # c9 rolled back too


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_a_non_utf8_file_is_a_clear_error_with_its_line(home, tmp_path, suffix):
    path = write(tmp_path / f"c{suffix}", BASIC[:3])
    lines = path.read_bytes().splitlines(keepends=True)
    lines[2] = lines[2].replace(b"e", "é".encode("latin-1"), 1)
    path.write_bytes(b"".join(lines))
    with pytest.raises(InputError) as info:
        import_conversations(home.db, path)
    assert str(info.value).startswith(f"{path} line 3: not UTF-8 text (byte ")
    assert str(info.value).endswith("is 0xe9); save the file as UTF-8")
    assert counts(home.db) == (0, 0, 0, 0)


def test_missing_csv_column_and_missing_file(home, tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("conversation_id,message_id,role\nc1,m1,customer\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        import_conversations(home.db, path)
    assert str(info.value) == f"{path} line 1: missing column(s): author, body, channel, created_at"
    with pytest.raises(InputError, match=r": no such file$"):
        import_conversations(home.db, tmp_path / "nope.jsonl")


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_thai_and_persian_bodies_survive_import(home, tmp_path, suffix):
    rows = [
        msg("th1", "m1", "customer", "2026-03-01T09:00:00+07:00", "ขอคืนเงินได้ไหมคะ"),
        msg("th1", "m2", "agent", "2026-03-01T09:10:00+07:00", "ได้ค่ะ คืนเงินภายใน 5 วันทำการ"),
        msg(
            "fa1",
            "m1",
            "customer",
            "2026-03-01T09:00:00+03:30",
            "سلام، می\u200cخواهم پولم را پس بگیرم",
        ),
        msg(
            "fa1",
            "m2",
            "agent",
            "2026-03-01T09:10:00+03:30",
            "بله، وجه شما ظرف ۵ روز برگشت داده می\u200cشود",
        ),
    ]
    import_conversations(home.db, write(tmp_path / f"c{suffix}", rows))
    got = {p["conversation_id"]: (p["question"], p["answer"]) for p in pasts(home.db)}
    assert got == {
        "th1": (rows[0]["body"], rows[1]["body"]),
        "fa1": (rows[2]["body"], rows[3]["body"]),
    }
    scripts = dict(
        home.db.execute("SELECT ref, script FROM documents WHERE kind = 'past'").fetchall()
    )
    assert scripts == {"th1:m2": "thai", "fa1:m2": "arabic"}


EMAIL = (
    "<div>Hi team,<br>my invoice is <b>wrong</b> &amp; too high.</div>\n"
    "<style>p {color: red}</style>\n"
    "--\nDana Smith\nAcme Corp\n"
)
QUOTED = (
    "Still waiting!\n\n> Thanks for reaching out\n> we will reply soon\n\n"
    "On Mon, 2 Mar 2026, Support <s@x.com> wrote:\n> old text"
)


def test_clean_body_drops_html_quotes_and_signatures():
    assert clean_body(EMAIL) == "Hi team,\nmy invoice is wrong & too high."
    assert clean_body(QUOTED) == "Still waiting!"
    assert clean_body("Sent from my iPhone") == ""
    assert clean_body("a\r\n\r\n\r\n\r\nb") == "a\n\nb"


def test_import_cleans_for_search_but_keeps_the_original_body(home, tmp_path):
    rows = [
        msg("c4", "m1", "customer", "2026-03-01T09:00:00Z", EMAIL),
        msg("c4", "m2", "agent", "2026-03-01T09:05:00Z", "<p>I fixed the invoice.</p>\n--\nKim"),
    ]
    import_conversations(home.db, write(tmp_path / "c.jsonl", rows))
    stored = {r["message_id"]: r for r in home.db.query("SELECT * FROM messages")}
    assert stored["m1"]["body"] == EMAIL
    assert stored["m1"]["clean_body"] == "Hi team,\nmy invoice is wrong & too high."
    (past,) = pasts(home.db)
    assert (past["question"], past["answer"]) == (
        "Hi team,\nmy invoice is wrong & too high.",
        "I fixed the invoice.",
    )


def test_first_customer_author_names_the_customer_and_saved_reply_id_is_kept(home, tmp_path):
    rows = [
        msg("c5", "m1", "customer", "2026-03-01T09:00:00Z", "refund please", author="Ana"),
        msg(
            "c5",
            "m2",
            "agent",
            "2026-03-01T09:05:00Z",
            "Refund sent.",
            saved_reply_id="refund-policy",
        ),
        msg(
            "c5",
            "m3",
            "customer",
            "2026-03-01T09:06:00Z",
            "and the other one?",
            author="Ana's colleague",
        ),
        msg("c5", "m4", "agent", "2026-03-01T09:07:00Z", "Also sent.", csat="4"),
    ]
    import_conversations(home.db, write(tmp_path / "c.csv", rows))
    conv = home.db["conversations"].get("c5")
    assert (conv["customer_name"], conv["csat"]) == ("Ana", 4)
    assert [(p["id"], p["saved_reply_id"]) for p in pasts(home.db)] == [
        ("c5:m2", "refund-policy"),
        ("c5:m4", None),
    ]


def test_utc_times_are_imported_from_any_offset_consistently(home, tmp_path):
    moment = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
    rows = [
        msg(
            "c6",
            "m1",
            "customer",
            moment.astimezone(timezone(timedelta(hours=-5))).isoformat(),
            "hi",
        ),
        msg(
            "c6",
            "m2",
            "agent",
            (moment + timedelta(minutes=1)).isoformat().replace("+00:00", "Z"),
            "hello",
        ),
    ]
    import_conversations(home.db, write(tmp_path / "c.jsonl", rows))
    (past,) = pasts(home.db)
    assert (past["asked_at"], past["answered_at"]) == (
        "2026-03-01T02:00:00+00:00",
        "2026-03-01T02:01:00+00:00",
    )
