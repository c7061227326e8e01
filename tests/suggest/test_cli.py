"""The suggest engine's CLI through click's CliRunner: replies, import, index, suggest and
feedback, with exit codes and exact `Error: ...` lines."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from cli.main import cli


@pytest.fixture
def run(config):
    """Invoke `replykit --home <tmp home> ...`; config.toml keeps the home MiniLM-only."""
    config.home.mkdir(mode=0o700, parents=True, exist_ok=True)  # private, as replykit wants
    (config.home / "config.toml").write_text('multilingual_model = ""\n', "utf-8")
    runner = CliRunner()

    def invoke(*args, input=None):
        return runner.invoke(cli, ["--home", str(config.home), *args], input=input)

    return invoke


def ok(result):
    assert result.exit_code == 0, result.output
    return result.output


def test_replies_add_edit_show_list_history_restore_archive(run):
    out = ok(
        run(
            "replies",
            "add",
            "gift-cards",
            "--title",
            "Gift cards",
            "--body",
            "-",
            "--tags",
            "billing, gifts",
            "--folder",
            "Billing / Gifts/",
            "--question",
            "do gift cards expire?",
            "--author",
            "ana",
            input="Hi {{customer.first_name|there}}, they never expire.\n",
        )
    )
    assert (
        out == "Added gift-cards  (approved, en, v1)  Billing/Gifts/ Gift cards [billing, gifts]\n"
    )
    out = ok(
        run("replies", "edit", "gift-cards", "--title", "Gift card expiry", "--note", "clearer")
    )
    assert (
        out
        == "Now gift-cards  (approved, en, v2)  Billing/Gifts/ Gift card expiry [billing, gifts]\n"
    )

    shown = json.loads(ok(run("replies", "show", "gift-cards", "--json")))
    assert (shown["version"], shown["title"], shown["body"]) == (
        2,
        "Gift card expiry",
        "Hi {{customer.first_name|there}}, they never expire.\n",
    )
    assert shown["attachments"] == [] and shown["usage"]["shown"] == 0
    assert (
        json.loads(ok(run("replies", "show", "gift-cards", "--version", "1", "--json")))["title"]
        == "Gift cards"
    )

    listed = json.loads(ok(run("replies", "list", "--json", "--folder", "Billing")))
    assert [r["id"] for r in listed] == ["gift-cards"]
    assert ok(run("replies", "list", "--tag", "nope")) == "0 saved replies\n"

    history = json.loads(ok(run("replies", "history", "gift-cards", "--json")))
    assert [(v["version"], v["note"]) for v in history] == [(1, "created"), (2, "clearer")]
    assert ok(run("replies", "restore", "gift-cards", "1")).startswith(
        "Restored v1 as gift-cards  (approved, en, v3)"
    )
    assert ok(run("replies", "archive", "gift-cards")) == (
        "Archived gift-cards  (archived, en, v4)  Billing/Gifts/ Gift cards [billing, gifts]\n"
    )
    status = json.loads(ok(run("index", "status", "--json")))
    assert status["documents"] == 0 and status["indexes"][0]["state"] == "ok"


@pytest.mark.parametrize(
    "args, error",
    [
        (("replies", "show", "nope"), "Error: no saved reply with id 'nope'\n"),
        (("replies", "edit", "nope", "--title", "x"), "Error: no saved reply with id 'nope'\n"),
        (
            ("replies", "add", "x", "--title", "T"),
            "Error: field body: is required and must be non-empty text\n",
        ),
        (("replies", "history", "nope"), "Error: no saved reply with id 'nope'\n"),
        (("feedback", "nope", "shown"), "Error: no saved reply with id 'nope'\n"),
        (("suggest", "   "), "Error: field query: must be non-empty text\n"),
        (("suggest", "refund", "--k", "0"), "Error: field k: must be an integer from 1 to 50\n"),
    ],
)
def test_errors_print_one_line_and_exit_1(run, args, error):
    result = run(*args)
    assert (result.exit_code, result.output) == (1, error)


def test_import_export_and_import_conversations(run, tmp_path, small_library):
    source = tmp_path / "library.jsonl"
    source.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in small_library[:4]), "utf-8"
    )
    assert json.loads(ok(run("replies", "import", str(source), "--json"))) == {
        "added": 4,
        "updated": 0,
        "unchanged": 0,
        "skipped": 0,
        "warnings": [],
    }
    assert ok(run("replies", "import", str(source))) == "0 added, 0 updated, 4 unchanged\n"
    out_path = tmp_path / "out.csv"
    assert (
        ok(run("replies", "export", str(out_path))) == f"Exported 4 saved replies to {out_path}\n"
    )
    assert out_path.read_bytes().startswith(b"id,title,body,")

    odd = tmp_path / "odd.jsonl"
    odd.write_text('{"id": "a", "title": "A", "body": "a", "status": "live"}\n', "utf-8")
    result = run("replies", "import", str(odd))
    assert (result.exit_code, result.output) == (
        0,
        f"Warning: {odd} line 1, reply a, field status: must be one of draft, approved, "
        "archived: row skipped\n0 added, 0 updated, 0 unchanged, 1 skipped, 1 warning\n",
    )
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "title": "A", "body": "a"}\n{"title": "B", "body": "b"}\n', "utf-8")
    result = run("replies", "import", str(bad))
    assert (result.exit_code, result.output) == (
        1,
        f"Error: {bad} line 2, field id: must be 1-200 characters with no slashes, control "
        "characters or leading/trailing spaces\n",
    )

    conversations = tmp_path / "c.jsonl"
    rows = [
        {
            "conversation_id": "c1",
            "message_id": "m1",
            "role": "customer",
            "author": "Dana",
            "channel": "chat",
            "created_at": "2026-02-01T10:00:00Z",
            "body": "my parcel to Lyon is late",
        },
        {
            "conversation_id": "c1",
            "message_id": "m2",
            "role": "agent",
            "author": "Kim",
            "channel": "chat",
            "created_at": "2026-02-01T10:05:00Z",
            "body": "It ships Monday.",
        },
    ]
    conversations.write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    assert json.loads(ok(run("import", "conversations", str(conversations), "--json"))) == {
        "messages": 2,
        "skipped": 0,
        "conversations": 1,
        "past_replies": 1,
    }
    assert ok(run("import", "conversations", str(conversations))) == (
        "0 messages imported (2 already there), 0 conversations, 0 past replies\n"
    )
    rows[0]["created_at"] = "2026-02-01 10:00"
    conversations.write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    result = run("import", "conversations", str(conversations))
    assert (result.exit_code, result.output) == (
        1,
        f"Error: {conversations} line 1, field created_at: '2026-02-01 10:00' has no timezone "
        "(add Z or an offset like +07:00)\n",
    )

    status = json.loads(ok(run("index", "status", "--json")))
    (entry,) = status["indexes"]
    assert (entry["model"], entry["state"], entry["vectors"]) == (
        "all-MiniLM-L6-v2",
        "ok",
        status["documents"],
    )
    assert status["documents_by_kind"]["past"] == 1

    result = json.loads(ok(run("suggest", "Can I get a refund?", "--json")))
    assert set(result) == {"suggestions", "confident"} and result["confident"] is True
    top = result["suggestions"][0]
    assert {"id", "kind", "title", "body", "score", "reason"} <= set(top)
    assert (top["id"], top["kind"], top["reason"]["type"]) == (
        "refund-policy",
        "saved",
        "example_question",
    )
    assert isinstance(top["score"], float)

    text = ok(run("suggest", "Can I get a refund?", "--k", "1"))
    # the exact example question: cosine 1 and full trigram overlap
    assert text == (
        "1. [saved] refund-policy  1.000  Refund policy (30 days)\n"
        "   why: example_question: Can I get a refund?\n"
    )
    assert ok(run("suggest", "what is the capital of peru", "--k", "2")).startswith(
        "No confident suggestion; closest matches:\n1. "
    )

    assert (
        ok(run("feedback", "refund-policy", "shown")) == "Recorded shown for saved refund-policy\n"
    )
    assert ok(run("feedback", "refund-policy", "inserted", "--edit-ratio", "0.1")) == (
        "Recorded inserted for saved refund-policy\n"
    )
    assert (
        ok(run("feedback", "c1:m2", "dismissed", "--kind", "past"))
        == "Recorded dismissed for past c1:m2\n"
    )
    usage = json.loads(ok(run("replies", "show", "refund-policy", "--json")))["usage"]
    assert (usage["shown"], usage["used"], usage["acceptance_rate"]) == (1, 1, 1.0)
    result = run("feedback", "refund-policy", "loved")
    assert result.exit_code == 2
    assert "'loved' is not one of 'shown', 'inserted', 'edited', 'dismissed'" in result.output
