"""The workspace's read-only library panel and saved-reply attachments in real headless
Chromium (issue 12): an agent searches by text, tag and folder, previews a reply (placeholders
as chips, attachments as download links) and inserts it at the cursor like a suggestion, with
the mouse and with the keyboard only; a suggestion's attachments download from under the
list; a stale "Copied" goes after a few seconds; Option+C on a Mac copies. Skipped, with the
reason, where Chromium or Playwright is missing."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from browser import chromium, login, serve, unavailable
from webtest_helpers import PASSWORD

from replykit.home import Home
from storage import users as user_store
from suggest import attachments
from suggest.conversations import import_conversations
from suggest.engine import SuggestEngine
from web import create_app

REASON = unavailable()
if REASON is None:
    from playwright.sync_api import expect
pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")

PDF = b"%PDF-1.4 the refund form"
THAI_NAME = "แบบฟอร์มคืนเงิน.pdf"


def long_thread(path: Path) -> Path:
    """L20: 20 Thai chat messages, the agent answering every other one; the last four are
    the customer's (a parcel with order A-12345 that has not arrived)."""
    with open(path, "w", encoding="utf-8") as f:
        for i in range(20):
            role = "customer" if i % 2 == 0 or i >= 17 else "agent"
            body = (f"ข้อความที่ {i}: ยังไม่ได้รับพัสดุค่ะ คำสั่งซื้อ A-12345 อยู่ที่ไหนแล้วคะ"
                    if role == "customer" else f"กำลังตรวจสอบให้ค่ะ ({i})")
            f.write(json.dumps({
                "conversation_id": "L20", "message_id": f"m{i:02d}", "role": role,
                "author": "Nok" if role == "customer" else "Ana Agent", "channel": "chat",
                "created_at": f"2026-09-05T10:{i:02d}:00Z", "subject": "พัสดุ", "body": body,
            }, ensure_ascii=False) + "\n")
    return path


@pytest.fixture(scope="module")
def site(module_web_config):
    config = module_web_config
    root = config.home
    home = Home(config)
    attachments.add(home.db, config.attachments_dir, "refund-policy", THAI_NAME, PDF)
    import_conversations(home.db, long_thread(root.parent / "long.jsonl"))
    SuggestEngine(home).sync()
    home.close()
    app = create_app(config)
    with serve(app) as base, chromium() as browser:
        yield base, browser, config


def agent(site, username="ana", viewport=None):
    base, browser, _ = site
    page = login(browser, base, username, PASSWORD, viewport)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    assert page.url.endswith("/workspace")
    return page


def open_library(page):
    page.click("#library summary")
    expect(page.locator("#library-status")).to_have_text(re.compile(r"^\d+ saved replies\.$"))


def titles(page) -> list[str]:
    return page.locator("#library-results .library-item .title").all_inner_texts()


def inserted_feedback(config) -> int:
    home = Home(config)
    try:
        return home.db.execute("SELECT COUNT(*) FROM suggestion_feedback WHERE event = "
                               "'inserted' AND suggestion_id = 'refund-policy'").fetchone()[0]
    finally:
        home.close()


