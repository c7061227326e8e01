"""Webhooks (`POST /hooks/<source>`, web/hooks.py): signatures (replykit's, Zendesk's and
Chatwoot's schemes) good, tampered, missing, stale and replayed; idempotency on the event id;
Thai, Persian and HTML messages stored as sent; size and unknown sources refused; and the top
suggestion posted back as a private note to a REAL django-helpdesk (tests/helpdesk_peer.py)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from helpdesk_peer import helpdesk_peer  # noqa: F401 (the session fixture)
from hypothesis import given, settings
from hypothesis import strategies as st
from test_chatwoot_contract import TOKEN as CHATWOOT_TOKEN
from test_chatwoot_contract import Chatwoot
from vendor_api import contract, serve

import storage.conversations
import storage.webhooks
from connectors import signatures
from connectors.base import make_source
from connectors.hook_events import parse
from connectors.sync import run_sync
from replykit.home import Home
from storage.db import write_transaction
from suggest.conversations import import_records
from suggest.engine import SuggestEngine
from web import create_app
from web.hooks import HOOK_MAX_BYTES, wait_for_posts

SECRET = "whsec-test-1f9c"
NOW = 1_790_000_000


def replykit_headers(body: bytes, secret: str = SECRET, at: int | None = None) -> dict:
    at = int(time.time()) if at is None else at
    return {"X-Replykit-Signature": signatures.sign(secret, body, at),
            "Content-Type": "application/json"}


def chatwoot_event(message_id: int, content: str, conversation: int = 7, kind="incoming"):
    return {"event": "message_created", "id": message_id, "content": content,
            "created_at": "2026-11-29 10:05:57 UTC", "message_type": kind, "private": False,
            "sender": {"id": 31, "name": "Emma Stone", "email": "emma@example.com",
                       "type": "contact"},
            "conversation": {"id": conversation, "status": "open",
                             "channel": "Channel::WebWidget"},
            "account": {"id": 1, "name": "Acme"}}


# ---- signatures: pure functions, every scheme


class Headers(dict):
    """A case-insensitive header mapping, as Werkzeug gives the view."""

    def get(self, key, default=None):
        return next((v for k, v in self.items() if k.lower() == key.lower()), default)

    def __getitem__(self, key):
        return self.get(key)


def signed(scheme: str, body: bytes, at: int, secret: str = SECRET) -> Headers:
    if scheme == "zendesk":
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))
        return Headers({signatures.ZENDESK: signatures.sign_zendesk(secret, body, stamp),
                        signatures.ZENDESK_TIME: stamp})
    if scheme == "chatwoot":
        return Headers({signatures.CHATWOOT: signatures.sign_chatwoot(secret, body, at),
                        signatures.CHATWOOT_TIME: str(at)})
    return Headers({signatures.REPLYKIT: signatures.sign(secret, body, at)})


SCHEMES = st.sampled_from(["replykit", "zendesk", "chatwoot"])


@settings(max_examples=60, deadline=None)  # pure functions; no timing asserted
@given(scheme=SCHEMES, body=st.binary(max_size=300), skew=st.integers(-300, 300))
def test_a_signed_body_within_the_window_is_accepted(scheme, body, skew):
    signatures.verify(scheme if scheme != "replykit" else "jsonl-http", SECRET,
                      signed(scheme, body, NOW + skew), body, NOW)


@settings(max_examples=60, deadline=None)  # pure functions; no timing asserted
@given(scheme=SCHEMES, body=st.binary(max_size=300), data=st.data())
def test_any_change_to_the_body_or_the_secret_is_refused(scheme, body, data):
    headers = signed(scheme, body, NOW)
    position = data.draw(st.integers(0, len(body)))
    extra = data.draw(st.binary(min_size=1, max_size=3))
    for tampered in (body[:position] + extra + body[position:],  # inserted bytes
                     body[:position] + body[position + 1:] if body else b"x"):
        if tampered != body:
            with pytest.raises(signatures.SignatureError, match="does not match"):
                signatures.verify(scheme, SECRET, headers, tampered, NOW)
    with pytest.raises(signatures.SignatureError, match="does not match"):
        signatures.verify(scheme, SECRET + "x", headers, body, NOW)


@settings(max_examples=60, deadline=None)  # pure functions; no timing asserted
@given(scheme=SCHEMES, late=st.integers(301, 10**7), sign=st.sampled_from([1, -1]))
def test_stale_or_future_requests_are_refused(scheme, late, sign):
    body = b'{"id": 1}'
    with pytest.raises(signatures.SignatureError, match="more than 300 s from now"):
        signatures.verify(scheme, SECRET, signed(scheme, body, NOW + sign * late), body, NOW)


def test_unsigned_and_malformed_headers_are_refused():
    body = b"{}"
    for source_type, headers, message in (
            ("jsonl-http", {}, "X-Replykit-Signature is missing"),
            ("zendesk", {}, "X-Zendesk-Webhook-Signature or X-Replykit-Signature is missing"),
            ("jsonl-http", {"X-Replykit-Signature": "v1=abc"}, "expected t=<unix seconds>"),
            ("jsonl-http", {"X-Replykit-Signature": f"t={NOW},v1=é"}, "does not match"),
            ("zendesk", {signatures.ZENDESK: "abc"}, "Signature-Timestamp: missing"),
            ("chatwoot", {signatures.CHATWOOT: "sha256=00", signatures.CHATWOOT_TIME: "x"},
             "expected unix seconds"),
            ("chatwoot", {signatures.CHATWOOT: signatures.sign_chatwoot(
                SECRET, body, int("9" * 400)), signatures.CHATWOOT_TIME: "9" * 400},
             "expected unix seconds")):
        with pytest.raises(signatures.SignatureError, match=message):
            signatures.verify(source_type, SECRET, Headers(headers), body, NOW)


def test_a_rotated_secret_may_sign_beside_the_old_one():
    body = b'{"a": 1}'
    old = signatures.sign("old-secret", body, NOW)
    new = signatures.sign(SECRET, body, NOW).split(",")[1]
    signatures.verify("jsonl-http", SECRET, Headers({signatures.REPLYKIT: f"{old},{new}"}),
                      body, NOW)


# ---- payloads


def test_chatwoot_payloads_keep_only_the_customers_public_messages():
    received = datetime(2026, 11, 29, tzinfo=UTC)
    event = parse("chatwoot", chatwoot_event(5, "<p>Hi</p>"), received)
    assert event.event_id == "message_created:5" and event.conversation_id == "7"
    assert event.record["created_at"] == "2026-11-29T10:05:57+00:00"
    assert event.record["channel"] == "chat" and event.record["role"] == "customer"
    assert parse("chatwoot", chatwoot_event(6, "Done", kind="outgoing"), received).record is None
    note = dict(chatwoot_event(8, "internal"), private=True)
    assert parse("chatwoot", note, received).record is None
    assert parse("chatwoot", {"event": "conversation_created", "id": 3}, received).record is None
    prefixed = parse("chatwoot", chatwoot_event(9, "Hi"), received, id_prefix="cw-")
    assert prefixed.conversation_id == prefixed.record["conversation_id"] == "cw-7"


def test_a_zendesk_trigger_retry_gives_the_same_message_id():
    received = datetime(2026, 11, 29, tzinfo=UTC)
    payload = {"ticket_id": "88", "comment": "Where is my order?", "subject": "Order",
               "requester_name": "Kai Berg", "requester_email": "kai@example.com",
               "updated_at": "2026-11-29T09:00:00Z", "status": "open", "group": "Support"}
    first, again = parse("zendesk", payload, received), parse("zendesk", dict(payload), received)
    assert first == again and first.conversation_id == "88"
    assert first.record["team"] == "Support"
    other = parse("zendesk", dict(payload, comment="And my invoice?"), received)
    assert other.event_id != first.event_id
    named = parse("zendesk", dict(payload, comment_id="9001"), received)  # as a sync names it
    assert (named.event_id, named.record["message_id"]) == ("88:9001", "9001")


def test_a_chatwoot_message_by_webhook_is_the_one_the_sync_brings(home, monkeypatch):
    """The webhook and the Chatwoot source (its contract fixtures, served as documented) read
    one message alike: stored by webhook, the sync then skips it, rejecting nothing."""
    chatwoot = Chatwoot()
    message = chatwoot.messages["101"][0]
    payload = {**message, "event": "message_created", "message_type": "incoming",
               "conversation": contract("chatwoot/conversations.json")[0]}
    event = parse("chatwoot", payload, datetime.now(UTC), id_prefix="chatwoot-")
    import_records(home.db, [("webhook, ", event.record)])
    # its team from the start: no other team's agents read it while the sync has not run
    assert storage.conversations.conversation_team(home.db, "chatwoot-101") == "Billing"
    monkeypatch.setenv("CHATWOOT_TOKEN", CHATWOOT_TOKEN)
    with serve(chatwoot.answer) as api:
        source = make_source({"sync": {"chatwoot": {
            "type": "chatwoot", "url": api.url, "account_id": "7",
            "token_env": "CHATWOOT_TOKEN", "id_prefix": "chatwoot-"}}}, "chatwoot")
        warnings = []
        counts = run_sync(home.db, source, warn=warnings.append)
    assert warnings == [] and counts["rejected"] == 0 and counts["skipped"] == 1
    stored = storage.conversations.conversation_messages(home.db, "chatwoot-101")
    assert [m["message_id"] for m in stored].count(str(message["id"])) == 1
    row = storage.conversations.conversation_row(home.db, "chatwoot-101")
    assert (row["team"], row["customer_email"]) == ("Billing", "ana@example.com")


# ---- the endpoint


@pytest.fixture
def hook_config(library_config, monkeypatch):
    """The library home with three webhook sources and one without webhooks."""
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    monkeypatch.setenv("ZENDESK_HOOK_SECRET", "zd-" + SECRET)
    library_config.sections["sync"] = {
        "generic": {"type": "jsonl-http", "url": "http://127.0.0.1:9",
                    "webhook_secret_env": "HOOK_SECRET"},
        "chatwoot": {"type": "chatwoot", "url": "http://127.0.0.1:9",
                     "webhook_secret_env": "HOOK_SECRET"},
        "zendesk": {"type": "zendesk", "url": "http://127.0.0.1:9", "id_prefix": "zd-",
                    "webhook_secret_env": "ZENDESK_HOOK_SECRET"},
        "pull-only": {"type": "jsonl-http", "url": "http://127.0.0.1:9"},
        "unset": {"type": "jsonl-http", "url": "http://127.0.0.1:9",
                  "webhook_secret_env": "NOT_SET_ANYWHERE"},
    }
    return library_config


@pytest.fixture
def hook_client(hook_config):
    return create_app({"TESTING": True, "REPLYKIT_CONFIG": hook_config}).test_client()


def messages_of(config, conversation_id: str) -> list[dict]:
    home = Home(config)
    try:
        return storage.conversations.conversation_messages(home.db, conversation_id)
    finally:
        home.close()


def test_a_signed_event_is_stored_once_and_a_replay_stores_nothing(hook_client, hook_config):
    body = json.dumps(chatwoot_event(501, "سلام، رمز عبورم را فراموش کرده‌ام <b>لطفا</b>"),
                      ensure_ascii=False).encode()
    headers = replykit_headers(body)
    first = hook_client.post("/hooks/chatwoot", data=body, headers=headers)
    assert first.status_code == 200, first.get_json()
    assert first.get_json() == {"status": "stored", "event_id": "message_created:501",
                                "messages": 1}
    replay = hook_client.post("/hooks/chatwoot", data=body, headers=headers)
    assert replay.get_json() == {"status": "already processed",
                                 "event_id": "message_created:501"}
    stored = messages_of(hook_config, "7")
    assert [m["body"] for m in stored] == ["سلام، رمز عبورم را فراموش کرده‌ام <b>لطفا</b>"]
    home = Home(hook_config)
    assert storage.webhooks.conversation_source(home.db, "7") == "chatwoot"
    home.close()
    # the helpdesk's retry, newly signed: the same event id, still nothing new
    again = hook_client.post("/hooks/chatwoot", data=body, headers=replykit_headers(body))
    assert again.get_json()["status"] == "already processed"
    # a long e-mail (over the 20,000 characters of a form field) is a message like any other
    long = json.dumps(chatwoot_event(503, "ยาว " * 8_000)).encode()
    assert hook_client.post("/hooks/chatwoot", data=long,
                            headers=replykit_headers(long)).get_json()["messages"] == 1
    thai = json.dumps(chatwoot_event(502, "ลืมรหัสผ่าน เข้าระบบไม่ได้ค่ะ")).encode()
    assert hook_client.post("/hooks/chatwoot", data=thai,
                            headers=replykit_headers(thai)).get_json()["messages"] == 1
    assert [m["body"] for m in messages_of(hook_config, "7")][-1] == "ลืมรหัสผ่าน เข้าระบบไม่ได้ค่ะ"


def test_refused_requests_store_nothing(hook_client, hook_config):
    body = json.dumps({"conversation_id": "G1", "message_id": "m1", "role": "customer",
                       "author": "Ana", "channel": "email", "body": "Hi",
                       "created_at": "2026-11-29T09:00:00Z"}).encode()
    cases = [
        ("/hooks/generic", body, {"Content-Type": "application/json"}, 401, "missing"),
        ("/hooks/generic", body + b" ", replykit_headers(body), 401, "does not match"),
        ("/hooks/generic", body, replykit_headers(body, "wrong"), 401, "does not match"),
        ("/hooks/generic", body, replykit_headers(body, at=int(time.time()) - 301), 401,
         "stale or replayed"),
        ("/hooks/nowhere", body, replykit_headers(body), 404, "no webhook source"),
        ("/hooks/pull-only", body, replykit_headers(body), 404, "no webhook source"),
        ("/hooks/unset", body, replykit_headers(body), 503, "not set up on this server"),
    ]
    big = json.dumps({"body": ["x" * 100] * (HOOK_MAX_BYTES // 100)}).encode()
    cases.append(("/hooks/generic", big, replykit_headers(big), 413, "at most 256 KiB"))
    for path, data, headers, status, message in cases:
        answer = hook_client.post(path, data=data, headers=headers)
        assert answer.status_code == status, (path, headers, answer.get_json())
        assert message in answer.get_json()["error"]
    assert messages_of(hook_config, "G1") == []
    # an unsigned body is not even read as JSON: a long field is no reason to answer otherwise
    long = json.dumps({"body": "x" * 30_000}).encode()
    answer = hook_client.post("/hooks/generic", data=long,
                              headers={"Content-Type": "application/json"})
    assert answer.status_code == 401
    deep = b"[" * 100_000 + b"]" * 100_000
    answer = hook_client.post("/hooks/generic", data=deep, headers=replykit_headers(deep))
    assert answer.status_code == 400 and "not JSON" in answer.get_json()["error"]
    # signed, but not a record: 400 naming the field, nothing stored
    bad = json.dumps({"conversation_id": "G1", "message_id": "m1"}).encode()
    answer = hook_client.post("/hooks/generic", data=bad, headers=replykit_headers(bad))
    assert answer.status_code == 400 and "role" in answer.get_json()["error"]
    assert messages_of(hook_config, "G1") == []


def test_zendesk_signs_with_its_own_scheme(hook_client, hook_config):
    body = json.dumps({"ticket_id": "4242", "comment": "Where is my invoice?",
                       "requester_name": "Kai Berg", "requester_email": "kai@example.com",
                       "updated_at": "2026-11-29T09:00:00Z"}).encode()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    headers = {signatures.ZENDESK: signatures.sign_zendesk("zd-" + SECRET, body, stamp),
               signatures.ZENDESK_TIME: stamp, "Content-Type": "application/json"}
    assert hook_client.post("/hooks/zendesk", data=body, headers=headers).status_code == 200
    assert [m["body"] for m in messages_of(hook_config, "zd-4242")] == ["Where is my invoice?"]
    headers[signatures.ZENDESK] = signatures.sign_zendesk(SECRET, body, stamp)  # other secret
    assert hook_client.post("/hooks/zendesk", data=body, headers=headers).status_code == 401


def test_an_agent_reply_by_webhook_reaches_the_vector_indexes(hook_config):
    """A generic source may send agents' messages too: the past reply they make is searchable
    right after (the write goes through SuggestEngine.writing(), as every web write does)."""
    app = create_app({"TESTING": True, "REPLYKIT_CONFIG": hook_config})
    client = app.test_client()
    for message_id, role, text in (("m1", "customer", "Can I pay with a gift card?"),
                                   ("m2", "agent", "Yes, gift cards work at checkout.")):
        body = json.dumps({"conversation_id": "G7", "message_id": message_id, "role": role,
                           "author": "Ana", "channel": "chat", "body": text,
                           "created_at": f"2026-11-29T09:0{message_id[1]}:00Z"}).encode()
        assert client.post("/hooks/generic", data=body,
                           headers=replykit_headers(body)).status_code == 200
    writer = app.extensions.get("replykit.index_writer")
    if writer is not None:  # the serving process's writer catches up after the commit
        writer.wait()
    home = Home(hook_config)
    try:
        assert not SuggestEngine(home).status()["stale"]
        assert storage.conversations.stored_past_replies(home.db, "G7")
    finally:
        home.close()


@pytest.mark.both_backends
def test_an_event_id_is_claimed_once(home):
    with write_transaction(home.db):
        assert storage.webhooks.claim_event(home.db, "s", "e1", "2026-11-29T09:00:00+00:00",
                                             "C1", "stored")
    with write_transaction(home.db):
        assert not storage.webhooks.claim_event(home.db, "s", "e1", "later", "C9", "ignored")
        assert storage.webhooks.claim_event(home.db, "other", "e1", "later", "", "ignored")
        storage.webhooks.record_note(home.db, "s", "e1", "77", "password-reset", "now")
    row = storage.webhooks.event(home.db, "s", "e1")
    assert (row["conversation_id"], row["outcome"], row["note_id"]) == ("C1", "stored", "77")


# ---- posting the top suggestion back to a real django-helpdesk


def test_the_top_suggestion_is_posted_back_as_a_private_note(
        hook_config, helpdesk_peer, monkeypatch):  # noqa: F811
    peer = helpdesk_peer
    monkeypatch.setenv("PEER_USER", peer.username)
    monkeypatch.setenv("PEER_PASSWORD", peer.password)
    hook_config.sections["sync"]["peer"] = {
        "type": "django-helpdesk", "url": peer.base_url, "username_env": "PEER_USER",
        "password_env": "PEER_PASSWORD", "webhook_secret_env": "HOOK_SECRET",
        "post_suggestion": True, "id_prefix": "peer-"}
    app = create_app({"TESTING": True, "REPLYKIT_CONFIG": hook_config})
    client = app.test_client()
    reset = peer.create_ticket("Password", "Help", "emma@example.com")
    late = peer.create_ticket("Parcel", "Help", "kai@example.com")

    def event(ticket: int, text: str) -> dict:
        body = json.dumps({
            "conversation_id": str(ticket), "message_id": f"hook-{ticket}", "role": "customer",
            "author": "Emma Stone", "channel": "email", "created_at": "2026-11-29T09:00:00Z",
            "body": text, "customer_email": "emma@example.com"}).encode()
        return client.post("/hooks/peer", data=body, headers=replykit_headers(body)).get_json()

    assert event(reset, "I forgot my password, how do I reset it?")["status"] == "stored"
    # confident, but its {{order.id}} is nowhere in the conversation: nothing is posted
    assert event(late, "Where is my parcel? It was supposed to arrive on Monday")["messages"]
    posted, held = wait_for_posts(app)
    assert posted["posted"] and posted["reply_id"] == "password-reset", posted
    assert held == {"posted": False, "reason": "the conversation does not fill {{order.id}}"}
    notes = [f for f in peer.followups(reset) if not f["public"]]
    assert len(notes) == 1 and str(notes[0]["id"]) == posted["note_id"]
    assert "Hi Emma," in notes[0]["comment"] and "To reset your password" in notes[0]["comment"]
    assert "{{" not in notes[0]["comment"]
    assert not [f for f in peer.followups(late) if not f["public"]]
    home = Home(hook_config)
    row = storage.webhooks.event(home.db, "peer", f"{reset}:hook-{reset}")
    home.close()
    assert (row["note_id"], row["note_reply_id"]) == (posted["note_id"], "password-reset")


def test_a_chatwoot_webhook_gets_its_suggestion_as_a_private_message(hook_config, monkeypatch):
    """The same post-back through the Chatwoot source, against its documented API served
    locally: the note is a private outgoing message of the conversation."""
    monkeypatch.setenv("CHATWOOT_TOKEN", CHATWOOT_TOKEN)
    with serve(Chatwoot().answer) as api:
        hook_config.sections["sync"]["chatwoot"].update(
            url=api.url, account_id="7", token_env="CHATWOOT_TOKEN", post_suggestion=True)
        app = create_app({"TESTING": True, "REPLYKIT_CONFIG": hook_config})
        body = json.dumps(chatwoot_event(700, "I forgot my password, how do I reset it?",
                                         conversation=555)).encode()
        answer = app.test_client().post("/hooks/chatwoot", data=body,
                                        headers=replykit_headers(body))
        assert answer.get_json()["messages"] == 1
        [posted] = wait_for_posts(app)
        [sent] = api.requests("POST", "/api/v1/accounts/7/conversations/555/messages")
    assert posted["posted"] and posted["reply_id"] == "password-reset", posted
    assert sent.body["private"] is True and sent.body["message_type"] == "outgoing"
    assert "Hi Emma," in sent.body["content"] and "{{" not in sent.body["content"]
