"""Vectors of the search documents in PostgreSQL (pgvector), one table per embedder model.

`vectors_<model slug>(document_id → documents(id) ON DELETE CASCADE, embedding vector(dim))`
with an HNSW index (cosine), made when first needed, and `vector_models`: per model its
table, dimension, baseline cosine (see index.vectors) and when it was built. A deleted
document takes its vector with it, so a stale vector can never be suggested. PostgreSQL only:
on SQLite the vectors live in FAISS files (index.vectors)."""

from __future__ import annotations

import hashlib
import re
import zlib

import numpy as np

# ---- schema (created on demand, idempotent: PostgreSQL only)


def table_name(model: str) -> str:
    """The vector table of `model`: `vectors_<slug>_<hash>`, a valid identifier (≤ 63 chars)."""
    slug = re.sub(r"[^a-z0-9]+", "_", model.lower()).strip("_")[:32]
    return f"vectors_{slug}_{hashlib.sha256(model.encode()).hexdigest()[:8]}"


def _lock_key(model: str) -> int:
    """A 32-bit advisory lock key of `model`'s vectors (the second key of a two-key lock)."""
    return zlib.crc32(model.encode()) - 2**31


_LOCK_CLASS = 0x7265  # first key of the two-key advisory locks on vector tables ("re")


def lock_model(db, model: str, shared: bool = False) -> None:
    """Take the transaction-level advisory lock of `model`'s vectors: shared by embedders of
    pending documents, exclusive for a rebuild (call inside a transaction)."""
    kind = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    db.execute(f"SELECT {kind}(?, ?)", [_LOCK_CLASS, _lock_key(model)])


def ensure_tables(db, model: str, dim: int) -> str:
    """Create `vector_models` and the vector table of `model` (dimension `dim`) with its HNSW
    index if missing (call inside a transaction holding `lock_model`); the table's name."""
    db.execute("SELECT pg_advisory_xact_lock(?, 0)", [_LOCK_CLASS])  # DDL of any model
    table = table_name(model)
    db.execute(
        "CREATE TABLE IF NOT EXISTS vector_models (model TEXT PRIMARY KEY, table_name TEXT "
        "NOT NULL, dim INTEGER NOT NULL, baseline REAL NOT NULL, built_at TEXT NOT NULL)")
    db.execute(_create_table(table, dim, "IF NOT EXISTS"))
    db.execute(_create_index(table, "IF NOT EXISTS"))
    _register(db)
    return table


def _create_table(table: str, dim: int, if_not_exists: str = "") -> str:
    return (f"CREATE TABLE {if_not_exists} {table} (document_id BIGINT NOT NULL, "
            f"embedding vector({int(dim)}) NOT NULL, CONSTRAINT {table}_pk PRIMARY KEY "
            f"(document_id), CONSTRAINT {table}_fk FOREIGN KEY (document_id) "
            "REFERENCES documents(id) ON DELETE CASCADE)")


def _create_index(table: str, if_not_exists: str = "") -> str:
    return (f"CREATE INDEX {if_not_exists} {table}_hnsw ON {table} "
            "USING hnsw (embedding vector_cosine_ops)")


def drop_table(db, model: str) -> None:
    """Drop `model`'s vector table and its `vector_models` row (a model whose dimension
    changed)."""
    db.execute(f"DROP TABLE IF EXISTS {table_name(model)}")
    if _exists(db, "vector_models"):
        db.execute("DELETE FROM vector_models WHERE model = ?", [model])


def _exists(db, table: str) -> bool:
    return db.execute("SELECT to_regclass(?) IS NOT NULL", [table]).fetchone()[0] == 1


def _register(db) -> None:
    """Let this connection send and read numpy vectors as pgvector values (once each)."""
    raw = db.conn.raw
    if not getattr(raw, "_replykit_vector", False):
        from pgvector.psycopg import register_vector

        register_vector(raw)
        raw._replykit_vector = True


# ---- queries


def model_stamp(db, model: str) -> dict | None:
    """`vector_models` row of `model` (model, table_name, dim, baseline, built_at), or None
    when its vectors were never built."""
    if not _exists(db, "vector_models"):
        return None
    rows = list(db.query("SELECT model, table_name, dim, baseline, built_at FROM vector_models "
                         "WHERE model = ?", [model]))
    return rows[0] if rows else None


def set_model_stamp(db, model: str, dim: int, baseline: float, built_at: str) -> None:
    """Record (or replace) `model`'s dimension, baseline cosine and build time."""
    db.execute(
        "INSERT INTO vector_models (model, table_name, dim, baseline, built_at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (model) DO UPDATE SET table_name = "
        "EXCLUDED.table_name, dim = EXCLUDED.dim, baseline = EXCLUDED.baseline, "
        "built_at = EXCLUDED.built_at",
        [model, table_name(model), int(dim), float(baseline), built_at])


