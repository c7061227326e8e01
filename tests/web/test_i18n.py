"""The interface in Thai and Persian (web/i18n.py, web/translations): every string of the
templates and web/*.py has a Thai and a Persian translation, the compiled catalogs are
current, pages follow the user's language (else the browser's), Persian pages run right to
left, and dates follow the locale and the user's calendar."""

from __future__ import annotations

import html as html_lib
import io
import json
import re
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from hypothesis import given
from hypothesis import strategies as st
from webtest_helpers import PASSWORD, csrf_token

from replykit import users
from replykit.config import load_config
from replykit.home import Home
from rubrics import drafts
from suggest.placeholders import LABELS
from web import create_app
from web.i18n import format_instant, thai_buddhist_year, to_solar_hijri
from web.js_messages import js_messages

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "web" / "translations"
SCRIPTS = ROOT / "web" / "static" / "js"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
# English labels of the pages converted so far; none may remain on a Thai or Persian page
ENGLISH_LABELS = ("Sign out", "Review queue", "Reviews of my replies", "Drafts waiting for review",
                  "Assigned replies", "Add user", "Audit log", "Last sign-in", "Rubric editor",
                  "Save as a new version", "Calibration sessions", "No draft waiting",
                  "Skip to main content", "Workspace", "Reports",
                  # workspace, library and reports
                  "Customer message", "Paste the customer's message", "Copy reply",
                  "Ask for review", "Browse the library", "My review requests", "Any reviewer",
                  "Your session ended", "Undo insert", "Still to fill in", "Shortcuts",
                  "Saved-reply library", "New saved reply", "Export CSV", "Add tag to selected",
                  "Review score", "Last used", "Not used in (days)", "Stale replies",
                  "Near-duplicates", "Gaps: frequent", "Live preview", "Example questions",
                  "Keep this one", "Merge two saved replies", "Accepted when suggested",
                  "History of", "Changes from", "agent replies", "within SLA",
                  "median first response", "Tables (each downloads", "First-response time",
                  "Download CSV", "Back to the dashboard", "rows)", "Weakest categories",
                  "Most used saved replies", "Quality score", "good, late", "No data in")
PAGES = {"rui": ("/reviews/", "/reviews/mine", "/reviews/sessions", "/reviews/calibration"),
         "lee": ("/reviews/rubrics", "/reviews/disputes", "/reviews/assign", "/library/",
                 "/library/curation", "/library/new", "/library/replies/refund-policy",
                 "/library/replies/refund-policy/edit", "/library/replies/refund-policy/history",
                 "/library/merge?a=refund-policy&b=password-reset", "/reports/",
                 "/reports/tables/usage"),
         "ana": ("/workspace",),
         "root": ("/admin/", "/admin/users/new", "/admin/audit", "/admin/users/1")}


