"""The authorisation matrix: every rule of the app's URL map x every method it accepts x
anonymous and each role (by session, and by API token on /api/) -> the expected answer.

EXPECTED is written by hand: it is what docs/web.md promises, not what the views declare (a
separate test checks the two agree). A new route fails `test_table_covers_every_endpoint`
until it gets a row. Every response is also checked for the security headers."""

from __future__ import annotations

import pytest
from security_seed import seed
from webtest_helpers import PASSWORD, csrf_token, signed_in

from replykit import users
from web.security import has_role

# label -> username; "agent" (Ana) owns the seeded reviews, drafts and dispute
IDENTITIES = {"anonymous": None, "agent": "ana", "other agent": "bo", "reviewer": "rui",
              "lead": "lee", "admin": "root"}
EVERYONE = frozenset(IDENTITIES)
SIGNED_IN = EVERYONE - {"anonymous"}
AGENTS = frozenset({"agent", "other agent", "admin"})
REVIEWERS = frozenset({"reviewer", "lead", "admin"})  # reviewer or lead role
LEADS = frozenset({"lead", "admin"})
OWN = frozenset({"agent"})  # only Ana, whose data it is
ADMIN = frozenset({"admin"})

EXPECTED = {
    "static": EVERYONE,
    "auth.login": EVERYONE,
    "health.health": EVERYONE,
    "i18n.choose_language": EVERYONE,
    "auth.logout": SIGNED_IN,
    "workspace.index": EVERYONE,
    "workspace.workspace": AGENTS,
    "embed.panel": EVERYONE,  # an empty shell: its JSON calls need the login
    "embed.send": AGENTS,  # here no helpdesk is configured: 400 once allowed
    "openapi.document": EVERYONE,
    "api_suggest.api_suggest": SIGNED_IN,
    # refund-policy is billing's: Bo (support) and Rui (no team) do not see it
    "api_suggest.api_feedback": frozenset({"agent", "lead", "admin"}),
    "api_workspace.api_conversations": SIGNED_IN,
    "api_workspace.api_conversation": SIGNED_IN,
    "api_workspace.api_render": SIGNED_IN,
    "api_workspace.api_draft_start": SIGNED_IN,
    "api_workspace.api_draft_finish": OWN,
    "api_workspace.api_review_request": OWN,
    "api_workspace.api_review_request_result": OWN | REVIEWERS,
    "api_workspace.api_propose_reply": SIGNED_IN,
    "api_workspace.api_library": SIGNED_IN,  # each sees the approved replies of their teams
    # refund-policy's attachment: like refund-policy itself, billing's
    "api_workspace.api_attachment": frozenset({"agent", "lead", "admin"}),
    "api_reports.api_report": REVIEWERS,
    "api_reports.api_rubrics": SIGNED_IN,
    "api_reports.api_rubric": SIGNED_IN,
    "api_reports.api_reviews": OWN | REVIEWERS,  # ?author=Ana Agent
    "api_reports.api_review": OWN | REVIEWERS,
    "api_reports.api_queue": REVIEWERS,  # ?reviewer=Rui Reviewer: his own, or a lead
    "api_reports.api_calibration": REVIEWERS,
    "library.index": LEADS,
    "library.new": LEADS,
    "library.view": LEADS,
    "library.edit": LEADS,
    "library.history": LEADS,
    "library.restore": LEADS,
    "library.approve": LEADS,
    "library.archive": LEADS,
    "library.bulk_tag": LEADS,
    "library.export": LEADS,
    "library.import_": LEADS,
    "library.curation_view": LEADS,
    "library.merge": LEADS,
    "library.merge_compare": LEADS,
    "reviews.queue": REVIEWERS,
    "reviews.start": REVIEWERS,
    "reviews.score": frozenset({"reviewer"}),  # only the review's reviewer (Rui)
    "reviews.view": OWN | REVIEWERS,
    "reviews.dispute": OWN,  # only the reviewed agent
    "reviews.mine": SIGNED_IN,
    "reviews.draft": OWN | REVIEWERS,
    "reviews.disputes_list": LEADS,
    "reviews.resolve": LEADS,
    "reviews.calibration_view": REVIEWERS,
    "reviews.sessions": REVIEWERS,
    "reviews.create_session": LEADS,
    "reviews.session_view": REVIEWERS,  # its creator (Lee), participants (Rui, Lee), admins
    "reviews.assign_view": LEADS,
    "reviews.assign": LEADS,
    "api_reports.api_calibration_session": REVIEWERS,
    "reviews.rubrics": LEADS,
    "reports.dashboard": REVIEWERS,
    "reports.table": REVIEWERS,
    "reports.conversation": REVIEWERS,
    # users, roles, teams, tokens and the audit log (the target is Bo, the other agent)
    "admin.users_list": ADMIN,
    "admin.new_user": ADMIN,
    "admin.user": ADMIN,
    "admin.set_roles": ADMIN,
    "admin.set_teams": ADMIN,
    "admin.reset_password": ADMIN,
    "admin.deactivate": ADMIN,
    "admin.activate": ADMIN,
    "admin.create_token": ADMIN,
    "admin.revoke_token": ADMIN,
    "admin.audit_log": ADMIN,
    # a helpdesk's webhook: public, but only a signature opens it (tests/connectors/
    # test_hooks.py); the seeded home has no [sync] source, so every identity gets a 404
    "hooks.receive": EVERYONE,
    # applying a saved reply's actions through the helpdesk connector
    "reply_actions.apply_actions": AGENTS | LEADS,
}
# no session, role or API token opens these: a helpdesk's signature does (see above)
SIGNED_ONLY = {"hooks.receive"}
# refused with 404 rather than 403: someone else's drafting session is not revealed
HIDDEN = {"api_workspace.api_draft_finish", "api_workspace.api_review_request",
          "api_suggest.api_feedback",  # another team's saved reply: as if there were none
          "api_workspace.api_attachment"}


