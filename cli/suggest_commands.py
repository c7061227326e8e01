"""CLI of the suggest engine: `replies`, `import conversations`, `index`, `suggest`,
`feedback`, `serve` and `demo`."""

from __future__ import annotations

import json
import sys
from contextlib import nullcontext
from pathlib import Path

import click

from cli.common import echo_json, json_option, pass_home
from index.vectors import REBUILD_HINT
from suggest import attachments, feedback, importers, library, library_io
from suggest.conversations import import_conversations
from suggest.engine import SuggestEngine
from suggest.suggester import MODES, suggest


def _engine(home) -> SuggestEngine:
    return SuggestEngine(home)


def _split_list(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [part.strip() for part in value.split(",") if part.strip()]


def _reply_line(reply: dict) -> str:
    tags = f" [{', '.join(reply['tags'])}]" if reply["tags"] else ""
    folder = f"{reply['folder']}/ " if reply["folder"] else ""
    state = f"{reply['status']}, {reply['language']}, v{reply['version']}"
    return f"{reply['id']}  ({state})  {folder}{reply['title']}{tags}"


# ---------------------------------------------------------------- replies


@click.group()
def replies():
    """Manage the saved-reply library."""


def _reply_options(f):
    for option in reversed(
        (
            click.option("--title", help="Title shown to agents."),
            click.option("--body", help="Reply text; may use {{placeholders}}. '-' reads stdin."),
            click.option("--tags", help="Comma-separated tags."),
            click.option("--language", help="Language code (en, th, fa...)."),
            click.option("--status", type=click.Choice(library.STATUSES)),
            click.option("--folder", help="Folder path such as Billing/Refunds."),
            click.option("--teams", help="Comma-separated teams that may see it (default all)."),
            click.option(
                "--question", "questions", multiple=True, help="Example customer question (repeat)."
            ),
        )
    ):
        f = option(f)
    return f


def _changes(title, body, tags, language, status, folder, teams, questions) -> dict:
    if body == "-":
        body = sys.stdin.read()
    changes = {
        "title": title,
        "body": body,
        "tags": _split_list(tags),
        "language": language,
        "status": status,
        "folder": folder,
        "teams": _split_list(teams),
        "questions": list(questions) or None,
    }
    return {k: v for k, v in changes.items() if v is not None}


@replies.command("add")
@click.argument("reply_id")
@_reply_options
@click.option("--author", default="", help="Who wrote it.")
@json_option
@pass_home
def replies_add(home, reply_id, author, as_json, **fields):
    """Add a saved reply with id REPLY_ID (status approved unless --status)."""
    with _engine(home).writing() as db:
        reply = library.add_reply(db, {"id": reply_id, **_changes(**fields)}, author=author)
    echo_json(reply) if as_json else click.echo(f"Added {_reply_line(reply)}")


@replies.command("edit")
@click.argument("reply_id")
@_reply_options
@click.option("--author", default="", help="Who made the change.")
@click.option("--note", default="", help="Why (kept in the history).")
@json_option
@pass_home
def replies_edit(home, reply_id, author, note, as_json, **fields):
    """Change a saved reply; every change is a new version."""
    with _engine(home).writing() as db:
        reply = library.edit_reply(db, reply_id, _changes(**fields), author=author, note=note)
    echo_json(reply) if as_json else click.echo(f"Now {_reply_line(reply)}")


@replies.command("show")
@click.argument("reply_id")
@click.option("--version", type=int, help="Show this stored version instead of the current one.")
@json_option
@pass_home
def replies_show(home, reply_id, version, as_json):
    """Show a saved reply (or one of its versions)."""
    if version is not None:
        reply = library.get_version(home.db, reply_id, version)
    else:
        reply = library.get_reply(home.db, reply_id)
        reply["attachments"] = attachments.list_for(home.db, reply_id)
        reply["usage"] = feedback.usage(home.db, reply_id)[0]
    if as_json:
        echo_json(reply)
        return
    click.echo(
        f"{reply.get('id', reply_id)}  v{reply['version']}  {reply['status']}  {reply['language']}"
    )
    click.echo(f"Title: {reply['title']}")
    click.echo(f"Folder: {reply['folder'] or '-'}   Tags: {', '.join(reply['tags']) or '-'}")
    click.echo(f"Teams: {', '.join(reply['teams']) or 'everyone'}")
    if reply.get("actions"):
        click.echo(f"Actions: {'; '.join(_action_text(a) for a in reply['actions'])}")
    click.echo("")
    click.echo(reply["body"])
    if reply["questions"]:
        click.echo("\nExample questions:")
        for question in reply["questions"]:
            click.echo(f"  - {question}")
    for item in reply.get("attachments", []):
        click.echo(f"Attachment: {item['filename']} ({item['size']} bytes)")


def _action_text(action: dict) -> str:
    value = action.get("value")
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        shown = ", ".join(value)
    else:
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return f"{action['type']} {shown}"


@replies.command("list")
@click.option("--status", type=click.Choice(library.STATUSES))
@click.option("--tag")
@click.option("--language")
@click.option("--folder", help="Folder and its subfolders.")
@click.option("--search", "text", help="Text in title or body.")
@json_option
@pass_home
def replies_list(home, status, tag, language, folder, text, as_json):
    """List saved replies."""
    found = library.list_replies(home.db, status, tag, language, folder, text)
    if as_json:
        echo_json(found)
        return
    for reply in found:
        click.echo(_reply_line(reply))
    click.echo(f"{len(found)} saved repl{'y' if len(found) == 1 else 'ies'}")


@replies.command("archive")
@click.argument("reply_id")
@click.option("--author", default="")
@pass_home
def replies_archive(home, reply_id, author):
    """Retire a saved reply: it stays in the library (and history) but is no longer suggested."""
    with _engine(home).writing() as db:
        reply = library.archive_reply(db, reply_id, author)
    click.echo(f"Archived {_reply_line(reply)}")


@replies.command("history")
@click.argument("reply_id")
@json_option
@pass_home
def replies_history(home, reply_id, as_json):
    """List every version of a saved reply."""
    versions = library.history(home.db, reply_id)
    if as_json:
        echo_json(versions)
        return
    for v in versions:
        click.echo(
            f"v{v['version']}  {v['created_at']}  {v['author'] or '-'}  {v['status']}  {v['note']}"
        )


@replies.command("restore")
@click.argument("reply_id")
@click.argument("version", type=int)
@click.option("--author", default="")
@pass_home
def replies_restore(home, reply_id, version, author):
    """Make VERSION current again (as a new version)."""
    with _engine(home).writing() as db:
        reply = library.restore_version(db, reply_id, version, author)
    click.echo(f"Restored v{version} as {_reply_line(reply)}")


@replies.command("import")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--from", "source", type=click.Choice(sorted(importers.SOURCES)),
              help="Read this helpdesk's own JSON of macros, saved or canned replies "
                   "(default: replykit's JSONL or CSV, by extension).")
