"""Search documents: every text a suggestion can be found by, one row each in `documents`.

A saved reply gives a 'reply' document for its title, one for title + body (when the body says
more than the title), and a 'question' document per example question; a past reply gives a
'past' document for the customer question it answered. Triggers keep the FTS5 trigram table
in step inside the same transaction; the vector indexes follow via `SuggestEngine.sync()`.
Documents whose text is unchanged keep their id, so an edit re-embeds only what changed."""

from __future__ import annotations

from collections import Counter

import sqlite_utils

import storage.search
from index.cache import text_hash
from index.normalize import clean_text, dominant_script, normalize_text
from replykit.errors import NotFound
from suggest.placeholders import index_text


def _document(kind: str, ref: str, saved_reply_id: str | None, text: str) -> dict:
    text = clean_text(text)
    return {
        "kind": kind,
        "ref": ref,
        "saved_reply_id": saved_reply_id,
        "text": text,
        "lexical_text": normalize_text(text),
        "text_hash": text_hash(text),
        "script": dominant_script(text),
    }


def reply_documents(reply: dict) -> list[dict]:
    """The documents a saved reply should have (none once archived)."""
    if reply["status"] == "archived":
        return []
    rid = reply["id"]
    title = reply["title"]
    body = index_text(reply["body"])
    docs = [_document("reply", rid, rid, title)]
    if normalize_text(body) != normalize_text(title):
        docs.append(_document("reply", rid, rid, f"{title}\n{body}"))
    docs += [_document("question", rid, rid, q) for q in reply["questions"]]
    return [d for d in docs if d["text"]]


def replace(db: sqlite_utils.Database, kinds: tuple[str, ...], ref: str, wanted: list[dict]):
    """Make the documents of `ref` (of these kinds) exactly `wanted`, keeping unchanged ones."""
    existing = storage.search.documents_of(db, ref, kinds)
    want = Counter((d["kind"], d["text_hash"]) for d in wanted)
    stale = []
    for row in existing:
        key = (row["kind"], row["text_hash"])
        if want[key] > 0:
            want[key] -= 1
        else:
            stale.append(row["id"])
    if stale:
        storage.search.delete_documents(db, stale)
    new = []
    for doc in wanted:
        key = (doc["kind"], doc["text_hash"])
        if want[key] > 0:
            want[key] -= 1
            new.append(doc)
    if new:
        storage.search.insert_documents(db, new)


def sync_reply(db: sqlite_utils.Database, reply_id: str) -> None:
    """Bring a saved reply's documents in line with its current state (call in its transaction)."""
    from suggest.library import get_reply  # documents <-> library: the library calls us back

    try:
        wanted = reply_documents(get_reply(db, reply_id))
    except NotFound:
        wanted = []
    replace(db, ("reply", "question"), reply_id, wanted)


def past_document(past: dict) -> dict:
    """The document of a past reply: the customer question it answered."""
    return _document("past", past["id"], past.get("saved_reply_id"), past["question"])
