"""Helpdesk webhooks: `POST /hooks/<source>` for a `[sync.NAME]` source with
`webhook_secret_env` set (docs/integrations.md, "Webhooks").

Each request is checked before anything is read from it: its size (HOOK_MAX_BYTES, 413), its
signature with the source's secret and its timestamp (connectors.signatures: 401 for unsigned,
wrongly signed or stale requests). The event's id is recorded in the transaction that stores
its message (through the importer a sync uses), so an event delivered again answers 200
"already processed" and stores nothing. A source that is not configured for webhooks is a 404.

With `post_suggestion = true` the top suggestion for a newly stored customer message is
posted back as a private note AFTER the answer: the helpdesk waits for nothing (Zendesk and
Chatwoot give a webhook a few seconds), and one worker thread per app does the posts in
order; its outcome is kept on the event's row."""

from __future__ import annotations

import json
import logging
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime

from flask import Blueprint, current_app, jsonify, request
from werkzeug.exceptions import HTTPException, NotFound, RequestEntityTooLarge

import storage.webhooks
from connectors import hook_events, signatures
from connectors.base import ConnectorError, make_source, secret, source_settings
from connectors.post_back import post_suggestion
from replykit.errors import InputError, ReplykitError
from replykit.home import Home
from storage.db import write_transaction
from suggest.conversations import import_records
from suggest.engine import SuggestEngine
from web.db import engine
from web.security import public, signed_requests

HOOK_MAX_BYTES = 256 * 1024  # a message event is a few KiB; anything near this is not one
log = logging.getLogger(__name__)
bp = Blueprint("hooks", __name__, url_prefix="/hooks")


@bp.errorhandler(ReplykitError)
def _replykit_error(exc: ReplykitError):
    return jsonify({"error": str(exc)}), exc.status


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
    return jsonify({"error": exc.description}), exc.code, headers


def hook_settings(sections: dict, name: str) -> tuple[dict, str]:
    """(settings, secret) of the source `[sync.NAME]` if it takes webhooks (it names
    `webhook_secret_env`); NotFound otherwise, ConnectorError for a secret written into the
    file or an environment variable that is not set."""
    settings = sections.get("sync", {}).get(name)
    if not isinstance(settings, dict) or not settings.get("webhook_secret_env"):
        raise NotFound(f"no webhook source {name!r}")
    settings = source_settings(sections, name)
    if "webhook_secret" in settings:
        raise ConnectorError(f"config.toml [sync.{name}] webhook_secret: secrets are not kept "
                             "in the file; set webhook_secret_env")
    return settings, secret(settings, name, "webhook_secret")


def _raw_body() -> bytes:
    if (request.content_length or 0) > HOOK_MAX_BYTES:
        raise RequestEntityTooLarge(f"a webhook is at most {HOOK_MAX_BYTES // 1024} KiB")
    body = request.get_data(cache=True)
    if len(body) > HOOK_MAX_BYTES:  # sent without a Content-Length
        raise RequestEntityTooLarge(f"a webhook is at most {HOOK_MAX_BYTES // 1024} KiB")
    return body


@bp.post("/<source>")
@signed_requests
@public
def receive(source: str):
    """A helpdesk's event: 200 {"status": "stored", "messages": n} (n = 0 when the message was
    stored before, e.g. by a sync), {"status": "ignored"} for an event without a customer
    message, {"status": "already processed"} for an event id seen before; 400 for JSON that is
    not the source's event, 401 signature, 404 source, 413 size."""
    config = current_app.extensions["replykit.config"]
    try:
        settings, key = hook_settings(config.sections, source)
    except ConnectorError as exc:
        log.warning("webhook %s refused: %s", source, exc)
        return jsonify({"error": f"webhooks of {source!r} are not set up on this server"}), 503
    body = _raw_body()
    signatures.verify(settings["type"], key, request.headers, body, time.time())
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise InputError("not JSON", "request body") from exc
    received = datetime.now(UTC)
    event = hook_events.parse(settings["type"], payload, received,
                              str(settings.get("id_prefix", "")))
    where = f"webhook {source} event {event.event_id}, "
    with engine().writing() as db:
        claimed = storage.webhooks.claim_event(
            db, source, event.event_id, received.isoformat(), event.conversation_id,
            "stored" if event.record else "ignored")
        counts = (import_records(db, [(where, event.record)])
                  if claimed and event.record else None)
        if counts is not None:
            storage.webhooks.note_sources(db, source, [event.conversation_id],
                                          received.isoformat())
    if not claimed:
        return jsonify({"status": "already processed", "event_id": event.event_id})
    if counts is None:
        return jsonify({"status": "ignored", "event_id": event.event_id})
    if settings.get("post_suggestion") is True and counts["messages"]:
        _post_later(source, event)
    return jsonify({"status": "stored", "event_id": event.event_id,
                    "messages": counts["messages"]})


@bp.record_once
def _post_back_worker(state) -> None:
    """One worker thread per app for the post-backs (started with the first one), and the
    latest post-backs' futures for `wait_for_posts`."""
    state.app.extensions["replykit.hooks.post_back"] = ThreadPoolExecutor(
        1, thread_name_prefix="replykit-post-back")
    state.app.extensions["replykit.hooks.posts"] = deque(maxlen=100)


def _post_later(source: str, event: hook_events.HookEvent) -> Future:
    """Queue the post-back of the event's conversation on the app's worker thread."""
    app = current_app._get_current_object()
    future = app.extensions["replykit.hooks.post_back"].submit(_post, app, source, event)
    app.extensions["replykit.hooks.posts"].append(future)
    return future


def _post(app, source: str, event: hook_events.HookEvent) -> dict:
    """Suggest and post (connectors.post_back) with this thread's own database connection;
    the outcome is kept on the event's row and logged, never raised (nobody waits for it)."""
    config = app.extensions["replykit.config"]
    home = Home(config)
    try:
        poster = SuggestEngine(home, _loaded=app.extensions["replykit.vector_indexes"])
        outcome = post_suggestion(poster, make_source(config.sections, source),
                                  event.conversation_id)
        if outcome["posted"]:
            with write_transaction(home.db):
                storage.webhooks.record_note(home.db, source, event.event_id, outcome["note_id"],
                                             outcome["reply_id"], datetime.now(UTC).isoformat())
        log.info("webhook %s event %s post-back: %s", source, event.event_id, outcome)
        return outcome
    except Exception as exc:  # a post-back that fails must not stop the next one
        log.warning("webhook %s event %s post-back failed: %s", source, event.event_id, exc)
        return {"posted": False, "reason": str(exc)}
    finally:
        home.close()


def wait_for_posts(app, timeout: float = 60) -> list[dict]:
    """Wait for the latest (up to 100) post-backs and return their outcomes, oldest first."""
    return [future.result(timeout) for future in list(app.extensions["replykit.hooks.posts"])]
