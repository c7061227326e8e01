"""The sync runner: pull a source's batches from its stored cursor and store each batch's
records and its new cursor in ONE write transaction, through the same importer as
`replykit import conversations` (suggest.conversations.import_records). A SIGKILL anywhere
loses nothing: a batch is all stored with its cursor or not at all, and the next run resumes
from the last committed cursor (messages pulled again are skipped as already stored). The
vector indexes catch up once at the end (SuggestEngine.sync)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import storage.sync_state
import storage.webhooks
from connectors.base import Source
from replykit.errors import InputError
from storage.db import write_transaction
from suggest.conversations import import_records

COUNTS = ("batches", "messages", "skipped", "rejected", "conversations", "past_replies")


def run_sync(db, source: Source, progress: Callable[[int], None] | None = None,
             warn: Callable[[str], None] | None = None,
             should_stop: Callable[[], bool] | None = None) -> dict:
    """Pull `source` from its stored cursor to the end (or until `should_stop()` says so
    between batches). `progress(n)` gets each batch's record count; `warn(line)` each record
    left out (bad data from the helpdesk is reported, never stalls the sync). Returns counts
    (COUNTS) and the cursor reached; the caller syncs the vector indexes afterwards."""
    totals = dict.fromkeys(COUNTS, 0)
    cursor = storage.sync_state.sync_cursor(db, source.name)
    for batch in source.pull(cursor):
        rejected: list[InputError] = []
        where = f"{source.name} after cursor {cursor!r}, record "
        with write_transaction(db):
            counts = import_records(
                db, ((f"{where}{n}, ", r) for n, r in enumerate(batch.records, start=1)),
                on_bad=rejected.append)
            storage.sync_state.save_batch(
                db, source.name, batch.cursor, datetime.now(UTC).isoformat(),
                counts["messages"], counts["skipped"], counts["rejected"])
            # where each conversation came from: its saved-reply actions go back there
            storage.webhooks.note_sources(
                db, source.name, {r["conversation_id"] for r in batch.records
                                  if isinstance(r, dict)
                                  and isinstance(r.get("conversation_id"), str)},
                datetime.now(UTC).isoformat())
        for error in rejected:
            if warn:
                warn(f"left out: {error}")
        totals["batches"] += 1
        for key in COUNTS[1:]:
            totals[key] += counts[key]
        cursor = batch.cursor
        if progress:
            progress(len(batch.records))
        if should_stop and should_stop():
            break
    return {"source": source.name, **totals, "cursor": cursor}

