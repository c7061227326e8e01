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
slow variant (REPLYKIT_CRASH_FULL_RUNS, default 50 per command) and prints the counts."""

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
import pytest
from click.testing import CliRunner

from cli.main import cli
from index.vectors import REBUILD_HINT, VectorIndex
from replykit.config import load_config
from replykit.home import Home
from suggest import attachments, demo, library, library_io
from suggest.conversations import import_conversations
from suggest.engine import SuggestEngine

RUNS = int(os.environ.get("REPLYKIT_CRASH_RUNS", "1"))
FULL_RUNS = int(os.environ.get("REPLYKIT_CRASH_FULL_RUNS", "50"))
SEED = int(os.environ.get("REPLYKIT_CRASH_SEED", "7"))
CLI = [sys.executable, "-c", "from cli.main import cli; cli()"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
POLL_S = 0.005
INDEX_FILE = "all-MiniLM-L6-v2.rkvec"
# columns holding the time of the run itself, which two runs cannot share
VOLATILE = {
    "saved_replies": ("created_at", "updated_at"),
    "saved_reply_versions": ("created_at",),
    "attachments": ("created_at",),
}
UNCOMPARED = ("embedding_cache", "schema_version")  # a cache, and when migrations ran

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
    seen: dict[str, float] = {}
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


def db_state(home: Path) -> dict[str, tuple[int, str]]:
    """(row count, digest of the sorted rows) of every table but the embedding cache."""
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
    file for every attachment."""
    with closing(sqlite3.connect(home / "replykit.db")) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        conn.execute("INSERT INTO documents_fts(documents_fts) VALUES ('integrity-check')")
        for (digest,) in conn.execute("SELECT sha256 FROM attachments"):
            assert (home / "attachments" / digest).is_file()


def files(home: Path) -> set[str]:
    """Paths of the home's files, apart from the database and its WAL."""
    return {
        str(p.relative_to(home))
        for p in home.rglob("*")
        if p.is_file() and not p.name.startswith("replykit.db")
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


def vectors(home: Path) -> dict[int, np.ndarray]:
    index = VectorIndex.load(home / "index" / INDEX_FILE)
    return {i: index.index.reconstruct(i) for i in sorted(index.ids)}


def make_base(root: Path, template: Path) -> Path:
    """A copy of the library template home that uses only the primary embedder (config.toml,
    so the CLI subprocesses and the in-process checks agree)."""
    shutil.copytree(template, root)
    (root / "config.toml").write_text('multilingual_model = ""\n', encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def cases(tmp_path_factory, library_home_template, small_library) -> dict[str, Case]:
    """The three commands with their base homes and inputs (built once)."""
    root = tmp_path_factory.mktemp("crash")
    conversations = write_conversations(root / "conversations.jsonl")
    replies = write_replies(root / "replies.jsonl", small_library)
    stale = make_base(root / "stale", library_home_template)
    home = Home(load_config(stale))
    import_conversations(home.db, conversations)  # no index update: the index is stale
    home.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    home.close()
    # the imports start with every embedding cached: their kills land in the database work
    # and the index update, not in encoding (which `index rebuild`, with a cold cache, covers)
    warm = Home(load_config(shutil.copytree(stale, root / "warm")))
    library_io.import_replies(warm.db, replies, warm.config.attachments_dir)
    SuggestEngine(warm).sync()
    warm.close()
    base = make_base(root / "base", library_home_template)
    with closing(sqlite3.connect(base / "replykit.db")) as conn:
        conn.execute("ATTACH ? AS warm", [str(root / "warm" / "replykit.db")])
        with conn:
            conn.execute("INSERT OR IGNORE INTO embedding_cache SELECT * FROM warm.embedding_cache")
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
    reference = workdir / "reference"
    shutil.copytree(case.base, reference)
    code, output, moments = run_watched(reference, case)
    assert code == 0, output
    assert "lock" in moments and (case.input is None or "input" in moments), moments
    base_state, final_state = db_state(case.base), db_state(reference)
    base_index = (case.base / "index" / INDEX_FILE).read_bytes()
    expected_vectors = vectors(reference)
    expected_files = files(reference)
    assert index_state(reference)[0] == "ok"

    # lengths of the phases (from when "input" / "lock" is seen to the next moment) in every
    # run that went through them: the machine's speed varies, so kills follow the median
    lengths: dict[str, list[float]] = {"input": [], "lock": []}

    def observe(seen: dict[str, float]) -> None:
        for phase, until in (("input", "lock"), ("lock", "end")):
            if phase in seen and until in seen:
                lengths[phase].append(seen[until] - seen[phase])

    observe(moments)
    tally = Tally()
    for run in range(runs):
        home = workdir / f"run{run}"
        shutil.copytree(case.base, home)
        # imports: alternately inside the transaction and during the index update
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
        index_bytes = (home / "index" / INDEX_FILE).read_bytes()
        new_index = index_bytes != base_index
        if new_index:  # then it is complete, and equal to the uninterrupted run's
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
        shutil.rmtree(home)
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


@pytest.mark.parametrize("name", ["import conversations", "replies import", "index rebuild"])
def test_killed_command_leaves_a_consistent_home(cases, tmp_path, name):
    tally = crash_runs(cases[name], RUNS, tmp_path, SEED, spread=0.5)
    report(name, tally)
    assert tally.killed == tally.runs, tally


@pytest.mark.slow
@pytest.mark.parametrize("name", ["import conversations", "replies import", "index rebuild"])
def test_killed_command_leaves_a_consistent_home_full(cases, tmp_path, name):
    tally = crash_runs(cases[name], FULL_RUNS, tmp_path, SEED + 1)
    report(name, tally)
    assert tally.killed * 4 >= tally.runs * 3, tally
    if cases[name].input is not None:  # kills landed both inside the transaction and after
        assert tally.outcomes.get("rolled back", 0) >= FULL_RUNS // 5, tally
        assert tally.runs - tally.outcomes.get("rolled back", 0) >= FULL_RUNS // 5, tally
