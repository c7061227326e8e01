"""Past replies carry no customer's details: names, e-mails, phones, order and card numbers
are templated before indexing, in English, Thai and Persian; the originals stay for reviewers."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from suggest import documents, privacy
from suggest.conversations import import_conversations
from suggest.engine import SuggestEngine
from suggest.suggester import suggest

KNOWN = privacy.known_details(
    {"customer_name": "Ana Souza", "customer_email": "ana.souza@example.com", "id": "C77"},
    {"Bob Stone"},
)


def test_known_details_become_placeholders():
    text = "Hi Ana, this is Bob. Ana Souza's ticket C77 is fixed. -- Bob Stone"
    assert privacy.template(text, KNOWN) == (
        "Hi {{customer.first_name}}, this is {{agent.name}}. {{customer.name}}'s ticket "
        "{{ticket.id}} is fixed. -- {{agent.name}}"
    )


def test_names_match_whole_words_and_any_case_in_latin_script():
    assert privacy.template("ANA here; banana and Anastasia stay", KNOWN) == (
        "{{customer.first_name}} here; banana and Anastasia stay"
    )


def test_patterns_catch_what_the_conversation_does_not_name():
    text = (
        "Write to other@example.org or call +1 415 555 0147 / 085-987-5448, "
        "order #A-10293, card 4111111111111111. Refunds take 30 days for 2 items."
    )
    assert privacy.template(text, []) == (
        "Write to {{customer.email}} or call {{customer.phone}} / {{customer.phone}}, "
        "order {{order.id}}, card {{number}}. Refunds take 30 days for 2 items."
    )


def test_thai_and_persian_details():
    thai = privacy.known_details({"customer_name": "สมชาย ใจดี"}, set())
    assert privacy.template("สวัสดีค่ะ คุณสมชาย โทร ๐๘๕๙๘๗๕๔๔๘", thai) == (
        "สวัสดีค่ะ คุณ{{customer.first_name}} โทร {{customer.phone}}"
    )
    persian = privacy.known_details({"customer_name": "شیرین کریمی"}, set())
    assert privacy.template("سلام شیرین، شماره من ۰۹۱۲۳۴۵۶۷۸۹ است", persian) == (
        "سلام {{customer.first_name}}، شماره من {{customer.phone}} است"
    )


@given(st.emails())
def test_no_email_address_survives(address):
    assert "@" not in privacy.template(f"mail me at {address} please", [])


def _messages(conversation, customer, email, question, answer):
    rows = [
        {"conversation_id": conversation, "message_id": "1", "role": "customer",
         "author": customer, "channel": "email", "created_at": "2026-09-01T09:00:00Z",
         "body": question, "customer_email": email},
        {"conversation_id": conversation, "message_id": "2", "role": "agent",
         "author": "Bob Stone", "channel": "email", "created_at": "2026-09-01T10:00:00Z",
         "body": answer},
    ]
    return "".join(json.dumps(r) + "\n" for r in rows)


def test_a_past_reply_for_customer_a_shows_nothing_of_a_to_customer_b(home, tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text(
        _messages(
            "C1", "Ana Souza", "ana.souza@example.com",
            "My parcel for order #A-5521 never arrived. Call me on +44 20 7946 0958.",
            "Hi Ana, sorry about parcel #A-5521! I've sent a new one to ana.souza@example.com "
            "and will call +44 20 7946 0958 tomorrow. Bob",
        ),
        encoding="utf-8",
    )
    import_conversations(home.db, path)
    engine = SuggestEngine(home)
    engine.sync()
    result = suggest(engine, "my parcel never arrived", k=3)
    past = next(s for s in result["suggestions"] if s["kind"] == "past")
    shown = past["body"] + past["reason"]["text"] + past["title"]
    for secret in ("Ana", "Souza", "ana.souza@example.com", "5521", "7946", "0958"):
        assert secret not in shown
    assert past["body"].startswith("Hi {{customer.first_name}}, sorry about parcel {{order.id}}")
    # the original stays for reviewers
    original = home.db.execute(
        "SELECT body FROM messages WHERE conversation_id = 'C1' AND message_id = '2'"
    ).fetchone()[0]
    assert original.startswith("Hi Ana, sorry about parcel #A-5521!")


def test_a_past_suggestions_title_is_the_templated_subject(home, tmp_path):
    rows = _messages(
        "C1", "Dr. Ana Lima", "ana.lima@example.com",
        "My refund for A-10293 has not arrived.",
        "Hi Ana, the refund for A-10293 is on its way. Bob",
    ).splitlines()
    first = json.loads(rows[0])
    first["subject"] = "Refund A-10293 for Ana Lima ana.lima@example.com +66812345678"
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps(first) + "\n" + rows[1] + "\n", encoding="utf-8")
    import_conversations(home.db, path)
    engine = SuggestEngine(home)
    engine.sync()
    past = next(
        s for s in suggest(engine, "my refund has not arrived", k=3)["suggestions"]
        if s["kind"] == "past"
    )
    assert past["title"] == (
        "Refund {{order.id}} for {{customer.name}} {{customer.email}} {{customer.phone}}"
    )
    assert past["body"] == (
        "Hi {{customer.first_name}}, the refund for {{order.id}} is on its way. {{agent.name}}"
    )
    assert past["reason"]["text"] == "My refund for {{order.id}} has not arrived."


def test_without_a_subject_the_title_is_the_templated_question(home, tmp_path):
    path = tmp_path / "c.jsonl"
    question = "Ana Lima here: where is parcel ORD-55120? " + "It is late. " * 10
    path.write_text(
        _messages("C2", "Ana Lima", "", question, "It ships today, Ana."), encoding="utf-8"
    )
    import_conversations(home.db, path)
    title = home.db.execute("SELECT title FROM past_replies").fetchone()[0]
    assert title.startswith("{{customer.name}} here: where is parcel {{order.id}}?")
    assert len(title) <= 80 and title.count("{{") == title.count("}}")


def test_an_html_encoded_subject_is_templated_too(home, tmp_path):
    rows = _messages("C3", "Ana Lima", "", "Where is my parcel?", "On its way.").splitlines()
    first = json.loads(rows[0])
    first["subject"] = "Parcel for ana&#46;lima&#64;example&#46;com &amp; &#43;66&#56;12345678"
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps(first) + "\n" + rows[1] + "\n", encoding="utf-8")
    import_conversations(home.db, path)
    title = home.db.execute("SELECT title FROM past_replies").fetchone()[0]
    assert title == "Parcel for {{customer.email}} & {{customer.phone}}"


def test_past_replies_stored_before_the_fix_are_templated_again(config, tmp_path):
    """A home written by an older version (schema 5 not applied: no title, text templated by
    weaker rules) leaks nothing once opened: the migration templates every past reply again."""
    from replykit.home import Home

    path = tmp_path / "c.jsonl"
    path.write_text(
        _messages("C1", "Dr. Ana Lima", "", "Call me: 0812345678ครับ", "Hi Ana, done. Bob"),
        encoding="utf-8",
    )
    home = Home(config)
    import_conversations(home.db, path)
    # what the old code stored: "Dr." taken for the first name, Thai-glued digits missed
    home.db.execute(
        "UPDATE past_replies SET question = 'Call me: 0812345678ครับ', "
        "answer = 'Hi Ana, done. Bob'"
    )
    old = {"id": "C1:2", "question": "Call me: 0812345678ครับ", "saved_reply_id": None}
    documents.replace(home.db, ("past",), "C1:2", [documents.past_document(old)])
    home.db.execute("ALTER TABLE past_replies DROP COLUMN title")
    home.db.execute("DELETE FROM schema_version WHERE version = 5")
    home.close()

    home = Home(config)
    try:
        row = home.db.execute("SELECT question, answer, title FROM past_replies").fetchone()
        assert row == (
            "Call me: {{customer.phone}}ครับ",
            "Hi {{customer.first_name}}, done. {{agent.name}}",
            "Call me: {{customer.phone}}ครับ",
        )
        texts = [r[0] for r in home.db.execute("SELECT text FROM documents WHERE kind = 'past'")]
        assert texts == ["Call me: {{customer.phone}}ครับ"]
        engine = SuggestEngine(home)
        engine.sync()
        shown = json.dumps(suggest(engine, "call me", k=5), ensure_ascii=False)
        assert "0812345678" not in shown and "Ana" not in shown
    finally:
        home.close()
