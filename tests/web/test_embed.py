"""The /embed panel's framing rules (web/framing.py): only the configured helpdesk origins may
frame it, nothing else becomes frameable, a hostile `[web] embed_origins` value refuses to
start, and `embed_cookies` gives a session cookie that lives inside the helpdesk's iframe."""

from __future__ import annotations

import dataclasses
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from webtest_helpers import PASSWORD

import storage.conversations
from replykit import users
from replykit.config import ConfigError
from replykit.home import Home
from storage.db import write_transaction
from storage.webhooks import note_sources
from web import create_app
from web.framing import embed_origins

HELPDESK = "https://support.example.com"


def configured(config, **web):
    """`config` with these `[web]` settings (cookies over plain HTTP for the test client)."""
    return dataclasses.replace(config, sections={"web": {"secure_cookies": False} | web})


@pytest.fixture(scope="module")
def framed_app(module_web_config):
    config = configured(module_web_config, embed_origins=[HELPDESK, "http://localhost:8123"])
    return create_app({"TESTING": True, "REPLYKIT_CONFIG": config})


def test_nothing_is_frameable_without_configured_origins(module_web_config):
    client = create_app(configured(module_web_config)).test_client()
    response = client.get("/embed")
    assert response.status_code == 200
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"


def test_only_the_panel_is_frameable_and_only_by_the_configured_origins(framed_app):
    client = framed_app.test_client()
    response = client.get("/embed")
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors https://support.example.com http://localhost:8123;" in csp
    assert "'none'" not in csp.split("frame-ancestors")[1].split(";")[0]
    assert "X-Frame-Options" not in response.headers
    assert "script-src 'self'" in csp
    # every other page and the JSON API stay unframeable
    for path in ("/login", "/workspace", "/api/openapi.json", "/health"):
        other = client.get(path)
        assert "frame-ancestors 'none'" in other.headers["Content-Security-Policy"], path
        assert other.headers["X-Frame-Options"] == "DENY", path


def test_panel_holds_the_origins_its_script_accepts_messages_from(framed_app):
    html = framed_app.test_client().get("/embed").get_data(as_text=True)
    found = re.search(r'data-origins="([^"]*)"', html).group(1)
    assert found == "[&#34;https://support.example.com&#34;, &#34;http://localhost:8123&#34;]"


@pytest.mark.parametrize("origin", [
    "*", "https://*.example.com", "https://support.example.com/app", "'self'", "null",
    "https://support.example.com 'unsafe-inline'", "https://a.example.com; script-src *",
    "https://a.example.com,https://b.example.com", "http://support.example.com",
    "javascript:alert(1)", "data:", "https://user@support.example.com",
    "https://support.example.com:99999", "https://support.example.com:0", "",
    "https://support.example.com?x=1", "https://support.example.com#x",
])
def test_a_hostile_or_malformed_origin_refuses_to_start(module_web_config, origin):
    with pytest.raises(ConfigError, match=r"\[web\] embed_origins: .* is not an origin"):
        create_app(configured(module_web_config, embed_origins=[origin]))


def test_origins_are_written_as_browsers_write_a_message_origin(module_web_config):
    config = configured(module_web_config, embed_origins=[
        "HTTPS://Support.Example.com:443/", "https://support.example.com", "http://localhost:80",
        "https://desk.example.com:8443"])
    assert embed_origins(config) == (
        "https://support.example.com", "http://localhost", "https://desk.example.com:8443")


def test_origins_must_be_a_list(module_web_config):
    with pytest.raises(ConfigError, match=r"\[web\] embed_origins: must be a list"):
        create_app(configured(module_web_config, embed_origins=HELPDESK))


@given(st.text(max_size=60))
def test_an_accepted_origin_is_only_scheme_host_and_port(module_web_config, text):
    config = configured(module_web_config, embed_origins=[text])
    try:
        found = embed_origins(config)
    except ConfigError:
        return
    assert re.fullmatch(r"https?://[a-z0-9.\-\[\]:]+", found[0])
    assert found[0].startswith("https://") or found[0].split("//")[1].split(":")[0] in (
        "localhost", "127.0.0.1", "[::1]")


