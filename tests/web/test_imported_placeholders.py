"""Placeholders as real libraries write them (issue 15): names with spaces and capitals
(`{{Website Name}}`), anonymised ids that start with a digit (`{{7c23d0a1}}`), Thai names, and
a body cut in the middle of a placeholder. The render API lists, labels and fills them, and
in headless Chromium the workspace asks for them with readable labels and fills them in."""

from __future__ import annotations

import re
import shutil

import pytest
from browser import chromium, login, serve, unavailable
from webtest_helpers import PASSWORD

from replykit.config import load_config
from replykit.home import Home
from suggest import library
from suggest.engine import SuggestEngine
from web import create_app

REASON = unavailable()
if REASON is None:
    from playwright.sync_api import expect

REPLY = {
    "id": "gift-card-balance",
    "title": "Gift card balance check",
    "body": "Welcome to {{Website Name}}! Your gift card {{7c23d0a1}} has {{Card Balance|credit}}"
            " left, {{ชื่อลูกค้า}}. See your order {{Purchase",
    "questions": ["how much is left on my gift card balance?"],
}


def test_render_lists_labels_and_fills_names_with_spaces_digits_and_thai(as_user, db):
    library.add_reply(db, REPLY)
    client, token = as_user("ana")
    headers = {"X-CSRFToken": token}
    data = client.post("/api/render", json={"id": REPLY["id"]}, headers=headers).get_json()
    assert [(p["name"], p["label"], p["fallback"]) for p in data["placeholders"]] == [
        ("Website Name", "Website name", None), ("7c23d0a1", "7c23d0a1", None),
        ("Card Balance", "Card balance", "credit"), ("ชื่อลูกค้า", "ชื่อลูกค้า", None)]
    assert data["missing"] == ["Website Name", "7c23d0a1", "ชื่อลูกค้า"]
    assert data["text"].endswith("See your order {{Purchase")  # cut placeholder: plain text
    data = client.post("/api/render", json={"id": REPLY["id"], "values": {
        "Website Name": "Acme", "7c23d0a1": "GC-1", "ชื่อลูกค้า": "สมชาย"}},
        headers=headers).get_json()
    assert data["text"] == ("Welcome to Acme! Your gift card GC-1 has credit left, สมชาย. "
                            "See your order {{Purchase")
    assert (data["missing"], data["used_fallback"]) == ([], ["Card Balance"])


@pytest.fixture(scope="module")
def site(tmp_path_factory, web_home_template):
    if REASON is not None:
        pytest.skip(REASON)
    root = tmp_path_factory.mktemp("imported-placeholders") / "home"
    shutil.copytree(web_home_template, root)
    config = load_config(root, multilingual_model="")
    home = Home(config)
    library.add_reply(home.db, REPLY)
    SuggestEngine(home).sync()
    home.close()
    with serve(create_app(config)) as base, chromium() as browser:
        yield base, browser


def test_workspace_asks_for_such_placeholders_by_label_and_fills_them(site):
    base, browser = site
    page = login(browser, base, "ana", PASSWORD)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.fill("#query", "how much is left on my gift card balance?")
    card = page.locator(".suggestion", has=page.locator(".title",
                                                        has_text="Gift card balance check"))
    expect(card.locator(".body mark.chip").first).to_be_visible()
    chips = card.locator(".body mark.chip bdi").all_inner_texts()
    assert chips[:3] == ["Website name", "7c23d0a1", "Card balance"]
    card.locator(".insert").click()
    page.wait_for_selector("#prompts:not([hidden])")
    prompts = page.inner_text("#prompt-fields")
    assert "Website name" in prompts and "7c23d0a1" in prompts
    page.fill("#prompt-fields input[name='Website Name']", "Acme")
    page.fill("#prompt-fields input[name='7c23d0a1']", "GC-1")
    page.fill("#prompt-fields input[name='ชื่อลูกค้า']", "สมชาย")
    page.click("#prompts button[type=submit]")
    expect(page.locator("#editor")).to_have_value(re.compile("Welcome to Acme! Your gift card "
                                                             "GC-1"))
    text = page.input_value("#editor")
    assert "สมชาย" in text and "{{Website Name}}" not in text
    # the cut placeholder is plain text, which Copy still stops from reaching the customer
    page.click("#copy")
    expect(page.locator("#action-status")).to_contain_text("looks like a broken placeholder")
    assert errors == []
