"""Embedding cache in SQLite, keyed by (model name, sha256 of the text): a rebuild re-encodes
only texts that are new or changed."""

from __future__ import annotations

import hashlib

import numpy as np
import sqlite_utils

import storage.search
from index.embedders import Embedder
from storage.db import write_transaction


def text_hash(text: str) -> str:
    """sha256 hex digest of the UTF-8 text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def cache_model(embedder: Embedder, as_query: bool = False) -> str:
    """The cache's model key: asymmetric models (e5) encode a text differently as a query."""
    if as_query and getattr(embedder, "asymmetric", False):
        return embedder.name + "#query"
    return embedder.name


def embed_cached(
    db: sqlite_utils.Database,
    embedder: Embedder,
    texts: list[str],
    as_query: bool = False,
    batch: int = 2048,
) -> tuple[np.ndarray, int]:
    """Vectors for `texts` ((n, dim) float32), as queries or as passages, encoding only cache
    misses. Returns the vectors and how many texts were encoded."""
    model = cache_model(embedder, as_query)
    encode = embedder.embed_queries if as_query else embedder.embed_passages
    base = getattr(embedder, "base", None)
    if base is not None:  # an adapted embedder (index.adapters): map the base's cached vectors
        def encode(texts: list[str]) -> np.ndarray:
            return embedder.adapt(embed_cached(db, base, texts, as_query, batch)[0])

    hashes = [text_hash(t) for t in texts]
    cached = storage.search.cached_embeddings(db, model, sorted(set(hashes)))
    missing: dict[str, str] = {}
    for h, t in zip(hashes, texts, strict=True):
        if h not in cached:
            missing.setdefault(h, t)
    items = list(missing.items())
    for start in range(0, len(items), batch):
        part = items[start : start + batch]
        vectors = encode([t for _, t in part])
        rows = [
            {"model": model, "text_hash": h, "vector": v.tobytes()}
            for (h, _), v in zip(part, vectors, strict=True)
        ]
        with write_transaction(db):
            storage.search.store_embeddings(db, rows)
        cached.update({r["text_hash"]: r["vector"] for r in rows})
    out = np.zeros((len(texts), embedder.dim), dtype=np.float32)
    for i, h in enumerate(hashes):
        out[i] = np.frombuffer(cached[h], dtype=np.float32)
    return out, len(items)


def cached_vectors(
    db: sqlite_utils.Database, model: str, hashes: list[str]
) -> dict[str, np.ndarray]:
    """Cached vectors of these texts under a cache model key (see `cache_model`); texts never
    encoded are absent."""
    found = storage.search.cached_embeddings(db, model, hashes)
    return {h: np.frombuffer(v, dtype=np.float32) for h, v in found.items()}
