"""Crash safety: the real CLI, killed with SIGKILL at seeded random moments of its work.

For each of `import conversations`, `replies import` and `index rebuild` an uninterrupted run
(a subprocess, from a copy of a base home) gives the expected end state and the moments its
work starts and changes phase, seen from outside in /proc/PID/fd: the input file open (the
import's transaction) and `index/.lock` open (the index update). Each crash run then starts
the command on a fresh copy of the base home and kills it a random time after one of those
moments, within the median length of that phase in the runs so far: imports alternate
between the transaction and the index update, a rebuild is killed during its index update.
After the kill: `PRAGMA integrity_check` and the FTS5 check pass; the database equals the
base state or the completed state (all or nothing); the index file is the old one or a
complete new one, and `index status` says "ok" (it then agrees with the database) or "stale"
with the fix. Then the command runs again and the home must equal the uninterrupted run's
(rows, index ids and vectors, files).

REPLYKIT_CRASH_RUNS sets the runs per command of the default suite; `make crash` runs the
slow variant (REPLYKIT_CRASH_FULL_RUNS, default 50 per command) and prints the counts.

On PostgreSQL (the killed-command tests run on both backends) a home's config.toml names its
own database, copied along with the home (CREATE DATABASE ... TEMPLATE). There is no index
file or lock: imports are killed inside their transaction or while their vectors are stored
(both within the input phase, which lasts to the end), a rebuild at a random moment of its
run; the vectors are rows (compared like the index file's), stored by the sync in batches,
so a kill after the import's commit may leave some missing: status then says so, and the
second run completes them."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import psycopg
import pytest
from click.testing import CliRunner
from postgres_databases import create_database, database_name, drop_database, server_of

from cli.main import cli
from index.vectors import REBUILD_HINT, VectorIndex
from replykit.config import load_config
from replykit.home import Home
from storage.postgres import close_pool
from storage.vectors import table_name
from suggest import attachments, demo, library, library_io
from suggest.conversations import import_conversations
from suggest.engine import SuggestEngine

RUNS = int(os.environ.get("REPLYKIT_CRASH_RUNS", "1"))
FULL_RUNS = int(os.environ.get("REPLYKIT_CRASH_FULL_RUNS", "50"))
SEED = int(os.environ.get("REPLYKIT_CRASH_SEED", "7"))
CLI = [sys.executable, "-c", "from cli.main import cli; cli()"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
POLL_S = 0.005
MODEL = "all-MiniLM-L6-v2"
INDEX_FILE = f"{MODEL}.rkvec"
# columns holding the time of the run itself, which two runs cannot share
VOLATILE = {
    "saved_replies": ("created_at", "updated_at"),
    "saved_reply_versions": ("created_at",),
    "attachments": ("created_at",),
    "attachment_blobs": ("created_at",),
}
# a cache, when migrations ran, and the index's backlog (a killed run may leave it queued:
# `index status` reports it, the next write command's sync drains it)
UNCOMPARED = ("embedding_cache", "schema_version", "index_queue")

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/fd").is_dir(), reason="needs Linux /proc to watch the command"
)


def write_conversations(path: Path, n: int = 800) -> Path:
    """n conversations of 4 messages (question, answer, question, answer), the questions drawn
    from the demo library's example questions (en, th, fa) and the answers from its bodies."""
    library = [r for r in demo.load_saved_replies() if r["questions"]]
    rng = random.Random(SEED)
    start = datetime(2026, 9, 1, tzinfo=UTC)
    with open(path, "w", encoding="utf-8") as out:
        for c in range(n):
            at = start + timedelta(minutes=7 * c)
            for turn in range(4):
                reply = rng.choice(library)
                role = "agent" if turn % 2 else "customer"
                message = {
                    "conversation_id": f"crash-{c}",
                    "message_id": f"m{turn}",
                    "role": role,
                    "author": f"Agent {c % 7}" if turn % 2 else f"Customer {c}",
                    "channel": "email",
                    "created_at": (at + timedelta(minutes=turn)).isoformat(),
                    "body": reply["body"] if turn % 2 else rng.choice(reply["questions"]),
                }
                out.write(json.dumps(message, ensure_ascii=False) + "\n")
    return path


