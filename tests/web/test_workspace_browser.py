"""The agent workspace's trust fixes (issue 12) in real headless Chromium: Copy refuses while
a placeholder is unfilled (placeholders are labelled chips, isolated in Persian text); Insert
goes in at the cursor and Ctrl+Z or "Undo insert" brings back what the agent typed; a
dismissed suggestion is never the selected one; weak matches wait behind "Show anyway"; an
ended session keeps the draft and leads back to the workspace. Skipped, with the reason,
where Chromium or Playwright is missing."""

from __future__ import annotations

import re

import pytest
from browser import chromium, login, serve, unavailable
from webtest_helpers import PASSWORD

from replykit.home import Home
from storage import users as user_store
from web import create_app

REASON = unavailable()
if REASON is None:
    from playwright.sync_api import expect
pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")

LRI, PDI = "\u2066", "\u2069"


@pytest.fixture(scope="module")
def site(module_web_config):
    config = module_web_config
    app = create_app(config)
    with serve(app) as base, chromium() as browser:
        yield base, browser, config


def agent(site, username="ana"):
    """A workspace page signed in as `username`, with clipboard access and a list of the
    page's uncaught errors and console errors."""
    base, browser, _ = site
    page = login(browser, base, username, PASSWORD)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    assert page.url.endswith("/workspace")
    return page


def ask(page, question: str):
    page.fill("#query", question)
    page.wait_for_selector(".suggestion, .no-confident")


def card(page, title: str):
    return page.locator(".suggestion", has=page.locator(".title", has_text=title))


def clipboard(page) -> str:
    return page.evaluate("navigator.clipboard.readText()")


def test_copy_refuses_unfilled_placeholders_shown_as_labelled_chips(site):
    page = agent(site)
    page.evaluate("navigator.clipboard.writeText('sentinel')")
    ask(page, "My refund was issued, when will I see the money? order number?")
    card(page, "Refund issued").locator(".insert").click()
    page.wait_for_selector("#prompts:not([hidden])")
    prompts = page.inner_text("#prompt-fields")
    # readable labels, not keys
    for label in ("Customer first name", "Refund amount", "Order number", "Ticket number"):
        assert label in prompts
    assert "customer.first_name" not in prompts and "order.id" not in prompts
    page.fill("#prompt-fields input[name='order.id']", "A-17")
    page.click("#prompts button[type=submit]")
    expect(page.locator("#editor")).to_have_value(re.compile("order #A-17"))
    text = page.input_value("#editor")
    assert f"{LRI}{{{{ticket.id}}}}{PDI}" in text  # isolated, so it reads right in RTL text

    # what is left shows as a labelled chip to fill; the preview has chips, not braces
    expect(page.locator("#unfilled")).to_be_visible()
    assert page.locator("#unfilled-fields form.fill").count() == 1
    assert page.inner_text("#unfilled-fields mark.chip") == "Ticket number"
    assert "{{" not in page.inner_text("#unfilled-preview")
    assert page.locator("#unfilled-preview mark.chip bdi").inner_text() == "Ticket number"

    # Copy and Alt+C refuse, naming the blank; the clipboard keeps what it had
    page.click("#copy")
    expect(page.locator("#action-status")).to_contain_text("Not copied")
    assert "Ticket number" in page.inner_text("#action-status")
    assert page.locator("#action-status.warn").count() == 1
    page.locator("#editor").focus()
    page.keyboard.press("Alt+c")
    assert clipboard(page) == "sentinel"

    # filling the chip fills the text; then Copy copies the plain text
    # Option+C on a Mac (key "ç"), Alt+C on a Persian layout (key "ز"): the physical key counts
    for key in ("ç", "ز"):
        page.evaluate("""(key) => document.querySelector('#editor').dispatchEvent(new KeyboardEvent(
            'keydown', {key, code: 'KeyC', altKey: true, bubbles: true, cancelable: true}))""", key)
        expect(page.locator("#action-status")).to_contain_text("Not copied")
        page.evaluate("document.querySelector('#action-status').textContent = ''")
    page.fill("#unfilled-fields input[name='ticket.id']", "T-9")
    page.press("#unfilled-fields input[name='ticket.id']", "Enter")
    expect(page.locator("#unfilled")).to_be_hidden()
    text = page.input_value("#editor")
    assert "T-9" in text and "{{" not in text and LRI not in text
    page.evaluate("""() => document.querySelector('#editor').dispatchEvent(new KeyboardEvent(
        'keydown', {key: 'ç', code: 'KeyC', altKey: true, bubbles: true, cancelable: true}))""")
    expect(page.locator("#action-status")).to_have_text("Copied to the clipboard.")
    assert clipboard(page) == text

    # the "Copied" message does not outlive an edit of the reply
    page.locator("#editor").press("End")
    page.keyboard.type(" Thanks!")
    expect(page.locator("#action-status")).to_have_text("")
    assert page.errors == []