def _url_values(ids: dict) -> tuple[dict, dict, dict]:
    """URL arguments by name, per-endpoint overrides, and query strings, from seeded data."""
    values = {"reply_id": "refund-policy", "version": 1, "review_id": ids["review"],
              "dispute_id": ids["dispute"], "draft_id": ids["review_draft"],
              "review_draft_id": ids["review_draft"], "conversation_id": "C1",
              "suggestion_id": "refund-policy", "kind": "speed", "filename": "css/app.css",
              "user_id": ids.get("user"), "token_id": ids.get("token"),
              "session_id": ids["calibration_session"]}
    overrides = {"reports.table": {"name": "responses"}, "hooks.receive": {"source": "helpdesk"},
                 "api_reports.api_rubric": {"name": "support-reply"},
                 "api_workspace.api_draft_finish": {"draft_id": ids["drafting"]},
                 "api_workspace.api_review_request": {"draft_id": ids["drafting"]},
                 "api_workspace.api_attachment": {"filename": ids["attachment"]}}
    queries = {"api_reports.api_reviews": {"author": "Ana Agent"},
               "api_reports.api_queue": {"reviewer": "Rui Reviewer"},
               "library.merge_compare": {"a": "refund-policy", "b": "password-reset"}}
    return values, overrides, queries


def requests_of(app, ids: dict) -> list[tuple[str, str, str, dict]]:
    """(endpoint, method, path, query) for every rule and method, GETs first; signing in
    and out last (they change the client's session)."""
    values, overrides, queries = _url_values(ids)
    adapter = app.url_map.bind("localhost")
    found = []
    for rule in app.url_map.iter_rules():
        args = {a: overrides.get(rule.endpoint, {}).get(a, values.get(a)) for a in rule.arguments}
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            path = adapter.build(rule.endpoint, args, method=method)
            found.append((rule.endpoint, method, path, queries.get(rule.endpoint, {})))
    return sorted(found, key=lambda r: (r[0].startswith("auth."), r[1] != "GET", r[0]))


def check_headers(response, where: str) -> None:
    csp = response.headers.get("Content-Security-Policy", "")
    script_src = next((d for d in csp.split(";") if d.strip().startswith("script-src")), "")
    assert "script-src 'self'" in csp and "unsafe-inline" not in script_src, where
    assert "frame-ancestors 'none'" in csp, where
    assert response.headers.get("X-Content-Type-Options") == "nosniff", where


