"""What agents really sent (suggest.sending): the edit ratio on normalised English, Thai and
Persian text, sends recorded by the embed panel, and imported agent messages matched to the
saved reply inserted before them (edited and unedited), named by the import, or claimed from a
panel send."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

import storage.conversations
from cli.main import cli
from replykit.errors import InputError, NotFound
from replykit.forget import erase_leftovers, forget_customer
from storage.db import is_postgres
from suggest import conversations, feedback, library, sending

pytestmark = pytest.mark.both_backends

REPLIES = ("fa-refund-policy", "th-password-reset", "refund-policy")


@pytest.fixture
def db(home, small_library):
    for record in small_library:
        if record["id"] in REPLIES:
            library.add_reply(home.db, record, author="fixture")
    return home.db


def _at(minutes: float) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat()


def _import(db, tmp_path, rows: list[dict], name="m.jsonl") -> dict:
    path = tmp_path / name
    path.write_text("".join(json.dumps({"channel": "chat", **r}, ensure_ascii=False) + "\n"
                            for r in rows), encoding="utf-8")
    return conversations.import_conversations(db, path)


def _question(conversation_id: str, minutes: float, author="Sara Ahmadi") -> dict:
    return {"conversation_id": conversation_id, "message_id": "q1", "role": "customer",
            "author": author, "created_at": _at(minutes), "body": "I want my money back"}


def _answer(conversation_id: str, message_id: str, minutes: float, body: str, **extra) -> dict:
    return {"conversation_id": conversation_id, "message_id": message_id, "role": "agent",
            "author": "Kim", "created_at": _at(minutes), "body": body, **extra}


def _filled(db, reply_id: str, first_name: str) -> str:
    """The saved reply's body as an agent inserts it for `first_name`, agent Kim."""
    body = library.get_reply(db, reply_id)["body"]
    for fallback in ("مشتری", "ลูกค้า"):
        body = body.replace(f"{{{{customer.first_name|{fallback}}}}}", first_name)
    return body.replace("{{agent.name}}", "Kim")


def _sends(db, conversation_id: str) -> dict[str, dict]:
    return {r["message_id"]: r for r in storage.conversations.sent_replies_of(db,
                                                                              conversation_id)}


def test_edit_ratio_ignores_what_a_helpdesk_changes_in_thai_and_persian():
    persian = "سلام دوست گرامی، پیوند بازنشانی ارسال می‌شود."
    # Arabic yeh and kaf, no zero-width non-joiner, other white space: the same text
    as_sent = "سلام  دوست گرامي،\nپيوند بازنشانی ارسال میشود."
    assert sending.sent_edit_ratio(persian, as_sent) == 0.0
    thai = "ท่านสามารถรีเซ็ตรหัสผ่านได้โดยไปที่หน้าเข้าสู่ระบบ"
    assert sending.sent_edit_ratio(thai, "ท่านสามารถ\u200bรีเซ็ตรหัสผ่านได้โดยไปที่หน้าเข้าสู่ระบบ ") == 0
    edited = sending.sent_edit_ratio(thai, "ท่านสามารถรีเซ็ตรหัสผ่านได้ที่หน้าตั้งค่าบัญชี")
    assert 0.2 < edited < 0.8
    assert sending.sent_edit_ratio("Hello Ana", "Totally different words here") > 0.7
    assert sending.sent_edit_ratio("Hello", "") == 1.0


@given(st.text(max_size=60), st.text(max_size=60))
def test_edit_ratio_is_a_share(inserted, sent):
    ratio = sending.sent_edit_ratio(inserted, sent)
    assert 0.0 <= ratio <= 1.0
    assert sending.sent_edit_ratio(inserted, inserted) == 0.0
    assert sending.sent_edit_ratio(inserted, f"  {inserted}\n") == 0.0


