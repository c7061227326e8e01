"""Logins, sessions, roles, CSRF, API tokens, security headers and the secret key."""

from __future__ import annotations

import stat

import pytest
from webtest_helpers import PASSWORD, csrf_token, login

from replykit import users
from replykit.config import load_config
from web import create_app

pytestmark = pytest.mark.both_backends


def test_login_page_and_success_redirects_to_next(client):
    page = client.get("/login")
    assert page.status_code == 200 and 'name="csrf_token"' in page.get_data(as_text=True)
    token = csrf_token(client)
    response = client.post("/login", data={"username": "ana", "password": PASSWORD,
                                           "csrf_token": token, "next": "/workspace"})
    assert response.status_code == 302 and response.headers["Location"] == "/workspace"
    page = client.get("/workspace")
    assert page.status_code == 200 and "Ana Agent" in page.get_data(as_text=True)


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil"])
def test_login_never_redirects_off_site(client, target):
    token = csrf_token(client)
    response = client.post("/login", data={"username": "ana", "password": PASSWORD,
                                           "csrf_token": token, "next": target})
    assert response.headers["Location"] == "/"


def test_wrong_password_and_unknown_user_look_the_same(client):
    wrong = login(client, "ana", "not-the-password")
    missing = login(client, "nobody", "not-the-password")
    assert wrong.status_code == missing.status_code == 401
    assert "Wrong username or password." in wrong.get_data(as_text=True)
    assert "Wrong username or password." in missing.get_data(as_text=True)


def test_login_without_csrf_token_is_refused(client):
    response = client.post("/login", data={"username": "ana", "password": PASSWORD})
    assert response.status_code == 400 and "CSRF" in response.get_data(as_text=True)
    assert client.get("/workspace").status_code == 302


def test_login_rate_limit_per_username(client):
    for _ in range(users.FREE_FAILURES_PER_USER):
        assert login(client, "ana", "wrong-password").status_code == 401
    blocked = login(client, "ana", PASSWORD)
    assert blocked.status_code == 429 and "Too many failed logins" in blocked.get_data(as_text=True)
    assert login(client, "bo").status_code == 302  # other users are unaffected


def test_session_cookie_flags_and_renewal_at_login(client):
    client.get("/login")
    before = client.get_cookie("replykit_session")
    response = login(client, "ana")
    header = response.headers["Set-Cookie"]
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Secure" in header
    after = client.get_cookie("replykit_session")
    assert before is not None and after.value != before.value


def test_logout_ends_the_session_on_the_server(client):
    login(client, "ana")
    stolen = client.get_cookie("replykit_session").value
    token = csrf_token(client, "/workspace")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/workspace").status_code == 302
    client.set_cookie("replykit_session", stolen)  # replaying the old cookie does not work
    assert client.get("/workspace").status_code == 302


def test_logout_needs_csrf(client):
    login(client, "ana")
    assert client.post("/logout").status_code == 400
    assert client.get("/workspace").status_code == 200


def test_role_change_and_password_reset_end_sessions(client, db):
    login(client, "ana")
    users.set_roles(db, "ana", "reviewer")
    assert client.get("/workspace").status_code == 302
    login(client, "ana")
    users.reset_password(db, "ana", "another-password")
    assert client.get("/reviews/mine").status_code == 302


def test_anonymous_pages_redirect_and_api_answers_401(client):
    response = client.get("/library/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/library/")
    response = client.post("/api/suggest", json={"query": "refund"})
    assert response.status_code == 401 and "error" in response.get_json()
    assert client.get("/api/reviews").status_code == 401


def test_wrong_role_is_403(client):
    login(client, "ana")
    assert client.get("/library/").status_code == 403
    assert client.get("/reports/").status_code == 403
    response = client.get("/api/reports/speed")
    assert response.status_code == 403 and response.get_json() == {
        "error": "your role does not allow this"}


def test_admin_passes_every_role_check(client):
    login(client, "root")
    for path in ("/workspace", "/library/", "/reports/", "/reviews/"):
        assert client.get(path).status_code == 200, path


def test_api_call_from_the_browser_needs_the_csrf_header(client):
    login(client, "ana")
    assert client.post("/api/suggest", json={"query": "refund"}).status_code == 400
    token = csrf_token(client, "/workspace")
    response = client.post("/api/suggest", json={"query": "refund"},
                           headers={"X-CSRFToken": token})
    assert response.status_code == 200 and response.get_json()["suggestions"]


def test_bearer_token_authenticates_without_csrf_and_can_be_revoked(client, db):
    created = users.create_token(db, "ana", "script")
    assert created["token"].startswith("rk_")
    stored = db.execute("SELECT token_hash FROM api_tokens").fetchone()[0]
    assert created["token"] not in stored and stored == users.sha256(created["token"])
    auth = {"Authorization": f"Bearer {created['token']}"}
    response = client.post("/api/suggest", json={"query": "refund"}, headers=auth)
    assert response.status_code == 200
    assert client.get("/api/reports/speed", headers=auth).status_code == 403
    users.revoke_token(db, created["id"])
    response = client.post("/api/suggest", json={"query": "refund"}, headers=auth)
    assert response.status_code == 401
    assert response.get_json() == {"error": "invalid, expired or revoked API token"}


def test_bearer_token_is_not_a_page_login(client, db):
    token = users.create_token(db, "lee")["token"]
    response = client.get("/library/", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 302


def test_security_headers(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert client.get("/api/openapi.json").headers["X-Content-Type-Options"] == "nosniff"


def test_secret_key_is_generated_once_with_private_permissions(web_config):
    if web_config.is_postgres:  # SQLite only: on PostgreSQL the generated key is the database's
        pytest.skip("on PostgreSQL the generated key lives in the database, not HOME/secret_key")
    path = web_config.home / "secret_key"
    assert not path.exists()
    first = create_app({"TESTING": True, "REPLYKIT_CONFIG": web_config}).secret_key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = create_app({"TESTING": True, "REPLYKIT_CONFIG": web_config}).secret_key
    assert first == again and len(first) > 40


def test_configured_secret_key_wins(web_config):
    config = load_config(web_config.home, multilingual_model="", secret_key="configured-key")
    assert create_app(config).secret_key == "configured-key"
    assert not (web_config.home / "secret_key").exists()


def test_every_view_declares_its_access(app):
    for endpoint, view in app.view_functions.items():
        if endpoint == "static":
            continue
        assert getattr(view, "is_public", False) or view.required_roles, endpoint


def test_user_store_validation(db):
    from replykit.errors import Conflict, InputError

    with pytest.raises(InputError, match="at least 8"):
        users.add_user(db, "kim", "short", "agent")
    with pytest.raises(InputError, match="unknown role 'boss'"):
        users.add_user(db, "kim", PASSWORD, "boss")
    with pytest.raises(InputError, match="username"):
        users.add_user(db, "Kim Lee", PASSWORD, "agent")
    with pytest.raises(Conflict):
        users.add_user(db, "ANA", PASSWORD, "agent")
    row = db.execute("SELECT password_hash FROM users WHERE username = 'ana'").fetchone()[0]
    assert PASSWORD not in row and row.startswith(("scrypt:", "pbkdf2:"))