def send(client, token: str | None, method: str, path: str, query: dict, bearer: str = ""):
    """One request as a browser (CSRF token in the form / X-CSRFToken header) or a script."""
    kwargs = {"query_string": query}
    if bearer:
        kwargs["headers"] = {"Authorization": f"Bearer {bearer}"}
    elif method != "GET" and path.startswith("/api/"):
        kwargs["headers"] = {"X-CSRFToken": token}
    if method != "GET":
        if path.startswith("/api/"):
            kwargs["json"] = {}
        elif path == "/login":  # a real sign-in, so the public form is not a 401
            kwargs["data"] = {"csrf_token": token, "username": "ana", "password": PASSWORD}
        else:
            kwargs["data"] = {"csrf_token": token}
    return client.open(path, method=method, **kwargs)


def verdict(response) -> str:
    """'login' (redirected to sign in / 401), 'forbidden' (403), 'hidden' (404), 'in'."""
    location = response.headers.get("Location", "")
    if response.status_code == 401 or (response.status_code == 302
                                       and location.startswith("/login?next=")):
        return "login"
    if response.status_code in (403, 404):
        return {403: "forbidden", 404: "hidden"}[response.status_code]
    assert response.status_code in (200, 201, 302, 400, 409), response.status_code
    return "in"


def expected_verdict(endpoint: str, identity: str) -> str:
    if endpoint in SIGNED_ONLY:
        return "hidden"
    if identity in EXPECTED[endpoint]:
        return "in"
    if identity == "anonymous":
        return "login"
    return "hidden" if endpoint in HIDDEN else "forbidden"


def test_table_covers_every_endpoint(app):
    assert set(EXPECTED) == set(app.view_functions), (
        "add a row to EXPECTED for every new endpoint (and remove rows of deleted ones)")


def test_table_agrees_with_the_declarations(app):
    """Role checks can only be narrowed by row-level checks in a view, or widened to the
    owner by `allow=` (an independent cross-check: the table is not derived from this)."""
    people = {label: None if name is None else {"name": name, "roles": [role]}
              for label, name, role in [("anonymous", None, None), ("agent", "ana", "agent"),
                                        ("other agent", "bo", "agent"),
                                        ("reviewer", "rui", "reviewer"),
                                        ("lead", "lee", "lead"), ("admin", "root", "admin")]}
    for endpoint, view in app.view_functions.items():
        if getattr(view, "is_public", False) or endpoint == "static":
            assert EXPECTED[endpoint] == EVERYONE, endpoint
            continue
        declared = {label for label, user in people.items()
                    if has_role(user, *view.required_roles)}
        widened = OWN if view.allow_own else frozenset()
        assert EXPECTED[endpoint] <= declared | widened, endpoint
        assert "anonymous" not in EXPECTED[endpoint], endpoint


@pytest.mark.parametrize("identity", list(IDENTITIES))
def test_every_route_for_every_identity(app, db, identity):
    ids = seed(db)
    # the admin pages' target: Bo (the other agent) and an API token of his
    ids |= {"user": users.get_user(db, "bo")["id"], "token": users.create_token(db, "bo")["id"]}
    username = IDENTITIES[identity]
    bearer = users.create_token(db, username)["token"] if username else ""
    client, token = None, None
    seen = 0
    for endpoint, method, path, query in requests_of(app, ids):
        if client is None:  # (again) after signing in or out
            client = app.test_client()
            token = signed_in(client, username) if username else csrf_token(client)
        want = expected_verdict(endpoint, identity)
        where = f"{identity} {method} {path}"
        response = send(client, token, method, path, query)
        assert verdict(response) == want, f"{where}: {response.status_code}"
        check_headers(response, where)
        response.close()  # static files are streamed from an open file
        if bearer and path.startswith("/api/"):  # a token acts with its user's roles only
            response = send(app.test_client(), None, method, path, query, bearer)
            assert verdict(response) == want, f"{where} (API token): {response.status_code}"
            check_headers(response, where)
        if endpoint.startswith("auth.") and method == "POST":
            client = None
        seen += 1
    assert seen == sum(len(r.methods - {"HEAD", "OPTIONS"}) for r in app.url_map.iter_rules())
