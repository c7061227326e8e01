"""Placeholders in saved-reply bodies: `{{customer.first_name}}`, with an optional fallback
`{{customer.first_name|there}}`. Names are dotted identifiers. Rendering never blanks a
placeholder silently: one with no value and no fallback stays in the text and is reported."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from replykit.errors import InputError

NAME = r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*"
PLACEHOLDER = re.compile(r"\{\{\s*(" + NAME + r")\s*(?:\|([^{}]*))?\}\}")
_BRACES = re.compile(r"\{\{|\}\}")


def validate(body: str, where: str = "body") -> list[str]:
    """Names of the placeholders in `body`, in order; raises InputError on a malformed one
    (unclosed `{{`, stray `}}`, or a name that is not a dotted identifier)."""
    names = []
    position = 0
    for match in PLACEHOLDER.finditer(body):
        _check_plain(body, position, match.start(), where)
        names.append(match.group(1))
        position = match.end()
    _check_plain(body, position, len(body), where)
    return names


def _check_plain(body: str, start: int, end: int, where: str) -> None:
    stray = _BRACES.search(body, start, end)
    if stray:
        line = body.count("\n", 0, stray.start()) + 1
        snippet = body[stray.start() : stray.start() + 30].splitlines()[0]
        raise InputError(
            f"malformed placeholder at line {line} of the text near {snippet!r}: "
            "use {{name}} or {{name|fallback}} with a dotted name such as customer.first_name",
            where,
        )


@dataclass
class Rendered:
    """Result of rendering: the text, placeholders left unfilled (no value, no fallback)
    and those filled from their fallback."""

    text: str
    missing: list[str] = field(default_factory=list)
    used_fallback: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"text": self.text, "missing": self.missing, "used_fallback": self.used_fallback}


def lookup(context: dict, name: str):
    """Value for a dotted name in a nested dict (or a flat dict keyed by the dotted name)."""
    if name in context:
        return context[name]
    value = context
    for part in name.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def render(body: str, context: dict) -> Rendered:
    """Fill placeholders from `context` (e.g. {"customer": {"first_name": "Ana"}}); empty
    values count as missing. Unfilled placeholders are kept verbatim in the text."""
    result = Rendered(text="")

    def fill(match: re.Match) -> str:
        name, fallback = match.group(1), match.group(2)
        value = lookup(context, name)
        if value not in (None, ""):
            return str(value)
        if fallback is not None:
            result.used_fallback.append(name)
            return fallback
        result.missing.append(name)
        return match.group(0)

    result.text = PLACEHOLDER.sub(fill, body)
    return result


def index_text(body: str) -> str:
    """Text for search: placeholders become their fallback, or vanish when they have none."""
    return PLACEHOLDER.sub(lambda m: m.group(2) or "", body)


# Readable names of the placeholders agents meet (saved replies and templated past replies),
# shown in the workspace instead of the dotted key; other names are spelled out by label().
LABELS = {
    "customer.first_name": "Customer first name",
    "customer.last_name": "Customer last name",
    "customer.name": "Customer name",
    "customer.email": "Customer e-mail",
    "customer.phone": "Customer phone number",
    "customer.id": "Customer ID",
    "number": "Account or card number",
    "order.id": "Order number",
    "order.tracking_url": "Tracking link",
    "ticket.id": "Ticket number",
    "agent.name": "Your name",
    "refund.amount": "Refund amount",
    "subscription.plan": "Subscription plan",
    "company.name": "Company name",
}
_WORDS = {"id": "ID", "url": "link", "email": "e-mail"}


def label(name: str) -> str:
    """A readable name for a placeholder: "order.id" -> "Order number",
    "company.status_url" -> "Company status link" (known names from LABELS, others spelled
    out word by word)."""
    if name in LABELS:
        return LABELS[name]
    words = [_WORDS.get(w.lower(), w.lower()) for w in re.split(r"[._]+", name) if w]
    text = " ".join(words)
    return text[:1].upper() + text[1:] if text else name
