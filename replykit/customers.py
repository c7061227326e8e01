"""A customer's identifiers as `privacy forget` matches them, and finding or templating them in
free text that is not linked to the customer's conversations.

Customer ids match after NFKC and case folding. E-mail addresses match by their case-folded
local part without a `+tag` and their domain in IDNA (punycode) lower case; dots in the local
part count (ignoring them is one provider's rule, not the standard). In text, names, ids and
message texts are compared on a folded copy (index.normalize's lexical form, character by
character, so each position maps back to the original): case, accents, NFD/NFKC forms, Arabic
yeh/kaf and Thai/Persian digits do not hide them."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from functools import lru_cache

from index.normalize import normalize_text

# Messages shorter than this (folded) are too common to search for verbatim ("thanks!").
MIN_MESSAGE = 16
# In the team's saved replies a message must be longer to count: a short customer message
# ("can I get a refund please?") may well be an example question the team wrote itself.
MIN_LIBRARY_MESSAGE = 40
# Name tokens shorter than this would match inside unrelated text; ids likewise ("42").
MIN_TOKEN = 2
MIN_ID = 4
EMAIL_LIKE = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}")
# honorifics are not part of anyone's name ("Dr. Ana Lima" is Ana Lima)
HONORIFICS = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "madam",
                        "khun", "คุณ", "آقای", "خانم"})
REMOVED = "[removed]"
_SPACES = re.compile(" {2,}")


def canonical_id(value: str) -> str:
    """A customer id as compared: NFKC, case-folded, trimmed."""
    return unicodedata.normalize("NFKC", value or "").casefold().strip()


def canonical_email(address: str) -> str:
    """`Ana.Lima+billing@Bücher.example` -> `ana.lima@xn--bcher-kva.example`: the local part
    case-folded without its +tag, the domain in IDNA lower case."""
    value = unicodedata.normalize("NFKC", address or "").strip()
    local, at, domain = value.rpartition("@")
    if not at or not local or not domain:
        return value.casefold()
    local = local.casefold().split("+", 1)[0] or local.casefold()
    domain = domain.rstrip(".")
    try:
        domain = domain.encode("idna").decode("ascii").lower()
    except UnicodeError:
        domain = domain.casefold()
    return f"{local}@{domain}"


@lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    if ch.isspace() or ch == "\u200c":
        return " "
    return normalize_text(ch)


def fold(text: str) -> tuple[str, list[int]]:
    """The lexical form of `text` (whitespace runs collapsed) and, for each of its characters,
    the index in `text` it came from."""
    out: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        for piece in _fold_char(ch):
            if piece == " " and (not out or out[-1] == " "):
                continue
            out.append(piece)
            origin.append(i)
    return "".join(out), origin


class _FoldTable(dict):
    """str.translate table filled on first use: code point -> `_fold_char`."""

    def __missing__(self, code: int) -> str:
        self[code] = _fold_char(chr(code))
        return self[code]


_FOLD_TABLE = _FoldTable()


def folded(text: str) -> str:
    """`fold(text)[0]` without the position map (faster: mentions are searched in every row)."""
    return _SPACES.sub(" ", text.translate(_FOLD_TABLE)).lstrip(" ")


def _kind(ch: str) -> str | None:
    if ch.isdigit():
        return "digit"
    if not ch.isalpha():
        return None
    return "thai" if "\u0e00" <= ch <= "\u0e7f" else "letter"


def _bounded(folded: str, start: int, end: int) -> bool:
    """Whether folded[start:end] stands alone: a digit run not glued to digits, a word not
    glued to letters (Thai, written without spaces, needs no boundary)."""
    for edge, neighbour in ((start, start - 1), (end - 1, end)):
        if 0 <= neighbour < len(folded):
            kind = _kind(folded[edge])
            if kind not in (None, "thai") and _kind(folded[neighbour]) == kind:
                return False
    return True


def _find(folded: str, needle: str) -> list[tuple[int, int]]:
    spans, start = [], folded.find(needle)
    while start >= 0:
        if _bounded(folded, start, start + len(needle)):
            spans.append((start, start + len(needle)))
        start = folded.find(needle, start + 1)
    return spans


@dataclass(frozen=True)
class Customer:
    """What identifies one customer in text, folded: `emails` canonical, `ids`, `names` (each
    a tuple of tokens, honorifics dropped), `messages` (their texts, at least MIN_MESSAGE)."""

    emails: frozenset[str]
    ids: frozenset[str]
    names: tuple[tuple[str, ...], ...]
    messages: tuple[str, ...]

    @classmethod
    def of(cls, emails, ids, names, messages) -> Customer:
        """From raw values: e-mail addresses, customer ids, display names, message texts."""
        tokens = []
        for name in names:
            parts = tuple(t for t in fold(name or "")[0].replace(".", " ").split()
                          if t not in HONORIFICS and len(t) >= MIN_TOKEN)
            if parts and parts not in tokens:
                tokens.append(parts)
        texts = {fold(m or "")[0].strip() for m in messages}
        return cls(
            emails=frozenset(canonical_email(e) for e in emails if e and "@" in e),
            ids=frozenset(i for i in (fold(x or "")[0].strip() for x in ids) if len(i) >= MIN_ID),
            names=tuple(tokens),
            messages=tuple(sorted((t for t in texts if len(t) >= MIN_MESSAGE), key=len,
                                  reverse=True)),
        )

    def for_library(self) -> Customer:
        """The same customer with only messages long enough to count in saved replies."""
        return replace(self, messages=tuple(m for m in self.messages
                                            if len(m) >= MIN_LIBRARY_MESSAGE))

    def _email_spans(self, text: str) -> list[tuple[int, int]]:
        if "@" not in text:
            return []
        return [m.span() for m in EMAIL_LIKE.finditer(text)
                if canonical_email(m.group(0)) in self.emails]

    def _spans(self, folded: str, every_token: bool) -> list[tuple[int, int, str]]:
        """(start, end, placeholder) in `folded`: messages, ids, e-mails, full names of two
        tokens or more and, with `every_token`, each name token."""
        found = [(s, e, REMOVED) for m in self.messages for s, e in _find(folded, m)]
        found += [(s, e, "{{customer.id}}") for i in self.ids for s, e in _find(folded, i)]
        found += [(s, e, "{{customer.email}}") for a in self.emails for s, e in _find(folded, a)]
        for tokens in self.names:
            if len(tokens) > 1:
                found += [(s, e, "{{customer.name}}") for s, e in _find(folded, " ".join(tokens))]
            if every_token:
                for position, token in enumerate(tokens):
                    part = ("first_name" if position == 0 else
                            "last_name" if position == len(tokens) - 1 else "name")
                    found += [(s, e, f"{{{{customer.{part}}}}}") for s, e in _find(folded, token)]
        return found

    def mentioned_in(self, text: str) -> bool:
        """Whether `text` holds the customer's e-mail (any case, any +tag), id, full name or
        one of their messages verbatim (a first name alone is too common to say)."""
        return bool(text) and bool(self._email_spans(text) or self._spans(folded(text), False))

    def template(self, text: str) -> str:
        """`text` with the customer's e-mail, id and every name token as placeholders and their
        messages quoted verbatim replaced by `[removed]`."""
        if not text:
            return text
        text = _apply(text, [(s, e, "{{customer.email}}") for s, e in self._email_spans(text)])
        folded, origin = fold(text)
        edits = []
        for start, end, placeholder in self._spans(folded, True):
            stop = origin[end - 1] + 1
            # a trailing combining mark or invisible character belongs to the match
            while stop < len(text) and not _fold_char(text[stop]):
                stop += 1
            edits.append((origin[start], stop, placeholder))
        return _apply(text, edits)


def _apply(text: str, edits: list[tuple[int, int, str]]) -> str:
    """`text` with each (start, end, replacement) applied; overlapping spans merge into one,
    replaced by the longest one's replacement (so nothing of either is left)."""
    merged: list[list] = []
    for start, end, new in sorted(edits):
        if merged and start < merged[-1][1]:
            last = merged[-1]
            if end - start > last[3]:
                last[2], last[3] = new, end - start
            last[1] = max(last[1], end)
        else:
            merged.append([start, end, new, end - start])
    parts, position = [], 0
    for start, end, new, _ in merged:
        parts += [text[position:start], new]
        position = end
    return "".join(parts) + text[position:]
