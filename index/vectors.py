"""A FAISS vector index with stable integer ids, stamped with the model that made it.

Exact inner-product search (IndexFlatIP behind IndexIDMap2) up to `exact_max` vectors; above
that an IVF index (IndexIVFFlat, nlist = 4·sqrt(n), `nprobe` lists searched) whose recall
against exact search is measured in bench/. Vectors are L2-normalised, so inner product is
cosine similarity. Both kinds add and remove by id without a rebuild.

Each index also records its `baseline`: the median cosine similarity of random pairs of its
vectors, i.e. what "unrelated" scores for this model on this data (about 0.1 for MiniLM,
0.8 for e5). `calibrate` maps a cosine onto 0 = unrelated .. 1 = identical, so that scores
of different models mean the same and one confidence threshold fits them all.

On disk one file holds a header (model, dim, kind, count, built_at, baseline), the ids, and
the FAISS index; it is written to a temp file and renamed, so a crash leaves the previous
file whole."""

from __future__ import annotations

import json
import math
import struct
from datetime import UTC, datetime
from pathlib import Path

import faiss
import numpy as np

from replykit.errors import IndexMismatch, ReplykitError
from replykit.textio import atomic_file

MAGIC = b"RKVEC1\n"
REBUILD_HINT = "run `replykit index rebuild`"
SINGLE_THREAD_MAX = 8  # searches of up to this many queries run on one FAISS thread
BASELINE_PAIRS = 2000


def baseline_similarity(vectors: np.ndarray, seed: int = 0) -> float:
    """Median cosine similarity of random pairs of distinct rows (0.0 with fewer than 2)."""
    n = len(vectors)
    if n < 2:
        return 0.0
    rng = np.random.default_rng(seed)
    first = rng.integers(0, n, BASELINE_PAIRS)
    second = (first + rng.integers(1, n, BASELINE_PAIRS)) % n
    return float(np.median(np.einsum("ij,ij->i", vectors[first], vectors[second])))


