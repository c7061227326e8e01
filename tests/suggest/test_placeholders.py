"""Placeholders in saved-reply bodies: validation, rendering with values/fallbacks, and the
text the search indexes see."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from replykit.errors import InputError
from suggest import placeholders
from suggest.placeholders import PLACEHOLDER, index_text, render, validate

# Text without braces: whatever surrounds placeholders in a body.
plain = st.text(st.characters(blacklist_characters="{}", blacklist_categories=("Cs",)), max_size=30)
names = st.from_regex(r"\A[a-z_][a-z0-9_]{0,8}(\.[a-z_][a-z0-9_]{0,8}){0,2}\Z")
fallbacks = st.none() | st.text(
    st.characters(blacklist_characters="{}", blacklist_categories=("Cs",)), max_size=10
)


@st.composite
def bodies(draw):
    """(body, [(name, fallback)], [plain segments]) with len(segments) == len(holes) + 1."""
    holes = draw(st.lists(st.tuples(names, fallbacks), max_size=5))
    segments = [draw(plain) for _ in range(len(holes) + 1)]
    body = segments[0]
    for (name, fallback), segment in zip(holes, segments[1:], strict=True):
        body += "{{" + name + ("" if fallback is None else "|" + fallback) + "}}" + segment
    return body, holes, segments


def test_validate_lists_names_in_order_including_fallback_syntax():
    body = "Hi {{customer.first_name|there}}, order {{ order.id }} ships {{date}}."
    assert validate(body) == ["customer.first_name", "order.id", "date"]


@pytest.mark.parametrize(
    "body, snippet",
    [
        ("Hello {{customer.name", "{{customer.name"),
        ("Hello customer}} there", "}} there"),
        ("Hi {{1abc}}", "{{1abc}}"),
        ("Hi {{first name}}", "{{first name}}"),
        ("Hi {{customer..name}}", "{{customer..name}}"),
    ],
)
def test_malformed_placeholder_is_an_error_naming_the_spot(body, snippet):
    with pytest.raises(InputError) as info:
        validate(body, "field body")
    assert info.value.where == "field body"
    assert f"near {snippet!r}" in info.value.message
    assert "line 1 of the text" in info.value.message


def test_malformed_placeholder_on_a_later_line_names_that_line():
    with pytest.raises(InputError, match="at line 3 of the text"):
        validate("Hi,\n\nyour {{order.id is here\nthanks")


def test_render_fills_nested_and_flat_values_and_fallbacks():
    body = "Hi {{customer.first_name|there}}, order {{order.id}} by {{agent.name|our team}}."
    result = render(body, {"customer": {"first_name": "Ana"}, "order.id": 42})
    assert result.text == "Hi Ana, order 42 by our team."
    assert result.missing == []
    assert result.used_fallback == ["agent.name"]


def test_empty_value_counts_as_missing_and_falls_back():
    result = render("Hi {{customer.first_name|there}}!", {"customer": {"first_name": ""}})
    assert result.text == "Hi there!"
    assert result.used_fallback == ["customer.first_name"]


def test_placeholder_without_value_or_fallback_is_kept_and_reported():
    result = render("Dear {{customer.first_name}}, see {{ticket.url}}", {"ticket": {"url": "u"}})
    assert result.text == "Dear {{customer.first_name}}, see u"
    assert result.missing == ["customer.first_name"]
    assert result.as_dict() == {
        "text": "Dear {{customer.first_name}}, see u",
        "missing": ["customer.first_name"],
        "used_fallback": [],
    }


def test_lookup_does_not_descend_into_non_dicts():
    assert placeholders.lookup({"customer": "Ana"}, "customer.first_name") is None


def test_index_text_uses_fallbacks_and_drops_the_rest():
    assert index_text("Hi {{customer.first_name|there}}, {{order.id}} ok") == "Hi there,  ok"


def test_thai_and_persian_bodies_render():
    assert render("สวัสดีค่ะ คุณ{{customer.first_name|ลูกค้า}}", {}).text == "สวัสดีค่ะ คุณลูกค้า"
    assert (
        render("سلام {{customer.first_name}} عزیز", {"customer": {"first_name": "سارا"}}).text
        == "سلام سارا عزیز"
    )


@given(bodies())
def test_generated_bodies_validate_to_their_names(case):
    body, holes, _ = case
    assert validate(body) == [name for name, _ in holes]


@given(bodies(), st.data())
def test_render_never_loses_text_outside_placeholders(case, data):
    body, holes, segments = case
    # give a random subset of names a value; each value is a unique marker
    given_names = data.draw(
        st.sets(st.sampled_from([n for n, _ in holes])) if holes else st.just(set())
    )
    context = {name: f"<{name}>" for name in given_names}
    result = render(body, context)
    expected = segments[0]
    missing, fallback_used = [], []
    for (name, fallback), segment in zip(holes, segments[1:], strict=True):
        if name in context:
            expected += context[name]
        elif fallback is not None:
            expected += fallback
            fallback_used.append(name)
        else:
            expected += "{{" + name + "}}"
            missing.append(name)
        expected += segment
    assert result.text == expected
    assert result.missing == missing
    assert result.used_fallback == fallback_used


@given(bodies())
def test_render_with_no_values_keeps_every_placeholder_without_fallback(case):
    body, holes, _ = case
    result = render(body, {})
    assert result.missing == [n for n, f in holes if f is None]
    # what is left unfilled is exactly the placeholders without fallback, verbatim
    assert [m.group(1) for m in PLACEHOLDER.finditer(result.text)] == result.missing