def test_browse_search_preview_download_and_insert(site):
    _, _, config = site
    page = agent(site)
    open_library(page)
    assert "Refund policy (30 days)" in titles(page)  # billing's: Ana is in billing
    assert not [t for t in titles(page) if "rate limit" in t.lower()]  # technical's
    # search by text (Thai has no spaces), by tag, by folder (with the folders below it)
    page.fill("#library-q", "รหัสผ่าน")
    expect(page.locator("#library-results .library-item")).to_have_count(1)
    page.fill("#library-q", "")
    page.select_option("#library-tag", "billing")
    expect(page.locator("#library-status")).to_have_text("6 saved replies.")
    page.select_option("#library-folder", "Billing/Refunds")
    expect(page.locator("#library-status")).to_have_text("4 saved replies.")
    page.fill("#library-q", "Refund policy")
    expect(page.locator("#library-status")).to_have_text("1 saved reply.")
    page.fill("#library-q", "nothing like this anywhere")
    expect(page.locator("#library-status")).to_have_text("No saved reply matches.")
    page.fill("#library-q", "")
    expect(page.locator("#library-status")).to_have_text("4 saved replies.")

    # the preview: placeholders as labelled chips, attachments as download links
    item = page.locator(".library-item", has_text="Refund policy (30 days)")
    item.click()
    expect(item).to_have_attribute("aria-expanded", "true")
    preview = page.locator("#library-preview")
    assert "{{" not in preview.locator(".body").inner_text()
    assert "Customer first name" in preview.locator(".body mark.chip").all_inner_texts()
    with page.expect_download() as download:
        preview.get_by_role("link", name=THAI_NAME).click()
    assert download.value.suggested_filename == THAI_NAME
    assert Path(download.value.path()).read_bytes() == PDF

    # insert at the cursor, like a suggestion: prompts for the blanks, the agent's text kept
    page.fill("#editor", "Sorry for the wait!")
    before = inserted_feedback(config)
    preview.get_by_role("button", name="Insert").click()
    page.wait_for_selector("#prompts:not([hidden])")
    page.fill("#prompt-fields input[name='customer.first_name']", "Dana")
    page.click("#prompts button[type=submit]")
    expect(page.locator("#editor")).to_have_value(re.compile(r"^Sorry for the wait!\n\nHi Dana,"))
    assert "Inserted “Refund policy (30 days)” at the cursor" in page.inner_text("#insert-note")
    assert page.inner_text("#insert-note-text bdi") == "Refund policy (30 days)"  # isolated
    expect(page.locator("#insert-files a")).to_have_text(THAI_NAME)
    # a library pick is not suggestion feedback (it was not suggested)
    page.wait_for_load_state("networkidle")
    assert inserted_feedback(config) == before
    # a second click on the title closes the preview
    item.click()
    expect(item).to_have_attribute("aria-expanded", "false")
    expect(page.locator("#library-preview")).to_have_count(0)
    assert page.errors == []


def test_the_library_by_keyboard_only(site):
    page = agent(site)
    page.locator("#library summary").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#library-status")).to_have_text(re.compile("saved replies"))
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "library-q"
    page.keyboard.type("Track an order")
    expect(page.locator("#library-results .library-item")).to_have_count(1)
    for _ in range(4):  # the tag and folder filters, Search, then the first result
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "library-item"
    page.keyboard.press("Enter")
    expect(page.locator("#library-preview")).to_have_count(1)
    page.keyboard.press("Tab")  # to Insert (this reply has no attachments)
    assert page.evaluate("document.activeElement.textContent") == "Insert"
    page.keyboard.press("Enter")
    page.wait_for_selector("#prompts:not([hidden])")
    assert page.evaluate("document.activeElement.closest('#prompt-fields') !== null")
    page.keyboard.press("Enter")  # submit the prompts as they are
    expect(page.locator("#editor")).to_have_value(re.compile("track"))
    assert page.errors == []


def test_another_teams_agent_sees_neither_the_reply_nor_its_file(site):
    base, _, _ = site
    page = agent(site, "bo")
    open_library(page)
    assert "Refund policy (30 days)" not in titles(page)
    answer = page.evaluate("""(url) => fetch(url).then((r) => r.status)""",
                           f"/api/saved-replies/refund-policy/attachments/{THAI_NAME}")
    assert answer == 404


def test_a_suggestions_attachments_download_from_under_the_list(site):
    page = agent(site)
    page.fill("#query", "Can I get a refund? I bought it last week")
    card = page.locator(".suggestion", has=page.locator(".title", has_text="Refund policy"))
    expect(card.locator(".files-note")).to_have_text(f"Files: {THAI_NAME}")
    card.locator(".title").click()  # select it
    files = page.locator("#suggestion-files")
    expect(files).to_contain_text("Files of “Refund policy (30 days)”")
    with page.expect_download() as download:
        files.get_by_role("link", name=THAI_NAME).click()
    assert download.value.suggested_filename == THAI_NAME
    # nothing focusable inside the listbox's options: the link is outside the list
    assert page.locator("#suggestions a").count() == 0
    assert page.errors == []


