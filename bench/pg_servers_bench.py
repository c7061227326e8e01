"""Several servers and workers on one PostgreSQL database (`make bench-servers`, issue 14):
suggestion throughput of 1, 2 and 4 `replykit serve` processes, and import + embedding
throughput with 1 and 2 `replykit worker` processes.

    python -m bench.pg_servers_bench --database embedded|postgresql://... [--servers 1,2,4]
        [--clients 8] [--seconds 30] [--conversations 300] [--import 1500] [--workers 1,2]
        [--batch 32] [--json]

Setup: a new database on the server (`embedded`: a PostgreSQL started here; dropped at the
end), filled by `replykit demo --conversations N` through the real CLI, and an agent user with
an API token. Serving: N `serve` processes (own homes, holding only config.toml) on free
ports; `--clients` threads (keep-alive connections; client i talks to server i mod N, as a
round-robin load balancer would) post the load test's queries (bench.load_bench) to
/api/suggest for `--seconds` after a warm-up; requests/s, p50/p95 latency, errors. Importing:
per worker count, that many `worker` processes are started and load their models, then
`import conversations --no-index` of `--import` new demo conversations runs (one
transaction: its seconds), then the clock runs until no document lacks a vector: documents
embedded per second by the workers together (each worker's share is listed). Everything
runs on this machine, so servers, workers, clients and PostgreSQL share its cores: the
figures say how the parts scale here, not what separate machines would give."""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from bench.load_bench import Load, api_token, load_queries, replykit
from bench.pg_bench import database
from bench.suggest_bench import free_port, log, machine, stop_server

REPO = Path(__file__).resolve().parent.parent


class RoundRobin(Load):
    """The load test's clients, client i posting to server i mod N."""

    def __init__(self, ports: list[int], token: str, queries: list[str]):
        super().__init__(ports[0], token, queries)
        self.ports = ports

    def client(self, first: int, step: int, stop: threading.Event) -> None:
        port = self.ports[first % len(self.ports)]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        i = first
        while not stop.is_set():
            t0 = time.perf_counter()
            try:
                error = self.post(conn, self.queries[i % len(self.queries)])
            except Exception as exc:  # counted as an error, as in bench.load_bench
                error = repr(exc)
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            self.results.append((time.perf_counter() - t0, error))
            i += step
        conn.close()


def _home(root: Path, name: str) -> Path:
    home = root / name
    home.mkdir(parents=True, mode=0o700)
    (home / "config.toml").write_text("[web]\nsecure_cookies = false\n", encoding="utf-8")
    return home


