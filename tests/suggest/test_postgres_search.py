"""Suggestions on PostgreSQL (vectors in pgvector, lexical search with pg_trgm) against the
same library on SQLite (FAISS, FTS5), and what only a shared database can get wrong: two
engines (two `serve` processes) agreeing at once, vectors following deleted documents,
concurrent syncs sharing the work. Real servers, the real MiniLM model."""

from __future__ import annotations

import shutil
import threading
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from postgres_databases import create_database, drop_database

import storage.search
import storage.trigrams
import storage.vectors
from index.lexical import query_trigrams
from index.normalize import normalize_text
from replykit.config import load_config
from replykit.home import Home
from storage.db import write_transaction
from suggest import library, pg_index
from suggest.engine import SuggestEngine
from suggest.suggester import suggest

MODEL = "all-MiniLM-L6-v2"
QUERIES = [
    "I want my money back",
    "how long does a refund take",
    "I forgot my password and cannot log in",
    "where is my parcel, it is late",
    "please cancel my subscription",
    "ไม่ได้รับเงินคืน",
    "ลืมรหัสผ่าน",
    "พัสดุยังไม่มาส่ง",
    "بازپرداخت پول",
    "رمز عبورم را فراموش کردم",
    "سفارشم هنوز نرسیده",
]


def open_engine(tmp_path, name: str, url: str | None) -> SuggestEngine:
    return SuggestEngine(Home(load_config(tmp_path / name, multilingual_model="",
                                          database_url=url)))


@pytest.fixture
def engines(tmp_path, postgres_url):
    """open(name, url=None → the test's PostgreSQL database): engines closed after the test."""
    opened = []

    def open_(name: str, url: str | None = postgres_url) -> SuggestEngine:
        opened.append(open_engine(tmp_path, name, url))
        return opened[-1]

    yield open_
    for engine in opened:
        engine.home.close()


@pytest.fixture
def library_url(postgres_database, postgres_library_template) -> str:
    """A new database holding the small library and its vectors (a copy of the session's
    template: nothing to encode)."""
    return postgres_database(postgres_library_template[1])


def add_library(engine: SuggestEngine, records: list[dict]) -> None:
    with engine.writing() as db:
        for record in records:
            library.add_reply(db, record, author="test")


def top(engine: SuggestEngine, query: str, mode: str = "hybrid") -> tuple[str | None, float]:
    found = suggest(engine, query, k=3, mode=mode)["suggestions"]
    return (found[0]["id"], found[0]["score"]) if found else (None, 0.0)


def test_both_backends_suggest_the_same_first_reply_with_the_same_score(
        engines, tmp_path, library_home_template, library_url):
    shutil.copytree(library_home_template, tmp_path / "sqlite")
    on_sqlite, on_postgres = engines("sqlite", url=None), engines("postgres", url=library_url)
    for mode in ("dense", "lexical", "hybrid"):
        for query in QUERIES:
            want, got = top(on_sqlite, query, mode), top(on_postgres, query, mode)
            assert got[0] == want[0], (mode, query)
            assert got[1] == pytest.approx(want[1], abs=2e-3), (mode, query)


def test_two_engines_on_one_database_see_each_others_writes_at_once(engines, library_url):
    writer, reader = engines("first", url=library_url), engines("second", url=library_url)
    assert top(reader, "do gift cards ever expire?")[0] != "gift-cards"

    add_library(writer, [{"id": "gift-cards", "title": "Gift cards",
                          "body": "Gift cards never expire and work in every shop.",
                          "questions": ["do gift cards expire?"]}])
    assert top(reader, "do gift cards ever expire?", "dense")[0] == "gift-cards"

    with writer.writing() as db:
        library.edit_reply(db, "gift-cards", {"title": "Vouchers",
                                              "body": "Vouchers are valid for one year.",
                                              "questions": ["how long is a voucher valid?"]})
    found = suggest(reader, "how long is my voucher valid", k=1, mode="dense")["suggestions"]
    assert (found[0]["id"], found[0]["title"]) == ("gift-cards", "Vouchers")
    assert found[0]["reason"]["text"] == "how long is a voucher valid?"

    with writer.writing() as db:
        library.archive_reply(db, "gift-cards")
    for mode in ("dense", "lexical", "hybrid"):
        assert top(reader, "how long is my voucher valid", mode)[0] != "gift-cards"


def test_a_deleted_document_takes_its_vector_and_trigrams_with_it(engines, library_url):
    engine = engines("home", url=library_url)
    db = engine.db
    ids = {d["id"] for d in storage.search.documents_of(db, "refund-policy", ("reply",
                                                                               "question"))}
    assert ids <= storage.vectors.vector_ids(db, MODEL)
    before = storage.trigrams.document_count(db)
    with write_transaction(db):  # no sync afterwards: the cascade alone removes the vectors
        storage.search.delete_documents(db, sorted(ids))
    assert not ids & storage.vectors.vector_ids(db, MODEL)
    assert storage.trigrams.document_count(db) == before - len(ids)
    assert engine.status()["stale"] is False


def test_embedding_pending_documents_of_a_model_never_built_builds_it(engines, small_library):
    engine = engines("home")
    add_library(engine, small_library[:2])  # through writing(): its sync builds the model
    embedder = engine.embedders()[0]
    count = storage.vectors.vector_count(engine.db, MODEL)
    storage.vectors.drop_table(engine.db, MODEL)
    assert engine.vector_index(embedder) is None
    assert engine.embed_pending(embedder, 1) == count  # all of them: a build
    assert engine.embed_pending(embedder, 1) == 0
    assert engine.status()["stale"] is False


