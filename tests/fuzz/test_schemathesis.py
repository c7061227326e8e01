"""The JSON API as an outside client sees it: schemathesis sends generated requests, valid and
invalid, with an admin's API token to every operation of /api/openapi.json, served by the real
app in-process (WSGI), plus methods the document does not list. All its checks are on: no 500,
every status code, header, content type and response body as documented, invalid requests
refused, valid ones accepted, a 405 with `Allow`. The run is seeded (derandomized), so the
short sample of the default suite is the same every time; REPLYKIT_FUZZ=1 (`make fuzz`) runs
many more examples. The tests after it pin what the first runs found."""

from __future__ import annotations

import json
import os
import re
import shutil

import pytest
import schemathesis
from fuzzing import fuzz_settings
from hypothesis import given
from hypothesis import strategies as st

from replykit import users
from replykit.config import load_config
from replykit.home import Home
from suggest.conversations import import_conversations
from suggest.engine import SuggestEngine
from web import create_app
from web.openapi import DOCUMENT

LONG = bool(os.environ.get("REPLYKIT_FUZZ"))
# examples per operation in the fuzzing phase; the coverage phase adds its boundary cases
MAX_EXAMPLES = 400 if LONG else 10
SEED = 20261129
CONFIG = schemathesis.Config.from_dict({
    "seed": SEED,
    "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "deterministic": True,
                   "database": "none"},
    "checks": {"enabled": True,
               # 413 (a text over its cap, a body over 2 MiB) refuses invalid data too
               "negative_data_rejection": {"expected-statuses": [
                   400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429]}},
    "phases": {"stateful": {"enabled": False}},
})
# Valid by the schema yet refused, for reasons JSON Schema cannot say: the error (400) names
# the rule. Every other refusal of valid data fails the test.
UNSAYABLE = (
    "--from must be before --to",  # a report period that ends before it starts
    "the period holds more than",  # ... or holds over MAX_BUCKETS days, weeks or months
    "is out of range",  # ... or starts or ends outside years 1-9999 in UTC
    "ends too close to 9999-12-31",
    "no such reviewer",  # a review request to a reviewer who does not exist
)
MESSAGES = [
    ("C1", "m1", "customer", "Emma Stone", "Hi, can I get a refund? I was charged twice."),
    ("C1", "m2", "agent", "Root Admin", "Hi Emma, refunds are possible within 30 days."),
    ("C1", "m3", "customer", "Emma Stone", "Thanks! How long does the refund take?"),
    ("C2", "m1", "customer", "สมชาย ใจดี", "ลืมรหัสผ่าน เข้าสู่ระบบไม่ได้ค่ะ"),
    ("C3", "m1", "customer", "سارا احمدی", "رمز عبورم را فراموش کرده‌ام"),
]


class Forward:
    """The WSGI app schemathesis calls: it forwards to the app the fixture built (the schema
    is read when tests are collected; the app and its home exist once a test runs)."""

    app = None

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)


FORWARD = Forward()
schema = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG)
schema.app = FORWARD


@pytest.fixture(scope="module")
def api(tmp_path_factory, library_home_template):
    """A real app over a copy of the small library with a few conversations, and the headers
    of an admin's API token (an admin passes every role check): (app, headers)."""
    root = tmp_path_factory.mktemp("schemathesis") / "home"
    shutil.copytree(library_home_template, root)
    config = load_config(root, multilingual_model="")
    home = Home(config)
    lines = root.parent / "messages.jsonl"
    lines.write_text("".join(json.dumps({
        "conversation_id": conv, "message_id": mid, "role": role, "author": author,
        "channel": "email", "created_at": f"2026-09-0{i + 1}T09:00:00Z", "body": body,
        "subject": "Refund"}, ensure_ascii=False) + "\n"
        for i, (conv, mid, role, author, body) in enumerate(MESSAGES)), encoding="utf-8")
    import_conversations(home.db, lines)
    SuggestEngine(home).sync()
    users.add_user(home.db, "root", "fuzz-horse-9", "admin", name="Root Admin", team="support")
    token = users.create_token(home.db, "root")["token"]
    home.close()
    app = create_app({"TESTING": True, "REPLYKIT_CONFIG": config})
    # the document under test is the one the app serves
    assert app.test_client().get("/api/openapi.json").get_json() == DOCUMENT
    FORWARD.app = app
    return app, {"Authorization": f"Bearer {token}"}


@schema.parametrize()
def test_api_conforms_to_its_openapi_document(case, api):
    _, headers = api
    response = case.call(headers=headers)
    excluded = []
    if response.status_code == 400 and any(
            rule in response.json().get("error", "") for rule in UNSAYABLE):
        excluded.append(schemathesis.checks.positive_data_acceptance)
    case.validate_response(response, headers=headers, excluded_checks=excluded)


