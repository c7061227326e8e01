"""Fuzzing placeholder syntax: a body either validates, and then renders with every
placeholder accounted for, or fails with an InputError saying where the bad one is."""

from __future__ import annotations

from fuzzing import check_typed_error, fuzz_settings, texts
from hypothesis import given
from hypothesis import strategies as st

from suggest import placeholders

PIECES = ["{{", "}}", "{", "}", "|", " ", "\n", "customer", ".", "first_name", "_x1", "1",
          "there", "สวัสดีค่ะ", "مشتری عزیز", "ticket.id", "{{customer.first_name}}",
          "{{ agent.name | our team }}", "{{a|}}", "\x00", "\ufeff"]
bodies = st.lists(st.sampled_from(PIECES) | texts, max_size=12).map("".join)


@fuzz_settings(scale=3)
@given(body=bodies)
def test_placeholder_syntax(body):
    try:
        names = placeholders.validate(body, "field body")
    except Exception as exc:  # noqa: BLE001 - anything but our typed error fails the test
        check_typed_error(exc, "field body", "malformed placeholder at line")
        return
    empty = placeholders.render(body, {})
    assert len(empty.missing) + len(empty.used_fallback) == len(names)
    assert sorted({*empty.missing, *empty.used_fallback}) == sorted(set(names))
    full = placeholders.render(body, {name: "V" for name in names})
    assert (full.missing, full.used_fallback) == ([], [])
    assert "{{" not in full.text and "}}" not in full.text