def claim_pending(db, model: str, limit: int) -> list[dict]:
    """Up to `limit` documents without a vector of `model`, by id: list[dict] with id, text,
    kind. Their rows stay locked (FOR UPDATE) until the transaction ends and other claims
    skip them, so concurrent embedders never take the same documents (call inside one)."""
    table = table_name(model)
    return list(db.query(
        f"SELECT d.id, d.text, d.kind FROM documents d WHERE NOT EXISTS (SELECT 1 FROM {table} "
        "v WHERE v.document_id = d.id) ORDER BY d.id LIMIT ? FOR UPDATE OF d SKIP LOCKED",
        [int(limit)]))


def pending_count(db, model: str) -> int:
    """Documents without a vector of `model`: int."""
    return db.execute(
        f"SELECT COUNT(*) FROM documents d WHERE NOT EXISTS (SELECT 1 FROM {table_name(model)} "
        "v WHERE v.document_id = d.id)").fetchone()[0]


def vector_count(db, model: str) -> int:
    """Vectors stored for `model`: int."""
    return db.execute(f"SELECT COUNT(*) FROM {table_name(model)}").fetchone()[0]


def vector_ids(db, model: str) -> set[int]:
    """Document ids that have a vector of `model`: set[int]."""
    return {row[0] for row in db.execute(f"SELECT document_id FROM {table_name(model)}")}


def insert_vectors(db, model: str, ids, vectors: np.ndarray) -> None:
    """Store vectors ((n, dim) float32) of these document ids; an id that already has one
    keeps it (another embedder stored the same document's vector first)."""
    _register(db)
    db.conn.executemany(
        f"INSERT INTO {table_name(model)} (document_id, embedding) VALUES (?, ?) "
        "ON CONFLICT (document_id) DO NOTHING",
        [(int(i), np.asarray(v, dtype=np.float32)) for i, v in zip(ids, vectors, strict=True)])


def replace_vectors(db, model: str, dim: int, ids, vectors: np.ndarray) -> None:
    """Make `model`'s vectors exactly these ((n, dim) float32, by document id): COPY into a
    new table, build its HNSW index in one go (much faster than row by row), then swap it in
    (call inside a transaction holding `lock_model`: searches use the old table until the
    swap, then wait for the commit only)."""
    _register(db)
    table = table_name(model)
    new = f"{table}_new"
    db.execute(f"DROP TABLE IF EXISTS {new}")
    db.execute(_create_table(new, dim))
    with db.conn.raw.cursor() as cursor, cursor.copy(
        f"COPY {new} (document_id, embedding) FROM STDIN WITH (FORMAT BINARY)"
    ) as copy:
        copy.set_types(["int8", "vector"])
        for doc_id, vector in zip(ids, vectors, strict=True):
            copy.write_row([int(doc_id), np.asarray(vector, dtype=np.float32)])
    db.execute(_create_index(new))
    db.execute(f"DROP TABLE IF EXISTS {table}")
    db.execute(f"ALTER TABLE {new} RENAME TO {table}")
    for suffix in ("pk", "fk"):
        db.execute(f"ALTER TABLE {table} RENAME CONSTRAINT {new}_{suffix} TO {table}_{suffix}")
    db.execute(f"ALTER INDEX {new}_hnsw RENAME TO {table}_hnsw")


def nearest(db, model: str, vector: np.ndarray, k: int, ef_search: int) -> list[tuple[int, float]]:
    """Up to `k` (document id, cosine similarity) pairs nearest to `vector`, best first, by
    the HNSW index searching `ef_search` candidates (at least `k`: pgvector returns no more
    than ef_search rows)."""
    _register(db)
    db.execute("SELECT set_config('hnsw.ef_search', ?, false)", [str(max(int(ef_search), k))])
    vector = np.asarray(vector, dtype=np.float32)
    rows = db.execute(
        f"SELECT document_id, 1 - (embedding <=> ?) FROM {table_name(model)} "
        "ORDER BY embedding <=> ? LIMIT ?", [vector, vector, int(k)]).fetchall()
    return [(int(doc_id), float(score)) for doc_id, score in rows]


def table_bytes(db, model: str) -> int:
    """Size of `model`'s vector table with its indexes, in bytes: int."""
    return db.execute("SELECT pg_total_relation_size(?::regclass)",
                      [table_name(model)]).fetchone()[0]


def database_bytes(db) -> int:
    """Size of the whole database, in bytes: int."""
    return db.execute("SELECT pg_database_size(current_database())").fetchone()[0]
