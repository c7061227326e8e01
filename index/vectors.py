"""A FAISS vector index with stable integer ids, stamped with the model that made it.

Exact inner-product search (IndexFlatIP behind IndexIDMap2) up to `exact_max` vectors; above
that an IVF index (IndexIVFFlat, nlist = 4·sqrt(n), `nprobe` lists searched) whose recall
against exact search is measured in bench/. Vectors are L2-normalised, so inner product is
cosine similarity. Both kinds add and remove by id without a rebuild.

Each index also records its `baseline`: the median cosine similarity of random pairs of its
vectors, i.e. what "unrelated" scores for this model on this data (about 0.1 for MiniLM,
0.8 for e5). `calibrate` maps a cosine onto 0 = unrelated .. 1 = identical, so that scores
of different models mean the same and one confidence threshold fits them all.

On disk one file holds a header (model, dim, kind, count, built_at, baseline), the sorted
ids, and the serialised FAISS index; it is written to a temp file and renamed, so a crash
leaves the previous file whole. Loading maps the file read-only instead of reading it: the
ids are a numpy view of it (membership by binary search) and FAISS reads its codes and
inverted lists in place (`faiss.ZeroCopyIOReader`), so a load costs milliseconds and no
private memory at any size, pages come from the OS page cache on first touch, and processes
serving the same file share them. The header is padded so the ids start 8-byte aligned
(files written before that still load). A mapped index is read-only: the first `add` or
`remove` copies it into memory. A file replaced by a writer keeps its old inode mapped until
the loaded index is dropped (`SuggestEngine` reloads on a changed mtime)."""

from __future__ import annotations

import json
import math
import mmap
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
    """Median cosine similarity of random pairs of distinct rows (0.0 with fewer than 2);
    zero rows (documents the model does not encode, suggest.engine) are left out."""
    vectors = vectors[np.any(vectors != 0, axis=1)]
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
        self._ids = np.asarray(ids, dtype=np.int64)  # sorted, unique; may be a view of a map
        self._mapped = extra.get("mapped", False)  # `index` reads a read-only file mapping
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
                and np.array_equal(previous._ids, np.unique(ids))
            )
            quantizer = faiss.IndexFlatIP(dim)
            if reuse:  # a copy of the centroids: `previous` may be a file mapping, soon unmapped
                quantizer.add(previous.index.quantizer.reconstruct_n(0, nlist))
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
        return cls(model, dim, index, np.unique(ids), kind, baseline=baseline_similarity(vectors))

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def ids(self) -> set[int]:
        return set(self._ids.tolist())

    def contains(self, ids) -> np.ndarray:
        """For each of `ids`, whether the index holds it (a bool array)."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        if not len(self._ids):
            return np.zeros(len(ids), dtype=bool)
        at = np.searchsorted(self._ids, ids)
        return (at < len(self._ids)) & (self._ids[np.minimum(at, len(self._ids) - 1)] == ids)

    def _own(self) -> None:
        """Copy a mapped index into memory before the first change: the mapping is read-only."""
        if self._mapped:
            self.index = faiss.deserialize_index(faiss.serialize_index(self.index))
            self._ids = np.array(self._ids)
            self._mapped = False

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add vectors; ids already present are replaced."""
        ids = np.asarray(ids, dtype=np.int64)
        if not len(ids):
            return
        self.remove(ids)
        self._own()
        self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)
        self._ids = np.union1d(self._ids, ids)

    def remove(self, ids) -> None:
        """Remove vectors by id (unknown ids are ignored)."""
        ids = np.unique(np.asarray(list(ids), dtype=np.int64))
        present = ids[self.contains(ids)]
        if len(present):
            self._own()
            self.index.remove_ids(present)
            self._ids = np.setdiff1d(self._ids, present, assume_unique=True)

    def search(self, queries: np.ndarray, k: int) -> list[list[tuple[int, float]]]:
        """For each query row, up to k (id, score) pairs, best first (fewer if the index
        holds fewer than k vectors: FAISS pads with id -1, which is dropped)."""
        queries = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.dim)
        if not len(self._ids) or k <= 0:
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
        """Write atomically: temp file in the same directory, fsync, rename. The header is
        padded with spaces so that the ids start at a multiple of 8 bytes (mapped in place).
        Then the index maps the new file, as `load` would, and its in-memory copy is freed."""
        header = json.dumps(self.stamp()).encode("utf-8")
        header += b" " * (-(len(MAGIC) + 8 + len(header) + 8) % 8)
        body = faiss.serialize_index(self.index)
        with atomic_file(path) as out:
            out.write(MAGIC)
            out.write(struct.pack("<Q", len(header)))
            out.write(header)
            out.write(struct.pack("<Q", len(self._ids)))
            out.write(self._ids.tobytes())
            out.write(body.tobytes())
        del body
        # serve from the file just written, as a load would: the in-memory copy is freed
        mapped = VectorIndex.load(path)
        self.index, self._ids, self._mapped = mapped.index, mapped._ids, True

    @classmethod
    def load(cls, path: Path, model: str | None = None, dim: int | None = None) -> VectorIndex:
        """Map an index file read-only (see the module docstring); if `model`/`dim` are given
        they must match the stamp."""
        path = Path(path)
        try:
            with open(path, "rb") as file:
                size = file.seek(0, 2)
                data = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        except FileNotFoundError as exc:
            raise ReplykitError(f"no vector index at {path}: {REBUILD_HINT}") from exc
        try:
            if data[: len(MAGIC)] != MAGIC:
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
            if pos % 8:  # written before the header was padded: copy, unaligned
                ids = ids.copy()
            body = np.frombuffer(data, dtype=np.uint8, offset=pos + 8 * count)
            # FAISS keeps pointers into `body`: it must live as long as the index does
            index = faiss.read_index(faiss.ZeroCopyIOReader(faiss.swig_ptr(body), body.size))
            index.referenced_objects = [body]
        except (ValueError, struct.error, RuntimeError, KeyError, TypeError, MemoryError) as exc:
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
        if index.ntotal != count or index.d != stamp["dim"] or not np.all(ids[1:] > ids[:-1]):
            raise IndexMismatch(f"vector index {path} is inconsistent: {REBUILD_HINT}")
        return cls(
            stamp["model"],
            stamp["dim"],
            index,
            ids,
            stamp["kind"],
            built_at=stamp["built_at"],
            baseline=stamp["baseline"],
            mapped=True,
        )