def write_replies(path: Path, small_library: list[dict], n: int = 300) -> Path:
    """n new saved replies (copies of 20 demo replies under new ids, 20 with an attachment)
    and a changed body for 5 replies the base home already holds."""
    library = demo.load_saved_replies()[:20]
    records = [{**library[i % len(library)], "id": f"crash-{i:03d}"} for i in range(n)]
    for i, record in enumerate(records[:20]):
        note = base64.b64encode(f"Note {i}\n".encode() * 100).decode()
        record["attachments"] = [{"filename": f"note-{i}.txt", "content_base64": note}]
    records += [{**r, "body": r["body"] + "\n\n(updated)"} for r in small_library[:5]]
    with open(path, "w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


@dataclass
class Case:
    """A command, the home it starts from, and its input file (None for a rebuild)."""

    args: list[str]
    base: Path
    input: Path | None


@dataclass
class Tally:
    """What the crash runs of one command saw."""

    runs: int = 0
    killed: int = 0
    finished_first: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)


def open_files(pid: int) -> set[str]:
    """Paths the process has open now."""
    found = set()
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return found
    for fd in fds:
        try:
            found.add(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            pass
    return found


def run_watched(home: Path, case: Case, kill_at: tuple[str, float] | None = None):
    """Run the command on `home`, noting when (seconds from start) the input file and the
    index lock were first open, and when it ended; with `kill_at` (event, delay) SIGKILL it
    `delay` seconds after that event. Returns (returncode, output, moments)."""
    watched = {"lock": str(home / "index" / ".lock")}
    if case.input is not None:
        watched["input"] = str(case.input)
    proc = subprocess.Popen(
        [*CLI, "--home", str(home), *case.args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=ENV,
    )
    started = time.monotonic()
    seen: dict[str, float] = {"start": 0.0}
    while proc.poll() is None:
        now = time.monotonic() - started
        files = open_files(proc.pid)
        for event, path in watched.items():
            if event not in seen and path in files:
                seen[event] = now
        if kill_at and kill_at[0] in seen and now >= seen[kill_at[0]] + kill_at[1]:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(POLL_S)
    output = proc.communicate()[0].decode("utf-8", "replace")
    seen["end"] = time.monotonic() - started
    return proc.returncode, output, seen


def database_url(home: Path) -> str | None:
    """The PostgreSQL database of the home (its config.toml), None for its SQLite file."""
    return load_config(home).database_url or None


def write_settings(home: Path, url: str | None) -> None:
    """config.toml: only the primary embedder, and the home's PostgreSQL database if any (so
    the CLI subprocesses and the in-process checks agree)."""
    settings = 'multilingual_model = ""\n'
    if url:
        settings += f"database_url = {json.dumps(url)}\n"
    (home / "config.toml").write_text(settings, encoding="utf-8")


def copy_home(source: Path, target: Path) -> Path:
    """A copy of the home, with a copy of its PostgreSQL database if it has one."""
    shutil.copytree(source, target)
    url = database_url(source)
    if url:
        close_pool(url)  # CREATE DATABASE ... TEMPLATE needs the source unused
        write_settings(target, create_database(server_of(url), template=database_name(url)))
    return target


def remove_home(home: Path) -> None:
    url = database_url(home)
    if url:
        drop_database(server_of(url), url)
    shutil.rmtree(home)


def postgres_state(url: str) -> dict[str, tuple[int, str]]:
    """db_state of a PostgreSQL database; its vectors are compared apart, like the index file.
    Identity columns (generated ids) are left out: a killed transaction used up sequence
    values (sequences are not transactional), so the second run's ids are higher than the
    uninterrupted run's; they are still never reused, which is what the ids promise."""
    with closing(psycopg.connect(url)) as conn:
        tables = [name for (name,) in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
            if name not in UNCOMPARED and not name.startswith("vector")]
        state = {}
        for table in tables:
            columns = [f'"{name}"' for (name,) in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
                "AND table_schema = current_schema() AND is_identity = 'NO' "
                "ORDER BY ordinal_position", [table])
                if name not in VOLATILE.get(table, ())]
            rows = sorted(map(repr, conn.execute(f"SELECT {', '.join(columns)} FROM {table}")))
            state[table] = (len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest())
    return state


def db_state(home: Path) -> dict[str, tuple[int, str]]:
    """(row count, digest of the sorted rows) of every table but the embedding cache."""
    if database_url(home):
        return postgres_state(database_url(home))
    with closing(sqlite3.connect(home / "replykit.db")) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'documents_fts%'"
            )
            if row[0] not in UNCOMPARED
        ]
        state = {}
        for table in tables:
            columns = [
                row[1]
                for row in conn.execute(f"PRAGMA table_info({table})")
                if row[1] not in VOLATILE.get(table, ())
            ]
            rows = sorted(map(repr, conn.execute(f"SELECT {', '.join(columns)} FROM {table}")))
            state[table] = (len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest())
    return state


