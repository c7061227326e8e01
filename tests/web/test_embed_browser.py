"""The /embed panel inside a helpdesk page of ANOTHER site, in real headless Chromium: the
helpdesk page (http://localhost:PORT, the configured origin) frames the panel
(http://127.0.0.1:PORT) as Chatwoot's Dashboard Apps do, answers its fetch-info request with
the appContext message, and the panel suggests, fills {{customer.first_name}} from the
contact and refuses to copy with a blank left; a message from a frame of another origin is
ignored; in Persian the panel reads right to left at 360 px. Skipped, with the reason, where
Chromium or Playwright is missing."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest
from browser import chromium, serve, unavailable
from test_phone_and_a11y import axe_violations, overflow
from webtest_helpers import PASSWORD

from replykit import users
from replykit.home import Home
from web import create_app

REASON = unavailable()
if REASON is None:
    from playwright.sync_api import expect
pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")

# what the helpdesk page does: answer the panel's fetch-info request with the appContext
# (Chatwoot sends it as a JSON string), and post a new one when the agent opens another ticket
HELPDESK_PAGE = """<!doctype html><html><head><meta charset="utf-8"></head><body>
<iframe name="panel" src="%(panel)s" width="%(width)s" height="900"></iframe>
<iframe name="stranger" src="%(stranger)s" width="10" height="10"></iframe>
<script>
  const contexts = %(contexts)s;
  let shown = 0;
  function post(index) {
    frames.panel.postMessage(JSON.stringify({event: "appContext", data: contexts[index]}), "*");
  }
  window.addEventListener("message", (event) => {
    if (event.data === "chatwoot-dashboard-app:fetch-info") post(shown);
    // after the stranger's messages: a message to the panel that it can only get after them
    if (event.data === "stranger done") frames.panel.postMessage("ping", "*");
  });
  window.openTicket = (index) => { shown = index; post(index); };
