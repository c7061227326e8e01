"""Adapted embedders: a learnt linear map on top of a base embedder (`replykit learn`).

A version lives in HOME/models/<n>/: `manifest.json` (what it was learnt from, see
suggest.learning) and one `(dim, dim)` float32 matrix per base model (`adapter-<i>.npy`,
named in the manifest's "adapters"). HOME/models/active holds the active version number;
without it (or empty) the base embedders are used as they are. An adapted embedder encodes
with its base model, multiplies by the matrix and re-normalises; its name carries the
version, so its vector index and embedding cache entries are its own and a rollback finds
the previous version's still there."""

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


class AdaptedEmbedder:
    """`base` followed by the linear map `matrix` ((dim, dim)), re-normalised."""

    def __init__(self, base: Embedder, matrix: np.ndarray, version: int):
        self.base = base
        self.matrix = np.ascontiguousarray(matrix, dtype=np.float32)
        self.version = version
        self.name = f"{base.name}+adapted-{version}"
        self.dim = base.dim
        self.asymmetric = base.asymmetric

    def adapt(self, vectors: np.ndarray) -> np.ndarray:
        """Base vectors ((n, dim) float32) mapped and re-normalised."""
        mapped = vectors @ self.matrix
        norms = np.linalg.norm(mapped, axis=1, keepdims=True)
        return np.ascontiguousarray(mapped / np.maximum(norms, 1e-12), dtype=np.float32)

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
    return np.load(path, allow_pickle=False)


def adapt_all(embedders: list[Embedder], models_dir: Path) -> list[Embedder]:
    """The embedders as the active version adapts them (those it has no matrix for, and all of
    them when no version is active, unchanged)."""
    version = active_version(models_dir)
    if version is None:
        return embedders
    files = read_manifest(models_dir, version).get("adapters", {})
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
        adapted.append(AdaptedEmbedder(embedder, matrix, version))
    return adapted
