"""The serving process's index writer: web writes commit and return, and this thread brings
the vector indexes in line after them.

`SuggestEngine.writing()` queues the changed documents in `index_queue` in the write's own
transaction, then calls `nudge()`: a thread (one per app, started on demand) runs
`SuggestEngine.sync()` until no nudge came in while it worked, then ends. A crash loses
nothing: the queue is in the database and `replykit serve` nudges once at start, so a restart
drains what is left. Across processes the index file lock (`HOME/index/.lock`) keeps a single
writer per home: a second server's writer waits for it. On PostgreSQL the same thread embeds
the documents that lack a vector (claimed `FOR UPDATE SKIP LOCKED`, as `replykit worker`
does), so several servers share the work."""

from __future__ import annotations

import logging
import threading

from replykit.config import Config
from replykit.home import Home
from suggest.engine import SuggestEngine

log = logging.getLogger(__name__)


class IndexWriter:
    """One background index writer for a home's vector indexes (shared with the request
    threads through `loaded`, the app's dict of loaded indexes)."""

    def __init__(self, config: Config, loaded: dict):
        self.config = config
        self._loaded = loaded
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._wanted = False
        self._thread: threading.Thread | None = None

    def nudge(self) -> None:
        """Ask for a catch-up (after a commit); returns at once."""
        with self._lock:
            self._wanted = True
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="replykit-index-writer", daemon=True)
                self._thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until no catch-up is running or asked for; whether it got there in time."""
        with self._idle:
            return self._idle.wait_for(lambda: self._thread is None, timeout)

    def _next(self) -> bool:
        """Whether another pass is wanted; if not, the thread is done (under the lock, so a
        nudge arriving now starts a new one)."""
        with self._lock:
            if self._wanted:
                self._wanted = False
                return True
            self._thread = None
            self._idle.notify_all()
            return False

    def _run(self) -> None:
        home = Home(self.config)
        try:
            engine = SuggestEngine(home, _loaded=self._loaded)
            while self._next():
                try:
                    engine.sync()
                except Exception:  # the queue keeps the changes: the next nudge retries
                    log.exception("index writer: the vector indexes did not catch up")
        finally:
            with self._lock:
                if self._thread is threading.current_thread():  # it died in Home or _next
                    self._thread = None
                    self._idle.notify_all()
            home.close()