def check_database(home: Path) -> None:
    """SQLite's own checks, foreign keys, the FTS5 index against its content table, and a
    file for every attachment. PostgreSQL checks its pages and foreign keys itself: there,
    every attachment has its bytes in the database."""
    if database_url(home):
        with closing(psycopg.connect(database_url(home))) as conn:
            assert conn.execute(
                "SELECT a.sha256 FROM attachments a LEFT JOIN attachment_blobs b "
                "ON b.sha256 = a.sha256 WHERE b.sha256 IS NULL").fetchall() == []
        return
    with closing(sqlite3.connect(home / "replykit.db")) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        conn.execute("INSERT INTO documents_fts(documents_fts) VALUES ('integrity-check')")
        for (digest,) in conn.execute("SELECT sha256 FROM attachments"):
            assert (home / "attachments" / digest).is_file()


def files(home: Path) -> set[str]:
    """Paths of the home's files, apart from the database and its WAL (and config.toml,
    which names each copy's own PostgreSQL database)."""
    return {
        str(p.relative_to(home))
        for p in home.rglob("*")
        if p.is_file() and not p.name.startswith("replykit.db") and p.name != "config.toml"
    }


def index_state(home: Path) -> tuple[str, str]:
    """(state of the MiniLM index in `index status --json`, the text status line)."""
    runner = CliRunner()
    result = runner.invoke(cli, ["--home", str(home), "index", "status", "--json"])
    assert result.exit_code == 0, result.output
    (entry,) = json.loads(result.output)["indexes"]
    text = runner.invoke(cli, ["--home", str(home), "index", "status"])
    assert text.exit_code == 0, text.output
    line = next(x for x in text.output.splitlines() if x.startswith(entry["model"]))
    return entry["state"], line


def vectors(home: Path) -> dict:
    """{document id: its MiniLM vector}; on PostgreSQL keyed by the document's (kind, ref,
    text hash), as ids differ after a rolled-back run (see postgres_state)."""
    url = database_url(home)
    if url:
        with closing(psycopg.connect(url)) as conn:
            return {(kind, ref, text_hash): np.array(json.loads(v), dtype=np.float32)
                    for kind, ref, text_hash, v in conn.execute(
                        "SELECT d.kind, d.ref, d.text_hash, v.embedding::text FROM documents d "
                        f"JOIN {table_name(MODEL)} v ON v.document_id = d.id")}
    index = VectorIndex.load(home / "index" / INDEX_FILE)
    return {i: index.index.reconstruct(i) for i in sorted(index.ids)}


def index_digest(home: Path) -> str:
    """A digest of the home's MiniLM vectors: the index file, or the rows on PostgreSQL."""
    if database_url(home) is None:
        return hashlib.sha256((home / "index" / INDEX_FILE).read_bytes()).hexdigest()
    digest = hashlib.sha256()
    for key, vector in sorted(vectors(home).items(), key=lambda item: item[0]):
        digest.update(repr(key).encode() + vector.tobytes())
    return digest.hexdigest()


def make_base(root: Path, template: Path, server: str | None = None,
              template_database: str | None = None) -> Path:
    """A copy of the library template home that uses only the primary embedder (and, on
    PostgreSQL, a new copy of the template's database)."""
    shutil.copytree(template, root)
    url = server and create_database(server, template=template_database)
    write_settings(root, url)
    return root


def copy_embedding_cache(source: Path, target: Path) -> None:
    """Add the source home's cached embeddings to the target home's cache."""
    if database_url(target):
        with closing(psycopg.connect(database_url(source))) as conn:
            rows = conn.execute("SELECT model, text_hash, vector FROM embedding_cache").fetchall()
        with closing(psycopg.connect(database_url(target))) as conn, conn.transaction():
            conn.cursor().executemany(
                "INSERT INTO embedding_cache (model, text_hash, vector) VALUES (%s, %s, %s) "
                "ON CONFLICT DO NOTHING", rows)
        return
    with closing(sqlite3.connect(target / "replykit.db")) as conn:
        conn.execute("ATTACH ? AS warm", [str(source / "replykit.db")])
        with conn:
            conn.execute("INSERT OR IGNORE INTO embedding_cache SELECT * FROM warm.embedding_cache")


