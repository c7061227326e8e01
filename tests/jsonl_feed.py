"""A local "JSONL over HTTP" endpoint (connectors/jsonl_http.py's protocol) for the tests:
`JsonlFeed(pages)` serves page i (a list of import records) to `GET /feed?cursor=i` (no cursor:
page 0) with `Replykit-Cursor: i+1`, an empty answer past the last page; `trouble` holds
(status, headers) answers to give before the real ones, e.g. a 429 with Retry-After. Every
request is logged in `requests` as (path with query, headers)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class JsonlFeed:
    """A running feed on 127.0.0.1 (a daemon thread); `url` is its endpoint, `close()` stops
    it (also as a context manager)."""

    def __init__(self, pages: list[list[dict]], trouble: list[tuple[int, dict]] = ()):
        self.pages = pages
        self.trouble = list(trouble)
        self.requests: list[tuple[str, dict]] = []
        feed = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                feed.requests.append((self.path, dict(self.headers)))
                if feed.trouble:
                    status, headers = feed.trouble.pop(0)
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                cursor = parse_qs(urlsplit(self.path).query).get("cursor", ["0"])[0]
                page = int(cursor)
                records = feed.pages[page] if page < len(feed.pages) else []
                body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-ndjson")
                self.send_header("Replykit-Cursor", str(page + 1))
                self.send_header("Content-Length", str(len(body.encode())))
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/feed"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> JsonlFeed:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
