"""The suggest engine: a home's embedders and their vector indexes, kept in step with the
`documents` table. One FAISS index file per embedder under HOME/index/.

The database is the source of truth: `sync()` adds and removes vectors until an index holds
exactly the documents' ids (ids are never reused, so equal id sets mean equal content);
`rebuild()` writes every index anew (cached embeddings make that cheap when little changed).
A file lock serialises index writers across processes; a reader reloads an index whose file
changed on disk. Every change to `documents` is queued in `index_queue` in its own
transaction; a sync or rebuild removes what it has caught up with, so the queue tells how far
behind the indexes are (`pending`)."""

from __future__ import annotations

import fcntl
import glob
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import sqlite_utils

import storage.search
from index.adapters import adapt_all
from index.cache import embed_cached
from index.embedders import Embedder, EmbedderUnavailable, load_embedder
from index.lexical import LexicalIndex
from index.normalize import dominant_script
from index.pg_lexical import PgLexicalIndex
from index.pg_vectors import PgVectorIndex
from index.vectors import VectorIndex
from replykit.config import Config
from replykit.errors import IndexMismatch
from replykit.home import Home
from storage.db import is_postgres, write_transaction
from suggest import feedback, pg_index, ranking

if TYPE_CHECKING:
    from suggest.index_writer import IndexWriter


def is_question(kind: str) -> bool:
    """Documents that hold a customer's question (example or past) rather than a reply."""
    return kind in ("question", "past")


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_")[-80:]


@dataclass
class _Loaded:
    index: VectorIndex
    mtime_ns: int


