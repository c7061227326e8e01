"""Embedding workers (PostgreSQL): processes on any machine that take documents lacking a
vector from the database and embed them, so a large import (`import conversations
--no-index`, `replies import --no-index`) is encoded by as many machines as run
`replykit worker`.

The queue is the `documents` table itself: a document is pending for a model while its vector
table has no row for it. `SuggestEngine.embed_pending` claims up to N of them with
`FOR UPDATE SKIP LOCKED`, embeds them and stores their vectors in one transaction: concurrent
workers never take the same document, and a worker that dies (SIGKILL, a lost machine) loses
its transaction, so its documents are pending again for the others. No job table, no
second queue to keep in step with the data."""

from __future__ import annotations

import threading
from collections.abc import Callable

from replykit.errors import IndexMismatch, ReplykitError
from storage.db import is_postgres

BATCH = 256


class NeedsPostgres(ReplykitError):
    """A command that only makes sense with a shared PostgreSQL database."""


def require_postgres(db) -> None:
    """NeedsPostgres unless `db` is PostgreSQL."""
    if not is_postgres(db):
        raise NeedsPostgres(
            "replykit worker needs PostgreSQL (set REPLYKIT_DATABASE_URL or database_url): with "
            "SQLite every write command updates the vector indexes itself")


def _built(engine, embedder) -> bool:
    """Whether the model's vectors exist with its dimension (else `sync` builds them)."""
    try:
        return engine.vector_index(embedder) is not None
    except IndexMismatch:
        return False


def work(engine, batch: int = BATCH, once: bool = False, poll: float = 2.0,
         stop: threading.Event | None = None,
         report: Callable[[str, int], None] | None = None) -> dict:
    """Embed pending documents, `batch` per transaction, for every model of `engine`, until
    none is left (`once`) or `stop` is set (else wait `poll` seconds whenever none is
    pending). A model never built is built first (by one worker; the others wait for it).
    `report(model, count)` after each batch. Returns {model: documents embedded here}."""
    require_postgres(engine.db)
    stop = stop or threading.Event()
    done: dict[str, int] = {}
    while not stop.is_set():
        embedded = 0
        for embedder in engine.embedders():
            if not _built(engine, embedder):
                engine.sync()  # builds the models never built (once, under their lock)
                continue
            count = engine.embed_pending(embedder, batch)
            if count:
                done[embedder.name] = done.get(embedder.name, 0) + count
                embedded += count
                if report is not None:
                    report(embedder.name, count)
        if embedded:
            continue
        engine.sync()  # nothing left to embed: the queued changes leave `index_queue`
        if once:
            break
        stop.wait(poll)
    return done

