"""CSRF on every state-changing route (enumerated from the URL map), sessions renewed and
ended, the login rate limit per address, password and token storage, and what agents may
not read (reviews in progress, other people's names on feedback). test_auth.py covers the
basics; this module covers what it does not."""

from __future__ import annotations

import io
import json

import yaml
from security_seed import seed
from test_authz_matrix import EXPECTED, IDENTITIES, requests_of
from webtest_helpers import PASSWORD, csrf_token, login, signed_in

from replykit import users
from replykit.config import load_config
from rubrics import store
from suggest import library
from suggest.conversations import import_conversations
from web import create_app

VOLATILE = ("web_sessions", "login_attempts", "api_tokens")


def snapshot(db) -> list[str]:
    """Every row of every table but the session/login/token bookkeeping."""
    return [line for line in db.conn.iterdump()
            if not any(f'"{t}"' in line.split("VALUES")[0] for t in VOLATILE)]


def valid_form(endpoint: str, ids: dict, db) -> dict:
    """A form or JSON body with which the route changes something."""
    rubric = store.show_rubric(db, "support-reply")
    reviewer_ids = [users.get_user(db, name)["id"] for name in ("lee", "rui")]
    definition = {k: rubric[k] for k in ("name", "pass_threshold", "description",
                                         "categories")} | {"description": "Changed."}
    return {
        "auth.login": {"username": "ana", "password": PASSWORD},
        "auth.logout": {},
        "i18n.choose_language": {"locale": "fa"},
        "library.new": {"id": "new-one", "title": "New", "body": "Hello."},
        "library.edit": {"title": "Refunds", "body": "Changed body.", "status": "approved"},
        "library.restore": {}, "library.approve": {}, "library.archive": {},
        "library.bulk_tag": {"ids": "refund-policy", "tag": "vip", "action": "add"},
        "library.import_": {"file": (io.BytesIO(json.dumps(
            {"id": "imported", "title": "Imported", "body": "Hi."}).encode()), "r.jsonl")},
        "library.merge": {"keep": "password-reset", "merge": "invoice-copy"},
        "reviews.start": {"conversation": "C3", "message": "m2"},
        "reviews.score": {"overall": "Better now."},
        "reviews.dispute": {"reason": "Unfair."},
        "reviews.resolve": {"decision": "uphold"},
        "reviews.rubrics": {"definition": yaml.safe_dump(definition)},
        "reviews.create_session": {"name": "Round 2", "from": "2026-09-01", "to": "2026-10-01",
                                   "size": "1", "reviewers": reviewer_ids},
        "reviews.assign": {"from": "2026-09-01", "to": "2026-10-01", "per_agent": "1",
                           "reviewers": reviewer_ids},
        "api_suggest.api_suggest": {"query": "refund", "mode": "lexical"},
        "api_suggest.api_feedback": {"event": "shown"},
        "api_workspace.api_render": {"id": "password-reset"},  # refund-policy is a draft here
        "api_workspace.api_draft_start": {},
        "api_workspace.api_draft_finish": {"outcome": "copied", "text": "Done."},
        "api_workspace.api_review_request": {"text": "Please check."},
        "api_workspace.api_propose_reply": {"title": "Idea", "body": "A new reply."},
        "embed.send": {"text": "Thanks!"},
        # a reply without actions: nothing is asked of the helpdesk, nothing changes
        "reply_actions.apply_actions": {"reply_id": "password-reset", "source": "helpdesk"},
        "admin.new_user": {"username": "newbie", "password": "long-enough-1", "roles": "agent"},
        "admin.set_roles": {"roles": "reviewer"}, "admin.set_teams": {"teams": "billing"},
        "admin.reset_password": {"password": "long-enough-1"},
        "admin.deactivate": {}, "admin.activate": {}, "admin.create_token": {"name": "t"},
        "admin.revoke_token": {},
    }[endpoint]


# posting to a helpdesk needs one: with its CSRF token the request gets past the check and is
# refused, as C1 came from a file (the whole path: tests/connectors/test_end_to_end.py)
NEEDS_A_HELPDESK = {"embed.send": "the conversation did not come from a helpdesk"}


def first_allowed(endpoint: str) -> str:
    for label in ("anonymous", "agent", "reviewer", "lead", "admin"):
        if label in EXPECTED[endpoint]:
            return label
    raise AssertionError(endpoint)


