"""Placeholders in saved-reply bodies: `{{customer.first_name}}`, with an optional fallback
`{{customer.first_name|there}}`. A name is any text on one line without braces or `|`, such as
`order.id`, `Website Name` or `7c23d0a1`; spaces around it are ignored. Braces that do not form
a placeholder (an unclosed `{{`, a stray `}}`) are plain text. Rendering never blanks a
placeholder silently: one with no value and no fallback stays in the text and is reported.

`convert` turns other helpdesks' placeholder syntaxes into this one on import (the table is in
docs/saved-replies.md)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

NAME = r"[^\s{}|](?:[^{}|\n]*[^\s{}|])?"
PLACEHOLDER = re.compile(r"\{\{\s*(" + NAME + r")\s*(?:\|([^{}]*))?\}\}")
_BRACES = re.compile(r"\{\{|\}\}")


def names(body: str) -> list[str]:
    """Names of the placeholders in `body`, in order of appearance."""
    return [match.group(1) for match in PLACEHOLDER.finditer(body)]


def _line(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


def stray_braces(body: str) -> list[tuple[int, str]]:
    """(line, snippet) of each `{{` or `}}` in `body` that is not part of a placeholder; they
    are kept as text (a title or body cut in the middle of a placeholder, code samples)."""
    found, position, line, counted = [], 0, 1, 0
    spans = [(m.start(), m.end()) for m in PLACEHOLDER.finditer(body)] + [(len(body), len(body))]
    for start, end in spans:
        for stray in _BRACES.finditer(body, position, start):
            line += body.count("\n", counted, stray.start())
            counted = stray.start()
            found.append((line, body[stray.start() : stray.start() + 30].splitlines()[0]))
        position = end
    return found


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
    "ticket.url": "Ticket link",
    "agent.name": "Your name",
    "agent.first_name": "Your first name",
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


# ---- other helpdesks' syntaxes, converted on import

# Their placeholder names -> replykit's, from each tool's public variable reference.
# Names already replykit's (order.id, ticket.id, agent.name...) are left as they are.
VENDOR_NAMES = {
    # Zendesk placeholders (ticket.requester / current_user / ticket.assignee are users)
    "ticket.requester.first_name": "customer.first_name",
    "ticket.requester.last_name": "customer.last_name",
    "ticket.requester.name": "customer.name",
    "ticket.requester.email": "customer.email",
    "ticket.requester.phone": "customer.phone",
    "ticket.requester.id": "customer.id",
    "current_user.name": "agent.name",
    "current_user.first_name": "agent.first_name",
    "ticket.assignee.name": "agent.name",
    "ticket.assignee.first_name": "agent.first_name",
    "ticket.organization.name": "company.name",
    "ticket.link": "ticket.url",
    # Freshdesk canned-response placeholders
    "ticket.requester.firstname": "customer.first_name",
    "ticket.requester.lastname": "customer.last_name",
    "ticket.agent.name": "agent.name",
    "ticket.agent.firstname": "agent.first_name",
    "ticket.company.name": "company.name",
    # Help Scout variables ({%customer.firstName%})
    "customer.firstName": "customer.first_name",
    "customer.lastName": "customer.last_name",
    "customer.fullName": "customer.name",
    "user.firstName": "agent.first_name",
    "user.fullName": "agent.name",
    "conversation.number": "ticket.id",
    # Intercom and Front
    "first_name": "customer.first_name",
    "last_name": "customer.last_name",
    "name": "customer.name",
    "email": "customer.email",
    "recipient.first_name": "customer.first_name",
    "recipient.last_name": "customer.last_name",
    "recipient.name": "customer.name",
    "recipient.email": "customer.email",
    "recipient.phone": "customer.phone",
    "user.first_name": "agent.first_name",
    "user.name": "agent.name",
    # Chatwoot and Hoory template variables
    "contact.first_name": "customer.first_name",
    "contact.last_name": "customer.last_name",
    "contact.name": "customer.name",
    "contact.email": "customer.email",
    "contact.phone_number": "customer.phone",
    "contact.id": "customer.id",
    "conversation.id": "ticket.id",
    # Gorgias macro variables
    "ticket.customer.firstname": "customer.first_name",
    "ticket.customer.lastname": "customer.last_name",
    "ticket.customer.name": "customer.name",
    "ticket.customer.email": "customer.email",
    "ticket.customer.id": "customer.id",
    "current_user.firstname": "agent.first_name",
    "ticket.customer.integrations.shopify.orders[0].name": "order.id",
    "ticket.customer.integrations.shopify.orders[0].fulfillments[0].tracking_url":
        "order.tracking_url",
}
KNOWN = frozenset(LABELS) | frozenset(VENDOR_NAMES.values())
# Help Scout: {%customer.firstName,fallback=there%} (a dotted name, unlike Liquid's {% if %})
_HELP_SCOUT = re.compile(r"\{%\s*([A-Za-z_]\w*(?:\.\w+)+)\s*(?:,\s*fallback=([^%{}\n]*))?%\}")
_LIQUID_TAG = re.compile(r"\{%[^%{}\n]*%\}")
_CURLIES = re.compile(r"\{\{([^{}\n]*)\}\}")
# Chatwoot/Hoory `name || 'there'`; Intercom/Front `name | fallback: "there"`; Liquid's
# `name | default: "there"` (Zendesk, Gorgias)
_QUOTED_FALLBACK = re.compile(  # fullmatch only (\A: one start, so never quadratic)
    r"\A\s*([^{}|\s](?:[^{}|\n]*[^{}|\s])?)\s*(?:\|\||\|\s*(?:fallback|default)\s*:)"
    r"\s*(?:'([^'\n]*)'|\"([^\"\n]*)\")\s*"
)
# a template filter (`| upcase`, `|datetime_format("L")`, `| date: "%Y"`) where replykit has
# a fallback: dropped, since it would otherwise be sent to the customer as the fallback text
_FILTER = re.compile(  # fullmatch only
    r"\A\s*(?:(?:upcase|downcase|capitalize|url_encode|escape|strip)\s*|"
    r"(?:date|datetime_format|truncate|replace|split|round|plus|minus|times|divided_by|money|"
    r"default|fallback)\s*[:(][^{}]*)"
)


@dataclass
class Converted:
    """Result of `convert`: the text in replykit's syntax, how many placeholders changed,
    and (line of the text, message) notes about what could not be mapped."""

    text: str
    converted: int = 0
    notes: list[tuple[int, str]] = field(default_factory=list)


def _placeholder(name: str, fallback: str | None) -> str:
    return "{{" + name + ("" if fallback is None else "|" + fallback) + "}}"


def convert(text: str, foreign: bool = False) -> Converted:
    """`text` with other helpdesks' placeholders in replykit's syntax: Help Scout
    `{%customer.firstName,fallback=there%}`, Chatwoot `{{ contact.first_name || 'there' }}`,
    Intercom `{{first_name | fallback: "there"}}` all become `{{customer.first_name|there}}`
    (names mapped by VENDOR_NAMES). Nothing is dropped: a placeholder whose name has no
    replykit equivalent is kept under its own name, and noted when `foreign` (the file came
    from another tool) or when it used another tool's syntax; Liquid logic (`{% if %}`) and
    braces that form no placeholder stay as text, noted. Converting twice changes nothing."""
    result = Converted(text="")

    def note(match: re.Match, message: str) -> None:
        result.notes.append((_line(match.string, match.start()), message))

    def mapped(match: re.Match, name: str, fallback: str | None, other_syntax: bool) -> str:
        new_name = VENDOR_NAMES.get(name, name)
        if new_name not in KNOWN and (foreign or other_syntax):
            note(match, f"kept {_placeholder(new_name, fallback)} as a placeholder: replykit has "
                        "no name for it, so the agent fills it in")
        replacement = _placeholder(new_name, fallback)
        if replacement != match.group(0):
            result.converted += 1
        return replacement

    def curly(match: re.Match) -> str:
        inner = match.group(1)
        quoted = _QUOTED_FALLBACK.fullmatch(inner)
        if quoted:
            fallback = quoted.group(2) if quoted.group(2) is not None else quoted.group(3)
            return mapped(match, quoted.group(1), fallback, True)
        plain = PLACEHOLDER.fullmatch(match.group(0))
        if not plain:
            return match.group(0)
        name, fallback = plain.group(1), plain.group(2)
        if fallback is not None and _FILTER.fullmatch(fallback):
            note(match, f"dropped the template filter |{fallback.strip()} of "
                        f"{match.group(0)}: replykit fills in values as they are")
            return mapped(match, name, None, True)
        return mapped(match, name, fallback, False)

    def help_scout(match: re.Match) -> str:
        return mapped(match, match.group(1), match.group(2), True)

    text = _HELP_SCOUT.sub(help_scout, text)
    text = _CURLIES.sub(curly, text)
    for match in _LIQUID_TAG.finditer(text):
        note(match, f"kept the template logic {match.group(0)[:40]} as text: replykit has no "
                    "conditions or loops; edit the reply")
    strays = stray_braces(text)
    if strays:
        line, snippet = strays[0]
        result.notes.append((line, f"kept {len(strays)} '{{{{' or '}}}}' as text (the first: "
                                   f"{snippet!r}): they form no placeholder"))
    result.text = text
    return result
