"""`replykit privacy forget`: after it, nothing of the customer can be found — not by search,
suggest, export or reports, and not in the bytes of the database or index files — while the
other customer's data is untouched."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from cli.main import cli
from replykit.customers import canonical_email
from replykit.forget import customer_conversations, forget_customer
from replykit.home import Home
from rubrics import disputes, drafts, reports, reviews, store
from suggest import curation, feedback, library, proposals
from suggest import drafts as drafting
from suggest.conversations import import_conversations
from suggest.engine import SuggestEngine
from suggest.suggester import suggest

# Emma writes from two conversations: one carries her customer id, the other only her e-mail
# (in another case). Lars asks something close, so his past reply is a rival in search.
EMMA_SECRETS = ("Vossberg", "emma.vossberg@example.com", "Tromsø", "Kvaløya", "EV-88123")
ROWS = [
    ("A1", "1", "customer", "Emma Vossberg", "2026-09-01T09:00:00Z",
     "My kayak paddle from the Tromsø shop arrived cracked, order EV-88123. Emma Vossberg",
     {"customer_id": "cust-emma", "customer_email": "emma.vossberg@example.com"}),
    ("A1", "2", "agent", "Ana Agent", "2026-09-01T09:40:00Z",
     "Hi Emma, sorry the paddle arrived cracked! A new one is on its way to Kvaløya.", {}),
    ("A2", "1", "customer", "Emma Vossberg", "2026-09-05T10:00:00Z",
     "Can I return the spare blade bought in Tromsø?",
     {"customer_email": "Emma.Vossberg@Example.com"}),
    ("A2", "2", "agent", "Bo Agent", "2026-09-05T10:30:00Z",
     "Yes, returns are free within 30 days: use the label in your account.", {}),
    ("B1", "1", "customer", "Lars Nyqvist", "2026-09-02T08:00:00Z",
     "My kayak paddle arrived late, where is it?",
     {"customer_id": "cust-lars", "customer_email": "lars@example.org"}),
    ("B1", "2", "agent", "Ana Agent", "2026-09-02T08:20:00Z",
     "Hi Lars, your paddle ships today; the tracking link follows by e-mail.", {}),
]


@pytest.fixture
def stocked(config, tmp_path):
    """A home with Emma's and Lars's conversations, indexed, plus everything that can hang on
    a conversation: reviews (ratings, history, a dispute), a draft sent for review and its
    review, a drafting session, feedback on a past reply."""
    path = tmp_path / "conversations.jsonl"
    with open(path, "w", encoding="utf-8") as f:
        for conv, mid, role, author, at, body, extra in ROWS:
            f.write(json.dumps({"conversation_id": conv, "message_id": mid, "role": role,
                                "author": author, "channel": "email", "created_at": at,
                                "body": body, **extra}, ensure_ascii=False) + "\n")
    home = Home(config)
    db = home.db
    import_conversations(db, path)
    SuggestEngine(home).sync()
    rubric = store.ensure_default_rubric(db)
    ratings = {c.key: c.scale.max for c in rubric.categories}
    for conv in ("A1", "B1"):
        target = reviews.resolve_target(db, conv, "2")
        review_id = reviews.add_review(db, target, "rui", ratings, overall_comment=f"fine {conv}")
    disputes.open_dispute(db, review_id - 1, "Ana Agent", "the paddle was not my fault")
    draft_id = drafts.request_draft(db, "Ana Agent", "Dear Emma Vossberg, here is your label",
                                    question="return the blade?", conversation_id="A2")
    reviews.add_review(db, reviews.resolve_target(db, draft_id=draft_id), "rui", ratings)
    drafting.start(db, "Ana Agent", query="kayak paddle Tromsø", conversation_id="A1")
    feedback.record(db, "A1:2", "inserted", kind="past", user="Bo Agent")
    yield home
    home.close()


def _counts(db) -> dict:
    tables = ("conversations", "messages", "past_replies", "documents", "embedding_cache",
              "reviews", "review_ratings", "review_history", "review_disputes",
              "review_drafts", "drafts", "suggestion_feedback")
    return {t: db[t].count for t in tables}


def _cli(home, *args):
    """The real CLI on this home, with the fixture's embedders (MiniLM only)."""
    return CliRunner().invoke(cli, ["--home", str(home.config.home), *args],
                              env={"REPLYKIT_MULTILINGUAL_MODEL": ""})


