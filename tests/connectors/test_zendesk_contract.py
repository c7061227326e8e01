"""Contract test of the Zendesk source (connectors/zendesk.py) against a local server that
answers as Zendesk's Support API documents (tests/connectors/contracts/zendesk/: the ticket,
comment, user, group and metric-set shapes of its API reference): the cursor-based incremental
ticket export over two pages, comments with cursor pagination, a 429 with Retry-After and a
500 on the way; what lands in replykit, the cursor, a second sync, the basic-auth header and
paths, the request bodies of post_reply and apply_actions, and a hostile payload that imports
with per-record warnings."""

from __future__ import annotations

import base64

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from vendor_api import contract, serve

import storage.conversations
from cli.main import cli
from connectors.base import ConnectorError, make_source
from connectors.sync import run_sync
from replykit.errors import InputError
from storage.sync_state import sync_states
from suggest.conversations import validate_message

TOKEN = "zd-secret-token-0c4d"
EMAIL = "agent@example.com"
EXPORT = "/api/v2/incremental/tickets/cursor.json"
FIRST, SECOND = "MTU4MDc1Mzc5OC4wfHw0MzJ8", "MTU4MDc1Mzg1Ni4wfHw0MzZ8"
PAGE = 2  # comments per page here (the client asks for 100): several pages from few comments


class Zendesk:
    """The state of the stand-in Zendesk account and its answers (as documented)."""

    def __init__(self, pages=None, comments=None, users=None):
        self.pages = pages or {None: contract("zendesk/export_page1.json"),
                               FIRST: contract("zendesk/export_page2.json")}
        stored = contract("zendesk/comments.json")
        self.comments = comments or stored["comments"]
        self.users = {u["id"]: u for u in (users or stored["users"])}
        self.url = ""

    def answer(self, seen):
        expected = base64.b64encode(f"{EMAIL}/token:{TOKEN}".encode()).decode()
        if seen.headers.get("authorization") != f"Basic {expected}":
            return 401, {"error": "Couldn't authenticate you"}
        if seen.method == "GET" and seen.path == EXPORT:
            return 200, self.pages.get(seen.query.get("cursor"), {
                "tickets": [], "users": [], "after_cursor": seen.query.get("cursor"),
                "after_url": None, "before_cursor": None, "before_url": None,
                "end_of_stream": True})
        parts = seen.path.split("/")  # /api/v2/tickets/5001/comments.json
        if seen.method == "GET" and parts[3:4] == ["tickets"] and parts[-1] == "comments.json":
            comments = self.comments.get(parts[4], [])
            start = int(seen.query.get("page[after]", "0"))
            page = comments[start:start + PAGE]
            more = start + PAGE < len(comments)
            return 200, {
                "comments": page,
                "users": [self.users[c["author_id"]] for c in page if isinstance(c, dict)
                          and isinstance(c.get("author_id"), int) and c["author_id"] in self.users],
                "meta": {"has_more": more, "after_cursor": str(start + PAGE),
                         "before_cursor": str(start)},
                "links": {"next": f"{self.url}{seen.path}?page[after]={start + PAGE}"
                                  f"&page[size]={PAGE}" if more else None, "prev": None}}
        if seen.method == "PUT" and seen.path == "/api/v2/tickets/5001.json":
            return 200, contract("zendesk/ticket_update.json")
        return None


@pytest.fixture
def source_of(monkeypatch):
    monkeypatch.setenv("ZENDESK_TOKEN", TOKEN)

    def make(api):
        return make_source({"sync": {"zendesk": {
            "type": "zendesk", "url": api.url, "email": EMAIL,
            "token_env": "ZENDESK_TOKEN", "id_prefix": "zendesk-"}}}, "zendesk")

    return make