@pytest.fixture(scope="module")
def case_sets(tmp_path_factory, small_library):
    """cases_for(request, backend): the cases of a backend, built once per module."""
    made: dict[str, dict[str, Case]] = {}

    def cases_for(request, backend: str) -> dict[str, Case]:
        if backend not in made:
            made[backend] = build_cases(request, backend, tmp_path_factory.mktemp("crash"),
                                        small_library)
        return made[backend]

    return cases_for


@pytest.fixture
def cases(request, backend, case_sets) -> dict[str, Case]:
    """The three commands with their base homes and inputs on this backend."""
    return case_sets(request, backend)


def build_cases(request, backend: str, root: Path, small_library) -> dict[str, Case]:
    """The three commands with their base homes and inputs."""
    if backend == "sqlite":
        template, server, database = request.getfixturevalue("library_home_template"), None, None
    else:
        template, database = request.getfixturevalue("postgres_library_template")
        server = request.getfixturevalue("postgres_server")
    conversations = write_conversations(root / "conversations.jsonl")
    replies = write_replies(root / "replies.jsonl", small_library)
    stale = make_base(root / "stale", template, server, database)
    home = Home(load_config(stale))
    import_conversations(home.db, conversations)  # no index update: the index is stale
    if server is None:
        home.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    home.close()
    # the imports start with every embedding cached: their kills land in the database work
    # and the index update, not in encoding (which `index rebuild`, with a cold cache, covers)
    warm = Home(load_config(copy_home(stale, root / "warm")))
    library_io.import_replies(warm.db, replies, warm.config.attachments_dir)
    SuggestEngine(warm).sync()
    warm.close()
    base = make_base(root / "base", template, server, database)
    copy_embedding_cache(root / "warm", base)
    return {
        "import conversations": Case(
            ["import", "conversations", str(conversations)], base, conversations
        ),
        "replies import": Case(["replies", "import", str(replies)], base, replies),
        "index rebuild": Case(["index", "rebuild"], stale, None),
    }


def crash_runs(case: Case, runs: int, workdir: Path, seed: int, spread: float = 1.0) -> Tally:
    """The uninterrupted run, then `runs` killed runs, each checked and then completed. Kills
    land in the first `spread` of a phase (the default suite's few runs take the first half,
    so that a run faster than the median does not finish before its kill)."""
    rng = random.Random(seed)
    postgres = database_url(case.base) is not None
    reference = copy_home(case.base, workdir / "reference")
    code, output, moments = run_watched(reference, case)
    assert code == 0, output
    assert postgres or "lock" in moments, moments
    assert case.input is None or "input" in moments, moments
    base_state, final_state = db_state(case.base), db_state(reference)
    base_index = index_digest(case.base)
    expected_vectors = vectors(reference)
    expected_files = files(reference)
    assert index_state(reference)[0] == "ok"

    # lengths of the phases (from when "input" / "lock" is seen to the next moment) in every
    # run that went through them: the machine's speed varies, so kills follow the median
    lengths: dict[str, list[float]] = {"input": [], "lock": [], "start": []}

    def observe(seen: dict[str, float]) -> None:
        # the input phase ends when the index lock is taken (SQLite) or with the run
        for phase, ends in (("input", ("lock", "end")), ("lock", ("end",)), ("start", ("end",))):
            until = next((end for end in ends if end in seen), None)
            if phase in seen and until is not None:
                lengths[phase].append(seen[until] - seen[phase])

    observe(moments)
    tally = Tally()
    for run in range(runs):
        home = copy_home(case.base, workdir / f"run{run}")
        # imports: alternately inside the transaction and during the index update (on
        # PostgreSQL both fall in the input phase); a rebuild: during its index update
        if postgres:
            phase = "input" if case.input is not None else "start"
        else:
            phase = "input" if case.input is not None and run % 2 == 0 else "lock"
        kill_at = (phase, rng.uniform(0, spread * statistics.median(lengths[phase])))
        code, output, seen = run_watched(home, case, kill_at)
        if code != 0:
            del seen["end"]  # the end of a killed run is not the end of its work
        observe(seen)
        tally.runs += 1
        if code == 0:
            tally.finished_first += 1
        else:
            assert code == -signal.SIGKILL, output
            tally.killed += 1

        check_database(home)
        state = db_state(home)
        assert state in (base_state, final_state), f"run {run}: a partial import"
        new_index = index_digest(home) != base_index
        if new_index and postgres and case.input is not None:
            # stored in batches after the import's commit: what is there is the run's
            assert vectors(home).keys() <= expected_vectors.keys()
        elif new_index:  # then it is complete, and equal to the uninterrupted run's
            assert vectors(home).keys() == expected_vectors.keys()
        index, line = index_state(home)
        if index != "ok":
            assert index == "stale" and line.endswith(REBUILD_HINT), line
        if state == base_state and case.input is not None:
            outcome = "rolled back"
        else:
            outcome = "index saved" if new_index else "index not yet saved"
        tally.outcomes[outcome] = tally.outcomes.get(outcome, 0) + 1

        again = CliRunner().invoke(cli, ["--home", str(home), *case.args])
        assert again.exit_code == 0, again.output
        assert db_state(home) == final_state
        assert index_state(home)[0] == "ok"
        got = vectors(home)
        assert got.keys() == expected_vectors.keys()
        for i, vector in got.items():
            assert max(abs(vector - expected_vectors[i])) < 1e-4, f"vector {i} differs"
        assert files(home) == expected_files, "files left behind or missing"
        remove_home(home)
    return tally