def test_embed_cookies_live_in_the_frame_and_keep_csrf(module_web_config):
    config = dataclasses.replace(module_web_config, sections={"web": {
        "embed_origins": [HELPDESK], "embed_cookies": True}})
    client = create_app(config).test_client()
    login_page = client.get("/login", base_url="https://replykit.example.com")
    assert "frame-ancestors https://support.example.com;" in (
        login_page.headers["Content-Security-Policy"])
    token = re.search(r'name="csrf-token" content="([^"]+)"', login_page.get_data(as_text=True))[1]
    response = client.post("/login", base_url="https://replykit.example.com",
                           headers={"Referer": "https://replykit.example.com/login"},
                           data={"username": "ana", "password": PASSWORD, "csrf_token": token})
    cookie = next(h for h in response.headers.getlist("Set-Cookie")
                  if h.startswith("replykit_session="))
    for flag in ("Secure", "SameSite=None", "Partitioned", "HttpOnly"):
        assert flag in cookie
    # a cookie session still needs the CSRF token for a write
    refused = client.post("/api/suggest", base_url="https://replykit.example.com",
                          json={"query": "refund"})
    assert refused.status_code == 400 and "CSRF" in refused.get_json()["error"]


@pytest.mark.parametrize("web, problem", [
    ({"embed_origins": [HELPDESK], "embed_cookies": True, "secure_cookies": False},
     "needs secure_cookies = true"),
    ({"embed_cookies": True}, "needs embed_origins"),
    ({"embed_origins": [HELPDESK], "embed_cookies": "yes"}, "must be true or false"),
])
def test_embed_cookies_refused_where_browsers_would_drop_them(module_web_config, web, problem):
    config = dataclasses.replace(module_web_config, sections={"web": web})
    with pytest.raises(ConfigError, match=rf"\[web\] embed_cookies: {problem}"):
        create_app(config)


def test_send_posts_only_into_the_helpdesk_the_conversation_came_from(module_web_config):
    """Refused before anything is posted: a conversation from a file, a `source` that is not
    the one it came from, one whose source is no longer configured, or one the agent may not
    read. Nothing is recorded as sent."""
    config = dataclasses.replace(module_web_config, sections={"sync": {"desk": {
        "type": "django-helpdesk", "url": "http://127.0.0.1:9"}}})
    home = Home(config)
    with write_transaction(home.db):  # C2 came from the helpdesk "desk", C3 from "gone"
        note_sources(home.db, "desk", ["C2"], "2026-11-29T00:00:00+00:00")
        note_sources(home.db, "gone", ["C3"], "2026-11-29T00:00:00+00:00")
    client = create_app(config).test_client()

    def send(conversation: str, username: str = "root", **body):
        bearer = f"Bearer {users.create_token(home.db, username)['token']}"
        return client.post(f"/api/conversations/{conversation}/send",
                           headers={"Authorization": bearer}, json={"text": "Thanks!"} | body)

    for conversation, body, status, error in (
            ("C1", {}, 400, "did not come from a helpdesk"),
            ("C2", {"source": "other"}, 400, "came from 'desk', not 'other'"),
            ("C2", {"suggestion_id": "refund-policy"}, 400, "give both"),
            ("C2", {"suggestion_kind": "draft"}, 400, "must be saved or past"),
            ("C3", {}, 400, "no source 'gone' is configured"),
            ("C3", {"username": "ana"}, 404, "no conversation 'C3'"),  # answered: not hers
            ("C9", {}, 404, "no conversation 'C9'")):
        answer = send(conversation, **body)
        assert (answer.status_code, error in answer.get_json()["error"]) == (status, True), (
            conversation, body, answer.get_json())
    assert send("C2", username="rui").status_code == 403  # a reviewer sends nothing
    sent = [r for conversation in ("C1", "C2", "C3")
            for r in storage.conversations.sent_replies_of(home.db, conversation)]
    assert [r for r in sent if r["source"] == "embed"] == []  # (imported replies count too)
    home.close()
