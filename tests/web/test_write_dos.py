"""Write requests cannot hold the database: every text field of every write route has a cap
(413 naming the field), and finishing a drafting session compares the texts (bounded work)
before it takes the write lock, so a second writer is never kept waiting for the diff."""

from __future__ import annotations

import difflib
import json
import random
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from webtest_helpers import signed_in
from werkzeug.routing.converters import NumberConverter

from suggest.drafts import MAX_TEXT, edit_ratio
from web import limits

DEMO = Path(__file__).parents[2] / "suggest" / "demo_data" / "saved_replies.jsonl"


def write_routes(app) -> list[tuple[str, str]]:
    """(method, path) of every rule that takes a body, path values filled in; not a helpdesk's
    webhook, which reads no field before its signature (tests/connectors/test_hooks.py)."""
    adapter = app.url_map.bind("localhost")
    found = []
    for rule in app.url_map.iter_rules():
        if getattr(app.view_functions[rule.endpoint], "signed_requests", False):
            continue
        values = {a: 1 if isinstance(rule._converters[a], NumberConverter) else "x"
                  for a in rule.arguments}
        for method in sorted(rule.methods - {"GET", "HEAD", "OPTIONS"}):
            found.append((method, adapter.build(rule.endpoint, values, method=method)))
    return found


def send(client, token: str, method: str, path: str, body: dict):
    if path.startswith("/api/"):
        return client.open(path, method=method, json=body, headers={"X-CSRFToken": token})
    return client.open(path, method=method, data=dict(body, csrf_token=token))


@pytest.mark.parametrize("field", ["text", "inserted_text", "query", "title", "body", "comment",
                                   "username", "definition"])
def test_every_write_route_refuses_an_over_long_field_naming_it(app, field):
    client = app.test_client()
    token = signed_in(client, "root")
    routes = write_routes(app)
    assert len(routes) >= 20
    too_long = "x" * (limits.limit_for(field) + 1)
    for method, path in routes:
        response = send(client, token, method, path, {field: too_long})
        assert response.status_code == 413, (method, path, response.get_data()[:300])
        assert f"field {field}: is {len(too_long):,} characters long" in response.get_data(
            as_text=True), (method, path)


def test_nested_json_text_is_capped_by_its_top_level_field(as_user):
    client, token = as_user("ana")
    headers = {"X-CSRFToken": token}
    response = client.post("/api/render", headers=headers, json={
        "id": "refund-policy", "values": {"customer.first_name": "x" * (limits.LONG + 1)}})
    assert response.status_code == 413
    assert response.get_json()["error"] == (
        f"field values.customer.first_name: is {limits.LONG + 1:,} characters long; "
        f"the limit is {limits.LONG:,}")
    response = client.post("/api/suggest", headers=headers,
                           json={"query": "refund", "tags": ["ok", "t" * (limits.SHORT + 1)]})
    assert response.status_code == 413 and "field tags[1]" in response.get_json()["error"]
    response = client.post("/api/suggest", headers=headers, json={"k" * 3000: "x"})
    assert response.status_code == 413 and "request body: has a name" in response.get_json()[
        "error"]


values = st.recursive(
    st.text(max_size=5) | st.integers() | st.none(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=3),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None)
@given(body=st.dictionaries(st.sampled_from(["text", "title", "query", "values", "other"]),
                            values, min_size=1),
       where=st.data())
def test_check_text_fields_names_the_over_long_text_wherever_it_is(body, where):
    limits.check_text_fields(body)  # short texts pass
    field = where.draw(st.sampled_from(sorted(body)))
    cap = limits.limit_for(field)
    body[field] = {"deep": [body[field], "y" * (cap + 1)]}
    with pytest.raises(limits.TextTooLong) as raised:
        limits.check_text_fields(body)
    assert raised.value.where == f"field {field}.deep[1]" and raised.value.status == 413


def test_texts_at_their_cap_are_accepted(as_user, db):
    client, token = as_user("ana")
    headers = {"X-CSRFToken": token}
    draft = client.post("/api/drafts", headers=headers, json={"query": "q" * 5000}).get_json()
    text = "t" * MAX_TEXT
    done = client.post(f"/api/drafts/{draft['id']}/finish", headers=headers, json={
        "outcome": "sent", "text": text, "suggestion_id": "refund-policy",
        "inserted_text": "i" * MAX_TEXT})
    assert done.status_code == 200, done.get_data()
    assert done.get_json()["text"] == text and done.get_json()["edit_ratio"] == 1.0


def _demo_bodies() -> list[str]:
    return [json.loads(line)["body"] for line in DEMO.read_text(encoding="utf-8").splitlines()]


def exact(a: str, b: str) -> float:
    return round(1 - difflib.SequenceMatcher(None, a, b, autojunk=False).ratio(), 4)


