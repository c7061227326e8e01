"""Fuzzing `replykit eval` query files: every file either reads into queries matching its
lines, or fails with an InputError naming the file."""

from __future__ import annotations

import json

from fuzzing import check_typed_error, fuzz_settings, jsonl_bytes, mutated, noisy, texts
from hypothesis import given
from hypothesis import strategies as st

from suggest.evaluation import read_queries

query = st.fixed_dictionaries({
    "query": st.sampled_from(["Can I get a refund?", "ลืมรหัสผ่าน", "رمز عبورم را فراموش کردم"])
    | texts,
    "expected": st.lists(st.sampled_from(["refund-policy", "th-password-reset"]) | texts,
                         max_size=2),
}).flatmap(lambda q: mutated(q, ["query", "expected"]))


@st.composite
def query_file(draw) -> bytes:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=200))
    lines = draw(st.lists(query, max_size=4))
    return draw(noisy(jsonl_bytes(lines, draw(st.booleans()), draw(st.sampled_from(["\n",
                                                                                      "\r\n"])))))


@fuzz_settings(scale=2)
@given(data=query_file())
def test_eval_query_file(tmp_path, data):
    path = tmp_path / "queries.jsonl"
    path.write_bytes(data)
    try:
        queries = read_queries(path)
    except Exception as exc:  # noqa: BLE001 - anything but our typed error fails the test
        check_typed_error(exc, str(path))
        return
    lines = data.split(b"\n")
    for q in queries:
        record = json.loads(lines[q.line - 1].decode("utf-8-sig"))
        assert (q.text, q.expected) == (record["query"], record.get("expected", []))