def _forget(home, *args) -> dict:
    result = _cli(home, "privacy", "forget", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_dry_run_counts_and_changes_nothing(stocked):
    before = _counts(stocked.db)
    report = _forget(stocked, "--customer", "cust-emma", "--dry-run")
    assert report["dry_run"] is True
    # by id only the first conversation is hers: the second carries just her e-mail
    assert (report["conversations"], report["messages"], report["past_replies"]) == (1, 2, 1)
    assert (report["reviews"], report["drafts"], report["feedback"]) == (1, 1, 1)
    assert report["also_on_other_conversations"] == ["emma.vossberg@example.com"]
    assert _counts(stocked.db) == before
    said = _cli(stocked, "privacy", "forget", "--customer", "cust-emma", "--dry-run").output
    assert said.splitlines()[-1] == (
        "Other conversations also carry 'emma.vossberg@example.com': run privacy forget "
        "--customer 'emma.vossberg@example.com' if they are this customer's too.")


def test_forgotten_customer_cannot_be_found_anywhere(stocked, tmp_path):
    db = stocked.db
    engine = SuggestEngine(stocked)
    hit = suggest(engine, "kayak paddle from Tromsø arrived cracked", k=5)["suggestions"]
    assert any(s["id"] == "A1:2" for s in hit)  # findable before
    before = _counts(db)

    report = _forget(stocked, "--customer", "EMMA.VOSSBERG@example.com")

    assert report["dry_run"] is False and report["wal_truncated"] is True
    assert (report["conversations"], report["messages"], report["past_replies"]) == (2, 4, 2)
    assert (report["documents"], report["embeddings"]) == (2, 2)
    assert (report["reviews"], report["review_drafts"], report["drafts"]) == (2, 1, 1)
    after = _counts(db)
    assert {t: before[t] - after[t] for t in before} == {
        "conversations": 2, "messages": 4, "past_replies": 2, "documents": 2,
        "embedding_cache": 2, "reviews": 2, "review_ratings": 2 * 8, "review_history": 5,
        "review_disputes": 1, "review_drafts": 1, "drafts": 1, "suggestion_feedback": 1,
    }
    # Lars is untouched
    assert db.execute("SELECT COUNT(*) FROM messages WHERE conversation_id = 'B1'").fetchone()[0]
    assert [r["conversation_id"] for r in reviews.list_reviews(db)] == ["B1"]

    # search and suggest: not by her words, not by her name, in any mode
    for mode in ("dense", "lexical", "hybrid"):
        for query in ("kayak paddle from Tromsø arrived cracked", "Vossberg EV-88123",
                      "return the spare blade"):
            found = suggest(engine, query, k=10, mode=mode)["suggestions"]
            assert not [s for s in found if s["id"].startswith(("A1:", "A2:"))], (mode, query)
    status = engine.status()
    assert not status["stale"] and status["documents"] == 1

    # reports: the speed report lists replies to B1 only; the quality report only B1's review
    start, end = datetime.fromisoformat("2026-08-01T00:00Z"), datetime.fromisoformat(
        "2026-10-01T00:00Z")
    speed = reports.speed_report(db, {}, start, end)
    assert {r["conversation_id"] for r in speed["replies"]} == {"B1"}
    quality = reports.quality_report(db, {}, start, end)
    assert {r["conversation_id"] for r in quality["replies"]} == {"B1"}

    # export and the raw bytes of every file in the home: none of her details anywhere
    export = tmp_path / "export.jsonl"
    result = _cli(stocked, "replies", "export", str(export))
    assert result.exit_code == 0, result.output
    stocked.close()
    files = [export, *(p for p in stocked.config.home.rglob("*") if p.is_file())]
    for path in files:
        data = path.read_bytes()
        for secret in EMMA_SECRETS:
            assert secret.encode("utf-8") not in data, (secret, path.name)
            assert secret.lower().encode("utf-8") not in data.lower(), (secret, path.name)


def test_forgetting_twice_or_nobody_deletes_nothing(stocked):
    assert _forget(stocked, "--customer", "cust-emma")["conversations"] == 1
    before = _counts(stocked.db)
    again = _forget(stocked, "--customer", "cust-emma")
    assert again["conversations"] == 0 and _counts(stocked.db) == before
    result = _cli(stocked, "privacy", "forget", "--customer", "nobody@example.com")
    assert result.exit_code == 0 and "Nothing stored for customer" in result.output


def test_customer_must_be_named(stocked):
    with pytest.raises(Exception, match="customer id or e-mail"):
        forget_customer(stocked.db, "  ")


@pytest.mark.sqlite_only("reads SQLite's WAL file")
def test_a_reader_holding_the_wal_makes_forget_fail_loudly(stocked):
    """A second connection in a read transaction keeps the WAL from being truncated: the
    deletion stays committed, the command exits 1 naming the WAL file; once the reader is gone
    a second run truncates it and no file holds her details."""
    wal = stocked.config.db_path.with_name(stocked.config.db_path.name + "-wal")
    reader = sqlite3.connect(stocked.config.db_path)
    reader.execute("BEGIN")
    reader.execute("SELECT COUNT(*) FROM messages").fetchone()
    try:
        result = _cli(stocked, "privacy", "forget", "--customer", "cust-emma")
    finally:
        reader.close()
    assert result.exit_code == 1, result.output
    assert result.output.startswith(f"Error: {wal}: ") and result.output.count("\n") == 1
    assert "deleted is gone" in result.output and "until every reader closes" in result.output
    assert not stocked.db.execute("SELECT 1 FROM conversations WHERE id = 'A1'").fetchone()
    again = _forget(stocked, "--customer", "cust-emma")
    assert again["conversations"] == 0 and again["wal_truncated"] is True
    assert wal.stat().st_size == 0


def test_customer_ids_and_emails_match_in_any_case_form_or_tag(stocked):
    db = stocked.db
    with db.conn:
        db.execute("UPDATE conversations SET customer_id = 'ＣＵＳＴ-EMMA' WHERE id = 'A1'")
        db.execute("UPDATE conversations SET customer_email = 'Emma.Vossberg+Kayak@EXAMPLE.com'"
                   " WHERE id = 'A2'")
        db.execute("UPDATE conversations SET customer_email = 'lars@bücher.example' "
                   "WHERE id = 'B1'")
    assert customer_conversations(db, "cust-emma") == ["A1"]
    assert customer_conversations(db, "emma.vossberg@example.com") == ["A1", "A2"]
    assert customer_conversations(db, "EMMA.VOSSBERG+other@example.COM") == ["A1", "A2"]
    assert customer_conversations(db, "lars@XN--BCHER-KVA.example") == ["B1"]
    assert customer_conversations(db, "lars@BÜCHER.example") == ["B1"]
    # a dot in the local part is part of the address (gmail's rule is not everyone's)
    assert customer_conversations(db, "emmavossberg@example.com") == []
    assert customer_conversations(db, "cust-emm") == []


local_parts = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789._-", min_size=1,
                      max_size=20).filter(lambda s: s[0] not in "." and s[-1] not in ".")