def test_csrf_on_every_state_changing_route(app, db, tmp_path):
    """Signed in as someone allowed: without the token 400 and nothing changes; with it the
    same request changes something. With an API token no CSRF token is needed."""
    ids = seed(db)
    # the admin pages change Bo; the token revoked is Ana's (deactivating Bo revokes his)
    ids |= {"user": users.get_user(db, "bo")["id"], "token": users.create_token(db, "ana")["id"]}
    library.edit_reply(db, "refund-policy", {"status": "draft"}, "Lee Lead")  # to approve
    # unreviewed replies: assign takes one per agent (Ana's, one of Bo's), a calibration
    # session samples what is left
    extra = tmp_path / "c4.jsonl"
    extra.write_text("\n".join(json.dumps({
        "conversation_id": "C4", "message_id": mid, "role": role, "author": author,
        "channel": "email", "created_at": at, "body": body, "subject": "Invoice"})
        for mid, role, author, at, body in (
            ("m1", "customer", "Emma Stone", "2026-09-04T09:00:00Z", "Where is my invoice?"),
            ("m2", "agent", "Bo Agent", "2026-09-04T09:10:00Z", "It is on the billing page."),
            ("m3", "customer", "Emma Stone", "2026-09-05T09:00:00Z", "And last month's?"),
            ("m4", "agent", "Ana Agent", "2026-09-05T09:10:00Z", "Under 'All invoices'."),
            ("m5", "customer", "Emma Stone", "2026-09-06T09:00:00Z", "Thanks, and VAT?"),
            ("m6", "agent", "Bo Agent", "2026-09-06T09:10:00Z", "VAT is on each invoice."),
        )), encoding="utf-8")
    import_conversations(db, extra)
    # a helpdesk's webhook checks its own signature instead (tests/connectors/test_hooks.py)
    changing = [r for r in requests_of(app, ids) if r[1] != "GET"
                and not getattr(app.view_functions[r[0]], "signed_requests", False)]
    # resolving first lets Ana dispute again; signing in and out go last
    changing.sort(key=lambda r: (r[0].startswith("auth."), r[0] != "reviews.resolve"))
    assert len(changing) >= 20
    for endpoint, method, path, _ in changing:
        identity = first_allowed(endpoint)
        if endpoint == "reviews.score":  # Lee's review, still open for scoring
            identity, path = "lead", f"/reviews/{ids['in_progress']}/score"
        username = IDENTITIES[identity]
        client = app.test_client()
        token = signed_in(client, username) if username else csrf_token(client)
        body = valid_form(endpoint, ids, db)
        api = path.startswith("/api/")
        send = {"json": body} if api else {"data": body}
        before = snapshot(db)
        refused = client.open(path, method=method, **send)
        assert refused.status_code == 400, f"{endpoint} without a CSRF token"
        assert "CSRF" in refused.get_data(as_text=True), endpoint
        assert snapshot(db) == before, f"{endpoint} changed data without a CSRF token"
        if api:
            accepted = client.open(path, method=method, json=body,
                                   headers={"X-CSRFToken": token})
        else:
            body = valid_form(endpoint, ids, db)  # a fresh upload stream
            accepted = client.open(path, method=method, data=dict(body, csrf_token=token))
        if endpoint in NEEDS_A_HELPDESK:
            assert accepted.status_code == 400, endpoint
            assert NEEDS_A_HELPDESK[endpoint] in accepted.get_json()["error"], endpoint
            continue
        assert accepted.status_code in (200, 201, 302), (endpoint, accepted.get_data())
        if endpoint not in ("auth.login", "auth.logout", "api_suggest.api_suggest",
                            "api_workspace.api_render",  # these change no table of data
                            "reply_actions.apply_actions",
                            "i18n.choose_language"):  # signed out: a cookie
            assert snapshot(db) != before, f"{endpoint} with its CSRF token changed nothing"
        if api and username:  # scripts: a bearer token, no CSRF token
            bearer = users.create_token(db, username)["token"]
            response = app.test_client().open(path, method=method, json=body,
                                              headers={"Authorization": f"Bearer {bearer}"})
            assert "CSRF" not in response.get_data(as_text=True), endpoint
            assert response.status_code in (200, 201), (endpoint, response.get_data())


def _sid(app, client) -> str:
    """The server-side session id inside the signed session cookie."""
    cookie = client.get_cookie("replykit_session").value
    return app.session_interface.get_signing_serializer(app).loads(cookie)["sid"]


