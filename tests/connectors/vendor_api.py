"""A local stand-in for a helpdesk's REST API in the connector contract tests: a stdlib
`http.server` in a thread that answers each request with a function of the test (serving the
documented response shapes kept under tests/connectors/contracts/), records every request
(method, path, query, headers, JSON body) and can answer chosen requests with a failure first
(a 429 with Retry-After, a 500) to exercise the connector's retries."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

CONTRACTS = Path(__file__).parent / "contracts"


def contract(name: str):
    """A fixture file of tests/connectors/contracts/ (JSON), freshly decoded."""
    return json.loads((CONTRACTS / name).read_text("utf-8"))


@dataclass
class Seen:
    """One request the server received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: object


# answer(request) -> (status, JSON body); None for 404
Answer = Callable[[Seen], "tuple[int, object] | None"]


class VendorAPI:
    """The server's state: what it was asked and the failures still to serve."""

    def __init__(self, answer: Answer):
        self.answer = answer
        self.seen: list[Seen] = []
        self.failures: dict[tuple[str, str], list[tuple[int, dict]]] = {}
        self.url = ""

    def fail_once(self, method: str, path: str, status: int, headers: dict | None = None):
        """Answer the next `method path` with `status` (and `headers`) before the real answer."""
        self.failures.setdefault((method, path), []).append((status, headers or {}))

    def requests(self, method: str | None = None, path: str | None = None) -> list[Seen]:
        """The requests received, optionally only those of one method and path."""
        return [s for s in self.seen if method in (None, s.method) and path in (None, s.path)]

    def handle(self, seen: Seen) -> tuple[int, dict, object]:
        self.seen.append(seen)
        queued = self.failures.get((seen.method, seen.path))
        if queued:
            status, headers = queued.pop(0)
            return status, headers, {"error": "injected failure"}
        answer = self.answer(seen)
        if answer is None:
            return 404, {}, {"error": "Resource could not be found"}
        return answer[0], {}, answer[1]


@contextmanager
def serve(answer: Answer) -> Iterator[VendorAPI]:
    """Run a VendorAPI on a free local port for the duration of the block."""
    api = VendorAPI(answer)

    class Handler(BaseHTTPRequestHandler):
        def _any(self):
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            seen = Seen(self.command, parts.path,
                        {k: v[-1] for k, v in parse_qs(parts.query).items()},
                        {k.lower(): v for k, v in self.headers.items()},
                        json.loads(raw) if raw else None)
            status, headers, body = api.handle(seen)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _any

        def log_message(self, *args):  # keep the test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