def test_sync_from_zendesk(home, source_of):
    zendesk = Zendesk()
    with serve(zendesk.answer) as api:
        zendesk.url = api.url
        api.fail_once("GET", EXPORT, 429, {"Retry-After": "1"})
        api.fail_once("GET", "/api/v2/tickets/5001/comments.json", 500)
        warnings = []
        counts = run_sync(home.db, source_of(api), warn=warnings.append)

        assert warnings == []
        assert counts["batches"] == 2  # one per export page
        assert counts["messages"] == 3 + 2 + 3 and counts["rejected"] == 0
        db = home.db
        first = storage.conversations.conversation_row(db, "zendesk-5001")
        assert {k: first[k] for k in ("subject", "channel", "status", "priority", "team",
                                      "csat", "customer_id", "customer_email",
                                      "customer_name", "resolved_at")} == {
            "subject": "Charged twice", "channel": "email", "status": "solved",
            "priority": "high", "team": "Billing", "csat": 5, "customer_id": "20978392",
            "customer_email": "ana@example.com", "customer_name": "Ana Souza",
            "resolved_at": "2026-09-01T11:00:00+00:00"}
        messages = storage.conversations.conversation_messages(db, "zendesk-5001")
        assert [(m["message_id"], m["role"], m["author"]) for m in messages] == [
            ("7001", "customer", "Ana Souza"), ("7002", "agent", "Bob Martin"),
            ("7004", "customer", "Ana Souza")]  # 7003 is a private note
        pasts = storage.conversations.stored_past_replies(db, "zendesk-5001")
        assert len(pasts) == 1 and "refunded the second charge" in pasts[0]["answer"]
        assert storage.conversations.conversation_row(db, "zendesk-5002")["csat"] is None
        persian = storage.conversations.conversation_messages(db, "zendesk-5003")
        assert [m["role"] for m in persian] == ["customer", "customer", "agent"]  # a CC'd user
        assert storage.conversations.conversation_row(db, "zendesk-5003")["csat"] == 1
        assert storage.conversations.conversation_row(db, "zendesk-5004") is None  # deleted
        assert sync_states(db)[0]["cursor"] == SECOND

        # the documented auth and paths; the 429 and the 500 were retried
        assert all(s.headers["authorization"].startswith("Basic ") for s in api.seen)
        exports = api.requests("GET", EXPORT)
        assert [s.query for s in exports] == [
            {"start_time": "0", "include": "users,groups,metric_sets", "per_page": "100"}] * 2 + [
            {"cursor": FIRST, "include": "users,groups,metric_sets", "per_page": "100"}]
        comments = api.requests("GET", "/api/v2/tickets/5001/comments.json")
        assert [s.query for s in comments] == [{"include": "users", "page[size]": "100"}] * 2 + [
            {"page[after]": "2", "page[size]": "2"}]

        # a second sync goes on from the stored cursor and adds nothing
        api.seen.clear()
        again = run_sync(home.db, source_of(api))
        assert again["messages"] == 0
        assert [s.query.get("cursor") for s in api.requests("GET", EXPORT)] == [SECOND]

        # a new public comment and a satisfaction rating on ticket 5002
        ticket = {**contract("zendesk/export_page1.json")["tickets"][1],
                  "satisfaction_rating": {"id": 1240, "score": "good", "comment": ""}}
        zendesk.comments["5002"].append({**zendesk.comments["5002"][0], "id": 7013,
                                         "body": "ได้แล้วค่ะ", "plain_body": "ได้แล้วค่ะ",
                                         "created_at": "2026-09-02T08:00:00Z"})
        zendesk.pages[SECOND] = {"tickets": [ticket], "users": [], "after_cursor": "THIRD",
                                 "end_of_stream": True}
        third = run_sync(home.db, source_of(api))
        assert third["messages"] == 1
        assert storage.conversations.conversation_row(db, "zendesk-5002")["csat"] == 5
        assert sync_states(db)[0]["cursor"] == "THIRD"


def test_post_reply_and_actions_send_the_documented_bodies(source_of):
    with serve(Zendesk().answer) as api:
        source = source_of(api)
        assert source.post_reply("zendesk-5001", "Refund sent, see the note", True) \
            == "206091192546"
        lines = source.apply_actions("zendesk-5001", [
            {"type": "set_status", "value": "resolved"}, {"type": "add_tags", "value": ["refund"]},
            {"type": "remove_tags", "value": "vip"}, {"type": "set_assignee", "value": "235323"},
            {"type": "set_public", "value": False}, {"type": "set_priority", "value": "critical"}])
        assert lines == [
            "set_status: applied (solved)", "add_tags: applied (refund)",
            "remove_tags: applied (vip)", "set_assignee: applied (235323)",
            "set_public: not supported by Zendesk's API",
            "set_priority: not applied: Zendesk's values are low, normal, high, urgent"]
        assert [s.body for s in api.requests("PUT", "/api/v2/tickets/5001.json")] == [
            {"ticket": {"comment": {"body": "Refund sent, see the note", "public": False}}},
            {"ticket": {"status": "solved", "additional_tags": ["refund"],
                        "remove_tags": ["vip"], "assignee_id": 235323}}]

        # a server error after a comment is not retried: it may have been added already
        api.seen.clear()
        api.fail_once("PUT", "/api/v2/tickets/5001.json", 500)
        with pytest.raises(ConnectorError, match="HTTP 500"):
            source.post_reply("5001", "once only", False)
        assert len(api.requests("PUT")) == 1