@dataclass
class SuggestEngine:
    """Embedders + vector indexes + lexical index for one home."""

    home: Home
    _loaded: dict[str, _Loaded] = field(default_factory=dict)
    _lexical: LexicalIndex | None = None
    _signals: tuple | None = None  # (cache key, suggest.feedback.ranking_signals)
    # the serving process's index writer: `writing()` hands it the catch-up instead of syncing
    background: IndexWriter | None = None

    @property
    def config(self) -> Config:
        return self.home.config

    @property
    def db(self):
        return self.home.db

    @property
    def lexical(self) -> LexicalIndex:
        """The lexical index over the current database connection, made once per connection
        (the web app swaps `home` per request), so its small caches last a whole query."""
        db = self.db
        if self._lexical is None or self._lexical.db is not db:
            self._lexical = (
                PgLexicalIndex(db) if is_postgres(db) else LexicalIndex(db, "documents_fts")
            )
            self._lexical.ensure_vocab()
        return self._lexical

    def ranking_signals(self) -> dict:
        """`suggest.feedback.ranking_signals` of the home, recomputed only when the database
        may have changed (`storage.search.change_stamp`) or the day changed (feedback fades)."""
        db = self.db
        key = (id(db), storage.search.change_stamp(db), time.strftime("%F"))
        if self._signals is None or self._signals[0] != key:
            self._signals = (key, feedback.ranking_signals(db))
        return self._signals[1]

    def embedders(self) -> list[Embedder]:
        """The primary embedder, then the multilingual one when configured and installed,
        each adapted by the home's active learnt version (`replykit learn`), if any."""
        found = [load_embedder(self.config.model)]
        spec = self.config.multilingual_model
        if spec and spec != self.config.model:
            try:
                found.append(load_embedder(spec))
            except EmbedderUnavailable:
                pass
        return adapt_all(found, self.config.home / "models")

    def index_path(self, embedder: Embedder) -> Path:
        return self.config.index_dir / f"{_slug(embedder.name)}.rkvec"

    @contextmanager
    def _writer_lock(self):
        self.config.index_dir.mkdir(parents=True, exist_ok=True)
        with open(self.config.index_dir / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _documents(self, ids: list[int] | None = None) -> list[tuple[int, str, str]]:
        """(id, text, kind) of all documents, or of these ids."""
        rows = storage.search.document_rows(self.db, ("id", "text", "kind"), ids)
        return [(row["id"], row["text"], row["kind"]) for row in rows]

    def _needed(self, embedder: Embedder, rows) -> list[int]:
        """Positions of the rows the embedder must encode: all of them, except that on SQLite
        the primary embedder skips documents written in a script it is not used for
        (`ranking.embedder_used`: Thai, Persian... when the multilingual one is installed).
        Those keep a zero vector: cosine 0 with every question, so never a candidate above
        a real match, and half the encoding of a Thai or Persian library saved. PostgreSQL
        gets every vector (pgvector's cosine distance is undefined for a zero vector)."""
        embedders = self.embedders()
        position = [e.name for e in embedders].index(embedder.name)
        multilingual = len(embedders) > 1
        if is_postgres(self.db) or ranking.embedder_used(position, "other", multilingual):
            return list(range(len(rows)))
        return [i for i, row in enumerate(rows)
                if ranking.embedder_used(position, dominant_script(row[1]), multilingual)]

    def _vectors(self, embedder: Embedder, rows) -> tuple[np.ndarray, int]:
        """Vectors of documents (`_needed`; the others stay zero): customer questions
        (example and past) encoded as queries, saved-reply texts as passages (it matters to
        e5, which was trained that way)."""
        vectors = np.zeros((len(rows), embedder.dim), dtype=np.float32)
        needed = self._needed(embedder, rows)
        encoded = 0
        for as_query in (False, True):
            picked = [i for i in needed if is_question(rows[i][2]) == as_query]
            if picked:
                found, count = embed_cached(
                    self.db, embedder, [rows[i][1] for i in picked], as_query=as_query
                )
                vectors[picked] = found
                encoded += count
        return vectors, encoded

    def document_ids(self) -> set[int]:
        return storage.search.document_ids(self.db)

    def vector_index(self, embedder: Embedder) -> VectorIndex | PgVectorIndex | None:
        """The embedder's index as on disk (reloaded if the file changed), or None if missing;
        on PostgreSQL its vectors in the database (suggest.pg_index)."""
        if is_postgres(self.db):
            return pg_index.vector_index(self, embedder)
        path = self.index_path(embedder)
        try:
            mtime = path.stat().st_mtime_ns
        except FileNotFoundError:
            self._loaded.pop(embedder.name, None)
            return None
        loaded = self._loaded.get(embedder.name)
        if loaded is None or loaded.mtime_ns != mtime:
            index = VectorIndex.load(path, model=embedder.name, dim=embedder.dim)
            loaded = self._loaded[embedder.name] = _Loaded(index, mtime)
        return loaded.index

    def _save(self, embedder: Embedder, index: VectorIndex) -> None:
        """Write the index file (under the writer lock), first removing temp files that a
        writer killed mid-save left behind: each is as large as the index."""
        path = self.index_path(embedder)
        for leftover in path.parent.glob(f"{glob.escape(path.name)}.*.tmp"):
            leftover.unlink(missing_ok=True)
        index.save(path)
        self._loaded[embedder.name] = _Loaded(index, path.stat().st_mtime_ns)

    def _build(self, embedder: Embedder, rows: list[tuple[int, str]]) -> tuple[VectorIndex, int]:
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        vectors, encoded = self._vectors(embedder, rows)
        index = VectorIndex.build(
            embedder.name,
            embedder.dim,
            ids,
            vectors,
            exact_max=self.config.exact_search_max,
            nprobe=self.config.ivf_nprobe,
            previous=self._current(embedder),
        )
        return index, encoded

    def _current(self, embedder: Embedder) -> VectorIndex | None:
        """The embedder's index on disk, or None if missing or unusable."""
        try:
            return self.vector_index(embedder)
        except IndexMismatch:
            return None

    def rebuild(self) -> list[dict]:
        """Write every embedder's index anew from the documents table."""
        if is_postgres(self.db):
            head = storage.search.queue_head(self.db)
            report = [pg_index.build(self, embedder) for embedder in self.embedders()]
            storage.search.dequeue(self.db, head)
            return report
        report = []
        with self._writer_lock():
            head = storage.search.queue_head(self.db)
            rows = self._documents()
            for embedder in self.embedders():
                started = time.perf_counter()
                index, encoded = self._build(embedder, rows)
                self._save(embedder, index)
                report.append(
                    {
                        "model": embedder.name,
                        "vectors": len(index),
                        "encoded": encoded,
                        "kind": index.kind,
                        "seconds": round(time.perf_counter() - started, 3),
                    }
                )
            storage.search.dequeue(self.db, head)
        return report

    def sync(self) -> dict:
        """Add/remove vectors so each index holds exactly the documents' ids; an index that
        is missing or was built by another model is rebuilt; then the queued changes it has
        caught up with leave `index_queue`. Returns counts per model."""
        if is_postgres(self.db):
            head = storage.search.queue_head(self.db)
            changes = pg_index.sync(self)
            storage.search.dequeue(self.db, head)
            return changes
        changes = {}
        with self._writer_lock():
            head = storage.search.queue_head(self.db)  # read first: all it names is committed
            wanted = self.document_ids()
            for embedder in self.embedders():
                try:
                    index = self.vector_index(embedder)
                except IndexMismatch:
                    index = None
                if index is None:
                    index, _ = self._build(embedder, self._documents())
                    self._save(embedder, index)
                    changes[embedder.name] = {"added": len(index), "removed": 0}
                    continue
                have = index.ids
                extra = sorted(have - wanted)
                missing = sorted(wanted - have)
                if not extra and not missing:
                    continue
                # change a private copy: other threads may be searching the shared one
                index = VectorIndex.load(self.index_path(embedder), embedder.name, embedder.dim)
                index.remove(extra)
                rows = self._documents(missing)
                vectors, _ = self._vectors(embedder, rows)
                index.add(np.array([r[0] for r in rows], dtype=np.int64), vectors)
                self._save(embedder, index)
                changes[embedder.name] = {"added": len(rows), "removed": len(extra)}
            storage.search.dequeue(self.db, head)
        return changes

    def embed_pending(self, embedder: Embedder, limit: int) -> int:
        """PostgreSQL: embed and store up to `limit` documents without a vector of this
        embedder, in one transaction, skipping documents that another caller is embedding
        (for `replykit worker`); how many it stored."""
        return pg_index.embed_pending(self, embedder, limit)

    @contextmanager
    def writing(self) -> Iterator[sqlite_utils.Database]:
        """The one write path for changes that may touch `documents`: `with engine.writing()
        as db:` runs the block in one write transaction (`storage.db.write_transaction`; the
        changed documents are queued in it) and, once it has committed, brings the vector
        indexes in line: `sync` here (CLI commands), or a nudge to the `background` writer,
        which catches up while the caller returns (the web app). A block that raises rolls
        back and syncs nothing. Inside another write transaction the block becomes a
        savepoint and the sync is left to the outermost writer (nothing is committed yet)."""
        db = self.db
        outermost = not db.conn.in_transaction
        with write_transaction(db):
            yield db
        if not outermost:
            return
        if self.background is not None:
            self.background.nudge()
        else:
            self.sync()

    def pending(self) -> dict:
        """How far the vector indexes are behind the database: {'pending_changes': queued
        changes, 'pending_replies': saved or past replies they belong to,
        'oldest_pending_seconds': age of the oldest (None when none is queued)}."""
        queue = storage.search.queue_state(self.db)
        age = None
        if queue["oldest"] is not None:
            oldest = datetime.fromisoformat(queue["oldest"])
            age = round(max((datetime.now(UTC) - oldest).total_seconds(), 0.0), 3)
        return {"pending_changes": queue["changes"], "pending_replies": queue["replies"],
                "oldest_pending_seconds": age}

    def index_states(self, where, measure) -> list[dict]:
        """Each embedder's index: model, dim, where it lives (`where(embedder)`: a dict) and
        its state (unusable, missing, stale or ok); `measure(embedder, index)` gives its
        size_bytes, missing and extra counts. Shared by both backends' `status`."""
        states = []
        for embedder in self.embedders():
            entry = {"model": embedder.name, "dim": embedder.dim, **where(embedder)}
            try:
                index = self.vector_index(embedder)
            except IndexMismatch as exc:
                states.append({**entry, "state": "unusable", "problem": str(exc)})
                continue
            if index is None:
                states.append({**entry, "state": "missing", "vectors": 0})
                continue
            counts = measure(embedder, index)
            stale = counts["missing"] or counts["extra"]
            states.append({**entry, **index.stamp(), "vectors": len(index), **counts,
                           "state": "stale" if stale else "ok"})
        return states

    def status(self) -> dict:
        """Models, counts, size on disk and staleness of every index; per index `pending`
        (documents it lacks or still holds: every document while it is missing), and the
        queue's `pending` figures (`pending()`)."""
        found = pg_index.status(self) if is_postgres(self.db) else self._sqlite_status()
        for item in found["indexes"]:
            built = item["state"] in ("ok", "stale")
            item["pending"] = item["missing"] + item["extra"] if built else found["documents"]
        return {**found, **self.pending()}

    def _sqlite_status(self) -> dict:
        wanted = self.document_ids()
        kinds = storage.search.document_counts_by_kind(self.db)

        def measure(embedder, index) -> dict:
            have = index.ids
            return {"size_bytes": self.index_path(embedder).stat().st_size,
                    "missing": len(wanted - have), "extra": len(have - wanted)}

        indexes = self.index_states(lambda e: {"file": str(self.index_path(e))}, measure)
        return {
            "home": str(self.config.home),
            "documents": len(wanted),
            "documents_by_kind": kinds,
            "lexical_documents": self.lexical.document_count(),
            "database_bytes": self.config.db_path.stat().st_size,
            "indexes": indexes,
            "stale": any(i["state"] != "ok" for i in indexes),
        }