def test_record_sent_from_the_panel(db, tmp_path):
    _import(db, tmp_path, [_question("C1", -30)])
    inserted = _filled(db, "refund-policy", "Sara")
    row = sending.record_sent(db, "C1", inserted + "\nThanks!", agent="Kim", message_id="hd-9",
                              saved_reply_id="refund-policy", inserted_text=inserted)
    assert row["saved_reply_id"] == "refund-policy" and row["source"] == "embed"
    assert 0 < row["edit_ratio"] < 0.1
    again = sending.record_sent(db, "C1", "other text", message_id="hd-9")
    assert again == row  # idempotent on the helpdesk's message id
    typed = sending.record_sent(db, "C1", "Typed by hand", agent="Kim")
    assert typed["edit_ratio"] is None and typed["saved_reply_id"] is None
    with pytest.raises(NotFound, match="no conversation 'C404'"):
        sending.record_sent(db, "C404", "text")
    with pytest.raises(NotFound, match="no saved reply with id 'nope'"):
        sending.record_sent(db, "C1", "text", saved_reply_id="nope", inserted_text="x")
    with pytest.raises(InputError, match="field text"):
        sending.record_sent(db, "C1", "  ")
    with pytest.raises(InputError, match="field sent_at"):
        sending.record_sent(db, "C1", "text", sent_at="2026-01-01T10:00:00")
    with pytest.raises(InputError, match="field conversation_id"):
        sending.record_sent(db, {"id": "C1"}, "text")
    numbered = sending.record_sent(db, "C1", "Sent through the API", message_id=4711)
    assert numbered["message_id"] == "4711"  # as an import of that message stores it
    assert len(storage.conversations.sent_replies_of(db, "C1")) == 3


def test_imported_agent_messages_are_matched_to_the_insertions_before_them(db, tmp_path):
    _import(db, tmp_path, [_question("FA", -30), _question("TH", -30, author="Somchai Dee"),
                           _question("EN", -30)], "questions.jsonl")
    feedback.record(db, "fa-refund-policy", "shown", conversation_id="FA")
    feedback.record(db, "fa-refund-policy", "inserted", conversation_id="FA")
    feedback.record(db, "th-password-reset", "inserted", conversation_id="TH")
    persian = _filled(db, "fa-refund-policy", "Sara")
    thai = _filled(db, "th-password-reset", "Somchai").replace(
        "ระบบจะส่งลิงก์", "เราจะส่งลิงก์ให้").split("หากไม่ได้รับ")[0]
    sent_as_inserted = _answer("FA", "a1", 5, persian)
    _import(db, tmp_path, [
        sent_as_inserted,
        _answer("FA", "a2", 10, "Anything else?"),  # typed: the insertion was used by a1
        _answer("TH", "a1", 5, thai),  # edited: a changed phrase, the last sentence cut
        _answer("EN", "a1", 5, "See our policy.", saved_reply_id="refund-policy"),
    ], "answers.jsonl")
    fa, th, en = _sends(db, "FA"), _sends(db, "TH"), _sends(db, "EN")
    assert fa["a1"]["saved_reply_id"] == "fa-refund-policy" and fa["a1"]["edit_ratio"] == 0.0
    assert fa["a2"]["saved_reply_id"] is None and fa["a2"]["edit_ratio"] is None
    assert th["a1"]["saved_reply_id"] == "th-password-reset"
    assert 0.2 < th["a1"]["edit_ratio"] < 0.6
    assert en["a1"]["saved_reply_id"] == "refund-policy" and en["a1"]["edit_ratio"] > 0.8
    assert {r["source"] for r in (*fa.values(), *th.values(), *en.values())} == {"import"}
    # importing again adds nothing
    _import(db, tmp_path, [sent_as_inserted], "again.jsonl")
    assert len(_sends(db, "FA")) == 2


def test_an_insertion_after_the_message_or_before_an_earlier_reply_is_not_matched(db, tmp_path):
    _import(db, tmp_path, [_question("C2", -30), _answer("C2", "a1", -20, "Hello")])
    feedback.record(db, "refund-policy", "inserted", conversation_id="C2")
    _import(db, tmp_path, [_answer("C2", "a0", -25, "Earlier reply")], "late.jsonl")
    sends = _sends(db, "C2")
    assert [sends[m]["saved_reply_id"] for m in ("a0", "a1")] == [None, None]