def test_persian_placeholders_are_isolated_chips(site):
    page = agent(site)
    ask(page, "عذرخواهی بابت تأخیر در ارسال سفارش")
    persian = card(page, "عذرخواهی بابت تأخیر در ارسال")
    # the suggestion's text shows its placeholders as labelled chips, not braces
    assert "{{" not in persian.locator(".body").inner_text()
    chips = persian.locator(".body mark.chip bdi").all_inner_texts()
    assert chips == ["Customer first name", "Order number"]  # the server's labels
    persian.locator(".insert").click()
    page.wait_for_selector("#prompts:not([hidden])")
    assert "Order number" in page.inner_text("#prompt-fields")
    page.click("#prompts button[type=submit]")  # nothing typed: order.id stays to fill
    expect(page.locator("#unfilled")).to_be_visible()
    text = page.input_value("#editor")
    assert f"{LRI}{{{{order.id}}}}{PDI}" in text and "مشتری" in text
    chip = page.locator("#unfilled-preview mark.chip bdi")
    assert chip.inner_text() == "Order number"
    # the chip sits inside the right-to-left line, isolated: the line stays right-to-left
    assert page.evaluate(
        "getComputedStyle(document.querySelector('#unfilled-preview')).unicodeBidi") == "plaintext"
    assert "{{" not in page.inner_text("#unfilled-preview")
    page.click("#copy")
    expect(page.locator("#action-status")).to_contain_text("Order number")
    assert page.errors == []


def test_insert_goes_in_at_the_cursor_and_undo_brings_back_the_typed_text(site):
    page = agent(site)
    page.click("#editor")
    page.keyboard.type("Sorry for the wait!")
    ask(page, "Can I get a refund? I bought it last week")
    card(page, "Refund policy").locator(".insert").click()
    page.wait_for_selector("#prompts:not([hidden])")
    page.click("#prompts button[type=submit]")
    expect(page.locator("#editor")).to_have_value(re.compile(r"^Sorry for the wait!\n\nHi there,"))
    assert "Ana Agent" in page.input_value("#editor")
    assert "your text is kept" in page.inner_text("#insert-note")

    # Ctrl+Z undoes the insert, and only the insert
    page.locator("#editor").press("Control+z")
    expect(page.locator("#editor")).to_have_value("Sorry for the wait!")
    page.locator("#editor").press("Control+Shift+z")
    expect(page.locator("#editor")).to_have_value(re.compile("Hi there,"))

    # the visible Undo does the same; inserting replaces only a selection
    page.locator("#editor").press("Control+z")
    page.evaluate("document.querySelector('#editor').setSelectionRange(0, 5)")  # "Sorry"
    card(page, "Refund policy").locator(".insert").click()
    page.wait_for_selector("#prompts:not([hidden])")
    page.fill("#prompt-fields input[name='customer.first_name']", "Dana")
    page.click("#prompts button[type=submit]")
    expect(page.locator("#editor")).to_have_value(
        re.compile(r"^Hi Dana,[\s\S]*Ana Agent\n\n for the wait!$"))
    page.click("#insert-undo")
    expect(page.locator("#editor")).to_have_value("Sorry for the wait!")
    expect(page.locator("#insert-note")).to_be_hidden()
    assert page.errors == []


