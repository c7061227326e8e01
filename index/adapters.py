"""Adapted embedders: a learnt linear map on top of a base embedder (`replykit learn`).

A version lives in HOME/models/<n>/: `manifest.json` (what it was learnt from, see
suggest.learning) and one `(dim, dim)` float32 matrix per base model (`adapter-<i>.npy`,
named in the manifest's "adapters"), and per base model a reply head (`head-<i>.npz`, named in
"heads"; versions learnt before heads existed have none): softmax regression from the mapped
vectors to the saved replies that the version was trained on. HOME/models/active holds the
active version number; without it (or empty) the base embedders are used as they are. An
adapted embedder encodes with its base model, multiplies by the matrix and re-normalises; its
name carries the version, so its vector index and embedding cache entries are its own and a
rollback finds the previous version's still there."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from index.embedders import Embedder
from replykit.errors import ReplykitError
from replykit.textio import write_atomically

ACTIVE = "active"
MANIFEST = "manifest.json"


class AdapterError(ReplykitError):
    """A model version in the home cannot be read."""


def normalized(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (float32; zero rows stay zero)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.ascontiguousarray(vectors / np.maximum(norms, 1e-12), dtype=np.float32)


class ReplyHead:
    """Softmax regression from a (mapped, normalised) question vector to the saved replies it
    was trained on: `replies` (ids), `weights` ((dim, len(replies))), `bias`."""

    def __init__(self, replies: list[str], weights: np.ndarray, bias: np.ndarray):
        self.replies = [str(r) for r in replies]
        self.column = {reply: i for i, reply in enumerate(self.replies)}
        self.weights = np.ascontiguousarray(weights, dtype=np.float32)
        self.bias = np.ascontiguousarray(bias, dtype=np.float32)

    def probabilities(self, vectors: np.ndarray) -> np.ndarray:
        """(n, len(replies)) probabilities of each reply for each row of `vectors`."""
        logits = np.atleast_2d(vectors) @ self.weights + self.bias
        exp = np.exp(logits - logits.max(axis=1, keepdims=True))
        return exp / exp.sum(axis=1, keepdims=True)

    def of(self, vector: np.ndarray, reply_ids) -> dict[str, float]:
        """{reply id: probability} for one question vector, of those of `reply_ids` the head
        was trained on (a question's candidates, not every reply)."""
        row = self.probabilities(vector)[0]
        return {r: float(row[self.column[r]]) for r in reply_ids if r in self.column}

    def top1(self, vectors: np.ndarray, owner: list[str]) -> float | None:
        """Share of rows whose most probable reply is their `owner` (None without rows)."""
        if not len(vectors):
            return None
        best = np.asarray(self.replies)[np.argmax(self.probabilities(vectors), axis=1)]
        return round(float(np.mean(best == np.asarray(owner))), 4)

    def save(self, path: Path) -> None:
        """Write the head as .npz (no pickled objects)."""
        with open(path, "wb") as out:
            np.savez(out, replies=np.asarray(self.replies, dtype=str), weights=self.weights,
                     bias=self.bias)


class AdaptedEmbedder:
    """`base` followed by the linear map `matrix` ((dim, dim)), re-normalised; `head` (or
    None) scores the saved replies from the adapted question vector."""

    def __init__(self, base: Embedder, matrix: np.ndarray, version: int,
                 head: ReplyHead | None = None):
        self.base = base
        self.matrix = np.ascontiguousarray(matrix, dtype=np.float32)
        self.version = version
        self.head = head
        self.name = f"{base.name}+adapted-{version}"
        self.dim = base.dim
        self.asymmetric = base.asymmetric

    def adapt(self, vectors: np.ndarray) -> np.ndarray:
        """Base vectors ((n, dim) float32) mapped and re-normalised."""
        return normalized(vectors @ self.matrix)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self.adapt(self.base.embed_queries(texts))

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self.adapt(self.base.embed_passages(texts))


def active_version(models_dir: Path) -> int | None:
    """The active version number, or None (the base models)."""
    try:
        text = (Path(models_dir) / ACTIVE).read_text("utf-8").strip()
    except FileNotFoundError:
        return None
    if not text:
        return None
    if not text.isdigit():
        raise AdapterError(f"{Path(models_dir) / ACTIVE}: not a version number: {text[:40]!r}")
    return int(text)


def set_active(models_dir: Path, version: int | None) -> None:
    """Make `version` (None: the base models) the active one, atomically."""
    write_atomically(Path(models_dir) / ACTIVE, "" if version is None else f"{version}\n")


def read_manifest(models_dir: Path, version: int) -> dict:
    """The manifest of a version (AdapterError when missing or unreadable)."""
    path = Path(models_dir) / str(version) / MANIFEST
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise AdapterError(f"{path}: cannot read the model version's manifest: {exc}") from exc


@lru_cache(maxsize=16)
def _matrix(path: str, mtime_ns: int) -> np.ndarray:
    """The adapter matrix stored at `path` (read once per file version)."""
    matrix = np.load(path, allow_pickle=False)
    if not np.isfinite(matrix).all():
        raise AdapterError(f"{path}: the adapter holds NaN or infinite numbers")
    return matrix


@lru_cache(maxsize=16)
def _head(path: str, mtime_ns: int) -> ReplyHead:
    """The head stored at `path` (read once per file version)."""
    with np.load(path, allow_pickle=False) as stored:
        head = ReplyHead(stored["replies"].tolist(), stored["weights"], stored["bias"])
    if not (np.isfinite(head.weights).all() and np.isfinite(head.bias).all()):
        raise AdapterError(f"{path}: the reply head holds NaN or infinite numbers")
    return head


def _load_head(path: Path, dim: int) -> ReplyHead:
    try:
        head = _head(str(path), path.stat().st_mtime_ns)
    except (OSError, ValueError, KeyError) as exc:
        raise AdapterError(f"{path}: cannot read the reply head: {exc}") from exc
    if head.weights.shape != (dim, len(head.replies)) or head.bias.shape != (len(head.replies),):
        raise AdapterError(f"{path}: weights {head.weights.shape} and bias {head.bias.shape} "
                           f"do not fit {len(head.replies)} replies of dimension {dim}")
    return head


def adapt_all(embedders: list[Embedder], models_dir: Path) -> list[Embedder]:
    """The embedders as the active version adapts them (those it has no matrix for, and all of
    them when no version is active, unchanged)."""
    version = active_version(models_dir)
    if version is None:
        return embedders
    manifest = read_manifest(models_dir, version)
    files, heads = manifest.get("adapters", {}), manifest.get("heads", {})
    adapted = []
    for embedder in embedders:
        name = files.get(embedder.name)
        if name is None:
            adapted.append(embedder)
            continue
        path = Path(models_dir) / str(version) / name
        try:
            matrix = _matrix(str(path), path.stat().st_mtime_ns)
        except (OSError, ValueError) as exc:
            raise AdapterError(f"{path}: cannot read the adapter: {exc}") from exc
        if matrix.shape != (embedder.dim, embedder.dim):
            raise AdapterError(f"{path}: shape {matrix.shape}, expected "
                               f"({embedder.dim}, {embedder.dim}) for {embedder.name}")
        head = heads.get(embedder.name)
        if head is not None:
            head = _load_head(Path(models_dir) / str(version) / head, embedder.dim)
        adapted.append(AdaptedEmbedder(embedder, matrix, version, head))
    return adapted