def test_login_renews_the_session_and_ends_the_one_before(app, db):
    client = app.test_client()
    signed_in(client, "bo")
    bo_cookie, bo_sid = client.get_cookie("replykit_session").value, _sid(app, client)
    token = csrf_token(client, "/reviews/mine")  # same browser, someone else signs in
    assert client.post("/login", data={"username": "ana", "password": PASSWORD,
                                       "csrf_token": token}).status_code == 302
    assert _sid(app, client) != bo_sid
    stored = {row[0] for row in db.execute("SELECT id_hash FROM web_sessions")}
    assert users.sha256(_sid(app, client)) in stored and _sid(app, client) not in stored
    assert users.sha256(bo_sid) not in stored  # the earlier session ended on the server
    replay = app.test_client()
    replay.set_cookie("replykit_session", bo_cookie)
    assert replay.get("/workspace").status_code == 302


def test_a_planted_pre_login_cookie_is_worth_nothing_after_login(app):
    victim = app.test_client()
    victim.get("/login")
    planted = victim.get_cookie("replykit_session").value  # what an attacker could set
    assert login(victim, "ana").status_code == 302
    attacker = app.test_client()
    attacker.set_cookie("replykit_session", planted)
    assert attacker.get("/workspace").status_code == 302
    assert victim.get("/workspace").status_code == 200


def test_login_rate_limit_per_address(app, db):
    for n in range(users.FREE_FAILURES_PER_ADDRESS):
        assert users.try_login(db, f"guess{n}", "wrong-password", "203.0.113.9") == (None, 0)
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    blocked = login(client, "lee")  # right password, but from the guessing address
    assert blocked.status_code == 429 and client.get("/reports/").status_code == 302
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    assert login(elsewhere, "lee").status_code == 302


def test_passwords_and_tokens_are_never_stored_in_clear(app, db, web_config):
    token = users.create_token(db, "lee", "ci")["token"]
    assert app.test_client().get("/api/reviews/calibration", headers={
        "Authorization": f"Bearer {token}"}).status_code == 200
    hashes = [row[0] for row in db.execute("SELECT password_hash FROM users")]
    assert len(hashes) == len(IDENTITIES) - 1 and all(h.startswith("scrypt:") for h in hashes)
    files = [p for p in web_config.home.iterdir() if p.name.startswith("replykit.db")]
    for path in files:  # the database and its WAL
        data = path.read_bytes()
        assert PASSWORD.encode() not in data and token.encode() not in data, path.name


def test_agents_never_read_reviews_in_progress_through_the_api(as_user, db):
    ids = seed(db)
    ana, _ = as_user("ana")
    assert ana.get(f"/api/reviews/{ids['review']}").status_code == 200
    assert ana.get(f"/api/reviews/{ids['in_progress']}").status_code == 403
    listed = ana.get("/api/reviews?author=Ana Agent").get_json()
    assert [r["id"] for r in listed] == [ids["review"]]
    assert ana.get("/api/reviews?author=Ana Agent&state=in_progress").status_code == 403
    lead, _ = as_user("lee")
    assert len(lead.get("/api/reviews?author=Ana Agent").get_json()) == 2
    draft_review = lead.post("/reviews/start", data={
        "draft": ids["review_draft"], "csrf_token": csrf_token(lead, "/reviews/")})
    assert draft_review.status_code == 302
    result = ana.get(f"/api/review-requests/{ids['review_draft']}").get_json()
    assert result["reviews"] == []
    assert len(lead.get(f"/api/review-requests/{ids['review_draft']}").get_json()["reviews"]) == 1


def test_feedback_is_recorded_as_the_signed_in_user(as_user):
    ana, token = as_user("ana")
    response = ana.post("/api/suggestions/refund-policy/feedback",
                        json={"event": "inserted", "user": "Bo Agent"},
                        headers={"X-CSRFToken": token})
    assert response.status_code == 201 and response.get_json()["user"] == "Ana Agent"


def test_forwarded_addresses_count_only_behind_a_configured_proxy(app, db, web_config):
    """The per-address limit uses X-Forwarded-For only with `[web] proxies = 1`; otherwise a
    guesser cannot dodge it by sending the header."""
    for n in range(users.FREE_FAILURES_PER_ADDRESS):
        assert users.try_login(db, f"guess{n}", "wrong-password", "203.0.113.9") == (None, 0)

    def attempt(application, remote: str, forwarded: str) -> int:
        client = application.test_client()
        client.environ_base.update(REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
        return login(client, "lee").status_code

    assert attempt(app, "203.0.113.9", "198.51.100.7") == 429
    (web_config.home / "config.toml").write_text("[web]\nproxies = 1\n", encoding="utf-8")
    behind = create_app({"TESTING": True, "REPLYKIT_CONFIG": load_config(
        web_config.home, multilingual_model="")})
    assert attempt(behind, "127.0.0.1", "203.0.113.9") == 429
    assert attempt(behind, "127.0.0.1", "198.51.100.7") == 302
