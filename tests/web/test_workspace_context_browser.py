"""The workspace's conversation context and suggestion listbox (issue 12) in real headless
Chromium: a review request carries the question as it is when sent (not as it was at the
first typing pause) and the picked thread; picking a conversation asks about every customer
message since the last agent reply and fills the order reference, name and e-mail from it,
each still shown and changeable; the suggestions are a listbox (one Tab stop, arrows move
aria-selected, Enter inserts, Delete dismisses). Skipped, with the reason, where Chromium or
Playwright is missing."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from browser import chromium, login, serve, unavailable
from webtest_helpers import PASSWORD

from replykit.config import load_config
from replykit.home import Home
from rubrics import drafts as review_drafts
from suggest.conversations import import_conversations
from web import create_app

REASON = unavailable()
if REASON is None:
    from playwright.sync_api import expect
pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")

AXE = Path(__file__).with_name("vendor") / "axe.min.js"
THREAD = [
    ("customer", "Jane Doe", "Hello, my refund was issued last week for order #A-10293."),
    ("agent", "Ana Agent", "Hi Jane, yes, it was issued on Monday."),
    ("customer", "Jane Doe", "I still do not see the money."),
    ("customer", "Jane Doe", "Sorry, the order is ORD-55120. When will the refund arrive?"),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory, web_home_template):
    root = tmp_path_factory.mktemp("workspace-context") / "home"
    shutil.copytree(web_home_template, root)
    config = load_config(root, multilingual_model="")
    path = root.parent / "c9.jsonl"
    with open(path, "w", encoding="utf-8") as f:
        for n, (role, author, body) in enumerate(THREAD):
            f.write(json.dumps({
                "conversation_id": "C9", "message_id": f"m{n}", "role": role, "author": author,
                "channel": "email", "subject": "Refund", "body": body,
                "created_at": f"2026-09-10T10:{n:02d}:00Z"}) + "\n")
    home = Home(config)
    import_conversations(home.db, path)
    home.close()
    app = create_app(config)
    with serve(app) as base, chromium() as browser:
        yield base, browser, config


def agent(site):
    base, browser, _ = site
    page = login(browser, base, "ana", PASSWORD)
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    assert page.url.endswith("/workspace")
    return page


def stored_review_draft(site, page, before: str | None = None) -> dict:
    """The review draft the status link names; with `before` (the link of an earlier
    request), wait until the link names a newer one."""
    link = page.locator("#action-status a")
    expect(link).to_be_visible()
    if before is not None:
        expect(link).not_to_have_attribute("href", before)
    draft_id = int(link.get_attribute("href").rsplit("/", 1)[1])
    home = Home(site[2])
    try:
        return review_drafts.draft_result(home.db, draft_id)
    finally:
        home.close()


def test_a_review_request_carries_the_final_question(site):
    page = agent(site)
    with page.expect_response("**/api/drafts"):  # the first typing pause starts the session
        page.fill("#query", "refund please")
    page.wait_for_selector(".suggestion, .no-confident")
    page.fill("#query", "How long does my refund take to arrive?")
    page.fill("#editor", "Refunds take 5-10 business days.")
    page.click("#ask-review")
    stored = stored_review_draft(site, page)
    assert stored["question"] == "How long does my refund take to arrive?"
    assert stored["body"] == "Refunds take 5-10 business days."
    assert stored["conversation_id"] is None

    # picked from the queue, then the question edited: the thread goes with the final question
    page.fill("#editor", "")
    page.select_option("#conversation-pick", "C1")
    expect(page.locator("#query")).to_have_value("Thanks! How long does the refund take?")
    page.wait_for_timeout(500)
    page.fill("#query", "Thanks! How long does the refund take to reach my card?")
    page.fill("#editor", "About a week.")
    first = page.locator("#action-status a").get_attribute("href")
    page.click("#ask-review")
    stored = stored_review_draft(site, page, before=first)
    assert stored["question"] == "Thanks! How long does the refund take to reach my card?"
    assert stored["conversation_id"] == "C1"
    assert page.errors == []


def test_a_picked_conversation_asks_everything_since_the_last_reply_and_fills_its_details(site):
    page = agent(site)
    page.select_option("#conversation-pick", "C9")
    expect(page.locator("#query")).to_have_value(
        "I still do not see the money.\n\nSorry, the order is ORD-55120. "
        "When will the refund arrive?")
    card = page.locator(".suggestion", has=page.locator(".title", has_text="Refund issued"))
    card.locator(".insert").click()
    page.wait_for_selector("#prompts:not([hidden])")
    # the values from the conversation are shown, and the agent may change them
    order = page.locator("#prompt-fields input[name='order.id']")
    expect(order).to_have_value("ORD-55120")
    expect(page.locator("#prompt-fields input[name='customer.first_name']")).to_have_value("Jane")
    assert "from the conversation" in page.inner_text("#prompt-fields")
    expect(page.locator("#prompt-fields input[name='refund.amount']")).to_have_value("")
    order.fill("ORD-55121")
    page.click("#prompts button[type=submit]")
    expect(page.locator("#insert-note")).to_be_visible()
    text = page.input_value("#editor")
    assert "ORD-55121" in text and "ORD-55120" not in text and "Jane" in text
    assert "{{order.id" not in text and "{{customer.first_name" not in text
    assert page.errors == []


def test_suggestions_are_a_listbox_with_one_tab_stop(site):
    page = agent(site)
    page.fill("#query", "Can I get a refund? I bought it last week")
    page.wait_for_selector(".suggestion")
    box = page.locator("#suggestions")
    expect(box).to_have_attribute("role", "listbox")
    assert box.get_attribute("aria-label")
    options = page.locator("#suggestions [role=option]")
    count = options.count()
    assert count >= 3 and count == page.locator(".suggestion").count()
    # each option is named by its content, title first (so its name holds all its visible
    # text: axe's label-content-name-mismatch), without the mouse-only buttons
    title = options.nth(0).locator(".title").inner_text()
    expect(options.nth(0)).to_have_accessible_name(re.compile("^" + re.escape(title)))
    expect(options.nth(0)).not_to_have_accessible_name(re.compile("Insert|Dismiss"))
    # nothing inside an option takes focus: the list is one stop between question and editor
    assert page.locator("#suggestions button, #suggestions [tabindex], #suggestions a").count() == 0

    def selected() -> list[int]:
        return [i for i in range(count) if options.nth(i).get_attribute("aria-selected") == "true"]

    assert selected() == [0]
    page.focus("#query")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "suggestions"
    page.keyboard.press("ArrowDown")
    assert selected() == [1]
    assert box.get_attribute("aria-activedescendant") == options.nth(1).get_attribute("id")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowUp")
    assert selected() == [1]
    page.keyboard.press("End")
    assert selected() == [count - 1]
    page.keyboard.press("ArrowDown")  # stays at the end
    assert selected() == [count - 1]
    page.keyboard.press("Home")
    assert selected() == [0]
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "editor"
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.id") == "suggestions"

    # Delete dismisses the selected one and the next takes the selection; Enter inserts it
    first = options.nth(0).locator(".title").inner_text()
    second = options.nth(1).locator(".title").inner_text()
    page.keyboard.press("Delete")
    expect(page.locator(".suggestion .title", has_text=first)).to_have_count(0)
    assert page.locator("[role=option][aria-selected=true] .title").inner_text() == second
    assert page.evaluate("document.activeElement.id") == "suggestions"
    page.keyboard.press("Enter")
    page.locator("#prompts:not([hidden]), #insert-note:not([hidden])").first.wait_for()
    if page.locator("#prompts").is_visible():
        page.click("#prompts button[type=submit]")
    expect(page.locator("#insert-note-text")).to_contain_text(second)

    # the shortcuts from anywhere still work: Alt+↓ from the editor moves the selection
    page.focus("#editor")
    page.keyboard.press("Alt+ArrowDown")
    assert page.locator("[role=option][aria-selected=true] .title").inner_text() != second

    # axe finds the listbox well formed: no focusable content in options, required children
    # evaluated by the debugger: the page's CSP allows no inline script tag
    page.evaluate(AXE.read_text(encoding="utf-8"))
    assert page.evaluate("typeof axe.run") == "function"
    found = page.evaluate("""async () => (await axe.run('.suggestions-panel', {runOnly:
        ['aria-required-children', 'aria-required-parent', 'nested-interactive',
         'aria-allowed-attr', 'aria-valid-attr-value', 'aria-input-field-name']}))
        .violations.map(v => v.id)""")
    assert found == []
    assert page.errors == []


def test_with_no_suggestion_the_list_is_no_listbox_and_no_tab_stop(site):
    page = agent(site)
    page.fill("#query", "asdf qwerty zxcv")
    page.wait_for_selector(".no-confident, .suggestions .empty")
    box = page.locator("#suggestions")
    assert box.get_attribute("role") is None and box.get_attribute("tabindex") is None
    if page.locator("#show-weak").count():
        page.click("#show-weak")
        expect(box).to_have_attribute("role", "listbox")
        assert page.evaluate("document.activeElement.id") == "suggestions"
        expect(page.locator("#suggest-notice")).to_contain_text("check before using")
    assert page.errors == []
