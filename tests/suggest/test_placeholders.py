"""Placeholders in saved-reply bodies: names (any text without braces or '|', so
`{{Website Name}}` and `{{7c23d0a1}}` too), braces that form none kept as text, rendering with
values/fallbacks, the text the search indexes see, and the conversion of other helpdesks'
syntaxes on import."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from suggest import placeholders
from suggest.placeholders import PLACEHOLDER, convert, index_text, label, render

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


def test_names_in_order_including_fallback_syntax():
    body = "Hi {{customer.first_name|there}}, order {{ order.id }} ships {{date}}."
    assert placeholders.names(body) == ["customer.first_name", "order.id", "date"]


def test_names_with_spaces_capitals_and_leading_digits_are_placeholders():
    body = ("Welcome to {{Website Name}}! Ref {{7c23d0a1-9f}}, order {{ Order Number|yours}},"
            " {{ชื่อลูกค้า}} {{نام مشتری}}")
    assert placeholders.names(body) == ["Website Name", "7c23d0a1-9f", "Order Number", "ชื่อลูกค้า",
                           "نام مشتری"]
    result = render(body, {"Website Name": "Acme", "7c23d0a1-9f": "X1", "ชื่อลูกค้า": "สมชาย"})
    assert result.text == "Welcome to Acme! Ref X1, order yours, สมชาย {{نام مشتری}}"
    assert (result.missing, result.used_fallback) == (["نام مشتری"], ["Order Number"])
    assert index_text("{{Website Name|our shop}} and {{7c23d0a1}}") == "our shop and "
    assert [label(n) for n in ("Website Name", "7c23d0a1", "order.id")] == [
        "Website name", "7c23d0a1", "Order number"]


@pytest.mark.parametrize("body, strays", [
    ("Your order {{Purchase", [(1, "{{Purchase")]),
    ("Hello customer}} there", [(1, "}} there")]),
    ("Hi,\n\nyour {{order.id is here\nthanks {{ticket.id}}", [(3, "{{order.id is here")]),
    ("{{}} and {{ }}", [(1, "{{}} and {{ }}"), (1, "}} and {{ }}"), (1, "{{ }}"), (1, "}}")]),
])
def test_braces_that_form_no_placeholder_are_text(body, strays):
    assert placeholders.stray_braces(body) == strays
    assert render(body, {"ticket": {"id": "7"}}).text == body.replace("{{ticket.id}}", "7")
    assert placeholders.names(body) == (["ticket.id"] if "{{ticket.id}}" in body else [])


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
def test_generated_bodies_have_their_names(case):
    body, holes, _ = case
    assert placeholders.names(body) == [name for name, _ in holes]


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


# ---- other helpdesks' syntaxes (docs/saved-replies.md has this table)

NO_NAME = "as a placeholder: replykit has no name for it, so the agent fills it in"


@pytest.mark.parametrize("vendor, text, converted", [
    ("zendesk", "Hi {{ticket.requester.first_name}}", "Hi {{customer.first_name}}"),
    ("zendesk", "{{current_user.name}}, ticket #{{ticket.id}}",
     "{{agent.name}}, ticket #{{ticket.id}}"),
    ("zendesk", '{{ticket.requester.first_name | default: "there"}}',
     "{{customer.first_name|there}}"),
    ("helpscout", "Hi {%customer.firstName,fallback=there%}", "Hi {{customer.first_name|there}}"),
    ("helpscout", "{%customer.fullName%} / {%user.firstName%}",
     "{{customer.name}} / {{agent.first_name}}"),
    ("freshdesk", "Dear {{ticket.requester.name}}, {{ticket.agent.name}}",
     "Dear {{customer.name}}, {{agent.name}}"),
    ("intercom", 'Hi {{first_name | fallback: "there"}}', "Hi {{customer.first_name|there}}"),
    ("front", "Hi {{recipient.first_name | fallback: 'คุณลูกค้า'}}",
     "Hi {{customer.first_name|คุณลูกค้า}}"),
    ("chatwoot", "Hi {{contact.first_name}}", "Hi {{customer.first_name}}"),
    ("hoory", "Hi {{ contact.first_name || 'there' }}", "Hi {{customer.first_name|there}}"),
    ("chatwoot", "سلام {{ contact.name || \"دوست عزیز\" }}", "سلام {{customer.name|دوست عزیز}}"),
    ("gorgias", "Hi {{ticket.customer.firstname}}", "Hi {{customer.first_name}}"),
    ("gorgias", "Order {{ticket.customer.integrations.shopify.orders[0].name}}",
     "Order {{order.id}}"),
    ("replykit", "Hi {{customer.first_name|there}} {{Website Name}}",
     "Hi {{customer.first_name|there}} {{Website Name}}"),
])
def test_conversion_table(vendor, text, converted):
    result = convert(text, foreign=vendor != "replykit")
    assert (result.text, result.notes) == (converted, [])
    assert (result.converted == 0) == (vendor == "replykit")


@pytest.mark.parametrize("text, foreign, converted, notes", [
    ("{{ticket.organization.id}}", True, "{{ticket.organization.id}}",
     [(1, f"kept {{{{ticket.organization.id}}}} {NO_NAME}")]),
    ("{{Website Name}}", False, "{{Website Name}}", []),
    ("a\n{%customer.vipLevel,fallback=gold%}", False, "a\n{{customer.vipLevel|gold}}",
     [(2, f"kept {{{{customer.vipLevel|gold}}}} {NO_NAME}")]),
    ('{{ticket.created|datetime_format("L")}}', False, "{{ticket.created}}",
     [(1, 'dropped the template filter |datetime_format("L") of '
          '{{ticket.created|datetime_format("L")}}: replykit fills in values as they are'),
      (1, f"kept {{{{ticket.created}}}} {NO_NAME}")]),
    ("{% if x %}Hi{% endif %}", False, "{% if x %}Hi{% endif %}",
     [(1, "kept the template logic {% if x %} as text: replykit has no conditions or loops; "
          "edit the reply"),
      (1, "kept the template logic {% endif %} as text: replykit has no conditions or loops; "
          "edit the reply")]),
    ("Hi,\nyour order {{Purchase", False, "Hi,\nyour order {{Purchase",
     [(2, "kept 1 '{{' or '}}' as text (the first: '{{Purchase'): they form no placeholder")]),
])
def test_what_cannot_be_mapped_is_kept_and_noted_with_its_line(text, foreign, converted, notes):
    result = convert(text, foreign)
    assert (result.text, result.notes) == (converted, notes)


braced = st.lists(st.sampled_from(["{{", "}}", "{%", "%}", "{", "}", "|", "||", " ", "\n", "'",
                                   '"', ",fallback=", "| fallback:", "customer.firstName",
                                   "contact.first_name", "Website Name", "upcase", "ลูกค้า"])
                  | plain, max_size=16).map("".join)


@given(braced)
def test_conversion_never_raises_and_is_idempotent(text):
    once = convert(text, foreign=True)
    assert convert(once.text, foreign=True).text == once.text
    assert all(line >= 1 for line, _ in once.notes)


own_names = names.filter(lambda n: n not in placeholders.VENDOR_NAMES)
own_fallbacks = st.none() | st.text(st.sampled_from("abc XYZ-!ลูกค้าمشتری"), max_size=10)


@given(st.lists(st.tuples(own_names, own_fallbacks), max_size=5), st.lists(plain, max_size=6))
def test_conversion_leaves_replykit_syntax_alone(holes, segments):
    body = "".join(s + "{{" + n + ("" if f is None else "|" + f) + "}}"
                   for s, (n, f) in zip(segments, holes, strict=False))
    assert convert(body).text == body
