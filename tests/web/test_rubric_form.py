"""The rubric editor's form (/reviews/rubrics, web/rubric_form.py): it produces the same rubric
as the YAML box, validation errors name the field and keep what was typed, and in Chromium a
lead adds a category that the stored rubric then scores."""

from __future__ import annotations

import shutil
from html.parser import HTMLParser

import pytest
from browser import chromium, login, serve, unavailable
from webtest_helpers import PASSWORD
from werkzeug.datastructures import MultiDict

from replykit.config import load_config
from rubrics import scoring, store
from web import create_app


class FormFields(HTMLParser):
    """The fields of <form id="rubric-form"> as a browser would post them (outside the
    row <template>; checked checkboxes only)."""

    def __init__(self):
        super().__init__()
        self.fields: list[tuple[str, str]] = []
        self.in_form = self.in_template = False
        self.textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.in_form = attrs.get("id") == "rubric-form"
        elif tag == "template":
            self.in_template = True
        elif self.in_form and not self.in_template and "name" in attrs:
            if tag == "input" and (attrs.get("type") != "checkbox" or "checked" in attrs):
                self.fields.append((attrs["name"], attrs.get("value", "")))
            elif tag == "textarea":
                self.textarea = attrs["name"]
                self.fields.append((attrs["name"], ""))

    def handle_data(self, data):
        if self.textarea:
            name, text = self.fields[-1]
            self.fields[-1] = (name, text + data)

    def handle_endtag(self, tag):
        if tag == "textarea":
            self.textarea = None
        elif tag == "template":
            self.in_template = False
        elif tag == "form":
            self.in_form = False


def form_fields(client) -> list[tuple[str, str]]:
    parser = FormFields()
    parser.feed(client.get("/reviews/rubrics").get_data(as_text=True))
    return parser.fields


def changed(fields, **values) -> list[tuple[str, str]]:
    return [(name, values.get(name, value)) for name, value in fields]


def test_unchanged_form_is_the_same_rubric(as_user, db):
    lead, _ = as_user("lee")
    fields = form_fields(lead)  # the page stores the default rubric on first use
    before = store.get_rubric(db, "support-reply")
    response = lead.post("/reviews/rubrics", data=MultiDict(fields))
    assert response.status_code == 302
    assert store.get_rubric(db, "support-reply") == before  # nothing changed: no new version
    assert "Nothing changed" in lead.get("/reviews/rubrics").get_data(as_text=True)


def test_form_edits_store_a_new_version(as_user, db):
    lead, _ = as_user("lee")
    fields = changed(form_fields(lead), **{"cat-1-weight": "40", "pass_threshold": "70"})
    fields.append(("cat-2-remove", "1"))  # the second category goes
    before = store.get_rubric(db, "support-reply")
    assert lead.post("/reviews/rubrics", data=MultiDict(fields)).status_code == 302
    after = store.get_rubric(db, "support-reply")
    assert after.version == 2 and after.pass_threshold == 70
    assert after.categories[0].weight == 40
    assert after.keys == [k for k in before.keys if k != before.categories[1].key]
    assert after.categories[0].scale == before.categories[0].scale
    assert after.categories[0].critical and not after.categories[0].na_allowed


@pytest.mark.parametrize(("field", "value", "named"), [
    ("cat-1-weight", "heavy", "categories[0] (accurate), field weight"),
    ("cat-3-key", "Clear Text", "categories[2], field key"),
    ("cat-2-points", "1: Bad\n3: Good", "field scale.points: points must be consecutive"),
    ("pass_threshold", "120", "field pass_threshold"),
])
def test_form_errors_name_the_field_and_keep_the_input(as_user, db, field, value, named):
    lead, _ = as_user("lee")
    response = lead.post("/reviews/rubrics", data=MultiDict(
        changed(form_fields(lead), **{field: value})))
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and named in html
    assert "the form: " in html and value.split("\n")[0] in html
    assert store.get_rubric(db, "support-reply").version == 1


def test_lead_adds_a_category_in_chromium(tmp_path, web_home_template):
    if unavailable():
        pytest.skip(unavailable())
    root = tmp_path / "home"
    shutil.copytree(web_home_template, root)
    config = load_config(root, multilingual_model="")
    with serve(create_app(config)) as base, chromium() as browser:
        page = login(browser, base, "lee", PASSWORD)
        page.goto(f"{base}/reviews/rubrics")
        page.click("#add-category")
        row = page.locator(".rubric-category").last
        row.locator("input[name$='-key']").fill("policy")
        row.locator("input[name$='-label']").fill("Follows the refund policy")
        row.locator("input[name$='-weight']").fill("50")
        row.locator("textarea[name$='-description']").fill("Offers only what the policy allows.")
        row.locator("textarea[name$='-points']").fill("0: No\n1: Partly\n2: Yes")
        row.locator("input[name$='-critical']").check()
        page.click("#rubric-form button[type=submit]")
        page.wait_for_load_state("networkidle")
        assert "Stored support-reply v2." in page.inner_text(".flash")
    from replykit.home import Home

    home = Home(config)
    try:
        rubric = store.get_rubric(home.db, "support-reply")
    finally:
        home.close()
    policy = rubric.categories[-1]
    assert (policy.key, policy.weight, policy.critical, policy.scale.points) == (
        "policy", 50, True, {0: "No", 1: "Partly", 2: "Yes"})
    ratings = {c.key: c.scale.max for c in rubric.categories if c.key != "policy"}
    full = scoring.score(rubric, dict(ratings, policy=2))
    failed = scoring.score(rubric, dict(ratings, policy=0))
    assert failed["auto_failed"] and failed["score"] == 0
    assert not full["auto_failed"] and full["categories"]["policy"] == 100