def test_a_dismissed_suggestion_is_never_the_selected_one(site):
    page = agent(site)
    ask(page, "Can I get a refund? I bought it last week")
    cards = page.locator(".suggestion")
    assert cards.count() >= 3
    first, second = cards.nth(0), cards.nth(1)
    first_title = first.locator(".title").inner_text()
    second_title = second.locator(".title").inner_text()
    assert page.locator(".suggestion.selected .title").inner_text() == first_title
    first.locator(".dismiss").click()
    expect(page.locator(".suggestion .title", has_text=first_title)).to_have_count(0)
    assert page.locator(".suggestion.selected").count() == 1
    assert page.locator(".suggestion.selected .title").inner_text() == second_title
    # Alt+Enter inserts the selected one, not the dismissed one
    page.locator("#query").focus()
    page.keyboard.press("Alt+Enter")
    page.locator("#prompts:not([hidden]), #insert-note:not([hidden])").first.wait_for()
    if page.locator("#prompts").is_visible():
        page.click("#prompts button[type=submit]")
    expect(page.locator("#insert-note-text")).to_contain_text(second_title)
    assert first_title not in page.inner_text("#insert-note-text")
    page.click("#insert-undo")

    # Alt+↓ never lands on a dismissed card; with all dismissed nothing is inserted
    while page.locator(".suggestion").count():
        page.locator(".suggestion").first.locator(".dismiss").click()
    assert page.locator(".suggestion.selected").count() == 0
    page.locator("#query").focus()
    page.keyboard.press("Alt+ArrowDown")
    page.keyboard.press("Alt+Enter")
    page.wait_for_timeout(300)
    expect(page.locator("#prompts")).to_be_hidden()
    assert page.input_value("#editor") == ""
    assert "All suggestions dismissed" in page.inner_text("#suggestions")

    # once the reply is copied, the next question starts with no dismissals
    page.fill("#editor", "Refunds take 5-10 days.")
    with page.expect_response(re.compile(r"/api/drafts/\d+/finish$")):
        page.click("#copy")
    page.fill("#query", "Can I get a refund? I bought it two weeks ago")
    expect(page.locator(".suggestion .title", has_text=first_title)).to_have_count(1)
    assert page.errors == []


def test_weak_matches_wait_behind_show_anyway(site):
    base, _, config = site
    page = agent(site, "bo")
    ask(page, "asdf qwerty zxcv")
    notice = page.locator(".no-confident")
    expect(notice).to_contain_text("No confident suggestion")
    assert page.locator(".suggestion").count() == 0
    # nothing to insert by keyboard, and no weak match counted as shown
    page.locator("#query").focus()
    page.keyboard.press("Alt+ArrowDown")
    page.keyboard.press("Alt+Enter")
    page.wait_for_timeout(1600)  # longer than the "shown" debounce
    expect(page.locator("#prompts")).to_be_hidden()
    assert page.input_value("#editor") == ""
    home = Home(config)

    def shown() -> int:
        return home.db.execute("SELECT COUNT(*) FROM suggestion_feedback"
                               " WHERE event = 'shown' AND user = 'Bo Agent'").fetchone()[0]

    assert shown() == 0

    page.click("#show-weak")
    assert page.locator(".suggestion.weak").count() >= 1
    assert "check before using" in page.inner_text("#suggest-notice")
    assert page.locator(".suggestion.selected").count() == 1
    page.wait_for_timeout(1600)
    assert shown() == page.locator(".suggestion").count()
    home.close()

    # a confident answer is shown at once
    page.fill("#query", "How do I reset my password? I forgot it")
    expect(page.locator(".suggestion.weak")).to_have_count(0)
    expect(page.locator(".suggestion").first).to_contain_text("Password reset")
    assert page.locator(".no-confident").count() == 0
    assert page.errors == []


def test_an_ended_session_keeps_the_draft_and_returns_to_the_workspace(site):
    base, _, config = site
    page = agent(site)
    queue = page.locator("#conversation-pick option[value=C1]")
    expect(queue).to_have_count(1)
    # readable dates in the queue, not ISO timestamps
    assert "2026" in queue.inner_text() and not re.search(r"\d{4}-\d\d-\d\dT", queue.inner_text())
    ask(page, "Can I get a refund? I bought it last week")
    page.fill("#editor", "Dear Emma, I am checking your refund now.")

    home = Home(config)
    with home.db.conn:
        user_store.delete_user_sessions(home.db, user_store.user_by_username(home.db, "ana")["id"])
    home.close()

    card(page, "Refund policy").locator(".insert").click()
    banner = page.locator("#session-ended")
    expect(banner).to_be_visible()
    assert "Your session ended — sign in again" in banner.inner_text()
    assert page.input_value("#editor") == "Dear Emma, I am checking your refund now."

    banner.locator("a").click()
    page.wait_for_url(re.compile(r"/login\?next=(/|%2F)workspace"))
    page.fill("input[name=username]", "ana")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/workspace")
    expect(page.locator("#editor")).to_have_value("Dear Emma, I am checking your refund now.")
    assert page.input_value("#query") == "Can I get a refund? I bought it last week"
    assert "restored" in page.inner_text("#action-status")
    page.wait_for_selector(".suggestion")
    page.locator("#editor").press("End")
    page.keyboard.type(" More soon.")
    expect(page.locator("#action-status")).to_have_text("")  # the note goes once worked on
    assert [e for e in page.errors if "401" not in e] == []

    # someone else signing in on this tab never gets the draft
    home = Home(config)
    with home.db.conn:
        user_store.delete_user_sessions(home.db, user_store.user_by_username(home.db, "ana")["id"])
    home.close()
    page.goto(f"{base}/login")
    assert "More soon." in page.evaluate("sessionStorage.getItem('replykit.workspace.draft')")
    page.fill("input[name=username]", "bo")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/workspace")
    page.wait_for_load_state("networkidle")
    assert page.input_value("#editor") == "" and page.input_value("#query") == ""
    assert page.evaluate("sessionStorage.getItem('replykit.workspace.draft')") is None

    # signing out on purpose leaves no draft behind in the tab
    page.fill("#editor", "Bo's unsent words")
    page.click("header .signout button")
    page.wait_for_url(re.compile("/login"))
    assert page.evaluate("sessionStorage.getItem('replykit.workspace.draft')") is None


