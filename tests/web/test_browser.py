"""Browser tests in real headless Chromium: an agent signs in, types a question, sees
suggestions, inserts one (filling a placeholder), edits it and sends it for review; the
reviewer scores it; the agent sees the result; a lead approves a saved reply and opens the
dashboard. Skipped, with the reason, where Chromium or Playwright is missing."""

from __future__ import annotations

import re

import pytest
from browser import chromium, login, serve, unavailable
from webtest_helpers import PASSWORD

from suggest import library
from web import create_app

REASON = unavailable()
if REASON is None:
    from playwright.sync_api import expect
pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")


@pytest.fixture(scope="module")
def site(module_web_config):
    config = module_web_config
    app = create_app(config)
    with serve(app) as base, chromium() as browser:
        yield base, browser, config


def test_agent_reviewer_and_lead_flow(site):
    base, browser, config = site
    errors = []

    # the agent: question -> suggestions -> insert with a placeholder prompt -> edit -> review
    page = login(browser, base, "ana", PASSWORD)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    assert page.url.endswith("/workspace")
    page.fill("#query", "Can I get a refund? I bought it last week")
    page.wait_for_selector(".suggestion")
    first = page.locator(".suggestion").first
    assert "Refund policy" in first.inner_text() and "matched" in first.inner_text()
    assert page.locator(".suggestion.selected").count() == 1
    page.keyboard.press("Alt+ArrowDown")
    assert page.locator(".suggestion.selected").get_attribute("data-index") == "1"
    page.keyboard.press("Alt+ArrowUp")
    page.keyboard.press("Alt+Enter")
    page.wait_for_selector("#prompts:not([hidden])")
    assert "Customer first name" in page.inner_text("#prompt-fields")
    page.fill("#prompt-fields input[name='customer.first_name']", "Dana")
    page.click("#prompts button[type=submit]")
    expect(page.locator("#editor")).to_have_value(re.compile(r"^Hi Dana,"))
    assert "Ana Agent" in page.input_value("#editor")
    page.locator("#editor").press("End")
    page.keyboard.type("\nP.S. Your order number helps.")
    page.select_option("#reviewer", "Rui Reviewer")
    page.click("#ask-review")
    page.wait_for_selector("#action-status a")
    draft_link = page.get_attribute("#action-status a", "href")
    assert draft_link.startswith("/reviews/drafts/")

    # the reviewer scores it (live score), submits; the draft goes back with the comment
    reviewer = login(browser, base, "rui", PASSWORD)
    reviewer.goto(f"{base}/reviews/")
    reviewer.click("form:has(input[name=draft]) button")
    reviewer.wait_for_selector("#score-form")
    assert "P.S. Your order number helps." in reviewer.content()
    for key, value in (("accurate", "4"), ("complete", "3"), ("clear", "4"), ("empathy", "na"),
                       ("personalised", "3"), ("honest", "4"), ("next_steps", "1"),
                       ("tone", "4")):
        reviewer.check(f'input[name="rating-{key}"][value="{value}"]')
    assert reviewer.inner_text("#live-score") == "88.89"
    reviewer.fill("textarea[name=overall]", "Good. Say business days.")
    reviewer.click("#submit-review")
    reviewer.wait_for_url("**/reviews/*")
    assert "88.89" in reviewer.inner_text("h1")

    page.goto(base + draft_link)
    assert "Good. Say business days." in page.inner_text("#return-comment")

    # the lead approves a proposed (draft) saved reply and opens the dashboard
    lead = login(browser, base, "lee", PASSWORD)
    lead.goto(f"{base}/library/?status=draft")
    lead.click("a[href=\"/library/replies/sso-setup\"]")
    lead.click("#approve")
    lead.wait_for_selector(".badge.approved")
    from replykit.home import Home

    home = Home(config)
    assert library.get_reply(home.db, "sso-setup")["status"] == "approved"
    home.close()
    lead.goto(f"{base}/reports/?from=2026-08-01&to=2026-09-30")
    assert lead.locator("figure svg").count() == 8
    assert errors == []


def test_no_inline_script_or_style_is_blocked(site):
    """The CSP forbids inline code: pages must not trigger CSP violations."""
    base, browser, _ = site
    page = login(browser, base, "root", PASSWORD)
    violations = []
    page.on("console", lambda m: violations.append(m.text)
            if "Content Security Policy" in m.text else None)
    for path in ("/workspace", "/library/", "/library/replies/th-refund-policy/edit",
                 "/reviews/", "/reviews/rubrics", "/reports/"):
        page.goto(base + path)
        page.wait_for_load_state("networkidle")
    assert violations == []
