"""The OpenAPI 3.1 document of the JSON API, served at /api/openapi.json. It says what the
server does: every status code an operation can answer, and for each parameter and body field
its type, bounds, length cap (web.limits), enum and whether it is required; `null` for an
optional field means the same as leaving it out. tests/web/test_openapi.py checks that it
covers exactly the app's /api routes; tests/fuzz/test_schemathesis.py sends generated valid
and invalid requests and checks every answer against it."""

from __future__ import annotations

from flask import Blueprint, jsonify

from suggest.library import MAX_TITLE
from web.limits import limit_for
from web.security import public

bp = Blueprint("openapi", __name__, url_prefix="/api")

ERROR = {"$ref": "#/components/schemas/Error"}
OBJECT = {"type": "object"}
MAX_ID = 2**63 - 1  # SQLite's INTEGER: a path id beyond it is a 404 (web.app.Int64Converter)
# Python's str.isspace() characters: text of only these counts as empty (`not text.strip()`)
SPACE = "\t\n\x0b\x0c\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
CONTROL = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f"  # refused in saved-reply titles and bodies
ANSWERS = {
    "400": "Bad input: the error names the parameter or field (for a browser session also a "
           "failed CSRF check)",
    "401": "Not signed in, or an unknown, expired or revoked API token",
    "403": "The user's role or teams do not allow this",
    "404": "No such item, or one the user may not see",
    "409": "The item changed state already",
    "413": "The body is over 2 MiB, or a text field over its length cap",
    "503": "The database stayed busy: nothing was saved, try again after Retry-After seconds",
    "502": "The helpdesk refused the request or could not be reached",
}


def _json(schema: dict) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


def _op(summary: str, roles: str, ok: dict | None = None, status: str = "200",
        body: dict | None = None, params: tuple = (), errors: str = "") -> dict:
    """One operation: its summary (with the roles allowed), parameters, body and every answer:
    `status` with `ok`, 401 and 503 for all, and the error codes listed in `errors`."""
    responses = {status: {"description": "OK", **_json(ok or OBJECT)}}
    for code in sorted({"401", "503", *errors.split()}):
        responses[code] = {"description": ANSWERS[code], **_json(ERROR)}
    responses["503"]["headers"] = {"Retry-After": {"schema": {"type": "string"}}}
    op = {"summary": summary, "description": f"Roles: {roles}.", "responses": responses}
    if params:
        op["parameters"] = list(params)
    if body is not None:
        op["requestBody"] = {"required": True, **_json(body)}
    return op


def _file(op: dict) -> dict:
    """`op` answering a file (of its own media type, as a download) instead of JSON."""
    op["responses"]["200"] = {
        "description": "The file (Content-Disposition: attachment)",
        "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}}
    return op


def _param(name: str, where: str, schema: dict, required: bool = False) -> dict:
    return {"name": name, "in": where, "required": required or where == "path",
            "schema": schema}


def _body(required: tuple, **props) -> dict:
    return {"type": "object", "required": list(required), "properties": props}


def text(field: str, nonblank: bool = False, plain: bool = False, limit: int = 0,
         nullable: bool = False) -> dict:
    """A body field's text: at most its cap (web.limits, or `limit`); `nonblank`: holds a
    character that is not a space; `plain`: no control characters (saved replies)."""
    schema: dict = {"type": ["string", "null"] if nullable else "string",
                    "maxLength": limit or limit_for(field)}
    other = CONTROL if plain else ""
    if nonblank:
        schema["pattern"] = f"^[^{other}]*[^{other}{SPACE}][^{other}]*$" if other else f"[^{SPACE}]"
    elif plain:
        schema["pattern"] = f"^[^{other}]*$"
    return schema


def texts(field: str) -> dict:
    return {"type": ["array", "null"], "items": {"type": "string", "maxLength": limit_for(field)}}


def choice(*values: str, nullable: bool = True) -> dict:
    return {"enum": [*values, None] if nullable else list(values)}


def path_id(name: str) -> dict:
    return _param(name, "path", {"type": "integer", "minimum": 0, "maximum": MAX_ID})


def query(name: str, schema: dict | None = None, required: bool = False) -> dict:
    return _param(name, "query", schema or {"type": "string"}, required)


# a report period bound: empty (the default), a date or an ISO date-time
BOUND = {"anyOf": [{"type": "string", "maxLength": 0}, {"type": "string", "format": "date"},
                   {"type": "string", "format": "date-time"}]}
PERIOD = (query("from", BOUND), query("to", BOUND), query("agent"), query("channel"),
          query("interval", {"enum": ["day", "week", "month"]}))
SUGGESTIONS = {"type": "object", "required": ["suggestions", "confident"], "properties": {
    "confident": {"type": "boolean"},
    "suggestions": {"type": "array", "items": {"type": "object", "required": [
        "id", "kind", "title", "body", "score", "reason", "tags", "language"], "properties": {
        "id": {"type": "string"}, "kind": {"enum": ["saved", "past"]},
        "title": {"type": "string"}, "body": {"type": "string"},
        "score": {"type": "number"}, "tags": {"type": "array", "items": {"type": "string"}},
        "language": {"type": ["string", "null"]},
        "reason": {"type": "object", "properties": {
            "type": {"enum": ["saved_reply", "example_question", "past_question"]},
            "text": {"type": "string"}}}}}}}}
ATTACHMENTS = {"type": "array", "items": {
    "type": "object", "required": ["filename", "size", "content_type", "url"], "properties": {
        "filename": {"type": "string"}, "size": {"type": "integer"},
        "content_type": {"type": "string"}, "url": {"type": "string"}}}}
SUGGESTIONS["properties"]["suggestions"]["items"]["properties"]["attachments"] = ATTACHMENTS
LIBRARY = {"type": "object", "required": ["replies", "total", "tags", "folders"], "properties": {
    "total": {"type": "integer"}, "tags": {"type": "array", "items": {"type": "string"}},
    "folders": {"type": "array", "items": {"type": "string"}},
    "replies": {"type": "array", "items": {"type": "object", "required": [
        "id", "title", "body", "tags", "folder", "language", "attachments"], "properties": {
        "id": {"type": "string"}, "title": {"type": "string"}, "body": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "string"}}, "folder": {"type": "string"},
        "language": {"type": "string"}, "attachments": ATTACHMENTS}}}}}
