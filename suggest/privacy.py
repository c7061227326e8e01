"""Templating customers' details out of past replies before they are indexed or suggested.

A past reply written for customer A must not show A's name, e-mail, phone or order number to
customer B. What the conversation itself knows (the customer's name, e-mail, the ticket id,
the agent's name) is replaced by the matching placeholder; then patterns catch the rest:
e-mail addresses, phone numbers, order references (#A-10293) and long digit runs (card or
account numbers) — digits in any script, Thai and Persian/Arabic-Indic included. The original
messages stay in the database for reviewers; only the templated text is searched and shown."""

from __future__ import annotations

import re

EMAIL = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
# an order or ticket reference written with a hash: #A-10293, #10293, #TK-55
ORDER = re.compile(r"#[A-Za-z]{0,4}-?\d[\d-]*")
# phone numbers: an optional +, then digits with spaces, dots, dashes or brackets, 8+ digits
PHONE = re.compile(r"(?<![\w#])\+?\(?\d(?:[\d\s().-]{6,}\d)(?!\w)")
CARD_LIKE = re.compile(r"(?<!\w)\d{13,19}(?!\w)")
LONG_NUMBER = re.compile(r"(?<!\w)\d{6,}(?!\w)")


def _digits(text: str) -> int:
    return sum(ch.isdigit() for ch in text)


def _replace_phone(match: re.Match) -> str:
    return "{{customer.phone}}" if _digits(match.group(0)) >= 8 else match.group(0)


def _name_pattern(name: str) -> re.Pattern:
    # Latin names match as whole words; Thai has no spaces between words, so elsewhere the
    # name matches wherever it appears
    escaped = re.escape(name)
    if name.isascii():
        return re.compile(rf"(?<!\w){escaped}(?!\w)", re.IGNORECASE)
    return re.compile(escaped)


def template(text: str, known: list[tuple[str, str]]) -> str:
    """`text` with the customer's details replaced by placeholders. `known` pairs values this
    conversation has with their placeholder names (customer.name, customer.email, ...)."""
    replacements = sorted(
        ((value.strip(), name) for value, name in known if value and value.strip()),
        key=lambda item: -len(item[0]),
    )
    for value, name in replacements:
        if len(value) >= 2:
            text = _name_pattern(value).sub("{{" + name + "}}", text)
    text = EMAIL.sub("{{customer.email}}", text)
    text = ORDER.sub("{{order.id}}", text)
    text = CARD_LIKE.sub("{{number}}", text)
    text = PHONE.sub(_replace_phone, text)
    return LONG_NUMBER.sub("{{number}}", text)


def known_details(conversation: dict, agents: set[str] | None = None) -> list[tuple[str, str]]:
    """(value, placeholder) pairs of what a conversation row knows about its customer, and
    the names of the agents who answered."""
    name = (conversation.get("customer_name") or "").strip()
    parts = name.split()
    known = [
        (name, "customer.name"),
        (parts[0] if parts else "", "customer.first_name"),
        (parts[-1] if len(parts) > 1 else "", "customer.last_name"),
        (conversation.get("customer_email") or "", "customer.email"),
        (conversation.get("customer_id") or "", "customer.id"),
        (conversation.get("id") or "", "ticket.id"),
    ]
    for agent in sorted(agents or ()):
        known.append((agent, "agent.name"))
        known.append((agent.split()[0] if agent.split() else "", "agent.name"))
    return known