def catalog(language: str):
    """The .po catalog of `language`."""
    with open(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po", "rb") as f:
        return read_po(f, locale=language)


def extracted_messages() -> dict[str, tuple]:
    """msgid -> (msgid_plural or None) for every string that `make translations` extracts
    (babel.cfg: web/**.py and web/templates)."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f)
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None}
    found = {}
    for _name, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=keywords):
        if isinstance(message, tuple):
            found[message[0]] = message
        else:
            found[message] = (message,)
    return found


@pytest.mark.parametrize("language", ["th", "fa"])
def test_every_interface_string_is_translated(language):
    translations = catalog(language)
    messages = extracted_messages()
    assert len(messages) > 200
    missing, broken = [], []
    for msgid, forms in messages.items():
        entry = translations.get(msgid)
        strings = () if entry is None else (
            entry.string if isinstance(entry.string, tuple) else (entry.string,))
        if not strings or not all(strings):
            missing.append(msgid)
        elif any(set(PLACEHOLDER.findall(s)) != set(PLACEHOLDER.findall(forms[-1]))
                 for s in strings):
            broken.append(msgid)
    assert not missing, f"{language}: untranslated (run make translations): {missing}"
    assert not broken, f"{language}: placeholders differ from the English: {broken}"


@pytest.mark.parametrize("language", ["th", "fa"])
def test_compiled_catalogs_are_current(language):
    folder = TRANSLATIONS / language / "LC_MESSAGES"
    compiled = io.BytesIO()
    write_mo(compiled, catalog(language))
    assert compiled.getvalue() == (folder / "messages.mo").read_bytes(), (
        f"web/translations/{language}: messages.mo is older than messages.po: "
        "run make translations")


def page(client, path: str, language: str | None = None) -> str:
    headers = {"Accept-Language": language} if language else {}
    response = client.get(path, headers=headers)
    assert response.status_code == 200, (path, response.status_code)
    return response.get_data(as_text=True)


@pytest.mark.parametrize("language", ["th", "fa"])
def test_converted_pages_show_no_english_label(as_user, client, language):
    pages = {"/login": page(client, "/login", language)}
    for username, paths in PAGES.items():
        signed_in, _token = as_user(username)
        pages.update({path: page(signed_in, path, language) for path in paths})
    for path, html in pages.items():
        assert f'<html lang="{language}" dir="{"rtl" if language == "fa" else "ltr"}">' in html
        html = re.sub(r"<script.*?</script>", " ", html, flags=re.S)  # test_js_messages_*
        attributes = re.findall(r'(?:title|aria-label|placeholder|data-confirm)="([^"]*)"', html)
        text = re.sub(r"<[^>]+>", " ", html) + " ".join(attributes)
        left = [label for label in ENGLISH_LABELS if label in text]
        assert not left, f"{language} {path}: English labels {left}"
    # charts are drawn left to right: on a Persian page their text would run out to the left
    assert pages["/reports/"].count("<svg") == pages["/reports/"].count('direction="ltr"') == 8
    queue = pages["/reviews/"]
    if language == "th":
        assert "ออกจากระบบ" in queue and re.search(r"\([0-9]+\)</h2>", queue)
    else:  # counts in Persian digits
        assert "خروج" in queue and re.search(r"\([۰-۹]+\)</h2>", queue)
        assert not re.search(r"\([0-9]+\)</h2>", queue)


def test_browser_language_and_english_default(client):
    assert '<html lang="fa" dir="rtl">' in page(client, "/login", "fa-IR,fa;q=0.9,en;q=0.5")
    assert '<html lang="th" dir="ltr">' in page(client, "/login", "th-TH")
    assert '<html lang="en" dir="ltr">' in page(client, "/login", "de-DE,fr;q=0.8")
    assert '<html lang="en" dir="ltr">' in page(client, "/login")


def test_picker_stores_the_users_language_and_calendar(as_user, db):
    ana, token = as_user("ana")
    response = ana.post("/language", data={"csrf_token": token, "locale": "th",
                                            "calendar": "buddhist", "next": "/reviews/mine"})
    assert response.status_code == 302 and response.headers["Location"] == "/reviews/mine"
    assert (users.get_user(db, "ana")["locale"], users.get_user(db, "ana")["calendar"]) == (
        "th", "buddhist")
    html = page(ana, "/reviews/mine", "fa")  # the user's choice wins over the browser's
    assert '<html lang="th" dir="ltr">' in html and "รีวิวคำตอบของฉัน" in html
    other, _ = as_user("bo")  # another user keeps the browser's language
    assert '<html lang="fa" dir="rtl">' in page(other, "/reviews/mine", "fa")
    ana.post("/language", data={"csrf_token": token, "locale": "", "calendar": "gregorian",
                                 "next": "/reviews/mine"})
    assert users.get_user(db, "ana")["locale"] is None
    assert '<html lang="fa" dir="rtl">' in page(ana, "/reviews/mine", "fa")


def test_picker_refuses_bad_input_and_foreign_targets(as_user, db):
    ana, token = as_user("ana")
    assert ana.post("/language", data={"locale": "th"}).status_code == 400  # no CSRF token
    bad = ana.post("/language", data={"csrf_token": token, "locale": "xx"})
    assert bad.status_code == 400 and "locale: &#39;xx&#39; is not one of en, th, fa" in (
        bad.get_data(as_text=True))
    bad = ana.post("/language", data={"csrf_token": token, "locale": "fa", "calendar": "lunar"})
    assert bad.status_code == 400 and "calendar: &#39;lunar&#39;" in bad.get_data(as_text=True)
    assert users.get_user(db, "ana")["locale"] is None
    away = ana.post("/language", data={"csrf_token": token, "locale": "fa",
                                       "next": "//evil.example/x"})
    assert away.headers["Location"] == "/"


def test_signed_out_visitor_language_is_a_cookie(client):
    token = csrf_token(client)
    response = client.post("/language", data={"csrf_token": token, "locale": "fa",
                                              "next": "/login"})
    assert response.status_code == 302
    assert "replykit_lang=fa" in response.headers["Set-Cookie"]
    assert "HttpOnly" in response.headers["Set-Cookie"]
    assert '<html lang="fa" dir="rtl">' in page(client, "/login", "th")


def test_dates_follow_the_users_calendar(as_user):
    root, token = as_user("root")
    today = datetime.now(UTC)
    gregorian = page(root, "/admin/", "en")
    assert str(today.year) in gregorian and str(today.year + 543) not in gregorian
    root.post("/language", data={"csrf_token": token, "locale": "th", "calendar": "buddhist"})
    assert str(today.year + 543) in page(root, "/admin/")
    root.post("/language", data={"csrf_token": token, "locale": "fa", "calendar": "persian"})
    year = str(to_solar_hijri(today.date())[0]).translate(str.maketrans("0123456789",
                                                                        "۰۱۲۳۴۵۶۷۸۹"))
    assert year in page(root, "/admin/")


@pytest.mark.parametrize(("day", "expected"), [
    (date(2026, 3, 21), (1405, 1, 1)),   # Nowruz 1405
    (date(2026, 3, 20), (1404, 12, 29)),  # 1404 is a common year
    (date(2025, 3, 20), (1403, 12, 30)),  # 1403 is a leap year
    (date(2024, 3, 20), (1403, 1, 1)),
    (date(2000, 1, 1), (1378, 10, 11)),
    (date(1979, 2, 11), (1357, 11, 22)),
    (date(2026, 9, 22), (1405, 6, 31)),
    (date(2026, 9, 23), (1405, 7, 1)),
])
def test_solar_hijri_known_dates(day, expected):
    assert to_solar_hijri(day) == expected


@given(st.dates(min_value=date(1800, 1, 1), max_value=date(2400, 12, 30)))
def test_solar_hijri_days_follow_each_other(day):
    year, month, dom = to_solar_hijri(day)
    after = to_solar_hijri(day + timedelta(days=1))
    length = 31 if month <= 6 else 30 if month <= 11 else None
    if after[2] == dom + 1:
        assert after[:2] == (year, month) and (length is None or dom < length)
    else:  # a month ends: its length is right, Esfand has 29 or 30 days
        assert after[2] == 1
        assert dom == length if length else dom in (29, 30)
        assert after[:2] == ((year, month + 1) if month < 12 else (year + 1, 1))


def test_readable_dates_in_each_locale_and_calendar():
    moment = datetime(2026, 9, 1, 9, 30, tzinfo=UTC)
    assert format_instant(moment, "en") == "Sep 1, 2026, 9:30\u202fAM"
    assert format_instant(moment, "th", "buddhist", "date") == "1 ก.ย. 2569"
    assert thai_buddhist_year(date(2026, 1, 1)) == 2569
    assert format_instant(moment, "fa", "persian", "date") == "۱۰ شهریور ۱۴۰۵"
    assert format_instant(moment, "en", "persian", "date") == "Shahrivar 10, 1405"
    assert format_instant(datetime(2026, 9, 1, 9, 30), "fa") == format_instant(moment, "fa")
    with pytest.raises(ValueError, match="calendar: 'julian'"):
        format_instant(moment, "en", "julian")


def test_picker_in_chromium_on_a_phone(tmp_path, web_home_template):
    """Rui picks Persian in the header's picker on a 360 px phone: the page turns right to left
    (the brand moves to the right edge), nothing overflows sideways, the scoring form's live
    score speaks Persian, and the choice stays after signing out and in again (then the
    picker's form is closed again)."""
    from browser import chromium, login, serve, unavailable

    if unavailable():
        pytest.skip(unavailable())
    root = tmp_path / "home"
    shutil.copytree(web_home_template, root)
    config = load_config(root, multilingual_model="")
    home = Home(config)
    drafts.request_draft(home.db, "Ana Agent", "Refunds take 5 days.", "How long?",
                         "Rui Reviewer")
    home.close()
    phone = {"width": 360, "height": 740}
    with serve(create_app(config)) as base, chromium() as browser:
        page = login(browser, base, "rui", PASSWORD, phone)
        page.goto(f"{base}/reviews/")
        assert page.get_attribute("html", "dir") == "ltr"
        page.click(".language-picker summary")
        page.select_option(".language-picker select[name=locale]", "fa")
        page.select_option(".language-picker select[name=calendar]", "persian")
        page.click(".language-picker button")
        page.wait_for_load_state("networkidle")
        assert page.url.endswith("/reviews/")
        assert page.get_attribute("html", "dir") == "rtl"
        assert page.inner_text("h1") == "صف بازبینی"
        brand = page.locator("header .brand").bounding_box()
        assert brand["x"] > phone["width"] / 2  # mirrored: the brand starts on the right
        assert page.evaluate("document.documentElement.scrollWidth") <= phone["width"]
        page.click("form:has(input[name=draft]) button")  # the live score speaks Persian
        page.wait_for_selector("#score-form")
        page.check('input[name="rating-accurate"][value="4"]')
        assert page.inner_text("#live-verdict") == "۱ از ۸ نمره داده شد · قبول"
        assert page.inner_text("#live-score") == "۱۰۰٫۰۰"
        page.click("header .signout button")
        page.wait_for_load_state("networkidle")
        again = login(browser, base, "rui", PASSWORD, phone)
        again.goto(f"{base}/reviews/mine")
        assert again.get_attribute("html", "lang") == "fa"
        assert not again.is_visible(".language-picker form")


def test_server_messages_follow_the_language(as_user):
    lead, token = as_user("lee")
    text = page(lead, "/reviews/rubrics", "th").split('class="code" dir="auto">')[1]
    text = html_lib.unescape(text.split("</textarea>")[0])
    saved = lead.post("/reviews/rubrics", data={"csrf_token": token, "name": "support-reply",
                                                "definition": text},
                      headers={"Accept-Language": "th"})
    assert saved.status_code == 302
    assert "ไม่มีอะไรเปลี่ยน: ไม่มีเวอร์ชันใหม่" in page(lead, "/reviews/rubrics", "th")
    root, token = as_user("root")
    bo = root.get("/admin/").get_data(as_text=True).split('data-username="bo"')[1]
    user_id = re.search(r"/admin/users/(\d+)", bo).group(1)
    changed = root.post(f"/admin/users/{user_id}/teams", data={"csrf_token": token,
                                                                "teams": "billing"},
                        headers={"Accept-Language": "fa"})  # as the browser sends it
    assert changed.status_code == 302
    assert "تیم‌ها تغییر کرد." in page(root, f"/admin/users/{user_id}", "fa")


def script_keys() -> set[str]:
    """The message keys the scripts ask for: the string literals in the calls of t(),
    parts() and blanksMessage() in the scripts of web/static/js that take common.js's t(),
    and the suggestion reasons' keys."""
    keys = {f"reason.{kind}" for kind in ("example_question", "saved_reply", "past_question")}
    for path in SCRIPTS.glob("*.js"):
        source = path.read_text(encoding="utf-8")
        if not re.search(r"\{[^}]*\bt\b[^}]*\} = window\.replykit", source):
            continue  # not the shared catalog (embed.js has its own, web/embed.py)
        for call in re.finditer(r"\b(?:t|parts|blanksMessage)\(", source):
            depth, end = 1, call.end()
            while depth:  # to the call's closing parenthesis
                depth += {"(": 1, ")": -1}.get(source[end], 0)
                end += 1
            first = re.split(r",\s*\{", source[call.end():end - 1])[0]  # not the values
            keys.update(m.group(1) for m in re.finditer(r'"([^"]*)"', first)
                        if not first[:m.start()].endswith("=== "))  # not `kind === "saved"`
    return keys


def test_js_messages_cover_every_key_the_scripts_use(app):
    with app.test_request_context():
        catalog = js_messages()
    keys = script_keys()
    assert len(keys) > 40 and {"Copied", "weak", "saved replies", "no default left"} <= keys
    assert not keys - set(catalog), f"keys missing from web/js_messages.py: {keys - set(catalog)}"
    assert catalog["placeholders"] == LABELS  # the same labels as suggest/placeholders.py


def flat(messages: dict, prefix: str = "") -> dict[str, str]:
    """key -> text of every message, plural forms and placeholder labels included."""
    out = {}
    for key, value in messages.items():
        if isinstance(value, dict):
            out.update(flat(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = value
    return out


@pytest.mark.parametrize("language", ["th", "fa"])
def test_js_messages_have_no_english_fallback(app, as_user, language):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        english = flat(js_messages())
    with app.test_request_context(headers={"Accept-Language": language}):
        translated = flat(js_messages())
    assert translated.keys() == english.keys()
    left = [key for key, text in translated.items()
            if re.search("[A-Za-z]{2}", english[key]) and text == english[key]]
    assert not left, f"{language}: English in the scripts' messages: {left}"
    # the pages hand the scripts these messages
    for username, path in (("ana", "/workspace"), ("lee", "/library/new")):
        signed_in, _token = as_user(username)
        html = page(signed_in, path, language)
        rendered = re.search(r'<div id="i18n" hidden[^>]* data-messages="([^"]*)"', html).group(1)
        assert flat(json.loads(html_lib.unescape(rendered))) == translated


def test_workspace_scripts_speak_persian_in_chromium(module_web_config):
    """Ana's browser asks for Persian: the workspace's script messages come from the catalog
    (suggestion cards, the blanks' labels, Copy refusing, weak matches, the library panel),
    its numbers in Persian digits, no English message of the scripts shows, and on a 360 px
    phone nothing overflows sideways."""
    from browser import chromium, login, serve, unavailable

    if unavailable():
        pytest.skip(unavailable())
    from playwright.sync_api import expect

    with serve(create_app(module_web_config)) as base, chromium() as browser:
        page = login(browser, base, "ana", PASSWORD)
        page.context.set_extra_http_headers({"Accept-Language": "fa"})
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{base}/workspace")
        assert page.get_attribute("html", "dir") == "rtl"
        page.fill("#query", "My refund was issued, when will I see the money? order number?")
        page.wait_for_selector(".suggestion")
        refund = page.locator(".suggestion", has=page.locator(".title",
                                                               has_text="Refund issued"))
        assert refund.locator(".kind").inner_text() == "پاسخ آماده"
        assert re.fullmatch("[۰-۹]٫[۰-۹]{2}", refund.locator(".score").inner_text())
        assert "درج" in refund.locator(".insert").inner_text()
        refund.locator(".insert").click()
        page.wait_for_selector("#prompts:not([hidden])")
        assert "شمارهٔ سفارش" in page.inner_text("#prompt-fields")  # "Order number"
        page.click("#prompts button[type=submit]")  # every blank left to fill
        page.wait_for_selector("#insert-note:not([hidden])")
        assert "درج شد" in page.inner_text("#insert-note-text")
        page.click("#copy")
        assert page.inner_text("#action-status").startswith("کپی نشد: اول")
        page.fill("#query", "asdf qwerty zxcv")
        page.wait_for_selector(".no-confident")
        assert "پیشنهاد مطمئنی نیست" in page.inner_text(".no-confident")
        assert page.inner_text("#show-weak") == "با این حال نشان بده"
        page.click("#library summary")
        expect(page.locator("#library-status")).to_contain_text("پاسخ آماده")
        text = page.inner_text("main")
        english = [m for m in ("Insert", "Dismiss", "saved reply", "Not copied", "Inserted",
                               "No confident", "Show anyway", "saved replies", "Fill")
                   if m in text]
        assert not english and errors == []
        page.set_viewport_size({"width": 360, "height": 740})  # a phone: nothing sideways
        assert page.evaluate("document.documentElement.scrollWidth") <= 360


def test_library_messages_follow_the_language(as_user):
    lead, token = as_user("lee")
    approved = lead.post("/library/replies/sso-setup/approve", data={"csrf_token": token},
                         headers={"Accept-Language": "fa"})
    assert approved.status_code == 302
    assert "sso-setup تأیید شد: از این پس پیشنهاد می‌شود." in page(lead, "/library/", "fa")
    tagged = lead.post("/library/bulk-tag", data={"csrf_token": token, "ids": ["sso-setup"],
                                                   "tag": "sso", "action": "add"},
                       headers={"Accept-Language": "th"})
    assert tagged.status_code == 302
    assert "เพิ่มแท็ก &#39;sso&#39; ให้ 1 คำตอบแล้ว" in page(lead, "/library/", "th")