# a suggestion used in a draft: both its id and the text inserted, or neither
USED = {"anyOf": [
    {"required": ["suggestion_id", "inserted_text"],
     "properties": {"suggestion_id": {"type": "string"}, "inserted_text": {"type": "string"}}},
    {"properties": {"suggestion_id": {"type": "null"}, "inserted_text": {"type": "null"}}}]}
FINISH = {"text": text("text", nonblank=True), "suggestion_kind": choice("saved", "past"),
          "suggestion_id": text("suggestion_id", nullable=True),
          "inserted_text": text("inserted_text", nullable=True),
          "query": text("query", nullable=True)}
ANY = "agent, reviewer, lead, admin (any signed-in user or token)"
REVIEWERS = "reviewer, lead, admin"

PATHS = {
    "/api/openapi.json": {"get": {
        "summary": "This document", "description": "Public.", "security": [],
        "responses": {"200": {"description": "OK", **_json(OBJECT)}}}},
    "/api/suggest": {"post": _op(
        "Suggestions for a customer message", ANY, SUGGESTIONS, errors="400 403 413",
        body=_body(("query",), query=text("query", nonblank=True),
                   k={"type": ["integer", "null"], "minimum": 1, "maximum": 50},
                   tags=texts("tags"), language=text("language", nullable=True),
                   mode=choice("dense", "lexical", "hybrid"),
                   team=text("team", nullable=True)))},
    "/api/suggestions/{suggestion_id}/feedback": {"post": _op(
        "Record feedback on a suggestion", ANY, status="201", errors="400 404 413",
        params=(_param("suggestion_id", "path", {"type": "string"}),),
        body=_body(("event",), event=choice("shown", "inserted", "edited", "dismissed",
                                            nullable=False),
                   kind=choice("saved", "past"), query=text("query", nullable=True),
                   edit_ratio={"type": ["number", "null"], "minimum": 0, "maximum": 1},
                   conversation_id=text("conversation_id", nullable=True)))},
    "/api/conversations": {"get": _op(
        "Conversations waiting for an answer (the queue)", ANY, errors="400",
        params=(query("limit", {"type": "integer", "minimum": 1, "maximum": 200,
                                "default": 50}),))},
    "/api/conversations/{conversation_id}": {"get": _op(
        "A conversation with its messages, the customer's messages since the last agent reply "
        "as `question` and the placeholder values it gives as `values`", ANY, errors="404",
        params=(_param("conversation_id", "path", {"type": "string"}),))},
    "/api/conversations/{conversation_id}/actions": {"post": _op(
        "Apply a saved reply's actions (tags, status, assignee...) to the conversation in the "
        "helpdesk it was synced from; `results`: one line per action, applied or not allowed "
        "by the helpdesk's API", "agent, lead, admin", errors="400 403 404 413 502",
        params=(_param("conversation_id", "path", {"type": "string"}),),
        body=_body(("reply_id",), reply_id=text("reply_id", nonblank=True),
                   source=text("source", nonblank=True, nullable=True)))},
    "/api/conversations/{conversation_id}/send": {"post": _op(
        "Post a reply to the customer through the helpdesk the conversation came from (by sync "
        "or webhook; `source`, if given, must name it) and record the send: its text, the saved "
        "reply it came from and the edit ratio (`message_id`: the helpdesk's id of the reply)",
        "agent, admin", status="201", errors="400 403 404 413 502",
        params=(_param("conversation_id", "path", {"type": "string"}),),
        body=_body(("text",), text=text("text", nonblank=True),
                   source=text("source", nonblank=True, nullable=True),
                   suggestion_kind=choice("saved", "past"),
                   suggestion_id=text("suggestion_id", nullable=True),
                   inserted_text=text("inserted_text", nullable=True)))},
    "/api/render": {"post": _op(
        "Fill a suggestion's placeholders from the conversation and typed values", ANY,
        errors="400 404 413",
        body=_body(("id",), kind=choice("saved", "past"), id=text("id", nonblank=True),
                   conversation_id=text("conversation_id", nullable=True),
                   values={"type": ["object", "null"],
                           "additionalProperties": text("values")}))},
    "/api/drafts": {"post": _op(
        "Open a drafting session (the clock starts)", ANY, status="201", errors="400 404 413",
        body=_body((), query=text("query", nullable=True),
                   conversation_id=text("conversation_id", nullable=True)))},
    "/api/drafts/{draft_id}/finish": {"post": _op(
        "Close my drafting session: copied or sent", ANY, errors="400 404 409 413",
        params=(path_id("draft_id"),),
        body={**_body(("outcome", "text"), outcome=choice("copied", "sent", nullable=False),
                      **FINISH), **USED})},
    "/api/drafts/{draft_id}/review-request": {"post": _op(
        "Send my draft for review (closes the session)", ANY, status="201",
        errors="400 404 409 413", params=(path_id("draft_id"),),
        body={**_body(("text",), reviewer=text("reviewer", nullable=True),
                      conversation_id=text("conversation_id", nullable=True), **FINISH),
              **USED})},
    "/api/review-requests/{review_draft_id}": {"get": _op(
        "A draft sent for review and its result", "its author, reviewer, lead, admin",
        errors="403 404", params=(path_id("review_draft_id"),))},
    "/api/saved-replies/proposals": {"post": _op(
        "Propose a new saved reply (stored as a draft for leads)", ANY, status="201",
        errors="400 404 413",
        body=_body(("title", "body"), title=text("title", True, True, MAX_TITLE),
                   body=text("body", nonblank=True, plain=True), tags=texts("tags"),
                   language={"anyOf": [
                       {"type": "string", "pattern": "^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$"},
                       {"type": "string", "maxLength": 0}, {"type": "null"}]},
                   question=text("question", nullable=True),
                   conversation_id=text("conversation_id", nullable=True)))},
    "/api/saved-replies": {"get": _op(
        "Browse the approved saved replies of my teams (the workspace's read-only library)",
        ANY, LIBRARY, errors="400",
        params=(query("q", {"type": "string", "maxLength": 500}), query("tag"),
                query("folder"), query("limit", {"type": "integer", "minimum": 1,
                                                 "maximum": 200, "default": 50})))},
    "/api/saved-replies/{reply_id}/attachments/{filename}": {"get": _file(_op(
        "Download an attachment of a saved reply I may use (always as a download)", ANY,
        errors="404", params=(_param("reply_id", "path", {"type": "string"}),
                              _param("filename", "path", {"type": "string"}))))},
    "/api/reports/{kind}": {"get": _op(
        "Speed, quality or combined report", REVIEWERS, errors="400 403 404",
        params=(_param("kind", "path", {"enum": ["speed", "quality", "combined"]}), *PERIOD,
                query("team")))},
    "/api/rubrics": {"get": _op("Stored rubrics", ANY, {"type": "array"})},
    "/api/rubrics/{name}": {"get": _op(
        "One rubric version", ANY, errors="400 404",
        params=(_param("name", "path", {"type": "string"}),
                query("version", {"type": "integer", "minimum": 1, "maximum": MAX_ID})))},
    "/api/reviews": {"get": _op(
        "Reviews, newest first", f"{REVIEWERS}; an agent with author=their own name",
        {"type": "array"}, errors="403",
        params=(query("reviewer"), query("author"), query("state")))},
    "/api/reviews/{review_id}": {"get": _op(
        "One review with ratings, disputes and history", f"{REVIEWERS}; the reviewed agent",
        errors="403 404", params=(path_id("review_id"),))},
    "/api/reviews/queue": {"get": _op(
        "A reviewer's open assignments and drafts", REVIEWERS, errors="400 403",
        params=(query("reviewer", {"type": "string", "minLength": 1}, required=True),))},
    "/api/reviews/calibration": {"get": _op(
        "Reviewer agreement per rubric version", REVIEWERS, {"type": "array"},
        errors="400 403", params=(query("from", BOUND), query("to", BOUND), query("rubric")))},
    "/api/reviews/sessions/{session_id}": {"get": _op(
        "A calibration session: my replies to score, and agreement and consensus once I may "
        "see them (results null before: scores stay blind until I submitted mine)",
        "its creator, participants, admin", errors="403 404",
        params=(path_id("session_id"),))},
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
                              "properties": {"error": {"type": "string"}}}},
    },
    "security": [{"bearer": []}, {"session": []}],
    "paths": PATHS,
}


@bp.get("/openapi.json")
@public
def document():
    """The OpenAPI document."""
    return jsonify(DOCUMENT)