def test_a_stale_copied_message_goes_after_a_few_seconds(site):
    page = agent(site)
    page.clock.install()
    page.reload()
    page.fill("#editor", "Refunds take 5-10 days.")
    # Option+C on a Mac types "ç": the physical key (code KeyC) counts
    page.evaluate("""() => document.querySelector('#editor').dispatchEvent(new KeyboardEvent(
        'keydown', {key: 'ç', code: 'KeyC', altKey: true, bubbles: true, cancelable: true}))""")
    expect(page.locator("#action-status")).to_have_text("Copied to the clipboard.")
    assert page.evaluate("navigator.clipboard.readText()") == "Refunds take 5-10 days."
    page.clock.run_for(4000)
    expect(page.locator("#action-status")).to_have_text("Copied to the clipboard.")
    page.clock.run_for(2000)
    expect(page.locator("#action-status")).to_have_text("")
    assert page.errors == []


def test_a_long_thread_shows_every_message_with_the_newest_in_view(site):
    page = agent(site)
    page.select_option("#conversation-pick", "L20")
    thread = page.locator("#thread")
    expect(thread.locator(".message")).to_have_count(20)
    assert thread.get_attribute("aria-label") == "Conversation: 20 messages, the newest last"
    assert page.evaluate("""() => {
      const box = document.querySelector('#thread').getBoundingClientRect();
      const last = document.querySelector('#thread .message:last-child').getBoundingClientRect();
      return last.bottom <= box.bottom + 1 && last.bottom > box.top; }""")
    # the question: the customer's four messages since the agent's last answer
    assert [line for line in page.input_value("#query").split("\n\n")] == [
        f"ข้อความที่ {i}: ยังไม่ได้รับพัสดุค่ะ คำสั่งซื้อ A-12345 อยู่ที่ไหนแล้วคะ"
        for i in (16, 17, 18, 19)]
    # a past reply's templated question shows its placeholders as chips, not braces
    past = page.locator(".suggestion", has=page.locator(".kind", has_text="past reply")).first
    expect(past.locator(".reason mark.chip")).to_have_text(["Order number"])
    assert "{{" not in past.locator(".reason").inner_text()
    assert page.errors == []


def test_a_message_longer_than_the_api_takes_is_asked_by_its_last_part(site):
    """A pasted 6,600-character Thai message (the API takes 5,000): suggestions, Copy and a
    review request all failed with "field query: is 6,600 characters long"."""
    _, _, config = site
    page = agent(site)
    message = "ขอคืนเงินได้ไหมคะ สินค้าชำรุดค่ะ " * 200
    page.fill("#query", message)
    expect(page.locator("#query-note")).to_be_visible()
    assert "last 5,000 characters" in page.inner_text("#query-note")
    page.wait_for_selector(".suggestion, .no-confident")
    assert page.inner_text("#suggest-status") == ""
    page.fill("#editor", "Refund done.")
    with page.expect_response(re.compile(r"/api/drafts/\d+/finish$")) as finish:
        page.click("#copy")
    assert finish.value.status == 200
    expect(page.locator("#action-status")).to_have_text("Copied to the clipboard.")
    page.fill("#editor", "Refund done, with a note.")
    page.click("#ask-review")
    expect(page.locator("#action-status")).to_contain_text("Sent for review")
    home = Home(config)
    (question,) = home.db.execute(
        "SELECT question FROM review_drafts ORDER BY id DESC LIMIT 1").fetchone()
    home.close()
    assert question.startswith("…") and len(question) <= 5000
    assert message.strip().endswith(question[1:].strip())
    page.fill("#query", "short again")
    expect(page.locator("#query-note")).to_be_hidden()
    assert page.errors == []


def test_a_download_after_the_session_ended_asks_to_sign_in(site):
    """The browser silently cancelled such a download: the agent clicked and nothing came."""
    _, _, config = site
    page = agent(site)
    open_library(page)
    page.locator(".library-item", has_text="Refund policy (30 days)").click()
    home = Home(config)
    with home.db.conn:
        user_store.delete_user_sessions(home.db,
                                        user_store.user_by_username(home.db, "ana")["id"])
    home.close()
    page.locator("#library-preview a.file").click()
    expect(page.locator("#session-ended")).to_be_visible()
