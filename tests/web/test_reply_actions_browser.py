"""In real headless Chromium: an agent inserts a saved reply with actions into a conversation
synced from a REAL django-helpdesk (tests/helpdesk_peer.py); the actions reach the ticket and
the insert note lists what the helpdesk applied and what its API does not allow. Skipped,
with the reason, where Chromium or Playwright is missing."""

from __future__ import annotations

import pytest
from browser import chromium, login, serve, unavailable
from helpdesk_peer import helpdesk_peer  # noqa: F401 (the session fixture)
from webtest_helpers import PASSWORD

from connectors.base import make_source
from connectors.sync import run_sync
from replykit.home import Home
from suggest import library
from web import create_app

REASON = unavailable()
if REASON is None:
    from playwright.sync_api import expect
pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")


def test_inserting_a_saved_reply_applies_its_actions_in_the_helpdesk(
        web_config, helpdesk_peer, monkeypatch):  # noqa: F811
    peer = helpdesk_peer
    monkeypatch.setenv("PEER_USER", peer.username)
    monkeypatch.setenv("PEER_PASSWORD", peer.password)
    web_config.sections["sync"] = {"helpdesk": {
        "type": "django-helpdesk", "url": peer.base_url, "username_env": "PEER_USER",
        "password_env": "PEER_PASSWORD", "queues": {str(peer.queue_id): "billing"}}}
    ticket = peer.create_ticket("Charged twice", "I was charged twice this month",
                                "emma@example.com")
    home = Home(web_config)
    try:
        run_sync(home.db, make_source(web_config.sections, "helpdesk"))
        library.add_reply(home.db, {
            "id": "refund-done", "title": "Second charge refunded",
            "body": "We have refunded the second charge.",
            "actions": [{"type": "set_status", "value": "resolved"},
                        {"type": "add_tags", "value": ["refund"]}]})
    finally:
        home.close()
    with serve(create_app(web_config)) as base, chromium() as browser:
        page = login(browser, base, "ana", PASSWORD)
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.select_option("#conversation-pick", str(ticket))
        page.wait_for_selector("#thread:not([hidden])")
        page.click("#library summary")
        page.fill("#library-q", "Second charge")
        page.locator(".library-item", has_text="Second charge refunded").click()
        page.locator("#library-preview").get_by_role("button", name="Insert").click()
        actions = page.locator("#insert-actions")
        expect(actions).to_contain_text("set_status resolved: applied")
        expect(actions).to_contain_text("add_tags ['refund']: not supported")
        assert errors == []
    assert peer.api("GET", f"api/tickets/{ticket}/")["status"] == 3  # resolved