def test_pages_have_a_favicon(site):
    base, browser, _ = site
    page = agent(site)
    anonymous = browser.new_page()
    for each in (page, anonymous):
        if each is anonymous:
            each.goto(f"{base}/login")
        answer = each.evaluate("""fetch(document.querySelector('link[rel=icon]').href)
            .then(async (r) => [r.status, r.headers.get('content-type'), await r.text()])""")
        assert answer[0] == 200 and answer[1].startswith("image/svg+xml")
        assert answer[2].startswith("<svg")
    anonymous.close()


def test_a_broken_placeholder_is_not_copied_and_deleted_ones_leave_no_marks(site):
    page = agent(site)
    page.evaluate("navigator.clipboard.writeText('sentinel')")
    page.fill("#editor", "Your order {{order.id} ships today.")
    page.click("#copy")
    expect(page.locator("#action-status")).to_contain_text("looks like a broken placeholder")
    assert "{{order.id}" in page.inner_text("#action-status")
    assert clipboard(page) == "sentinel"
    # a placeholder deleted by hand leaves its invisible isolate marks: they are not copied
    page.fill("#editor", f"Your order {LRI}{PDI}ships today.")
    page.click("#copy")
    expect(page.locator("#action-status")).to_have_text("Copied to the clipboard.")
    assert clipboard(page) == "Your order ships today."

    # without the async clipboard API (plain HTTP) the same plain text is copied
    page.evaluate("navigator.clipboard.writeText('sentinel')")
    page.fill("#editor", f"Your order {LRI}{PDI}ships tomorrow.")
    page.evaluate("""() => Object.defineProperty(navigator.clipboard, 'writeText',
        {value: () => Promise.reject(new Error('not allowed'))})""")
    page.click("#copy")
    expect(page.locator("#action-status")).to_have_text("Copied to the clipboard.")
    assert clipboard(page) == "Your order ships tomorrow."

    # a review request with a blank goes (reviewers see drafts), with a note
    page.fill("#editor", "Hi {{customer.first_name}}, done.")
    page.click("#ask-review")
    expect(page.locator("#action-status")).to_contain_text("Sent for review")
    assert "Customer first name still to fill in" in page.inner_text("#action-status")
    assert page.errors == []


def test_signing_in_again_in_another_tab_keeps_this_tabs_draft(site):
    base, _, config = site
    page = agent(site)
    ask(page, "Can I get a refund? I bought it last week")
    page.fill("#editor", "Draft written before the session ended.")
    home = Home(config)
    with home.db.conn:
        user_store.delete_user_sessions(home.db, user_store.user_by_username(home.db, "ana")["id"])
    home.close()
    other = page.context.new_page()  # same browser, same cookies
    other.goto(f"{base}/login?next=/workspace")
    other.fill("input[name=username]", "ana")
    other.fill("input[name=password]", PASSWORD)
    other.click("button[type=submit]")
    other.wait_for_url(f"{base}/workspace")
    other.close()

    card(page, "Refund policy").locator(".insert").click()
    expect(page.locator("#action-status")).to_contain_text("reload it; your draft is kept")
    page.reload()
    expect(page.locator("#editor")).to_have_value("Draft written before the session ended.")
    assert page.input_value("#query") == "Can I get a refund? I bought it last week"
