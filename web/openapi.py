"""The OpenAPI 3.1 document of the JSON API, served at /api/openapi.json. Tests check that
every /api route of the app is described here, and each described path exists."""

from __future__ import annotations

from flask import Blueprint, jsonify

from web.security import public

bp = Blueprint("openapi", __name__, url_prefix="/api")

ERROR = {"$ref": "#/components/schemas/Error"}
OBJECT = {"type": "object"}


def _json(schema: dict) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


def _op(summary: str, roles: str, ok: dict | None = None, status: str = "200",
        body: dict | None = None, params: tuple = ()) -> dict:
    """One operation: its summary (with the roles allowed), parameters, body and answers."""
    responses = {status: {"description": "OK", **_json(ok or OBJECT)},
                 "400": {"description": "Bad input or CSRF check failed", **_json(ERROR)},
                 "401": {"description": "Not signed in / bad token", **_json(ERROR)},
                 "403": {"description": "Role does not allow this", **_json(ERROR)},
                 "404": {"description": "Not found", **_json(ERROR)}}
    op = {"summary": summary, "description": f"Roles: {roles}.", "responses": responses}
    parameters = []
    for spec in params:
        name, where, kind = spec.split(":")
        parameters.append({"name": name, "in": where, "required": where == "path",
                           "schema": {"type": kind}})
    if parameters:
        op["parameters"] = parameters
    if body is not None:
        op["requestBody"] = {"required": True, **_json(body)}
    return op


def _body(required: tuple, **props) -> dict:
    return {"type": "object", "required": list(required), "properties": props}


TEXT = {"type": "string"}
TEXTS = {"type": "array", "items": TEXT}
PERIOD = ("from:query:string", "to:query:string", "agent:query:string", "channel:query:string",
          "interval:query:string")
SUGGESTIONS = {"type": "object", "required": ["suggestions", "confident"], "properties": {
    "confident": {"type": "boolean"},
    "suggestions": {"type": "array", "items": {"type": "object", "required": [
        "id", "kind", "title", "body", "score", "reason", "tags", "language"], "properties": {
        "id": TEXT, "kind": {"enum": ["saved", "past"]}, "title": TEXT, "body": TEXT,
        "score": {"type": "number"}, "tags": TEXTS, "language": {"type": ["string", "null"]},
        "reason": {"type": "object", "properties": {
            "type": {"enum": ["saved_reply", "example_question", "past_question"]},
            "text": TEXT}}}}}}}
FINISH = {"text": TEXT, "suggestion_kind": {"enum": ["saved", "past"]}, "suggestion_id": TEXT,
          "inserted_text": TEXT, "query": TEXT}
ANY = "agent, reviewer, lead, admin (any signed-in user or token)"
REVIEWERS = "reviewer, lead, admin"

PATHS = {
    "/api/openapi.json": {"get": {"summary": "This document", "description": "Public.",
                                  "responses": {"200": {"description": "OK"}}}},
    "/api/suggest": {"post": _op(
        "Suggestions for a customer message", ANY, SUGGESTIONS,
        body=_body(("query",), query=TEXT, k={"type": "integer", "minimum": 1, "maximum": 50},
                   tags=TEXTS, language=TEXT, mode={"enum": ["dense", "lexical", "hybrid"]},
                   team=TEXT))},
    "/api/suggestions/{suggestion_id}/feedback": {"post": _op(
        "Record feedback on a suggestion", ANY, status="201", params=("suggestion_id:path:string",),
        body=_body(("event",), event={"enum": ["shown", "inserted", "edited", "dismissed"]},
                   kind={"enum": ["saved", "past"]}, query=TEXT,
                   edit_ratio={"type": "number", "minimum": 0, "maximum": 1}))},
    "/api/conversations": {"get": _op("Conversations waiting for an answer (the queue)", ANY,
                                      params=("limit:query:integer",))},
    "/api/conversations/{conversation_id}": {"get": _op(
        "A conversation with its messages and latest customer question", ANY,
        params=("conversation_id:path:string",))},
    "/api/render": {"post": _op(
        "Fill a suggestion's placeholders from the conversation and typed values", ANY,
        body=_body(("id",), kind={"enum": ["saved", "past"]}, id=TEXT, conversation_id=TEXT,
                   values={"type": "object", "additionalProperties": TEXT}))},
    "/api/drafts": {"post": _op("Open a drafting session (the clock starts)", ANY,
                                status="201", body=_body((), query=TEXT, conversation_id=TEXT))},
    "/api/drafts/{draft_id}/finish": {"post": _op(
        "Close my drafting session: copied or sent", ANY, params=("draft_id:path:integer",),
        body=_body(("outcome", "text"), outcome={"enum": ["copied", "sent"]}, **FINISH))},
    "/api/drafts/{draft_id}/review-request": {"post": _op(
        "Send my draft for review (closes the session)", ANY, status="201",
        params=("draft_id:path:integer",), body=_body(("text",), reviewer=TEXT, **FINISH))},
    "/api/review-requests/{review_draft_id}": {"get": _op(
        "A draft sent for review and its result", "its author, reviewer, lead, admin",
        params=("review_draft_id:path:integer",))},
    "/api/saved-replies/proposals": {"post": _op(
        "Propose a new saved reply (stored as a draft for leads)", ANY, status="201",
        body=_body(("title", "body"), title=TEXT, body=TEXT, tags=TEXTS, language=TEXT,
                   question=TEXT))},
    "/api/reports/{kind}": {"get": _op(
        "Speed, quality or combined report", REVIEWERS,
        params=("kind:path:string", *PERIOD))},
    "/api/rubrics": {"get": _op("Stored rubrics", ANY, {"type": "array"})},
    "/api/rubrics/{name}": {"get": _op("One rubric version", ANY,
                                       params=("name:path:string", "version:query:integer"))},
    "/api/reviews": {"get": _op(
        "Reviews, newest first", f"{REVIEWERS}; an agent with author=their own name",
        {"type": "array"}, params=("reviewer:query:string", "author:query:string",
                                   "state:query:string"))},
    "/api/reviews/{review_id}": {"get": _op(
        "One review with ratings, disputes and history", f"{REVIEWERS}; the reviewed agent",
        params=("review_id:path:integer",))},
    "/api/reviews/queue": {"get": _op("A reviewer's open assignments and drafts", REVIEWERS,
                                      params=("reviewer:query:string",))},
    "/api/reviews/calibration": {"get": _op(
        "Reviewer agreement per rubric version", REVIEWERS, {"type": "array"},
        params=("from:query:string", "to:query:string", "rubric:query:string"))},
}

DOCUMENT = {
    "openapi": "3.1.0",
    "info": {"title": "replykit JSON API", "version": "1",
             "description": "Authenticate with 'Authorization: Bearer TOKEN' (replykit tokens "
                            "create USER) or a browser session; browser calls that change "
                            "state send the page's CSRF token in an X-CSRFToken header."},
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                            "session": {"type": "apiKey", "in": "cookie",
                                        "name": "replykit_session"}},
        "schemas": {"Error": {"type": "object", "required": ["error"],
                              "properties": {"error": TEXT}}},
    },
    "security": [{"bearer": []}, {"session": []}],
    "paths": PATHS,
}


@bp.get("/openapi.json")
@public
def document():
    """The OpenAPI document."""
    return jsonify(DOCUMENT)
