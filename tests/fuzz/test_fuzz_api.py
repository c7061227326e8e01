"""Fuzzing the JSON API: every POST/PUT/PATCH/DELETE route under /api/, taken from the app's URL
map (a new route is fuzzed without editing this file), gets generated bodies from a signed-in
admin with a valid CSRF token. Whatever the body, the answer is below 500, and a 4xx answer is
JSON with an "error"."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from pathlib import Path
from urllib.parse import quote

import pytest
from fuzzing import fuzz_settings, json_values, texts, to_bytes
from hypothesis import example, given
from hypothesis import strategies as st

from replykit import users
from replykit.config import load_config
from replykit.home import Home
from web import create_app

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
PASSWORD = "fuzz-horse-9"


def api_routes() -> list[tuple[str, str, str]]:
    """(endpoint, method, rule) of every write route under /api/ (the URL map needs no home:
    the app is built with a fixed secret key and never serves a request)."""
    config = load_config(Path(tempfile.gettempdir()) / "replykit-fuzz-routes-unused",
                         secret_key="routes", multilingual_model="")
    app = create_app(config)
    return sorted((rule.endpoint, method, rule.rule) for rule in app.url_map.iter_rules()
                  if rule.rule.startswith("/api/") for method in rule.methods & WRITE_METHODS)


ROUTES = api_routes()

# plausible values for the fields the API reads, plus anything at all
FIELDS = {
    "query": ["Can I get a refund?", "ลืมรหัสผ่าน", "رمز عبورم را فراموش کردم", ""],
    "k": [1, 5, 0, 51, True, "3"], "mode": ["hybrid", "lexical", "dense", "x"],
    "tags": [["billing"], "billing", [1]], "language": ["en", "th", "fa", 7], "team": ["support"],
    "event": ["shown", "inserted", "edited", "dismissed", "x"], "kind": ["saved", "past", "x"],
    "user": ["ana"], "edit_ratio": [0.5, -1, 2, float("nan"), "0.5"],
    "id": ["refund-policy", "C1:m2", "nope"], "conversation_id": ["C1", "C3", "nope"],
    "values": [{"customer.first_name": "Ana"}, {"a": 1}, []],
    "outcome": ["copied", "sent", "x"], "text": ["Hi there", "x" * 20_001],
    "suggestion_kind": ["saved", "past", "x"], "suggestion_id": ["refund-policy", "nope"],
    "inserted_text": ["Hi"], "reviewer": ["rui", "nobody"],
    "title": ["Gift cards", "บัตรของขวัญ", " "], "body": ["Hi {{customer.first_name|there}}",
                                                          "{{broken", "สวัสดีค่ะ"],
    "question": ["Do you sell gift cards?"],
}
objects = st.dictionaries(
    st.sampled_from(sorted(FIELDS)) | texts,
    json_values, max_size=6,
) | st.fixed_dictionaries({}, optional={
    name: st.sampled_from(values) | json_values for name, values in FIELDS.items()})
CONTENT_TYPES = ["application/json", "application/json; charset=utf-8", "text/plain",
                 "application/x-www-form-urlencoded", "multipart/form-data", None]


@st.composite
def bodies(draw) -> tuple[bytes, str | None]:
    """(body, content type): mostly JSON objects, sometimes other JSON, broken JSON, deep
    nesting or random bytes, under various content types."""
    kind = draw(st.integers(0, 9))
    if kind <= 5:
        data = json.dumps(draw(objects), ensure_ascii=draw(st.booleans())).encode(
            "utf-8", "surrogatepass")
    elif kind == 6:
        data = json.dumps(draw(json_values)).encode()
    elif kind == 7:
        data = draw(st.sampled_from([b"[" * 5000, b'{"a":' * 5000, b"{", b"", b"\xff",
                                     b'{"query": "x"', b"NaN", b"null"]))
    else:
        data = draw(st.binary(max_size=100))
    content_type = "application/json" if kind <= 6 else draw(st.sampled_from(CONTENT_TYPES))
    return data, draw(st.sampled_from(CONTENT_TYPES)) if kind == 5 else content_type


@pytest.fixture
def admin(tmp_path, library_home_template):
    """An app over a copy of the small library with one admin, signed in: (client, token)."""
    root = tmp_path / "home"
    shutil.copytree(library_home_template, root)
    config = load_config(root, multilingual_model="")
    home = Home(config)
    users.add_user(home.db, "root", PASSWORD, "admin", name="Root Admin", team="support")
    home.close()
    client = create_app({"TESTING": True, "REPLYKIT_CONFIG": config}).test_client()
    token = _csrf(client, "/login")
    signed = client.post("/login", data={"username": "root", "password": PASSWORD,
                                         "csrf_token": token})
    assert signed.status_code == 302
    return client, _csrf(client, "/reviews/mine")


def _csrf(client, path: str) -> str:
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


@pytest.mark.parametrize(("endpoint", "method", "rule"), ROUTES, ids=[r[2] for r in ROUTES])
@fuzz_settings(scale=0.5, share=len(ROUTES))
@given(body=bodies(), path_value=st.sampled_from(["refund-policy", "C1:m2", "nope"]) | texts)
# found by fuzzing: deeply nested JSON made the JSON parser raise RecursionError (500); a lone
# surrogate escape reached the database (UnicodeEncodeError, 500); a path segment that is not
# UTF-8 (kept for the harness, which once could not build that URL)
@example(body=(b"null", "application/json"), path_value="\ud800")
@example(body=(b"[" * 5000, "application/json"), path_value="refund-policy")
@example(body=(b'{"title": "\\ud800", "body": "b", "query": "\\udfff"}', "application/json"),
         path_value="refund-policy")
def test_api_write_routes(admin, endpoint, method, rule, body, path_value):
    client, token = admin
    def segment(match: re.Match) -> str:
        if match[1] == "draft_id":  # a fresh draft of the signed-in user: the deep path
            return str(client.post("/api/drafts", json={},
                                   headers={"X-CSRFToken": token}).get_json()["id"])
        return quote(to_bytes(path_value), safe="")  # any bytes, even invalid UTF-8

    url = re.sub(r"<(?:\w+:)?(\w+)>", segment, rule)
    data, content_type = body
    headers = {"X-CSRFToken": token}
    if content_type:
        headers["Content-Type"] = content_type
    response = client.open(url, method=method, data=data, headers=headers)
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    if response.status_code >= 400:
        assert response.is_json and "error" in response.get_json(), response.status_code