@click.option("--author", default="")
@click.option("--no-index", is_flag=True, help="Skip updating the vector indexes afterwards "
              "(PostgreSQL: `replykit worker` processes encode the new texts).")
@json_option
@pass_home
def replies_import(home, path, source, author, no_index, as_json):
    """Import saved replies from JSONL, CSV or another helpdesk's JSON. A broken file imports
    nothing; an odd row is imported repaired or skipped, with a warning."""
    writer = nullcontext(home.db) if no_index else _engine(home).writing()
    with writer as db:
        result = library_io.import_replies(db, path, home.config.attachments_dir, author, source)
    if as_json:
        echo_json(result)
        return
    for warning in result["warnings"]:
        click.echo(f"Warning: {library_io.warning_line(warning)}", err=True)
    click.echo(library_io.summary(result))


@replies.command("export")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--status", type=click.Choice(library.STATUSES))
@pass_home
def replies_export(home, path, status):
    """Export saved replies (with questions and attachments) to JSONL or CSV."""
    count = library_io.export_replies(home.db, path, home.config.attachments_dir, status)
    click.echo(f"Exported {count} saved replies to {path}")


@replies.command("attach")
@click.argument("reply_id")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", help="File name to show (default: the file's name).")
@pass_home
def replies_attach(home, reply_id, path, name):
    """Attach a file to a saved reply."""
    name = attachments.safe_filename(name or path.name)
    attachments.check_file(name, path.stat().st_size, None)  # before reading it into memory
    item = attachments.add(home.db, home.config.attachments_dir, reply_id, name, path.read_bytes())
    click.echo(f"Attached {item['filename']} ({item['size']} bytes) to {reply_id}")


@replies.command("usage")
@json_option
@pass_home
def replies_usage(home, as_json):
    """Usage count, last use and acceptance rate of every saved reply."""
    rows = feedback.usage(home.db)
    if as_json:
        echo_json(rows)
        return
    for row in rows:
        rate = "-" if row["acceptance_rate"] is None else (
            f"{row['acceptance_rate']:.0%} (on {row['basis']})")
        click.echo(
            f"{row['reply_id']}  shown {row['shown']}  used {row['used']}  accepted {rate}  "
            f"last {row['last_used'] or '-'}"
        )


# ---------------------------------------------------------------- import


@click.group("import")
def import_group():
    """Import data exported from other tools."""


@import_group.command("conversations")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--no-index", is_flag=True, help="Skip updating the vector indexes afterwards.")
@json_option
@pass_home
def import_conversations_command(home, path, no_index, as_json):
    """Import past conversations (CSV or JSONL, one message a row); all or nothing."""
    from tqdm import tqdm

    size = path.stat().st_size if path.is_file() else 0
    writer = nullcontext(home.db) if no_index else _engine(home).writing()
    with writer as db, tqdm(
        total=size,
        unit="B",
        unit_scale=True,
        desc="import",
        disable=as_json or None,
        file=sys.stderr,
    ) as bar:
        counts = import_conversations(db, path, progress=bar.update)
    if as_json:
        echo_json(counts)
    else:
        click.echo(
            f"{counts['messages']} messages imported ({counts['skipped']} already there), "
            f"{counts['conversations']} conversations, {counts['past_replies']} past replies"
        )


# ---------------------------------------------------------------- index


@click.group()
def index():
    """Vector and lexical indexes."""


@index.command("rebuild")
@json_option
@pass_home
def index_rebuild(home, as_json):
    """Rebuild every vector index from the database (cached embeddings are reused)."""
    report = _engine(home).rebuild()
    if as_json:
        echo_json(report)
        return
    for item in report:
        click.echo(
            f"{item['model']}: {item['vectors']} vectors ({item['kind']}), "
            f"{item['encoded']} newly encoded, {item['seconds']} s"
        )


@index.command("status")
@json_option
@pass_home
def index_status(home, as_json):
    """Models, counts, size on disk and staleness of the indexes; the changes queued for them
    (pending per model, and the age of the oldest queued change)."""
    status = _engine(home).status()
    if as_json:
        echo_json(status)
        return
    click.echo(f"Home: {status['home']}  database: {status['database_bytes']} bytes")
    kinds = ", ".join(f"{v} {k}" for k, v in sorted(status["documents_by_kind"].items()))
    click.echo(
        f"Documents: {status['documents']} ({kinds or 'none'}); "
        f"lexical: {status['lexical_documents']}"
    )
    for item in status["indexes"]:
        if item["state"] in ("missing", "unusable"):
            # an unusable index's problem already ends with the fix
            problem = item.get("problem") or f"- {REBUILD_HINT}"
            click.echo(f"{item['model']}: {item['state']} {problem}")
            continue
        click.echo(
            f"{item['model']}: {item['vectors']} vectors, dim {item['dim']}, {item['kind']}, "
            f"{item['size_bytes']} bytes, built {item['built_at']}, {item['state']}"
            + (
                f" ({item['missing']} missing, {item['extra']} extra) - {REBUILD_HINT}"
                if item["state"] == "stale"
                else ""
            )
        )
    if status["pending_changes"]:
        click.echo(
            f"Pending: {status['pending_changes']} queued changes of "
            f"{status['pending_replies']} replies, the oldest "
            f"{status['oldest_pending_seconds']} s old (the index writer catches up)"
        )


# ---------------------------------------------------------------- suggest


@click.command("suggest")
@click.argument("query")
@click.option("--k", type=int, help="Number of suggestions (default 5).")
@click.option("--tag", "tags", multiple=True, help="Only saved replies with this tag (repeat).")
@click.option("--language", help="Only saved replies in this language.")
@click.option("--team", help="Only what this team may see.")
@click.option("--mode", type=click.Choice(MODES))
@click.option("--drafts", is_flag=True, help="Include draft saved replies.")
@json_option
@pass_home
def suggest_command(home, query, k, tags, language, team, mode, drafts, as_json):
    """Suggest saved replies and past answers for a customer's QUERY."""
    result = suggest(
        _engine(home),
        query,
        k=k,
        mode=mode,
        tags=list(tags) or None,
        language=language,
        teams=[team] if team else None,
        include_drafts=drafts,
    )
    if as_json:
        echo_json(result)
        return
    if not result["confident"]:
        click.echo(
            "No confident suggestion" + ("; closest matches:" if result["suggestions"] else ".")
        )
    for rank, item in enumerate(result["suggestions"], start=1):
        click.echo(f"{rank}. [{item['kind']}] {item['id']}  {item['score']:.3f}  {item['title']}")
        click.echo(f"   why: {item['reason']['type']}: {item['reason']['text'][:100]}")


@click.command("feedback")
@click.argument("suggestion_id")
@click.argument("event", type=click.Choice(feedback.EVENTS))
@click.option("--kind", type=click.Choice(feedback.KINDS), default="saved")
@click.option("--user", default="")
@click.option("--query", default="")
@click.option("--edit-ratio", type=float, help="How much the inserted text was edited (0-1).")
@pass_home
def feedback_command(home, suggestion_id, event, kind, user, query, edit_ratio):
    """Record that a suggestion was shown, inserted, edited or dismissed."""
    feedback.record(home.db, suggestion_id, event, kind, query, user, edit_ratio)
    click.echo(f"Recorded {event} for {kind} {suggestion_id}")


# ---------------------------------------------------------------- serve and demo


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--threads", default=4, show_default=True, type=int)
@pass_home
def serve(home, host, port, threads):
    """Serve the web UI and JSON API with waitress."""
    import waitress

    from web import create_app

    app = create_app(home.config)
    engine = SuggestEngine(home)
    for embedder in engine.embedders():  # load models and pay their first question now
        embedder.embed_queries(["warm up"])
    app.extensions["replykit.index_writer"].nudge()  # drain what a stopped server left queued
    click.echo(f"replykit serving {home.config.home} on http://{host}:{port}/")
    waitress.serve(app, host=host, port=port, threads=threads)


@click.command("demo")
@click.option("--conversations", default=1500, show_default=True, type=int)
@click.option("--seed", default=7, show_default=True, type=int)
@pass_home
def demo(home, conversations, seed):
    """Load the shipped demo library, generated conversations and sample reviews, then build
    the indexes."""
    import tempfile

    from suggest import demo as demo_data

    library_path = Path(demo_data.__file__).parent / "demo_data" / "saved_replies.jsonl"
    counts = library_io.import_replies(home.db, library_path, home.config.attachments_dir, "demo")
    click.echo(f"Saved replies: {library_io.summary(counts)}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "conversations.jsonl"
        demo_data.write_conversations(path, n_conversations=conversations, seed=seed)
        counts = import_conversations(home.db, path)
    click.echo(
        f"Conversations: {counts['messages']} messages, {counts['conversations']} conversations, "
        f"{counts['past_replies']} past replies"
    )
    from rubrics.demo import add_demo_reviews

    click.echo(f"Reviews (default rubric): {add_demo_reviews(home.db, seed=seed)}")
    for item in _engine(home).rebuild():
        click.echo(f"Index {item['model']}: {item['vectors']} vectors in {item['seconds']} s")


# ---------------------------------------------------------------- eval

EVAL_COLUMNS = (
    "mode",
    "top1",
    "top3",
    "mrr10",
    "coverage",
    "precision_at_threshold",
    "queries",
    "seconds",
    "qps",
)


@click.command("eval")
@click.option(
    "--library",
    "library_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Saved replies (JSONL, as for `replies import`).",
)
@click.option(
    "--queries",
    "queries_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help='Queries (JSONL): {"query": ..., "expected": [id, ...]}.',
)
@click.option("--mode", type=click.Choice((*MODES, "all")), default="all", show_default=True)
@click.option("--k", type=int, default=10, show_default=True)
@click.option("--model", help="Embedding model (default: the configured one).")
@click.option("--multilingual-model", help="Second embedder for non-Latin scripts ('' = none).")
@click.option("--threshold", type=float, help="Confidence threshold (default: the configured one).")
@json_option
def eval_command(
    library_path, queries_path, mode, k, model, multilingual_model, threshold, as_json
):
    """Measure suggestion quality on a labelled library + queries (in a throw-away home)."""
    from suggest.evaluation import evaluate

    modes = MODES if mode == "all" else (mode,)
    result = evaluate(library_path, queries_path, modes, k, model, multilingual_model, threshold)
    for warning in result["import_warnings"]:  # a skipped library row changes the figures
        click.echo(f"Warning: {library_io.warning_line(warning)}", err=True)
    for reply_id, lines in sorted(result["unknown_ids"].items()):
        shown = ", ".join(map(str, lines[:5])) + (" ..." if len(lines) > 5 else "")
        click.echo(
            f"Warning: expected id {reply_id!r} is not in the library (query lines {shown})",
            err=True,
        )
    if as_json:
        for row in result["rows"]:
            click.echo(json.dumps(row, ensure_ascii=False))
        return
    click.echo(f"Library indexed in {result['build_seconds']} s")
    click.echo("  ".join(f"{c:>10}" for c in EVAL_COLUMNS))
    for row in result["rows"]:
        click.echo("  ".join(f"{'-' if row[c] is None else row[c]:>10}" for c in EVAL_COLUMNS))


# ---------------------------------------------------------------- backup


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@json_option
@pass_home
def backup_command(home, path, as_json):
    """Write a consistent copy of the database (safe while the server runs) to PATH, and
    the attachments to PATH.attachments/."""
    from replykit.backup import backup

    result = backup(home.db, path, home.config.attachments_dir)
    if as_json:
        echo_json(result)
    else:
        click.echo(f"Backed up to {result['file']} ({result['bytes']} bytes)")


@click.command("restore")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_home
def restore_command(home, path, yes):
    """Replace this home's data with a backup made by `replykit backup`, then rebuild the
    vector indexes."""
    from replykit.backup import check_backup, restore

    check_backup(path)
    if not yes:
        click.confirm(f"Replace everything in {home.config.home} with {path}?", abort=True)
    result = restore(home.db, path, home.config.attachments_dir)
    _engine(home).rebuild()
    click.echo(f"Restored from {result['restored_from']}; indexes rebuilt")