tags = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", max_size=8)


@given(local=local_parts, tag=tags, domain=st.sampled_from(
    ["example.com", "bücher.example", "xn--bcher-kva.example", "müller.de"]),
    flips=st.lists(st.booleans(), min_size=40, max_size=40))
def test_an_address_in_any_case_or_plus_tag_is_the_same_customer(local, tag, domain, flips):
    plain = f"{local}@{domain}"
    variant = "".join(c.upper() if flip else c for c, flip in zip(
        f"{local}+{tag}@{domain}" if tag else plain, flips + [False] * 80, strict=False))
    assert canonical_email(variant) == canonical_email(plain)
    assert canonical_email(f"x{local}@{domain}") != canonical_email(plain)


def test_a_question_proposed_from_her_conversation_goes_wherever_it_was_merged(stocked):
    """A lead merges a proposal made from Emma's conversation into an existing reply: the
    question the agent proposed with it (her words, shortened) moved there, and goes too."""
    db = stocked.db
    library.add_reply(db, {"id": "paddle-damage", "title": "Damaged paddle",
                           "body": "Sorry! A new paddle is on its way.",
                           "questions": ["my paddle is broken"]})
    proposed = proposals.propose(db, {"title": "Cracked paddle", "body": "We send a new one.",
                                      "questions": ["Tromsø paddle cracked"]},
                                 "Ana Agent", conversation_id="A1")
    curation.merge(db, "paddle-damage", proposed["id"], "Lee Lead")
    assert "Tromsø paddle cracked" in library.get_reply(db, "paddle-damage")["questions"]

    report = _forget(stocked, "--customer", "emma.vossberg@example.com")

    assert report["saved_replies"] == 2
    assert library.get_reply(db, "paddle-damage")["questions"] == ["my paddle is broken"]
    for version in library.history(db, "paddle-damage"):
        assert "Tromsø paddle cracked" not in version["questions"]