def test_a_synced_message_claims_the_panel_send_it_is(db, tmp_path):
    _import(db, tmp_path, [_question("C3", -30)])
    inserted = _filled(db, "refund-policy", "Sara")
    sending.record_sent(db, "C3", inserted, agent="Kim", saved_reply_id="refund-policy",
                        inserted_text=inserted)
    _import(db, tmp_path, [_answer("C3", "hd-1", 1, inserted + " ")], "synced.jsonl")
    sends = storage.conversations.sent_replies_of(db, "C3")
    assert [(s["message_id"], s["source"], s["saved_reply_id"]) for s in sends] == [
        ("hd-1", "embed", "refund-policy")]


def test_forgetting_the_customer_deletes_the_sends(db, tmp_path):
    _import(db, tmp_path, [dict(_question("C4", -30), customer_email="sara@example.com"),
                           _answer("C4", "a1", -20, "Hello Sara")])
    sending.record_sent(db, "C4", "Hello Sara, the refund is on its way.", agent="Kim")
    assert len(storage.conversations.sent_replies_of(db, "C4")) == 2
    forget_customer(db, "sara@example.com")
    assert storage.conversations.sent_replies_of(db, "C4") == []
    if is_postgres(db):  # their dead row versions are vacuumed too (SQLite: the WAL is emptied)
        assert "sent_replies" in erase_leftovers(db, Path("unused"))["vacuumed"]


def test_acceptance_is_measured_on_sends_where_there_are_any(db, home, tmp_path):
    _import(db, tmp_path, [_question("C5", -30)])
    for event in ("shown", "shown", "shown", "shown", "inserted", "inserted"):
        feedback.record(db, "refund-policy", event, conversation_id="C5")
    feedback.record(db, "fa-refund-policy", "shown")
    feedback.record(db, "fa-refund-policy", "inserted")
    feedback.record(db, "fa-refund-policy", "edited", edit_ratio=0.5)
    inserted = _filled(db, "refund-policy", "Sara")
    sending.record_sent(db, "C5", inserted, agent="Kim", saved_reply_id="refund-policy",
                        inserted_text=inserted)
    rows = {r["reply_id"]: r for r in feedback.usage(db)}
    sent, inserts = rows["refund-policy"], rows["fa-refund-policy"]
    assert (sent["basis"], sent["sends"], sent["acceptance_rate"]) == ("sends", 1, 0.25)
    assert sent["mean_edit_ratio"] == 0.0
    assert sent["time_saved_s"] == round(len(inserted) / feedback.TYPING_CHARS_PER_S, 1)
    body = library.get_reply(db, "fa-refund-policy")["body"]
    assert (inserts["basis"], inserts["acceptance_rate"], inserts["mean_edit_ratio"]) == (
        "inserts", 1.0, 0.5)
    assert inserts["time_saved_s"] == round(0.5 * len(body) / feedback.TYPING_CHARS_PER_S, 1)
    assert rows["th-password-reset"]["basis"] is None  # never shown
    listed = CliRunner().invoke(cli, ["--home", str(home.config.home), "replies", "usage"]).stdout
    assert "refund-policy  shown 4  used 2  accepted 25% (on sends)" in listed
    assert "fa-refund-policy  shown 1  used 1  accepted 100% (on inserts)" in listed


def test_a_reply_sent_as_inserted_through_an_html_helpdesk_is_unedited(db, tmp_path):
    library.add_reply(db, {"id": "refund-sent", "title": "Refund sent", "status": "approved",
                           "body": "Hi {{customer.first_name|there}},\nYour refund is on its "
                                   "way.\n--\n{{agent.name}}"})
    _import(db, tmp_path, [_question("C6", -30)])
    feedback.record(db, "refund-sent", "inserted", conversation_id="C6")
    _import(db, tmp_path, [_answer("C6", "a1", 5, "<p>Hi Sara,<br>Your refund is on its way."
                                                  "<br>--<br>Kim</p>")], "html.jsonl")
    sent = _sends(db, "C6")["a1"]
    assert (sent["saved_reply_id"], sent["edit_ratio"]) == ("refund-sent", 0.0)