def _wait_healthy(server: subprocess.Popen, port: int, log_path: Path) -> None:
    while True:
        if server.poll() is not None:
            raise RuntimeError(f"server exited: {log_path.read_text()[-2000:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)


def serving(root: Path, count: int, token: str, queries: list[str], args, env: dict) -> dict:
    """Throughput and latency of `count` serve processes on the database."""
    servers, ports = [], []
    try:
        for i in range(count):
            port = free_port()
            with open(root / f"serve-{count}-{i}.log", "wb") as out:
                servers.append(subprocess.Popen(
                    replykit(_home(root, f"serve-{count}-{i}"), "serve", "--port", str(port)),
                    env=env, stdout=out, stderr=subprocess.STDOUT))
            ports.append(port)
        for i, (server, port) in enumerate(zip(servers, ports, strict=True)):
            _wait_healthy(server, port, root / f"serve-{count}-{i}.log")
        load = RoundRobin(ports, token, queries)
        load.run(args.clients, 0, args.warmup, args.seconds * 4)
        load.results.clear()
        wall = load.run(args.clients, args.seconds, 0, args.seconds * 4)
    finally:
        for server in servers:
            stop_server(server, 15)
    latencies = np.array([lat for lat, _ in load.results]) * 1000
    errors = [e for _, e in load.results if e]
    return {"servers": count, "clients": args.clients, "seconds": round(wall, 1),
            "requests": len(load.results), "errors": len(errors),
            "first_errors": sorted(set(errors))[:3],
            "throughput_rps": round(len(load.results) / wall, 1),
            "p50_ms": round(float(np.percentile(latencies, 50)), 1),
            "p95_ms": round(float(np.percentile(latencies, 95)), 1),
            "loadavg_1min_end": round(os.getloadavg()[0], 2)}


def importing(root: Path, home: Path, workers: int, args, env: dict) -> dict:
    """Seconds of an `import conversations --no-index`, then of `workers` running workers
    (started and their models loaded before the import) embedding what it added."""
    from replykit.config import load_config
    from replykit.home import Home
    from suggest import demo
    from suggest.engine import SuggestEngine

    path = root / f"import-{workers}.jsonl"
    demo.write_conversations(path, n_conversations=args.import_conversations,
                             seed=100 + workers)
    # new conversation ids per round: the demo's are numbered, so prefix them
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    path.write_text("".join(json.dumps({**r, "conversation_id": f"w{workers}-"
                                        + r["conversation_id"]}, ensure_ascii=False) + "\n"
                            for r in records), encoding="utf-8")
    procs = [subprocess.Popen(replykit(home, "worker", "--batch", str(args.batch), "--poll",
                                       "0.2", "--json"), env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(workers)]
    try:
        for proc in procs:  # "Worker ready (...)" once its models are loaded
            line = proc.stderr.readline()
            while line and not line.startswith("Worker ready"):
                line = proc.stderr.readline()
            if not line:
                raise RuntimeError(f"worker exited: {proc.communicate()[1][-2000:]}")
        t0 = time.monotonic()
        done = subprocess.run(replykit(home, "import", "conversations", str(path),
                                       "--no-index", "--json"), env=env, capture_output=True,
                              text=True, check=True)
        import_s = time.monotonic() - t0
        counts = json.loads(done.stdout)
        t0 = time.monotonic()
        status = Home(load_config(home))
        try:
            while SuggestEngine(status).status()["stale"]:
                time.sleep(0.2)
        finally:
            status.close()
        embed_s = time.monotonic() - t0
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
    embedded = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        if proc.returncode != 0:
            raise RuntimeError(f"worker failed: {err[-2000:]}")
        embedded.append(sum(json.loads(out)["embedded"].values()))
    return {"workers": workers, "conversations": counts["conversations"],
            "messages": counts["messages"], "past_replies": counts["past_replies"],
            "import_s": round(import_s, 1),
            "messages_per_s": round(counts["messages"] / import_s, 1),
            "embedded": embedded, "embed_s": round(embed_s, 1),
            "vectors_per_s": round(sum(embedded) / embed_s, 1),
            "loadavg_1min_end": round(os.getloadavg()[0], 2)}


def render(result: dict) -> str:
    lines = [f"{result['machine'].get('cpu', '')}, {result['machine'].get('nproc', '')} cores; "
             f"demo with {result['demo_conversations']} conversations"]
    for row in result["serving"]:
        lines.append(f"serve x{row['servers']}: {row['throughput_rps']} req/s, p50 "
                     f"{row['p50_ms']} ms, p95 {row['p95_ms']} ms ({row['requests']} requests, "
                     f"{row['errors']} errors, {row['clients']} clients, load "
                     f"{row['loadavg_1min_end']})")
    for row in result["importing"]:
        lines.append(f"workers x{row['workers']}: import of {row['messages']} messages in "
                     f"{row['import_s']} s ({row['messages_per_s']}/s); {sum(row['embedded'])} "
                     f"vectors {row['embedded']} in {row['embed_s']} s "
                     f"({row['vectors_per_s']}/s; load {row['loadavg_1min_end']})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pg_servers_bench",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", required=True,
                        help="postgresql://... (a server where this user may CREATE DATABASE) "
                             "or 'embedded' (start one in a temp folder)")
    parser.add_argument("--servers", default="1,2,4", help="serve process counts")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30, help="measured seconds per count")
    parser.add_argument("--warmup", type=int, default=100, help="requests before measuring")
    parser.add_argument("--conversations", type=int, default=300, help="demo conversations")
    parser.add_argument("--import", dest="import_conversations", type=int, default=1500,
                        help="conversations imported per worker count")
    parser.add_argument("--workers", default="1,2", help="worker process counts")
    parser.add_argument("--batch", type=int, default=32, help="`worker --batch`")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    result = {"machine": machine(), "demo_conversations": args.conversations,
              "serving": [], "importing": []}
    with database(args.database) as url, tempfile.TemporaryDirectory(
            prefix="replykit-pgservers-") as tmp:
        root = Path(tmp)
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
               "REPLYKIT_DATABASE_URL": url,
               "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        os.environ["REPLYKIT_DATABASE_URL"] = url  # for api_token's Home
        home = _home(root, "cli")
        log(f"replykit demo --conversations {args.conversations}")
        subprocess.run(replykit(home, "demo", "--conversations", str(args.conversations)),
                       env=env, check=True, stdout=subprocess.DEVNULL)
        _, token = api_token(home)
        queries, _ = load_queries()
        for count in (int(n) for n in args.servers.split(",")):
            log(f"{count} serve process(es)")
            result["serving"].append(serving(root, count, token, queries, args, env))
        for workers in (int(n) for n in args.workers.split(",")):
            log(f"import + {workers} worker(s)")
            result["importing"].append(importing(root, home, workers, args, env))
    print(json.dumps(result, indent=2) if args.json else render(result))
    return 1 if any(row["errors"] for row in result["serving"]) else 0


if __name__ == "__main__":
    sys.exit(main())
