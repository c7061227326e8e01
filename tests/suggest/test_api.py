"""The JSON API through the real Flask app's test client: POST /api/suggest and suggestion
feedback, with usage figures computed from the feedback."""

from __future__ import annotations

import pytest

from replykit import users
from suggest import feedback
from web import create_app

pytestmark = pytest.mark.both_backends


@pytest.fixture
def client(loaded_engine):
    """A test client authenticated as an agent with an API token (as scripts call the API)."""
    users.add_user(loaded_engine.db, "ana", "a-long-test-password", ["agent"], team="billing")
    token = users.create_token(loaded_engine.db, "ana", "tests")["token"]
    app = create_app({"TESTING": True, "REPLYKIT_CONFIG": loaded_engine.config})
    with app.test_client() as c:
        c.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        yield c


def test_the_api_refuses_requests_without_credentials(client):
    del client.environ_base["HTTP_AUTHORIZATION"]
    response = client.post("/api/suggest", json={"query": "Can I get a refund?"})
    assert response.status_code == 401
    assert "error" in response.get_json()


def test_suggest_happy_path_and_shape(client):
    response = client.post("/api/suggest", json={"query": "Can I get a refund?", "k": 3})
    assert response.status_code == 200
    data = response.get_json()
    assert set(data) == {"suggestions", "confident"} and data["confident"] is True
    assert len(data["suggestions"]) == 3
    top = data["suggestions"][0]
    assert (top["id"], top["kind"], top["title"]) == (
        "refund-policy",
        "saved",
        "Refund policy (30 days)",
    )
    assert top["reason"] == {"type": "example_question", "text": "Can I get a refund?"}
    assert isinstance(top["score"], float) and isinstance(top["body"], str)


def test_suggest_filters_and_modes(client):
    data = client.post(
        "/api/suggest", json={"query": "رمز عبور", "language": "fa", "mode": "lexical"}
    ).get_json()
    assert [s["id"] for s in data["suggestions"]][0] == "fa-password-reset"
    assert {s["language"] for s in data["suggestions"]} == {"fa"}
    data = client.post(
        "/api/suggest", json={"query": "reset my password", "tags": ["password"], "k": 10}
    ).get_json()
    found = [s["id"] for s in data["suggestions"]]
    assert found[0] == "password-reset"
    assert set(found) <= {"password-reset", "th-password-reset", "fa-password-reset"}


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"json": {}}, "field query: must be non-empty text"),
        ({"json": {"query": ""}}, "field query: must be non-empty text"),
        ({"json": {"query": 42}}, "field query: must be non-empty text"),
        ({"json": {"query": "refund", "k": "3"}}, "field k: must be an integer from 1 to 50"),
        ({"json": {"query": "refund", "k": True}}, "field k: must be an integer from 1 to 50"),
        ({"json": {"query": "refund", "k": 0}}, "field k: must be an integer from 1 to 50"),
        ({"json": {"query": "refund", "tags": "billing"}}, "field tags: must be a list of strings"),
        ({"json": {"query": "refund", "language": ["en"]}}, "field language: must be text"),
        (
            {"json": {"query": "refund", "mode": "fuzzy"}},
            "field mode: must be one of dense, lexical, hybrid",
        ),
        (
            {"json": ["refund"]},
            "request body: expected a JSON object (Content-Type: application/json)",
        ),
        (
            {"data": "query=refund"},
            "request body: expected a JSON object (Content-Type: application/json)",
        ),
        (
            {"data": "{not json", "content_type": "application/json"},
            "request body: expected a JSON object (Content-Type: application/json)",
        ),
    ],
)
def test_suggest_bad_requests_are_400_with_an_error(client, kwargs, error):
    response = client.post("/api/suggest", **kwargs)
    assert response.status_code == 400
    assert response.get_json() == {"error": error}


def test_feedback_is_stored_and_drives_usage(client, loaded_engine):
    for _ in range(4):
        response = client.post(
            "/api/suggestions/refund-policy/feedback", json={"event": "shown", "query": "refund?"}
        )
        assert response.status_code == 201
    response = client.post(
        "/api/suggestions/refund-policy/feedback",
        json={"event": "inserted", "user": "kim", "edit_ratio": 0.2},  # "user" is ignored
    )
    assert response.status_code == 201
    row = response.get_json()
    assert (
        row["suggestion_id"],
        row["suggestion_kind"],
        row["event"],
        row["user"],
        row["edit_ratio"],
    ) == ("refund-policy", "saved", "inserted", "ana", 0.2)  # the token's user
    client.post("/api/suggestions/password-reset/feedback", json={"event": "dismissed"})
    (usage,) = feedback.usage(loaded_engine.db, "refund-policy")
    assert (usage["shown"], usage["used"], usage["dismissed"], usage["acceptance_rate"]) == (
        4,
        1,
        0,
        0.25,
    )
    assert usage["last_used"] == row["created_at"]
    (never,) = feedback.usage(loaded_engine.db, "invoice-copy")
    assert (never["shown"], never["acceptance_rate"], never["last_used"]) == (0, None, None)


@pytest.mark.parametrize(
    "url, body, status, error",
    [
        (
            "/api/suggestions/nope/feedback",
            {"event": "shown"},
            404,
            "no saved reply with id 'nope'",
        ),
        (
            "/api/suggestions/refund-policy/feedback",
            {"event": "shown", "kind": "past"},
            404,
            "no past reply with id 'refund-policy'",
        ),
        (
            "/api/suggestions/refund-policy/feedback",
            {"event": "liked"},
            400,
            "field event: must be one of shown, inserted, edited, dismissed",
        ),
        (
            "/api/suggestions/refund-policy/feedback",
            {},
            400,
            "field event: must be one of shown, inserted, edited, dismissed",
        ),
        (
            "/api/suggestions/refund-policy/feedback",
            {"event": "shown", "kind": "draft"},
            400,
            "field kind: must be one of saved, past",
        ),
        (
            "/api/suggestions/refund-policy/feedback",
            {"event": "edited", "edit_ratio": 1.5},
            400,
            "field edit_ratio: must be a number from 0 to 1",
        ),
        ("/api/suggestions/refund-policy/feedback", {"event": 3}, 400, "field event: must be text"),
    ],
)
def test_feedback_errors(client, loaded_engine, url, body, status, error):
    response = client.post(url, json=body)
    assert (response.status_code, response.get_json()) == (status, {"error": error})
    assert loaded_engine.db.execute("SELECT COUNT(*) FROM suggestion_feedback").fetchone()[0] == 0
