"""Fuzzing placeholder syntax: any body is accepted (braces that form no placeholder are
text), renders with every placeholder accounted for, and converts from other helpdesks'
syntaxes without raising, idempotently."""

from __future__ import annotations

from fuzzing import fuzz_settings, texts
from hypothesis import given
from hypothesis import strategies as st

from suggest import placeholders

PIECES = ["{{", "}}", "{", "}", "|", " ", "\n", "customer", ".", "first_name", "_x1", "1",
          "there", "สวัสดีค่ะ", "مشتری عزیز", "ticket.id", "{{customer.first_name}}",
          "{{ agent.name | our team }}", "{{a|}}", "\x00", "\ufeff", "{%", "%}", "||", "'",
          "| fallback:", ",fallback=", "Website Name", "7c23d0", "{{Purchase"]
bodies = st.lists(st.sampled_from(PIECES) | texts, max_size=12).map("".join)


@fuzz_settings(scale=3)
@given(body=bodies)
def test_placeholder_syntax(body):
    names = placeholders.names(body)
    empty = placeholders.render(body, {})
    assert len(empty.missing) + len(empty.used_fallback) == len(names)
    assert sorted({*empty.missing, *empty.used_fallback}) == sorted(set(names))
    full = placeholders.render(body, {name: "V" for name in names})
    assert (full.missing, full.used_fallback) == ([], [])
    assert placeholders.names(full.text) == placeholders.names(
        placeholders.PLACEHOLDER.sub("V", body))
    for line, snippet in placeholders.stray_braces(body):
        assert 1 <= line <= body.count("\n") + 1 and snippet[:2] in ("{{", "}}")


@fuzz_settings(scale=3)
@given(body=bodies, foreign=st.booleans())
def test_conversion(body, foreign):
    once = placeholders.convert(body, foreign)
    assert placeholders.convert(once.text, foreign).text == once.text
    assert all(1 <= line <= body.count("\n") + 1 for line, _ in once.notes)
