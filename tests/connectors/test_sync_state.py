"""storage/sync_state.py and the runner on both backends: each batch's records and cursor are
stored together, running counts add up, and a batch that fails to store leaves neither its
records nor its cursor."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import storage.conversations
from connectors.base import Batch
from connectors.sync import run_sync
from storage.sync_state import sync_states

pytestmark = pytest.mark.both_backends


def message(conversation: str, number: int, role: str, body: str) -> dict:
    return {"conversation_id": conversation, "message_id": f"m{number}", "role": role,
            "author": "Ana" if role == "agent" else "Kai", "channel": "chat",
            "created_at": f"2026-09-05T09:{number:02d}:00Z", "body": body}


class ListSource:
    """A source that yields the given batches (and can fail after some of them)."""

    name = "list"

    def __init__(self, batches: list[Batch], fail_at: int | None = None):
        self.batches = batches
        self.fail_at = fail_at
        self.cursors: list[str | None] = []

    def pull(self, cursor: str | None) -> Iterator[Batch]:
        self.cursors.append(cursor)
        start = 0 if cursor is None else int(cursor)
        for index, batch in enumerate(self.batches[start:], start=start):
            if index == self.fail_at:
                yield Batch([message("C2", 1, "customer", "x"), {"conversation_id": "C2"}],
                            str(index + 1))
            yield batch


BATCHES = [
    Batch([message("C1", 1, "customer", "Where is my invoice?"),
           message("C1", 2, "agent", "Under Billing > Invoices.")], "1"),
    Batch([message("C1", 3, "customer", "Found it, thanks")], "2"),
]


def test_batches_store_with_their_cursor_and_resume(home):
    first = run_sync(home.db, ListSource(BATCHES[:1]))
    assert (first["messages"], first["past_replies"], first["cursor"]) == (2, 1, "1")
    source = ListSource(BATCHES)
    second = run_sync(home.db, source)
    assert source.cursors == ["1"]  # resumed after the stored batch
    assert (second["batches"], second["messages"], second["cursor"]) == (1, 1, "2")
    again = run_sync(home.db, ListSource(BATCHES))
    assert (again["batches"], again["messages"]) == (0, 0)
    [state] = sync_states(home.db)
    assert {k: state[k] for k in ("source", "cursor", "batches", "messages", "skipped",
                                  "rejected")} == {
        "source": "list", "cursor": "2", "batches": 2, "messages": 3, "skipped": 0,
        "rejected": 0}
    assert state["updated_at"].endswith("+00:00")


def test_a_batch_that_cannot_be_stored_leaves_no_trace(home):
    warnings = []
    counts = run_sync(home.db, ListSource(BATCHES, fail_at=1), warn=warnings.append)
    # the odd record is left out with a warning naming it; its batch-mates are stored
    assert counts["rejected"] == 1 and len(warnings) == 1
    assert warnings[0].startswith("left out: list after cursor '1', record 2, field message_id")
    assert [m["message_id"] for m in storage.conversations.conversation_messages(
        home.db, "C2")] == ["m1"]

    class Dropping(list):
        """Records whose reading fails after the first (a connection dropped mid-batch)."""

        def __iter__(self):
            yield self[0]
            raise ConnectionError("dropped")

    cursor_before = sync_states(home.db)[0]["cursor"]
    half = Batch(Dropping([message("C3", 1, "customer", "lost?"),
                           message("C3", 2, "agent", "no")]), "9")
    with pytest.raises(ConnectionError):
        run_sync(home.db, ListSource([*BATCHES, half]))
    assert storage.conversations.conversation_row(home.db, "C3") is None
    assert sync_states(home.db)[0]["cursor"] == cursor_before == "2"