class VectorIndex:
    """Vectors by int64 id. `search` returns cosine scores, best first."""

    def __init__(self, model: str, dim: int, faiss_index, ids: np.ndarray, kind: str, **extra):
        self.model = model
        self.dim = dim
        self.index = faiss_index
        self.kind = kind
        self._ids = set(int(i) for i in ids)
        self.built_at = extra.get("built_at") or datetime.now(UTC).isoformat()
        self.baseline = float(extra.get("baseline", 0.0))

    def calibrate(self, cosine: float) -> float:
        """Cosine similarity rescaled so the baseline maps to 0 and 1 stays 1. Not clipped:
        below the baseline the order of scores still ranks."""
        return (cosine - self.baseline) / (1.0 - self.baseline)

    @classmethod
    def build(
        cls,
        model: str,
        dim: int,
        ids: np.ndarray,
        vectors: np.ndarray,
        exact_max: int = 20000,
        nprobe: int = 24,
        previous: VectorIndex | None = None,
    ) -> VectorIndex:
        """A new index over `vectors` ((n, dim) float32) with the given int64 `ids`. An IVF
        index reuses the coarse quantizer (k-means centroids) of `previous` when that holds
        exactly these ids with this model (ids are never reused, so the data is unchanged)
        instead of training it again: 12 s of k-means at 100k vectors."""
        ids = np.asarray(ids, dtype=np.int64)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, dim)
        if len(ids) > exact_max:
            nlist = int(4 * math.sqrt(len(ids)))
            reuse = (
                previous is not None
                and previous.kind == "ivf"
                and (previous.model, previous.dim, previous.index.nlist) == (model, dim, nlist)
                and previous._ids == set(ids.tolist())
            )
            if reuse:
                quantizer = faiss.clone_index(previous.index.quantizer)
            else:
                quantizer = faiss.IndexFlatIP(dim)
            index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
            if not reuse:
                index.train(vectors)
            index.nprobe = nprobe
            kind = "ivf"
        else:
            index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
            kind = "flat"
        if len(ids):
            index.add_with_ids(vectors, ids)
        return cls(model, dim, index, ids, kind, baseline=baseline_similarity(vectors))

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def ids(self) -> set[int]:
        return set(self._ids)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add vectors; ids already present are replaced."""
        ids = np.asarray(ids, dtype=np.int64)
        if not len(ids):
            return
        self.remove(ids)
        self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)
        self._ids.update(int(i) for i in ids)

    def remove(self, ids) -> None:
        """Remove vectors by id (unknown ids are ignored)."""
        present = np.array([int(i) for i in ids if int(i) in self._ids], dtype=np.int64)
        if len(present):
            self.index.remove_ids(present)
            self._ids.difference_update(int(i) for i in present)

    def search(self, queries: np.ndarray, k: int) -> list[list[tuple[int, float]]]:
        """For each query row, up to k (id, score) pairs, best first (fewer if the index
        holds fewer than k vectors: FAISS pads with id -1, which is dropped)."""
        queries = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.dim)
        if not self._ids or k <= 0:
            return [[] for _ in range(len(queries))]
        if len(queries) <= SINGLE_THREAD_MAX:
            # One live query: FAISS's OpenMP team only adds threads that spin on the cores
            # torch needs next (see index.embedders.SINGLE_THREAD_MAX); per calling thread.
            previous = faiss.omp_get_max_threads()
            faiss.omp_set_num_threads(1)
            try:
                scores, found = self.index.search(queries, min(k, len(self._ids)))
            finally:
                faiss.omp_set_num_threads(previous)
        else:
            scores, found = self.index.search(queries, min(k, len(self._ids)))
        return [
            [(int(i), float(s)) for i, s in zip(row_ids, row_scores, strict=True) if i != -1]
            for row_ids, row_scores in zip(found, scores, strict=True)
        ]

    def stamp(self) -> dict:
        """What the file says about itself."""
        return {
            "model": self.model,
            "dim": self.dim,
            "kind": self.kind,
            "count": len(self._ids),
            "built_at": self.built_at,
            "baseline": self.baseline,
        }

    def save(self, path: Path) -> None:
        """Write atomically: temp file in the same directory, fsync, rename."""
        header = json.dumps(self.stamp()).encode("utf-8")
        ids = np.array(sorted(self._ids), dtype=np.int64)
        body = faiss.serialize_index(self.index)
        with atomic_file(path) as out:
            out.write(MAGIC)
            out.write(struct.pack("<Q", len(header)))
            out.write(header)
            out.write(struct.pack("<Q", len(ids)))
            out.write(ids.tobytes())
            out.write(body.tobytes())

    @classmethod
    def load(cls, path: Path, model: str | None = None, dim: int | None = None) -> VectorIndex:
        """Read an index file; if `model`/`dim` are given they must match the stamp."""
        path = Path(path)
        try:
            data = path.read_bytes()
        except FileNotFoundError as exc:
            raise ReplykitError(f"no vector index at {path}: {REBUILD_HINT}") from exc
        try:
            if not data.startswith(MAGIC):
                raise ValueError("not a replykit vector index")
            pos = len(MAGIC)
            (header_len,) = struct.unpack_from("<Q", data, pos)
            pos += 8
            stamp = json.loads(data[pos : pos + header_len])
            stamp = {
                **{key: stamp[key] for key in ("model", "dim", "kind", "built_at")},
                "baseline": float(stamp.get("baseline", 0.0)),
            }
            pos += header_len
            (count,) = struct.unpack_from("<Q", data, pos)
            pos += 8
            ids = np.frombuffer(data, dtype=np.int64, count=count, offset=pos)
            pos += 8 * count
            index = faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8, offset=pos))
        except (ValueError, struct.error, RuntimeError, KeyError, TypeError) as exc:
            raise IndexMismatch(
                f"vector index {path} is unreadable ({exc}): {REBUILD_HINT}"
            ) from exc
        if model is not None and stamp["model"] != model:
            raise IndexMismatch(
                f"vector index {path} was built with model {stamp['model']!r} "
                f"(dim {stamp['dim']}), but the configured model is {model!r}: {REBUILD_HINT}"
            )
        if dim is not None and stamp["dim"] != dim:
            raise IndexMismatch(
                f"vector index {path} has dimension {stamp['dim']}, the model gives {dim}: "
                f"{REBUILD_HINT}"
            )
        if index.ntotal != count:
            raise IndexMismatch(f"vector index {path} is inconsistent: {REBUILD_HINT}")
        return cls(
            stamp["model"],
            stamp["dim"],
            index,
            ids,
            stamp["kind"],
            built_at=stamp["built_at"],
            baseline=stamp["baseline"],
        )
