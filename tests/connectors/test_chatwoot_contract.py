"""Contract test of the Chatwoot source (connectors/chatwoot.py) against a local server that
answers as Chatwoot's application API documents (tests/connectors/contracts/chatwoot/: the
conversation, message and contact shapes of its API reference and its jbuilder views):
conversations over several pages, a conversation of 120 messages (two `after=` pages), a 429
with Retry-After and a 500 on the way; what lands in replykit, the cursor, a second sync,
the auth header and paths, the request bodies of post_reply and apply_actions, and a hostile
payload that imports with per-record warnings."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from vendor_api import contract, serve

import storage.conversations
from connectors.base import ConnectorError, make_source
from connectors.sync import run_sync
from replykit.errors import InputError
from storage.sync_state import sync_states
from suggest.conversations import validate_message

TOKEN = "cw-secret-token-5b1e"
ACCOUNT = "/api/v1/accounts/7/"
PAGE = 2  # conversations per page here (Chatwoot's is 25): several pages from few fixtures
T0 = 1788253200  # 2026-09-01T09:00:00Z


class Chatwoot:
    """The state of the stand-in Chatwoot account and its answers (as documented)."""

    def __init__(self, conversations=None, messages=None):
        self.conversations = conversations or contract("chatwoot/conversations.json")
        self.messages = messages or contract("chatwoot/messages.json")
        if messages is None:  # a long chat: 120 messages, two pages of `after=`
            bob = contract("chatwoot/conversations.json")[0]["meta"]["assignee"]
            self.messages["104"] = [{
                "id": 3000 + n, "content": f"chat line {n}", "inbox_id": 3,
                "conversation_id": 104, "message_type": n % 2, "content_type": "text",
                "content_attributes": {}, "created_at": T0 + 11000 + n, "private": False,
                "source_id": None, **({"sender": bob} if n % 2 else {})} for n in range(120)]
        self.labels = contract("chatwoot/labels.json")["payload"]
        self.csat_answers: list[dict] = []

    def answer(self, seen):
        if seen.headers.get("api_access_token") != TOKEN:
            return 401, {"errors": ["You need to sign in or sign up before continuing."]}
        path = seen.path.removeprefix(ACCOUNT)
        if seen.method == "GET" and path == "conversations":
            listed = sorted(self.conversations, key=lambda c: -c["last_activity_at"])
            page = int(seen.query.get("page", "1"))
            return 200, {"data": {"meta": {"mine_count": 0, "unassigned_count": 0,
                                           "all_count": len(listed)},
                                  "payload": listed[(page - 1) * PAGE:page * PAGE]}}
        if seen.method == "GET" and path == "csat_survey_responses":
            since, until = int(seen.query["since"]), int(seen.query["until"])
            page = int(seen.query.get("page", "1"))
            answers = [a for a in self.csat_answers if since <= a["created_at"] < until]
            return 200, answers[(page - 1) * 25:page * 25]
        parts = path.split("/")
        if seen.method == "GET" and len(parts) == 2 and parts[0] == "conversations":
            found = [c for c in self.conversations if str(c.get("id")) == parts[1]]
            return (200, found[0]) if found else None
        if len(parts) == 3 and parts[0] == "conversations" and parts[2] == "messages":
            if seen.method == "POST":
                return 200, contract("chatwoot/message_created.json")
            after = int(seen.query.get("after", "0"))
            messages = [m for m in self.messages.get(parts[1], [])
                        if not isinstance(m, dict) or not isinstance(m.get("id"), int)
                        or m["id"] > after]
            return 200, {"meta": {"labels": [], "additional_attributes": {}},
                         "payload": messages[:100]}
        if path == "conversations/101/labels":
            if seen.method == "POST":
                self.labels = seen.body["labels"]
            return 200, {"payload": self.labels}
        if seen.method == "POST" and path == "conversations/101/toggle_status":
            return 200, contract("chatwoot/toggle_status.json")
        if seen.method == "POST" and path == "conversations/101/assignments":
            return 200, contract("chatwoot/conversations.json")[0]["meta"]["assignee"]
        return None


@pytest.fixture
def source_of(monkeypatch):
    monkeypatch.setenv("CHATWOOT_TOKEN", TOKEN)

    def make(api):
        return make_source({"sync": {"chatwoot": {
            "type": "chatwoot", "url": api.url, "account_id": "7",
            "token_env": "CHATWOOT_TOKEN", "id_prefix": "chatwoot-"}}}, "chatwoot")

    return make


@pytest.mark.both_backends
def test_sync_from_chatwoot(home, source_of):
    chatwoot = Chatwoot()
    with serve(chatwoot.answer) as api:
        api.fail_once("GET", ACCOUNT + "conversations", 429, {"Retry-After": "1"})
        api.fail_once("GET", ACCOUNT + "conversations/101/messages", 500)
        warnings = []
        counts = run_sync(home.db, source_of(api), warn=warnings.append)

        assert warnings == []
        assert counts["messages"] == 2 + 2 + 2 + 120 and counts["rejected"] == 0
        assert counts["batches"] == 4  # one per conversation
        db = home.db
        first = storage.conversations.conversation_row(db, "chatwoot-101")
        assert {k: first[k] for k in ("subject", "channel", "status", "priority", "team",
                                      "csat", "customer_id", "customer_email",
                                      "customer_name")} == {
            "subject": "Charged twice", "channel": "email", "status": "resolved",
            "priority": "high", "team": "Billing", "csat": 5, "customer_id": "31",
            "customer_email": "ana@example.com", "customer_name": "Ana Souza"}
        messages = storage.conversations.conversation_messages(db, "chatwoot-101")
        assert [(m["message_id"], m["role"], m["author"]) for m in messages] == [
            ("1001", "customer", "Ana Souza"), ("1002", "agent", "Bob Martin")]
        assert messages[0]["created_at"] == "2026-09-01T09:00:00+00:00"
        # the private note, the activity message and the CSAT survey are not messages
        pasts = storage.conversations.stored_past_replies(db, "chatwoot-101")
        assert len(pasts) == 1 and "refunded the second charge" in pasts[0]["answer"]
        thai = storage.conversations.conversation_messages(db, "chatwoot-102")
        assert [m["body"] for m in thai][0] == "ลืมรหัสผ่าน เข้าระบบไม่ได้"
        persian = storage.conversations.conversation_row(db, "chatwoot-103")
        assert (persian["channel"], persian["team"]) == ("social", "Shipping")
        assert len(storage.conversations.conversation_messages(db, "chatwoot-104")) == 120
        assert sync_states(db)[0]["cursor"] == str(T0 + 14400)

        # documented auth header and paths; the 429 and the 500 were retried
        assert all(s.headers.get("api_access_token") == TOKEN for s in api.seen)
        listing = api.requests("GET", ACCOUNT + "conversations")
        assert [s.query for s in listing] == [
            {"status": "all", "assignee_type": "all", "page": str(p)} for p in (1, 1, 2, 3)]
        long_chat = api.requests("GET", ACCOUNT + "conversations/104/messages")
        assert [s.query["after"] for s in long_chat] == ["0", "3099"]
        assert len(api.requests("GET", ACCOUNT + "conversations/101/messages")) == 2

        # a second sync adds nothing and reads only the first page of conversations
        api.seen.clear()
        again = run_sync(home.db, source_of(api))
        assert again["messages"] == 0 and again["rejected"] == 0
        assert [s.query["page"] for s in api.requests("GET", ACCOUNT + "conversations")] == ["1"]

        # new activity: a new message, and a status change on a conversation with none
        chatwoot.messages["102"].append({**chatwoot.messages["102"][0], "id": 1013,
                                         "content": "ได้แล้วค่ะ ขอบคุณ",
                                         "created_at": T0 + 20000})
        chatwoot.conversations[1]["last_activity_at"] = T0 + 20000
        chatwoot.conversations[0].update(status="open", last_activity_at=T0 + 20001)
        third = run_sync(home.db, source_of(api))
        assert third["messages"] == 1
        assert [m["message_id"] for m in storage.conversations.conversation_messages(
            db, "chatwoot-102")] == ["1011", "1012", "1013"]
        assert storage.conversations.conversation_row(db, "chatwoot-101")["status"] == "open"
        assert sync_states(db)[0]["cursor"] == str(T0 + 20001)


def test_a_csat_answer_after_the_last_activity_comes_with_the_csat_report(home, monkeypatch):
    """Answering the survey does not change a conversation's activity time: with
    `csat_report = true` the next sync reads the CSAT report and the rated conversation again,
    without moving the cursor back."""
    monkeypatch.setenv("CHATWOOT_TOKEN", TOKEN)
    chatwoot = Chatwoot()
    with serve(chatwoot.answer) as api:
        source = make_source({"sync": {"cw": {
            "type": "chatwoot", "url": api.url, "account_id": "7", "csat_report": True,
            "token_env": "CHATWOOT_TOKEN"}}}, "cw")
        run_sync(home.db, source)
        assert api.requests("GET", ACCOUNT + "csat_survey_responses") == []  # a first sync
        survey = contract("chatwoot/messages.json")["101"][4]
        survey = {**survey, "id": 1014, "conversation_id": 102, "content_attributes": {
            "submitted_values": {"csat_survey_response": {"rating": 4}}}}
        chatwoot.messages["102"].append(survey)
        chatwoot.csat_answers = [{
            "id": 88, "rating": 4, "feedback_message": "", "account_id": 7, "message_id": 1014,
            "conversation_id": 102, "created_at": T0 + 14000, "contact": {"id": 32}}]
        api.seen.clear()
        counts = run_sync(home.db, source)
        assert counts["messages"] == 0
        assert storage.conversations.conversation_row(home.db, "102")["csat"] == 4
        reports = api.requests("GET", ACCOUNT + "csat_survey_responses")
        assert [r.query["page"] for r in reports] == ["1", "2"]  # until an empty page
        assert reports[0].query["since"] == str(T0 + 14400 - 86_400)
        assert len(api.requests("GET", ACCOUNT + "conversations/102")) == 1
        assert sync_states(home.db)[0]["cursor"] == str(T0 + 14400)  # not back to 102's


def test_post_reply_and_actions_send_the_documented_bodies(source_of):
    chatwoot = Chatwoot()
    with serve(chatwoot.answer) as api:
        source = source_of(api)
        assert source.post_reply("chatwoot-101", "Refund sent, see the note", True) == "2001"
        (posted,) = api.requests("POST", ACCOUNT + "conversations/101/messages")
        assert posted.body == {"content": "Refund sent, see the note",
                               "message_type": "outgoing", "private": True}

        lines = source.apply_actions("chatwoot-101", [
            {"type": "add_tags", "value": ["refund"]}, {"type": "set_status", "value": "solved"},
            {"type": "set_assignee", "value": 12}, {"type": "set_type", "value": "question"},
            {"type": "set_assignee", "value": "Bob"}])
        assert lines == ["add_tags: applied (refund)", "set_status: applied (resolved)",
                         "set_assignee: applied (12)",
                         "set_type: not supported by Chatwoot's API",
                         "set_assignee: not applied: needs Chatwoot's numeric id of the agent "
                         "or team"]
        path = ACCOUNT + "conversations/101/"
        assert [(s.method, s.path.removeprefix(path), s.body) for s in api.seen[1:]] == [
            ("GET", "labels", None), ("POST", "labels", {"labels": ["billing", "refund"]}),
            ("POST", "toggle_status", {"status": "resolved"}),
            ("POST", "assignments", {"assignee_id": 12})]
        with pytest.raises(ConnectorError, match="did not come from this source"):
            source.post_reply("zendesk-101", "hello", True)


def test_wrong_token_is_one_clear_line_without_it(monkeypatch):
    with serve(Chatwoot().answer) as api:
        monkeypatch.setenv("CHATWOOT_TOKEN", "not-the-token-9f2")
        source = make_source({"sync": {"cw": {"type": "chatwoot", "url": api.url,
                                              "account_id": "7", "token_env": "CHATWOOT_TOKEN"}}},
                             "cw")
        with pytest.raises(ConnectorError) as error:
            next(source.pull(None))
    assert str(error.value) == (f"cw: GET {api.url}{ACCOUNT}conversations: HTTP 401 "
                                "Unauthorized (check the credentials)")


@pytest.mark.both_backends
def test_hostile_payload_imports_with_warnings(home, source_of):
    contact = {"id": 41, "name": "ก" * 10_000, "email": None}
    conversations = [
        {"id": 201, "status": "open", "last_activity_at": T0, "meta": {"sender": contact}},
        {"id": 202, "last_activity_at": T0 + 1},  # no meta, no status
        {"last_activity_at": T0 + 2},  # no id: cannot be read, left out
    ]
    long_name = "Agent " + "x" * 10_000
    messages = {"201": [
        {"id": 1, "message_type": 0, "created_at": T0, "sender": contact,
         "content": "<script>alert('x')</script><b>سلام</b> ไม่ได้รับของ"},
        {"id": 2, "message_type": 1, "created_at": T0 + 5, "content": "<i>ok</i>",
         "sender": {"id": 9, "name": long_name, "type": "user"}},
        {"id": 3, "message_type": 0, "content": "no time"},  # missing created_at
        {"id": 4, "message_type": 0, "created_at": T0 + 9, "content": "y" * 100_001},
        {"id": 5, "message_type": 9, "created_at": T0 + 9, "content": "unknown type"},
        {"id": 6, "message_type": 3, "content_type": "input_csat", "created_at": T0 + 9,
         "content_attributes": {"submitted_values": {"csat_survey_response": {
             "rating": "five"}}}},
        {"id": 7, "message_type": 1, "created_at": T0 + 9, "content": None, "sender": None},
        "not an object",
        {"id": 10, "message_type": 0, "created_at": T0 + 10, "content": "nul \u0000 here"},
        {"id": 11, "message_type": 0, "created_at": T0 + 11, "content": "half \ud800 pair"},
    ], "202": [{"id": 8, "message_type": 0, "created_at": T0 + 1, "content": "hi"}]}
    with serve(Chatwoot(conversations, messages).answer) as api:
        warnings = []
        counts = run_sync(home.db, source_of(api), warn=warnings.append)
    assert counts["messages"] == 4 and counts["rejected"] == 4
    assert len(warnings) == 4
    assert "record 3, field created_at: is required" in warnings[0]
    assert "record 4, field body: is longer than 100000 characters" in warnings[1]
    assert all("field body: holds a NUL character or half of a surrogate pair" in w
               for w in warnings[2:])
    stored = storage.conversations.conversation_messages(home.db, "chatwoot-201")
    assert [m["message_id"] for m in stored] == ["1", "2", "7"]
    assert stored[0]["body"].startswith("<script>")  # kept as sent; escaped where shown
    assert stored[1]["author"] == long_name
    row = storage.conversations.conversation_row(home.db, "chatwoot-201")
    assert row["customer_name"] == "ก" * 10_000 and row["csat"] is None
    assert storage.conversations.conversation_row(home.db, "chatwoot-202")["status"] == ""


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                                max_size=3), max_leaves=6)


def test_any_json_in_conversations_and_messages_gives_records_or_clear_rejections(source_of):
    """Whatever a conversation and its messages hold (any JSON type in any field), pulling
    never fails on it: every record it makes the importer stores or rejects with an
    InputError naming the field (a warning in a sync)."""
    chatwoot = Chatwoot(conversations=[{}], messages={"1": []})
    message_keys = {  # always there, any JSON now and then
        "id": st.one_of(st.integers(1, 9), JSON), "message_type": st.one_of(
            st.integers(0, 3), JSON),
        "created_at": st.one_of(st.integers(0, 2**31), st.integers(2**38, 2**62),
                                st.floats(allow_nan=False), JSON)}
    optional = {"private": st.one_of(st.booleans(), JSON), "content": JSON, "sender": JSON,
                "content_type": st.one_of(st.just("input_csat"), JSON),
                "content_attributes": JSON}
    conversation_keys = {"meta": JSON, "status": JSON, "priority": JSON,
                         "additional_attributes": JSON}
    with serve(chatwoot.answer) as api:
        source = source_of(api)

        @settings(max_examples=60, deadline=None,
                  suppress_health_check=[HealthCheck.function_scoped_fixture])
        @given(st.fixed_dictionaries({}, optional=conversation_keys),
               st.lists(st.fixed_dictionaries(message_keys, optional=optional), max_size=5))
        def check(conversation, messages):
            chatwoot.conversations = [{**conversation, "id": 1, "last_activity_at": T0}]
            chatwoot.messages = {"1": messages}
            for batch in source.pull(None):
                for record in batch.records:
                    try:
                        validate_message(record, "record 1, ")
                    except InputError as error:
                        assert "field " in str(error)

        check()


def test_a_server_that_ignores_the_page_does_not_make_the_sync_loop(home, source_of):
    chatwoot = Chatwoot()
    answer = chatwoot.answer

    def same_page(seen):  # every page is the first
        seen.query.pop("page", None)
        return answer(seen)

    with serve(same_page) as api:
        counts = run_sync(home.db, source_of(api))
        assert len(api.requests("GET", ACCOUNT + "conversations")) == 2
    assert counts["batches"] == 2  # the two conversations of the first page


def test_an_answer_that_is_not_an_object_is_one_clear_error(source_of):
    with serve(lambda seen: (200, ["not", "an", "object"])) as api:
        with pytest.raises(ConnectorError) as error:
            list(source_of(api).pull(None))
    assert str(error.value) == (f"chatwoot: GET {api.url}{ACCOUNT}conversations: the answer "
                                "is not a JSON object")