def test_edit_ratio_on_known_pairs():
    assert edit_ratio("Hi Ana, thanks.", "Hi Ana, thanks.") == 0.0
    assert edit_ratio("", "anything") == 1.0
    assert edit_ratio("abc", "xyz") == 1.0
    assert edit_ratio("Hello world", "Hello there world") == 0.2143  # 1 - 2*11/28
    assert edit_ratio("สวัสดีค่ะ", "สวัสดีครับ") == exact("สวัสดีค่ะ", "สวัสดีครับ")
    bodies = _demo_bodies()
    for i in range(0, 20, 4):
        # long texts (over EXACT_CELLS character pairs): compared word by word
        long_a, long_b = " ".join(bodies[i:i + 4]), " ".join(bodies[i + 1:i + 5])
        assert len(long_a) * len(long_b) > 1_000_000
        assert abs(edit_ratio(long_a, long_b) - exact(long_a, long_b)) <= 0.02
        edited = long_a.replace(". ", ". Also, ", 3)
        assert abs(edit_ratio(long_a, edited) - exact(long_a, edited)) <= 0.002


@settings(max_examples=80, deadline=None)
@given(st.text(min_size=1, max_size=60), st.text(max_size=60))
def test_edit_ratio_of_short_texts_is_difflibs(inserted, final):
    ratio = edit_ratio(inserted, final)
    assert ratio == exact(inserted, final) and 0 <= ratio <= 1
    assert (ratio == 0) == (inserted == final)


def adversarial_pairs() -> list[tuple[str, str]]:
    """Maximal texts that are slow for difflib (few distinct words, repeated and reordered;
    a two-letter alphabet; random Thai letters) and the slowest case of edit_ratio itself:
    about a thousand words from a two-word vocabulary."""
    rng = random.Random(4)
    words = ["".join(rng.choice("abcdefghij") for _ in range(5)) for _ in range(100)]
    thai = [chr(c) for c in range(0xE01, 0xE2F)]
    return [
        (" ".join(words * 40)[:MAX_TEXT], " ".join(reversed(words * 40))[:MAX_TEXT]),
        ("".join(rng.choice("ab ") for _ in range(MAX_TEXT)),
         "".join(rng.choice("ab ") for _ in range(MAX_TEXT))),
        ("".join(rng.choice(thai) for _ in range(MAX_TEXT)),
         "".join(rng.choice(thai) for _ in range(MAX_TEXT))),
        (" ".join(rng.choice(words[:2]) for _ in range(995)),
         " ".join(rng.choice(words[:2]) for _ in range(995))),
    ]


def _finish(client, token, text: str, inserted: str) -> float:
    """Seconds a finish request with an inserted suggestion took."""
    headers = {"X-CSRFToken": token}
    draft = client.post("/api/drafts", headers=headers, json={"query": "refund"}).get_json()
    body = {"outcome": "sent", "text": text, "suggestion_id": "refund-policy",
            "inserted_text": inserted}
    started = time.perf_counter()
    response = client.post(f"/api/drafts/{draft['id']}/finish", headers=headers, json=body)
    assert response.status_code == 200, response.get_data()
    return time.perf_counter() - started


def test_a_maximal_finish_request_costs_no_more_than_a_small_plain_diff(as_user):
    """Baseline, measured in this test: plain difflib (the old comparison) on two texts of
    1,000 characters. At the 20,000-character cap the old comparison did 400 times that
    work (35 s); a finish request must now cost less than 10 baselines, whatever the text."""
    rng = random.Random(7)
    small = ["".join(rng.choice("ab") for _ in range(1000)) for _ in range(2)]
    baseline = min(_timed(lambda: difflib.SequenceMatcher(None, *small, autojunk=False).ratio())
                   for _ in range(3))
    client, token = as_user("ana")
    for text, inserted in adversarial_pairs():
        largest = min(_finish(client, token, text, inserted) for _ in range(2))
        assert largest < 10 * baseline, (len(text), largest, baseline)


def _timed(work) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def test_a_second_writer_gets_the_lock_while_a_maximal_finish_compares(as_user, web_config):
    """A real second connection with a one-second busy timeout takes the write lock again
    and again while maximal finish requests run: the comparison holds no lock."""
    client, token = as_user("ana")
    done = threading.Event()
    failures: list[BaseException] = []

    def finishing():
        try:
            for text, inserted in adversarial_pairs():
                _finish(client, token, text, inserted)
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)
        finally:
            done.set()

    other = sqlite3.connect(web_config.home / "replykit.db", isolation_level=None, timeout=1.0)
    worker = threading.Thread(target=finishing)
    worker.start()
    writes = 0
    try:
        while not done.is_set():
            other.execute("BEGIN IMMEDIATE")  # sqlite3.OperationalError if kept waiting 1 s
            other.execute("COMMIT")
            writes += 1
            time.sleep(0.005)
    finally:
        worker.join()
        other.close()
    assert not failures, failures
    assert writes >= 3


def test_finish_records_the_edit_ratio_it_computed_outside_the_lock(as_user, db):
    client, token = as_user("ana")
    long_a = " ".join(_demo_bodies()[:4])
    long_b = long_a.replace(". ", ". Also, ", 3)
    _finish(client, token, long_b, long_a)
    row = db.execute("SELECT edit_ratio FROM suggestion_feedback WHERE event = 'edited' "
                     "ORDER BY id DESC LIMIT 1").fetchone()
    assert row[0] == edit_ratio(long_a, long_b) and 0 < row[0] < 0.05