</script></body></html>"""


def chatwoot_context(conversation_id: int, name: str, *customer: str) -> dict:
    """An appContext as Chatwoot sends it: an agent's reply, then the customer's messages."""
    messages = [{"id": 1, "content": "Hello, how can we help?", "message_type": 1,
                 "private": False},
                {"id": 2, "content": "internal: VIP", "message_type": 1, "private": True}]
    messages += [{"id": 3 + i, "content": text, "message_type": 0, "private": False}
                 for i, text in enumerate(customer)]
    return {"conversation": {"id": conversation_id, "messages": messages},
            "contact": {"id": 7, "name": name, "email": "c@example.com"},
            "currentAgent": {"id": 1, "name": "Ana Agent"}}


def starts(prefix: str):
    """A pattern for a value starting with `prefix`."""
    return re.compile("^" + re.escape(prefix))


def pages_app(pages: dict):
    """A WSGI app serving `pages` ({path: html}): the helpdesk's site and a stranger's."""
    def app(environ, start_response):
        body = pages.get(environ["PATH_INFO"])
        start_response("200 OK" if body else "404 Not Found",
                       [("Content-Type", "text/html; charset=utf-8")])
        return [(body or "").encode()]
    return app


@pytest.fixture(scope="module")
def site(module_web_config):
    """(replykit's base URL, the helpdesk's base URL, the pages dict, browser, ana's token)."""
    home = Home(module_web_config)
    token = users.create_token(home.db, "ana")["token"]
    home.close()
    pages: dict = {}
    with serve(pages_app(pages)) as helpdesk, serve(pages_app(pages)) as stranger:
        helpdesk = helpdesk.replace("127.0.0.1", "localhost")  # another site, not just a port
        config = dataclasses.replace(module_web_config, sections={"web": {
            "secure_cookies": False, "embed_origins": [helpdesk]}})
        with serve(create_app(config)) as base, chromium() as browser:
            pages["/stranger"] = "<!doctype html><title>stranger</title>"
            yield base, helpdesk, stranger, pages, browser, token


def open_helpdesk(site, path: str, contexts: list[dict], locale: str = "en-US",
                  width: int = 360, bypass_csp: bool = False):
    """The helpdesk page at `path` framing the panel; returns (page, the panel's frame)."""
    base, helpdesk, stranger, pages, browser, token = site
    pages[path] = HELPDESK_PAGE % {
        "panel": f"{base}/embed?source=chatwoot#token={token}", "width": width,
        "stranger": f"{stranger}/stranger", "contexts": json.dumps(contexts)}
    context = browser.new_context(locale=locale, viewport={"width": width + 40, "height": 1000},
                                  bypass_csp=bypass_csp)  # for axe's script
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.goto(helpdesk + path)
    return page, page.frame_locator("iframe[name=panel]")


def test_chatwoot_panel_suggests_fills_from_the_contact_and_ignores_strangers(site):
    page, panel = open_helpdesk(site, "/conversation", [
        chatwoot_context(42, "Emma Stone", "Hi, my order is late.",
                         "Is there a shipping delay? It has been two weeks."),
        chatwoot_context(43, "Zoe Park", "I forgot my password and cannot log in"),
        # the helpdesk's data with odd types: what is not text counts as nothing
        {"conversation": {"id": 44, "messages": [
            None, {"message_type": 0, "content": {"html": "<b>x</b>"}},
            {"message_type": 0, "content": "Where is my refund?"}]},
         "contact": {"name": ["Eve"], "email": 5}}])
    # the question is the customer's messages since the agent's last reply (no private note)
    expect(panel.locator("#embed-conversation")).to_have_text("Conversation #42")
    expect(panel.locator("#embed-question-text")).to_have_text(
        "Hi, my order is late.\n\nIs there a shipping delay? It has been two weeks.")
    card = panel.locator("li.embed-suggestion", has_text="Shipping delay apology")
    card.locator("button.use").click()
    editor = panel.locator("#embed-editor")
    expect(editor).to_have_value(starts("Hi Emma,"))
    # {{order.id}} has no value: Copy refuses, naming the blank, until it is filled
    panel.locator("#embed-copy").click()
    expect(panel.locator("#embed-action-status")).to_have_text("Fill in first: Order number.")
    panel.locator("#embed-unfilled input[name='order.id']").fill("A-17")
    panel.locator("#embed-unfilled input[name='order.id']").press("Enter")
    expect(panel.locator("#embed-unfilled")).to_be_hidden()
    assert "order #A-17" in editor.input_value() and "{{" not in editor.input_value()
    panel.locator("#embed-copy").click()
    expect(panel.locator("#embed-action-status")).to_have_text("Copied to the clipboard.")
    # not synced into replykit: nothing to send it through
    panel.locator("#embed-send").click()
    expect(panel.locator("#embed-action-status")).to_contain_text("did not come from a helpdesk")

    # the helpdesk opens the next ticket: the panel follows it
    page.evaluate("openTicket(1)")
    expect(panel.locator("#embed-conversation")).to_have_text("Conversation #43")
    # the reply written to Emma is gone: it must not reach Zoe
    assert editor.input_value() == "" and not editor.is_visible()
    zoe = panel.locator("li.embed-suggestion", has_text="Password reset").locator("button.use")
    zoe.click()
    expect(editor).to_have_value(starts("Hi Zoe,"))

    # a frame of another origin posts its own contact and token: both ignored (once the
    # helpdesk's ping, sent after them, has arrived, they have been handled)
    frame = page.frame(name="panel")
    frame.evaluate("""() => { window.seen = [];
        addEventListener("message", (event) => window.seen.push(event.data)); }""")
    page.frame(name="stranger").evaluate("""() => {
        parent.frames.panel.postMessage(JSON.stringify({event: "appContext", data: {
          conversation: {id: 666, messages: []}, contact: {name: "Mallory"}}}), "*");
        parent.frames.panel.postMessage({event: "replykit:token", token: "stolen"}, "*");
        parent.postMessage("stranger done", "*"); }""")
    frame.wait_for_function("window.seen.includes('ping')")
    editor.fill("")
    zoe.click()  # renders with the contact's values and the agent's token, as before
    expect(editor).to_have_value(starts("Hi Zoe,"))
    assert "Mallory" not in panel.locator("body").inner_text()

    page.evaluate("openTicket(2)")
    expect(panel.locator("#embed-conversation")).to_have_text("Conversation #44")
    expect(panel.locator("#embed-question-text")).to_have_text("Where is my refund?")
    assert page.errors == []
    page.context.close()


def test_persian_panel_reads_right_to_left_at_360px(site):
    page, panel = open_helpdesk(site, "/fa", [chatwoot_context(
        50, "سارا احمدی", "رمز عبورم را فراموش کرده‌ام، چطور آن را بازنشانی کنم؟")],
        locale="fa-IR", bypass_csp=True)
    frame = page.frame(name="panel")
    expect(panel.locator("html")).to_have_attribute("dir", "rtl")
    card = panel.locator("li.embed-suggestion", has_text="بازنشانی رمز عبور")
    card.locator("button.use").click()
    expect(panel.locator("#embed-editor")).to_have_value(starts("سلام سارا،"))
    assert frame.evaluate("getComputedStyle(document.querySelector('#embed-editor')).direction"
                          ) == "rtl"
    sizes = overflow(frame)
    assert sizes["scroll"] <= sizes["inner"] and not sizes["wide"], sizes
    assert axe_violations(frame) == []
    page.context.close()


def test_signing_in_inside_the_frame_with_partitioned_cookies(site, module_web_config):
    """`embed_cookies`: no token; the panel offers to sign in, the sign-in form opens inside
    the helpdesk's frame, and the session cookie (Secure; SameSite=None; Partitioned) then
    lives there: the panel suggests for the conversation in its address."""
    _, helpdesk, _, pages, browser, _ = site
    config = dataclasses.replace(module_web_config, sections={"web": {
        "embed_origins": [helpdesk], "embed_cookies": True}})
    with serve(create_app(config)) as base:
        pages["/cookies"] = (f'<!doctype html><iframe name="panel" width="360" height="900" '
                             f'src="{base}/embed?conversation=C1"></iframe>')
        context = browser.new_context(viewport={"width": 400, "height": 1000})
        page = context.new_page()
        page.goto(helpdesk + "/cookies")
        panel = page.frame_locator("iframe[name=panel]")
        panel.get_by_role("link", name="Sign in").click()
        panel.locator("input[name=username]").fill("ana")
        panel.locator("input[name=password]").fill(PASSWORD)
        panel.locator("button[type=submit]").click()
        expect(panel.locator("#embed-question-text")).to_have_text(
            "Thanks! How long does the refund take?")
        expect(panel.locator("li.embed-suggestion").first).to_be_visible()
        [cookie] = [c for c in context.cookies() if c["name"] == "replykit_session"]
        assert (cookie["secure"], cookie["sameSite"]) == (True, "None")
        context.close()
