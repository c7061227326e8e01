"""Dynamic micro-batching of live questions: concurrent suggest requests of one server process
share an encode.

Each request's question goes onto its embedder's queue; one encoder thread per embedder takes
whatever has arrived (up to `max_batch` texts, waiting at most `max_wait_s` for more once the
first is there), encodes them as one batch and hands each caller its own vector. With one
agent the question is encoded alone, as before; with eight at once the model runs one forward
pass over a batch instead of eight passes that compete for the same cores (docs/benchmarks.md:
Many agents at once)."""

from __future__ import annotations

import os
import queue
import threading
from concurrent.futures import Future

import numpy as np

from index.embedders import Embedder


class QueryBatcher:
    """Encodes the single questions that `embed` receives from many threads in batches."""

    def __init__(self, embedder: Embedder, max_batch: int, max_wait_s: float = 0.0):
        self.embedder = embedder
        self.max_batch = max_batch
        self.max_wait_s = max_wait_s
        self.batches = self.questions = 0  # encodes run and questions they answered
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(
            target=self._run, name=f"query-batcher {embedder.name}", daemon=True
        )
        self._thread.start()

    def embed(self, text: str) -> np.ndarray:
        """The embedder's query vector of `text` ((dim,) float32); its errors are raised here."""
        future: Future = Future()
        self._queue.put((text, future))
        return future.result()

    def _take(self) -> list[tuple[str, Future]]:
        batch = [self._queue.get()]
        while len(batch) < self.max_batch:
            try:
                if self.max_wait_s > 0:
                    batch.append(self._queue.get(timeout=self.max_wait_s))
                else:
                    batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _run(self) -> None:
        while True:
            batch = self._take()
            texts = list(dict.fromkeys(text for text, _ in batch))
            self.batches, self.questions = self.batches + 1, self.questions + len(batch)
            try:
                vectors = self.embedder.embed_queries(texts)
            except BaseException as exc:  # the callers get the error, the thread goes on
                for _, future in batch:
                    future.set_exception(exc)
                continue
            row = {text: i for i, text in enumerate(texts)}
            for text, future in batch:
                future.set_result(vectors[row[text]])


_batchers: dict[tuple[int, str, int], QueryBatcher] = {}
_lock = threading.Lock()


def embed_query(embedder: Embedder, text: str, max_batch: int) -> np.ndarray:
    """`embedder`'s query vector of one question ((dim,) float32): together with the questions
    other threads of this process are asking at the same moment (one encoder thread per
    embedder name and process) when `max_batch` >= 2 and the embedder (or the base model of an
    adapted one) is `batchable`; else encoded in this thread."""
    if max_batch < 2 or not getattr(getattr(embedder, "base", embedder), "batchable", False):
        return embedder.embed_queries([text])[0]
    key = (os.getpid(), embedder.name, max_batch)  # a forked worker starts its own threads
    with _lock:
        batcher = _batchers.get(key)
        if batcher is None:
            batcher = _batchers[key] = QueryBatcher(embedder, max_batch)
    return batcher.embed(text)