def test_concurrent_syncs_embed_each_document_once(engines, small_library):
    first, second = engines("first"), engines("second")
    first.sync()  # the model's (empty) table and stamp exist: what is left is pending work
    for record in small_library:  # written without a sync: every document is pending
        library.add_reply(first.db, record, author="test")
    pending = storage.vectors.pending_count(first.db, MODEL)
    embedder = first.embedders()[0]
    stored = {"first": [], "second": []}
    start = threading.Barrier(2)

    def drain(name: str, engine: SuggestEngine) -> None:
        start.wait()
        while count := pg_index.embed_pending(engine, embedder, 4):
            stored[name].append(count)

    threads = [threading.Thread(target=drain, args=item)
               for item in (("first", first), ("second", second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(stored["first"]) + sum(stored["second"]) == pending > 0
    assert storage.vectors.vector_count(first.db, MODEL) == pending
    assert first.sync() == {} and second.sync() == {}


def test_a_rebuild_gives_the_same_vectors_and_baseline_as_the_first_build(engines, library_url):
    engine = engines("home", url=library_url)
    embedder = engine.embedders()[0]
    index = engine.vector_index(embedder)
    baseline, hits = index.baseline, index.search(embedder.embed_queries(["refund"]), 5)
    (report,) = engine.rebuild()
    assert (report["vectors"], report["encoded"], report["kind"]) == (index.__len__(), 0, "hnsw")
    again = engine.vector_index(embedder)
    assert again.baseline == pytest.approx(baseline)
    (found,) = again.search(embedder.embed_queries(["refund"]), 5)
    assert [i for i, _ in found] == [i for i, _ in hits[0]]
    assert [s for _, s in found] == pytest.approx([s for _, s in hits[0]])


def test_thai_and_persian_candidates_come_from_the_gin_trigram_index(engines):
    engine = engines("home")
    filler = [{"kind": "reply", "ref": f"r{i}", "saved_reply_id": None, "text": text,
               "lexical_text": normalize_text(text), "text_hash": str(i), "script": "latin"}
              for i, text in enumerate(f"order {i} is on its way to the customer"
                                       for i in range(20000))]
    mine = [("ไม่ได้รับเงินคืนเลยค่ะ", "thai"), ("بازپرداخت پول من انجام نشد", "arabic")]
    with write_transaction(engine.db):
        storage.search.insert_documents(engine.db, filler + [
            {**filler[0], "ref": script, "text": text, "lexical_text": normalize_text(text),
             "script": script} for text, script in mine])
    lexical = engine.lexical
    for query, (text, _) in zip(["ไม่ได้รับเงินคืน", "بازپرداخت پول"], mine, strict=True):
        hits = lexical.search(normalize_text(query), 10)
        docs = storage.search.document_rows(engine.db, ("text",), [hits[0][0]])
        assert docs[0]["text"] == text
        for trigram in query_trigrams(normalize_text(query)):  # one document holds each
            assert storage.trigrams.index_rows(engine.db, trigram) == 1, trigram
    assert storage.trigrams.index_rows(engine.db, "ord") == 20000  # in every filler document


WORDS = st.text(st.sampled_from("abcdeé ไม่ได้รับเงินคืน بازپرداختول .,-_%'\"?؟"), max_size=30)


def test_trigram_frequencies_are_those_the_sqlite_side_counts(engines):
    """lexical_trigrams (counted by PostgreSQL) holds, per trigram, the number of documents
    whose index.lexical trigrams include it, after inserts and deletes."""
    db = engines("home").db

    @settings(max_examples=25, deadline=None)
    @given(texts=st.lists(WORDS, min_size=1, max_size=8), dropped=st.integers(0, 8))
    def check(texts, dropped):
        with write_transaction(db):
            storage.search.delete_documents(db, sorted(storage.search.document_ids(db)))
            storage.search.insert_documents(db, [
                {"kind": "reply", "ref": "r", "saved_reply_id": None, "text": t,
                 "lexical_text": normalize_text(t), "text_hash": str(i), "script": "latin"}
                for i, t in enumerate(texts)])
            ids = sorted(storage.search.document_ids(db))
            storage.search.delete_documents(db, ids[:dropped])
        kept = [row["lexical_text"] for row in
                storage.search.document_rows(db, ("lexical_text",), ids[dropped:])]
        want = Counter(t for text in kept for t in set(query_trigrams(text)))
        assert storage.trigrams.frequencies(db, [*want, "zzz"]) == dict(want)
        assert storage.trigrams.document_count(db) == len(kept)

    check()


def test_a_database_whose_ctype_hides_thai_is_refused_with_the_fix(tmp_path, postgres_server):
    import psycopg

    url = create_database(postgres_server)
    name = url.split("?", 1)[0].rsplit("/", 1)[1]
    drop_database(postgres_server, url)
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' "
                     "LC_CTYPE 'C' LC_COLLATE 'C'")
    engine = open_engine(tmp_path, "home", url)
    try:
        with pytest.raises(Exception, match="LC_CTYPE 'C.UTF-8'"):
            engine.lexical.search("เงิน", 5)
    finally:
        engine.home.close()
        drop_database(postgres_server, url)


def test_a_nul_character_in_a_question_is_dropped_on_both_backends(engines, small_library):
    """PostgreSQL text cannot hold NUL: normalisation drops it (as an invisible character)."""
    for name, url in (("sqlite", None), ("postgres", ...)):
        engine = engines(name) if url is ... else engines(name, url=url)
        add_library(engine, small_library[:3])
        for mode in ("lexical", "hybrid"):
            assert top(engine, "I want my\x00 money back", mode) == top(
                engine, "I want my money back", mode)
