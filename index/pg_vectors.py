"""A model's vector index in PostgreSQL (pgvector HNSW, cosine), with the parts of
`index.vectors.VectorIndex` that the suggester and the engine use: `search`, `calibrate`,
`baseline`, `ids`, `len`, `kind` and `stamp`.

Nothing is held in the process but the model's stamp (dimension, baseline, build time): every
search asks the database, so every `serve` process sees every commit at once. The baseline is
computed as on SQLite (`index.vectors.baseline_similarity` of the vectors in document id
order, at a full build), so scores mean the same on both backends."""

from __future__ import annotations

import numpy as np

import storage.vectors
from index.vectors import REBUILD_HINT
from replykit.errors import IndexMismatch


class PgVectorIndex:
    """The vectors of `model` in the database `db`. `search` returns cosine scores, best
    first; HNSW searches `ef_search` candidates (recall vs speed, docs/benchmarks.md)."""

    kind = "hnsw"

    def __init__(self, db, stamp: dict, ef_search: int):
        self.db = db
        self.model = stamp["model"]
        self.dim = int(stamp["dim"])
        self.baseline = float(stamp["baseline"])
        self.built_at = stamp["built_at"]
        self.ef_search = ef_search

    @classmethod
    def open(cls, db, model: str, dim: int, ef_search: int) -> PgVectorIndex | None:
        """The index of `model` if it was ever built (None if not); IndexMismatch when it
        was built with another dimension."""
        stamp = storage.vectors.model_stamp(db, model)
        if stamp is None:
            return None
        if int(stamp["dim"]) != dim:
            raise IndexMismatch(
                f"the vectors of model {model!r} in the database have dimension {stamp['dim']}, "
                f"the model gives {dim}: {REBUILD_HINT}")
        return cls(db, stamp, ef_search)

    def calibrate(self, cosine: float) -> float:
        """As `index.vectors.VectorIndex.calibrate`: baseline → 0, 1 stays 1."""
        return (cosine - self.baseline) / (1.0 - self.baseline)

    def search(self, queries: np.ndarray, k: int) -> list[list[tuple[int, float]]]:
        """For each query row, up to k (document id, cosine) pairs, best first."""
        queries = np.asarray(queries, dtype=np.float32).reshape(-1, self.dim)
        if k <= 0:
            return [[] for _ in range(len(queries))]
        return [storage.vectors.nearest(self.db, self.model, q, k, self.ef_search)
                for q in queries]

    def __len__(self) -> int:
        return storage.vectors.vector_count(self.db, self.model)

    @property
    def ids(self) -> set[int]:
        return storage.vectors.vector_ids(self.db, self.model)

    def stamp(self) -> dict:
        """What the database says about this model's vectors."""
        return {
            "model": self.model,
            "dim": self.dim,
            "kind": self.kind,
            "count": len(self),
            "built_at": self.built_at,
            "baseline": self.baseline,
            "ef_search": self.ef_search,
        }