def test_hostile_payload_imports_with_warnings(home, source_of):
    agent = {"id": 1, "name": "Agent " + "x" * 10_000, "role": "agent"}
    customer = {"id": 2, "name": "مشتری " + "ก" * 10_000, "role": "end-user", "email": None}
    pages = {None: {"tickets": [
        {"id": 9001, "requester_id": 2, "subject": None, "via": None,
         "satisfaction_rating": {"score": "great"}},
        {"id": 9002},  # no requester, no status, nothing else
        {"subject": "no id"}, "not an object"],
        "users": [agent, customer, {"name": "no id"}], "after_cursor": "C1",
        "end_of_stream": True}}
    comments = {"9001": [
        {"id": 1, "author_id": 2, "public": True, "created_at": "2026-09-01T09:00:00Z",
         "body": "<script>alert('x')</script><b>سلام</b> ไม่ได้รับของ"},
        {"id": 2, "author_id": 1, "public": True, "created_at": "2026-09-01T09:05:00Z",
         "html_body": "<p>ok</p>"},  # no body: empty text
        {"id": 3, "author_id": 2, "public": True, "body": "no time"},
        {"id": 4, "author_id": 2, "public": True, "created_at": "yesterday", "body": "odd time"},
        {"id": 5, "author_id": 99, "public": "yes", "created_at": "2026-09-01T09:09:00Z"},
        {"author_id": 2, "public": True, "body": "no id"}, "not an object"],
        "9002": [{"id": 6, "author_id": 2, "public": True, "created_at": "2026-09-01T10:00:00Z",
                  "body": "hi"}]}
    with serve(Zendesk(pages, comments, [agent, customer]).answer) as api:
        warnings = []
        counts = run_sync(home.db, source_of(api), warn=warnings.append)
    assert counts["messages"] == 3 and counts["rejected"] == 2
    assert "record 3, field created_at: is required" in warnings[0]
    assert "record 4, field created_at: 'yesterday' is not an ISO 8601 time" in warnings[1]
    stored = storage.conversations.conversation_messages(home.db, "zendesk-9001")
    assert [(m["message_id"], m["role"]) for m in stored] == [("1", "customer"), ("2", "agent")]
    assert stored[0]["body"].startswith("<script>")  # kept as sent; escaped where shown
    row = storage.conversations.conversation_row(home.db, "zendesk-9001")
    assert row["customer_name"] == customer["name"] and row["csat"] is None
    assert storage.conversations.conversation_row(home.db, "zendesk-9002")["status"] == ""
    # the secret never shows
    assert not any(TOKEN in w for w in warnings)


def test_replykit_sync_zendesk_from_config(tmp_path, monkeypatch):
    """`replykit sync NAME` with [sync.NAME] in config.toml and the token in the environment:
    the summary counts, and the token nowhere in the output, also when it is refused."""
    zendesk = Zendesk()
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    with serve(zendesk.answer) as api:
        zendesk.url = api.url
        (home / "config.toml").write_text(
            'multilingual_model = ""\n\n[sync.zd]\ntype = "zendesk"\n'
            f'url = "{api.url}"\nemail = "{EMAIL}"\ntoken_env = "ZENDESK_TOKEN"\n', "utf-8")
        monkeypatch.setenv("ZENDESK_TOKEN", TOKEN)
        result = CliRunner().invoke(cli, ["--home", str(home), "sync", "zd", "--json",
                                          "--no-index"])
        assert result.exit_code == 0, result.output
        assert '"messages": 8' in result.output and TOKEN not in result.output
        monkeypatch.setenv("ZENDESK_TOKEN", "a-wrong-token-77")
        refused = CliRunner().invoke(cli, ["--home", str(home), "sync", "zd", "--no-index"])
    assert refused.exit_code == 1
    assert refused.output.strip().endswith(
        f"zd: GET {api.url}{EXPORT}: HTTP 401 Unauthorized (check the credentials)")
    assert "a-wrong-token-77" not in refused.output


