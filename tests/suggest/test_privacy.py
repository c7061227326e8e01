"""Past replies carry no customer's details: names, e-mails, phones, order and card numbers
are templated before indexing, in English, Thai and Persian; the originals stay for reviewers."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from suggest import privacy
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
