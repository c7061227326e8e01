"""`replykit sync` throughput against its raw floor (issue 15).

    python -m bench.sync_bench [--conversations 1500] [--limit 500] [--json]

The demo's generated conversations (en/th/fa, `suggest.demo.write_conversations`) are stored
twice, each time into a fresh home with no vector index (`--no-index`: the indexes catch up
the same way after either):
- floor: `import conversations FILE` from a local JSONL file, one transaction;
- sync: the same records pulled over HTTP from a local JSONL-over-HTTP endpoint (the
  protocol of docs/integrations.md, `limit` records an answer) by `connectors.sync.run_sync`,
  one transaction per answer with its cursor, as `replykit sync` does;
- sync again: a second run from the stored cursor (nothing new: one request).
Printed: messages per second of each and the ratio sync / floor (1.0 = no cost for the
network, the paging and the per-batch commits)."""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from connectors.base import make_source
from connectors.sync import run_sync
from replykit.config import load_config
from replykit.home import Home
from suggest import demo
from suggest.conversations import import_conversations


def serve_lines(lines: list[str]) -> ThreadingHTTPServer:
    """A JSONL-over-HTTP endpoint on 127.0.0.1 serving `lines`; the cursor is an offset."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            query = parse_qs(urlsplit(self.path).query)
            start = int(query.get("cursor", ["0"])[0])
            end = start + int(query.get("limit", ["500"])[0])
            body = "".join(lines[start:end]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-ndjson")
            self.send_header("Replykit-Cursor", str(min(end, len(lines))))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def run(conversations: int, limit: int) -> dict:
    """The three timings (seconds) and rates."""
    with tempfile.TemporaryDirectory(prefix="replykit-sync-bench-") as tmp:
        root = Path(tmp)
        path = root / "conversations.jsonl"
        messages = demo.write_conversations(path, n_conversations=conversations, seed=15)
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)

        floor_home = Home(load_config(root / "floor"))
        started = time.perf_counter()
        import_conversations(floor_home.db, path)
        floor = time.perf_counter() - started
        floor_home.close()

        server = serve_lines(lines)
        url = f"http://127.0.0.1:{server.server_address[1]}/feed"
        sections = {"sync": {"feed": {"type": "jsonl-http", "url": url, "limit": limit}}}
        sync_home = Home(load_config(root / "sync"))
        source = make_source(sections, "feed")
        started = time.perf_counter()
        first = run_sync(sync_home.db, source)
        sync = time.perf_counter() - started
        started = time.perf_counter()
        again = run_sync(sync_home.db, source)
        sync_again = time.perf_counter() - started
        sync_home.close()
        server.shutdown()
        server.server_close()
    assert first["messages"] == messages and again["messages"] == 0, (first, again)
    return {
        "conversations": conversations, "messages": messages, "limit": limit,
        "batches": first["batches"],
        "floor_seconds": round(floor, 2), "floor_messages_per_s": round(messages / floor),
        "sync_seconds": round(sync, 2), "sync_messages_per_s": round(messages / sync),
        "sync_over_floor": round(floor / sync, 2),
        "sync_again_seconds": round(sync_again, 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sync_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=1500)
    parser.add_argument("--limit", type=int, default=500, help="records per answer")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = run(args.conversations, args.limit)
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{result['messages']} messages of {result['conversations']} conversations")
    print(f"floor  import conversations FILE: {result['floor_seconds']} s, "
          f"{result['floor_messages_per_s']} messages/s")
    print(f"sync   JSONL over HTTP, {result['batches']} answers of {args.limit}: "
          f"{result['sync_seconds']} s, {result['sync_messages_per_s']} messages/s "
          f"({result['sync_over_floor']}x the floor)")
    print(f"sync again (nothing new): {result['sync_again_seconds']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