def test_a_next_link_to_another_host_is_refused(source_of):
    """A comments page whose `links.next` points elsewhere would carry the credentials there:
    the sync stops with a clear error and the other host gets nothing."""
    with serve(lambda seen: (200, {})) as elsewhere:
        zendesk = Zendesk()
        with serve(zendesk.answer) as api:
            zendesk.url = elsewhere.url  # next links now name the other server
            with pytest.raises(ConnectorError, match="not on .*, refused"):
                list(source_of(api).pull(None))
            zendesk.url = api.url.replace("http:", "https:")  # same host, another scheme
            with pytest.raises(ConnectorError, match="not on .*, refused"):
                list(source_of(api).pull(None))
    assert elsewhere.seen == []


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                                max_size=3), max_leaves=6)
IDS = st.one_of(st.integers(1, 5), JSON)


def test_any_json_in_tickets_and_comments_gives_records_or_clear_rejections(source_of):
    """Whatever the export and comment pages hold (ids, times, bodies, users, ratings of any
    JSON type), pulling never fails on it: every record it makes the importer stores or
    rejects with an InputError naming the field (a warning in a sync)."""
    zendesk = Zendesk()
    keys = {"id": IDS, "author_id": IDS, "public": st.one_of(st.booleans(), JSON),
            "created_at": st.one_of(st.just("2026-09-01T09:00:00Z"), JSON), "body": JSON,
            "plain_body": JSON, "via": JSON}
    ticket_keys = {"requester_id": IDS, "group_id": IDS, "status": JSON, "subject": JSON,
                   "priority": JSON, "via": JSON, "satisfaction_rating": JSON}
    with serve(zendesk.answer) as api:
        zendesk.url = api.url
        source = source_of(api)

        @settings(max_examples=60, deadline=None,
                  suppress_health_check=[HealthCheck.function_scoped_fixture])
        @given(st.fixed_dictionaries({}, optional=ticket_keys),
               st.lists(st.fixed_dictionaries({}, optional=keys), max_size=4),
               st.lists(st.fixed_dictionaries({}, optional={"id": IDS, "name": JSON,
                                                            "role": JSON, "email": JSON}),
                        max_size=3), JSON)
        def check(ticket, comments, users, metric_sets):
            zendesk.pages = {None: {"tickets": [{**ticket, "id": 1}], "users": users,
                                    "metric_sets": metric_sets, "after_cursor": "C",
                                    "end_of_stream": True}}
            zendesk.comments = {"1": comments}
            zendesk.users = {}
            for batch in source.pull(None):
                for record in batch.records:
                    try:
                        validate_message(record, "record 1, ")
                    except InputError as error:
                        assert "field " in str(error)

        check()


def test_a_server_that_repeats_a_cursor_or_a_link_does_not_make_the_sync_loop(home, source_of):
    zendesk = Zendesk()
    page = contract("zendesk/export_page1.json")
    zendesk.pages = {None: page, FIRST: page}  # the same page, end_of_stream false, forever
    answer = zendesk.answer

    def same_link(seen):  # every comments page says has_more, with a link to itself
        status, body = answer(seen)
        if "comments" in body:
            body["meta"]["has_more"] = True
            body["links"]["next"] = f"{zendesk.url}{seen.path}?page[after]=0&page[size]=2"
        return status, body

    with serve(same_link) as api:
        zendesk.url = api.url
        counts = run_sync(home.db, source_of(api))
        assert len(api.requests("GET", EXPORT)) == 2
        assert len(api.requests("GET", "/api/v2/tickets/5001/comments.json")) == 4  # 2 x 2
    assert counts["batches"] == 2 and counts["messages"] == 2 + 2


def test_an_answer_that_is_not_an_object_is_one_clear_error(source_of):
    zendesk = Zendesk()
    answer = zendesk.answer

    def listed_comments(seen):
        return (200, []) if seen.path.endswith("/comments.json") else answer(seen)

    with serve(listed_comments) as api:
        with pytest.raises(ConnectorError) as error:
            list(source_of(api).pull(None))
    assert str(error.value) == (f"zendesk: GET {api.url}/api/v2/tickets/5001/comments.json: "
                                "the answer is not a JSON object")