def report(name: str, tally: Tally) -> None:
    outcomes = ", ".join(f"{v} {k}" for k, v in sorted(tally.outcomes.items()))
    print(
        f"\n{name}: {tally.runs} runs, {tally.killed} killed mid-work, "
        f"{tally.finished_first} finished before their kill moment; {outcomes}"
    )


def die_writing(path: Path) -> Path:
    """The temp file a process leaves when it dies while writing `path` (as under SIGKILL)."""
    died = (
        "import os, sys; from replykit.textio import atomic_file; "
        "writing = atomic_file(sys.argv[1]); writing.__enter__().write(b'half'); os._exit(9)"
    )
    subprocess.run([sys.executable, "-c", died, str(path)], env=ENV, check=False)
    (leftover,) = path.parent.glob(path.name + ".*.tmp")
    return leftover


def test_index_writes_remove_temp_files_left_by_a_killed_writer(loaded_engine):
    path = loaded_engine.index_path(loaded_engine.embedders()[0])
    leftover = die_writing(path)
    loaded_engine.rebuild()
    assert not leftover.exists() and len(VectorIndex.load(path)) > 0


def test_attachment_writes_remove_temp_files_left_by_a_killed_writer(home, small_library):
    library.add_reply(home.db, small_library[0])
    directory = home.config.attachments_dir
    leftover = die_writing(directory / hashlib.sha256(b"a form").hexdigest())
    item = attachments.add(home.db, directory, small_library[0]["id"], "form.txt", b"a form")
    assert not leftover.exists()
    assert [p.name for p in directory.iterdir()] == [item["sha256"]]


@pytest.mark.both_backends
@pytest.mark.parametrize("name", ["import conversations", "replies import", "index rebuild"])
def test_killed_command_leaves_a_consistent_home(cases, tmp_path, name, backend):
    if (backend == "postgresql" and name != "import conversations"
            and os.environ.get("REPLYKIT_TEST_BACKEND") != "postgresql"):
        # suite time: on PostgreSQL `make test` kills the conversations import (one
        # transaction and its vectors); `make test-postgres` and `make crash` kill all three
        pytest.skip("on PostgreSQL in make test-postgres and make crash")
    tally = crash_runs(cases[name], RUNS, tmp_path, SEED, spread=0.5)
    report(name, tally)
    assert tally.killed == tally.runs, tally


@pytest.mark.slow
@pytest.mark.both_backends
@pytest.mark.parametrize("name", ["import conversations", "replies import", "index rebuild"])
def test_killed_command_leaves_a_consistent_home_full(cases, tmp_path, name):
    tally = crash_runs(cases[name], FULL_RUNS, tmp_path, SEED + 1)
    report(name, tally)
    assert tally.killed * 4 >= tally.runs * 3, tally
    if cases[name].input is not None:  # kills landed both inside the transaction and after
        assert tally.outcomes.get("rolled back", 0) >= FULL_RUNS // 5, tally
        assert tally.runs - tally.outcomes.get("rolled back", 0) >= FULL_RUNS // 5, tally
