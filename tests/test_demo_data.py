"""The demo data replykit ships: the saved-reply library and the conversation generator."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from datetime import datetime
from itertools import pairwise
from pathlib import Path

import pytest

from suggest import demo

LIBRARY = Path(demo.__file__).with_name("demo_data") / "saved_replies.jsonl"
REQUIRED = {"id", "title", "body", "tags", "language", "status", "folder", "questions"}
PLACEHOLDER = re.compile(
    r"\{\{\s*[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\s*(\|[^{}]*)?\}\}"
)
THAI = re.compile(r"[\u0e00-\u0e7f]")
ARABIC_SCRIPT = re.compile(r"[\u0600-\u06ff]")


def texts(reply: dict) -> list[str]:
    return [reply["title"], reply["body"], *reply["questions"]]


@pytest.fixture(scope="module")
def replies() -> list[dict]:
    with open(LIBRARY, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


@pytest.fixture(scope="module")
def messages() -> list[dict]:
    return list(demo.generate_conversations())


@pytest.fixture(scope="module")
def conversations(messages) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = defaultdict(list)
    for message in messages:
        grouped[message["conversation_id"]].append(message)
    return grouped


# --- saved replies --------------------------------------------------------------------------


def test_every_line_is_a_reply_with_the_required_keys(replies):
    with open(LIBRARY, encoding="utf-8") as f:
        lines = [line for line in f if line.strip()]
    assert len(replies) == len(lines) >= 50
    for reply in replies:
        assert REQUIRED <= reply.keys(), reply.get("id")
        assert reply["title"].strip() and reply["body"].strip()
        assert isinstance(reply["tags"], list) and reply["tags"]
        assert 3 <= len(reply["questions"]) <= 6, reply["id"]
        assert all(isinstance(q, str) and q.strip() for q in reply["questions"])
        assert isinstance(reply.get("teams", []), list)


def test_ids_are_unique(replies):
    ids = [r["id"] for r in replies]
    assert len(ids) == len(set(ids))


def test_statuses_and_languages(replies):
    statuses = Counter(r["status"] for r in replies)
    assert set(statuses) <= {"draft", "approved", "archived"}
    assert statuses["draft"] >= 1 and statuses["archived"] >= 1
    languages = Counter(r["language"] for r in replies)
    assert {"en", "th", "fa"} <= set(languages)
    assert languages["th"] >= 6 and languages["fa"] >= 6


def test_placeholders_are_well_formed(replies):
    for reply in replies:
        body = reply["body"]
        assert PLACEHOLDER.search(body), f"{reply['id']} uses no placeholder"
        outside = PLACEHOLDER.sub("", body)
        assert "{{" not in outside and "}}" not in outside, reply["id"]
        assert "{" not in outside and "}" not in outside, reply["id"]


def test_thai_replies_are_written_in_thai(replies):
    for reply in (r for r in replies if r["language"] == "th"):
        for text in texts(reply):
            assert THAI.search(text), (reply["id"], text)


def test_persian_replies_use_persian_letter_forms(replies):
    persian = [r for r in replies if r["language"] == "fa"]
    for reply in persian:
        for text in texts(reply):
            assert ARABIC_SCRIPT.search(text), (reply["id"], text)
            assert "\u064a" not in text and "\u0643" not in text, (reply["id"], text)
    assert any("\u200c" in r["body"] for r in persian), "no zero-width non-joiner anywhere"


# --- generated conversations ----------------------------------------------------------------


def test_same_seed_same_output_different_seed_different_output():
    first = list(demo.generate_conversations(n_conversations=200, seed=11))
    assert first == list(demo.generate_conversations(n_conversations=200, seed=11))
    assert first != list(demo.generate_conversations(n_conversations=200, seed=12))


def test_default_size(conversations, messages):
    assert len(conversations) >= 1000
    assert len(messages) > len(conversations)


def test_message_fields(messages):
    for message in messages:
        for key in (
            "conversation_id",
            "message_id",
            "role",
            "author",
            "channel",
            "created_at",
            "body",
        ):
            assert isinstance(message[key], str) and message[key], (key, message)
        assert message["role"] in ("customer", "agent")
        assert message["channel"] in ("email", "chat", "phone", "social")
        assert message["priority"] in ("low", "normal", "high", "urgent")
        assert message["status"] in ("open", "pending", "resolved", "closed")
        assert message["team"] in ("support", "billing", "technical")
        assert message["customer_email"].endswith(("@example.com", "@example.org"))
        assert "{{" not in message["body"] and "}}" not in message["body"]
        if "csat" in message:
            assert message["status"] in ("resolved", "closed") and 1 <= message["csat"] <= 5
        if message["status"] in ("resolved", "closed"):
            assert datetime.fromisoformat(message["resolved_at"]).tzinfo is not None
        if message["role"] == "customer":
            assert "saved_reply_id" not in message


def test_timestamps_parse_and_strictly_increase(conversations):
    previous_start = None
    for conversation in conversations.values():
        times = [datetime.fromisoformat(m["created_at"]) for m in conversation]
        assert all(t.tzinfo is not None for t in times)
        assert all(a < b for a, b in pairwise(times))
        if previous_start is not None:
            assert previous_start <= times[0]  # conversations in order of first message
        previous_start = times[0]


def test_conversation_fields_repeat_and_message_ids_are_unique(conversations):
    for conversation in conversations.values():
        ids = [m["message_id"] for m in conversation]
        assert len(ids) == len(set(ids))
        for key in ("subject", "priority", "status", "customer_id", "channel", "team"):
            assert len({m[key] for m in conversation}) == 1, key


def test_saved_reply_ids_exist_in_the_library(messages, replies):
    known = {r["id"] for r in replies}
    used = [m["saved_reply_id"] for m in messages if "saved_reply_id" in m]
    assert used and set(used) <= known
    drafts = {r["id"] for r in replies if r["status"] == "draft"}
    assert not drafts & set(used)


def test_conversation_shapes(conversations):
    roles = [[m["role"] for m in c] for c in conversations.values()]
    assert any(r[:2] == ["customer", "customer"] and "agent" in r for r in roles)
    assert any("agent" not in r for r in roles)
    assert any(r.count("agent") >= 3 for r in roles)
    assert all(r[0] == "customer" for r in roles)


def test_thai_and_persian_conversations(conversations):
    firsts = [c[0]["body"] for c in conversations.values()]
    thai = sum(bool(THAI.search(b)) for b in firsts)
    persian = sum(bool(ARABIC_SCRIPT.search(b)) for b in firsts)
    assert 0.04 * len(firsts) < thai < 0.14 * len(firsts)
    assert 0.04 * len(firsts) < persian < 0.14 * len(firsts)
    for conversation in conversations.values():
        for message in conversation:
            assert "\u064a" not in message["body"] and "\u0643" not in message["body"]


def test_write_conversations_round_trips(tmp_path):
    path = tmp_path / "demo.jsonl"
    count = demo.write_conversations(path, n_conversations=120, seed=3)
    with open(path, encoding="utf-8") as f:
        written = [json.loads(line) for line in f]
    assert count == len(written)
    assert written == list(demo.generate_conversations(n_conversations=120, seed=3))
    assert [p.name for p in tmp_path.iterdir()] == ["demo.jsonl"]  # no temp file left over
    assert "\\u" not in path.read_text(encoding="utf-8")  # ensure_ascii=False


def test_command_line(tmp_path):
    path = tmp_path / "out.jsonl"
    assert demo.main([str(path), "--conversations", "50", "--seed", "5"]) == 0
    with open(path, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    assert len({r["conversation_id"] for r in rows}) == 50