# --- what the first runs found (each failed before its fix) ------------------------------

BIG = "1897106204088229953536"  # beyond 64 bits


@pytest.mark.parametrize(("method", "path"), [
    ("GET", f"/api/reviews/{BIG}"), ("GET", f"/api/review-requests/{BIG}"),
    ("POST", f"/api/drafts/{BIG}/finish"), ("POST", f"/api/drafts/{BIG}/review-request"),
    ("GET", f"/api/reviews/{2**63}"),
])
def test_path_ids_beyond_64_bits_are_not_found(api, method, path):
    app, headers = api
    response = app.test_client().open(path, method=method, headers=headers,
                                      json={"text": "x", "outcome": "sent"})
    assert response.status_code == 404, response.get_data(as_text=True)
    assert response.get_json()["error"]


@pytest.mark.parametrize("version", [BIG, str(2**63), "0", "-1", "1.5", "two", ""])
def test_rubric_versions_must_be_integers_in_range(api, version):
    app, headers = api
    response = app.test_client().get(f"/api/rubrics/x%00y?version={version}", headers=headers)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert "parameter version" in response.get_json()["error"]


@fuzz_settings()
@given(value=st.one_of(st.text(max_size=8), st.integers(-(2**70), 2**70).map(str)))
def test_conversation_limit_is_an_integer_from_1_to_200(api, value):
    app, headers = api
    response = app.test_client().get("/api/conversations", query_string={"limit": value},
                                     headers=headers)
    valid = re.fullmatch(r"-?[0-9]+", value) is not None and 1 <= int(value) <= 200
    assert response.status_code == (200 if valid else 400), (value, response.get_json())


def test_every_405_says_which_methods_are_allowed(api):
    app, headers = api
    client = app.test_client()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = re.sub(r"<(?:int:)?(\w+)>", "1", rule.rule)
        response = client.open(path, method="TRACE", headers=headers)
        assert response.status_code == 405, path
        assert set(response.headers["Allow"].split(", ")) == rule.methods, path


def test_a_whole_number_written_with_a_fraction_is_an_integer(api):
    app, headers = api
    response = app.test_client().post("/api/suggest", json={"query": "refund", "k": 2.0},
                                      headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert len(response.get_json()["suggestions"]) <= 2


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/api/render", {"id": "refund-policy", "kind": ""}, "kind"),
    ("/api/render", {"id": "refund-policy", "values": []}, "values"),
    ("/api/suggestions/refund-policy/feedback", {"event": "shown", "kind": ""}, "kind"),
    ("/api/suggestions/refund-policy/feedback", {"event": "shown", "edit_ratio": True},
     "edit_ratio"),
    ("/api/saved-replies/proposals", {"title": "t", "body": "b", "language": 0}, "language"),
    ("/api/saved-replies/proposals", {"title": "t", "body": "b", "tags": ""}, "tags"),
])
def test_a_wrong_type_is_not_taken_for_a_missing_field(api, path, body, field):
    app, headers = api
    response = app.test_client().post(path, json=body, headers=headers)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert f"field {field}" in response.get_json()["error"]


# --- found by trying beyond schemathesis's samples ----------------------------------------


@pytest.mark.parametrize(("path", "period", "says"), [
    (path, period, "out of range") for path in ("/api/reports/speed", "/api/reviews/calibration")
    for period in ("to=9999-12-31", "from=0001-01-01T00:00:00%2B05:00", "to=0001-01-05",
                   "to=9999-12-31T23:59:59-05:00")
] + [("/api/reports/quality", "from=9999-12-01&to=9999-12-31T12:00:00Z", "9999-12-31")])
def test_report_periods_at_the_ends_of_the_calendar_are_refused_not_500(api, path, period,
                                                                         says):
    app, headers = api
    response = app.test_client().get(f"{path}?{period}", headers=headers)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert says in response.get_json()["error"]


def test_a_report_has_a_bounded_number_of_periods(api):
    """A thousand years by day was 374,000 periods: 84 MB of JSON built in 6.6 s by one
    reviewer's request. A period over MAX_BUCKETS intervals is refused before any is built."""
    from rubrics.periods import MAX_BUCKETS

    app, headers = api
    client = app.test_client()
    response = client.get("/api/reports/combined?interval=day&from=1000-01-01&to=2026-01-01",
                          headers=headers)
    assert response.status_code == 400, response.get_data(as_text=True)[:200]
    assert f"more than {MAX_BUCKETS:,}" in response.get_json()["error"]
    month = client.get("/api/reports/combined?interval=month&from=1900-01-01&to=2026-01-01",
                       headers=headers)
    assert month.status_code == 200 and len(month.get_json()["by_period"]) == 126 * 12 + 1
