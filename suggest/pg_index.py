"""The suggest engine's indexes when the database is PostgreSQL: vectors in pgvector
(storage.vectors, one table per model), lexical search with pg_trgm (index.pg_lexical).

Nothing lives on the app server's disk: every search reads the database, so two `serve`
processes agree at once. `SuggestEngine` calls these for `sync`, `rebuild` and `status`:
- `embed_pending` embeds up to N documents that lack a vector of a model, in one transaction;
  the documents it takes stay locked until it commits and concurrent callers skip them
  (`FOR UPDATE SKIP LOCKED`), so several syncs or workers never embed a document twice.
- `build` recomputes all of a model's vectors and its baseline in one transaction (readers
  see the old vectors until it commits; writers wait for it, as for any write
  transaction); the first sync of a model builds it.
The fcntl lock and FAISS files of the SQLite mode are not used."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import storage.search
import storage.vectors
from index.embedders import Embedder
from index.pg_vectors import PgVectorIndex
from index.vectors import baseline_similarity
from replykit.errors import IndexMismatch
from storage.db import redact_url, write_transaction

BATCH = 64  # documents embedded per transaction by `sync` (a writer deleting one waits for it)


def vector_index(engine, embedder: Embedder) -> PgVectorIndex | None:
    """The model's vectors in the database, or None if never built."""
    return PgVectorIndex.open(engine.db, embedder.name, embedder.dim,
                              engine.config.hnsw_ef_search)


def _rows(documents: list[dict]) -> list[tuple[int, str, str]]:
    return [(row["id"], row["text"], row["kind"]) for row in documents]


def build(engine, embedder: Embedder, again: bool = True) -> dict | None:
    """All of the model's vectors and its baseline anew, in one transaction: a report with
    model, vectors, encoded, kind, seconds. `again=False`: None when the model is already
    built (by a concurrent caller, once its lock is free)."""
    db = engine.db
    started = time.perf_counter()
    # encode what the embedding cache lacks first, committed in batches: the transaction
    # below then only reads the cache (and a killed build keeps what it encoded)
    _, encoded = engine._vectors(embedder, engine._documents())
    # under the write lock that every writer takes first: creating and dropping vector tables
    # locks `documents`, which an import holding the lock may be writing (a deadlock else)
    with write_transaction(db):
        storage.vectors.lock_model(db, embedder.name)
        stamp = storage.vectors.model_stamp(db, embedder.name)
        if not again and stamp is not None and int(stamp["dim"]) == embedder.dim:
            return None
        if stamp is not None and int(stamp["dim"]) != embedder.dim:
            storage.vectors.drop_table(db, embedder.name)
        storage.vectors.ensure_tables(db, embedder.name, embedder.dim)
        rows = engine._documents()
        vectors, late = engine._vectors(embedder, rows)
        storage.vectors.replace_vectors(db, embedder.name, embedder.dim, [r[0] for r in rows],
                                        vectors)
        storage.vectors.set_model_stamp(db, embedder.name, embedder.dim,
                                        baseline_similarity(vectors),
                                        datetime.now(UTC).isoformat())
    return {"model": embedder.name, "vectors": len(rows), "encoded": encoded + late,
            "kind": PgVectorIndex.kind, "seconds": round(time.perf_counter() - started, 3)}


def embed_pending(engine, embedder: Embedder, limit: int) -> int:
    """Embed and store up to `limit` documents that have no vector of this model, in one
    transaction; how many it stored (a model never built is built first, whole). Safe to
    call from many processes at once (workers): each takes documents the others have not
    locked."""
    db = engine.db
    if storage.vectors.model_stamp(db, embedder.name) is None:
        report = build(engine, embedder, again=False)
        if report is not None:
            return report["vectors"]
    with db.atomic():
        storage.vectors.lock_model(db, embedder.name, shared=True)  # waits for a build
        rows = storage.vectors.claim_pending(db, embedder.name, limit)
        if rows:
            vectors, _ = engine._vectors(embedder, _rows(rows))
            storage.vectors.insert_vectors(db, embedder.name, [r["id"] for r in rows], vectors)
    return len(rows)


def sync(engine) -> dict:
    """Embed every document without a vector, per model; a model never built (or built with
    another dimension) is built. {model: {"added", "removed"}} for models that changed
    (vectors of deleted documents went with them: ON DELETE CASCADE)."""
    changes = {}
    for embedder in engine.embedders():
        try:
            built = vector_index(engine, embedder) is not None
        except IndexMismatch:
            built = False
        if not built:
            report = build(engine, embedder, again=False)
            if report is not None:
                changes[embedder.name] = {"added": report["vectors"], "removed": 0}
                continue
        added = 0
        while count := embed_pending(engine, embedder, BATCH):
            added += count
        if added:
            changes[embedder.name] = {"added": added, "removed": 0}
    return changes


def status(engine) -> dict:
    """Models, counts, sizes and pending documents, as `SuggestEngine.status` on SQLite."""
    db = engine.db
    kinds = storage.search.document_counts_by_kind(db)
    indexes = engine.index_states(
        lambda e: {"table": storage.vectors.table_name(e.name)},
        lambda e, index: {"size_bytes": storage.vectors.table_bytes(db, e.name),
                          "missing": storage.vectors.pending_count(db, e.name), "extra": 0})
    return {
        "home": str(engine.config.home),
        "database": redact_url(engine.config.database_url),
        "documents": int(sum(kinds.values())),
        "documents_by_kind": kinds,
        "lexical_documents": engine.lexical.document_count(),
        "database_bytes": storage.vectors.database_bytes(db),
        "indexes": indexes,
        "stale": any(i["state"] != "ok" for i in indexes),
    }
