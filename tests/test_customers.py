"""Finding and templating a customer's identifiers in free text (`replykit.customers`), as
`privacy forget` does in feedback queries, drafts and saved replies: every written form of
their name, e-mail and id goes; text without them is left alone."""

from __future__ import annotations

import time
import unicodedata

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from replykit.customers import HONORIFICS, Customer, canonical_email, fold, folded

FILLER = ("the", "order", "please", "refund", "ครับ", "ค่ะ", "سلام", "ممنون", "42", "#7",
          "\n", ", ", ". ")
LATIN = "bcdfghjklmnprstvzBCDFGHJKLMNPRSTVZaeiouáéíóúñçøåÁÉÍÓÚ"
THAI = "กขคงจฉชซดตถทธนบปผพฟมยรลวสหอะาิีึืุูเแโใไ่้๊๋"
PERSIAN = "ابپتثجچحخدذرزژسشصضطظعغفقکگلمنوهی"
ARABIC_FORMS = str.maketrans({"ی": "ي", "ک": "ك"})


def _token(alphabet: str):
    return st.text(alphabet=alphabet, min_size=3, max_size=9).filter(
        lambda t: fold(t)[0] not in HONORIFICS
        and not any(fold(t)[0] in fold(f)[0] for f in FILLER))


names = st.one_of(*(st.lists(_token(a), min_size=2, max_size=3) for a in (LATIN, THAI, PERSIAN)))
locals_ = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789.", min_size=2, max_size=12
                  ).filter(lambda s: s[0] != "." and s[-1] != ".")


def _variant(text: str, data) -> str:
    """Another way to write `text`: case flipped, NFD, Arabic letter forms."""
    form = data.draw(st.sampled_from(["upper", "lower", "nfd", "arabic", "same"]))
    return {"upper": text.upper(), "lower": text.lower(),
            "nfd": unicodedata.normalize("NFD", text),
            "arabic": text.translate(ARABIC_FORMS), "same": text}[form]


@given(tokens=names, local=locals_, tag=st.text(alphabet="abc123", max_size=5),
       cid=st.from_regex(r"[A-Z]{2}-[0-9]{4,8}", fullmatch=True), data=st.data())
def test_every_form_of_the_customers_details_is_templated(tokens, local, tag, cid, data):
    name = " ".join(tokens)
    email = f"{local}@Example.ORG"
    customer = Customer.of(emails=[email], ids=[cid], names=[name], messages=[])
    pieces = data.draw(st.lists(st.sampled_from(FILLER), min_size=1, max_size=6))
    mentions = [_variant(name, data), _variant(tokens[0], data), _variant(tokens[-1], data),
                f"{local.upper()}+{tag}@example.org" if tag else email.upper(), cid.lower()]
    seps = data.draw(st.lists(st.sampled_from([" ", ", ", "\n", " (", ": "]), min_size=10,
                              max_size=10))
    text = "".join(p + seps[2 * i] + m + seps[2 * i + 1]
                   for i, (p, m) in enumerate(zip(pieces * 5, mentions, strict=False)))
    assert customer.mentioned_in(text)
    out = customer.template(text)
    folded = fold(out)[0]
    for token in tokens:
        assert fold(token)[0] not in folded, (text, out)
    assert f"{local}@" not in out.casefold() and cid.casefold() not in folded, (text, out)
    assert customer.template(out) == out


@given(tokens=names, pieces=st.lists(st.sampled_from(FILLER), max_size=12))
def test_text_without_the_customer_is_left_alone(tokens, pieces):
    customer = Customer.of(emails=["ana@example.com"], ids=["CUST-1001"],
                           names=[" ".join(tokens)], messages=["a long message of theirs"])
    text = " ".join(pieces) + " anna@example.com ana@example.co CUST-10011"
    assume(canonical_email("ana@example.com") not in text)
    assert not customer.mentioned_in(text)
    assert customer.template(text) == text


def test_honorifics_messages_and_thai_glued_names():
    customer = Customer.of(
        emails=[], ids=[], names=["Dr. Ana Lima", "สมชาย ใจดี"],
        messages=["My ski boots pinch at the heel, please help", "ok"])
    assert customer.template("Hi ANA, dr. lima here") == (
        "Hi {{customer.first_name}}, dr. {{customer.last_name}} here")
    assert customer.template("คุณสมชายครับ") == "คุณ{{customer.first_name}}ครับ"
    assert customer.template("Quote: my ski boots  PINCH at the heel, please help!") == (
        "Quote: [removed]!")
    # a name overlapping a quoted message: both go, nothing of either is left
    overlapping = Customer.of(emails=[], ids=[], names=["Ana Lima"],
                              messages=["Lima shop would not take my return"])
    assert overlapping.template("Ana Lima shop would not take my return!") == "[removed]!"
    # "ok" is too short to count as a message; "Ana" alone is too common to say it is her
    assert not customer.mentioned_in("ok Ana")
    assert customer.mentioned_in("about ana lima")


@given(st.text())
def test_the_fast_fold_is_the_fold(text):
    assert folded(text) == fold(text)[0]


def _best_time(run, text: str) -> float:
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        run(text)
        best = min(best, time.perf_counter() - start)
    return best


@pytest.mark.parametrize("piece", ["a", "a@", "a.", "a+a@a.", "a@a-", "1 ", "ก", "ana lima ",
                                   "ingrid.solbakken@fjord"])
def test_finding_and_templating_grow_linearly(piece):
    """forget scans every feedback query and saved reply under the write lock: the time on an
    adversarial text of 8n characters may grow as much as a linear pass over it (about 8x),
    with a 3x margin; a quadratic pattern grows 64x."""
    customer = Customer.of(emails=["ingrid.solbakken@fjordmail.example"], ids=["CUST-4471"],
                           names=["Ana Lima"], messages=["a message of at least sixteen"])
    short, long = (piece * (n // len(piece)) + "@!" for n in (5_000, 40_000))

    def baseline(text):
        return [ch for ch in text if ch.isalnum()]

    linear = _best_time(baseline, long) / _best_time(baseline, short)
    for run in (customer.mentioned_in, customer.template):
        growth = _best_time(run, long) / _best_time(run, short)
        assert growth < 3 * linear, (run.__name__, piece, growth, linear)
