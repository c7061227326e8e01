"""Templating customers' details out of past replies before they are indexed or suggested.

A past reply written for customer A must not show A's name, e-mail, phone, order, invoice,
card or account number to customer B. What the conversation itself knows (the customer's
name, every token of it, e-mail, customer id, ticket id, the agents' names) is replaced by the
matching placeholder; then patterns catch the rest: e-mail addresses, IBANs, order and invoice
references (#A-10293, A-10293, ORD-55120, INV-2026-0042, "order 55120"), phone numbers and long
digit runs (cards, accounts).

Matching reads a folded copy of the text: NFKD, Latin accents and Arabic marks removed,
invisible marks dropped, Arabic yeh/kaf made Persian (as `index.normalize` does), digits of
every script made ASCII, every dash made '-', ß made ss; names are compared case-insensitively.
Each folded character remembers where it came from, so the matches replace spans of the
ORIGINAL text and everything else stays exactly as written. Every pattern runs in linear time
(possessive quantifiers, bounded repeats, starts only at the beginning of a run): imports run
them under the write lock. The original messages stay in the database for reviewers; only the
templated text is searched and shown."""

from __future__ import annotations

import functools
import re
import unicodedata

# Arabic letter variants that Persian writes differently (index.normalize does the same).
_LETTER_VARIANTS = str.maketrans({"\u064a": "\u06cc", "\u0649": "\u06cc", "\u0643": "\u06a9"})
# combining accents of Latin/Greek/Cyrillic, Arabic marks and tatweel, invisible marks
_DROPPED = re.compile(
    "[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
    "\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640"
    "\u200b\u200d-\u200f\u202a-\u202e\u2060-\u2069\ufeff\u00ad]"
)


def _fold_words(words: str) -> str:
    """Words as the folded text has them (NFKD splits Thai sara am: ำ -> ํ + า)."""
    return _DROPPED.sub("", unicodedata.normalize("NFKD", words)).translate(_LETTER_VARIANTS)


# characters that end an e-mail address (whitespace, brackets, quotes, sentence punctuation in
# Latin, Arabic-script and CJK text)
_NOT_LOCAL = "\\s@<>()\\[\\],;:\"\\\\\u060c\u061b\u061f\u2000-\u206f\u3000-\u303f"
_NOT_LABEL = _NOT_LOCAL + ".!?#$%&'*+/=^`{|}~"
_LOCAL, _LABEL = f"[^{_NOT_LOCAL}]", f"[^{_NOT_LABEL}]"
EMAIL = re.compile(rf"(?<!{_LOCAL}){_LOCAL}++@{_LABEL}++(?:\.{_LABEL}++)*+")
# percent-encoded in a link: mailto:ana.lima%40example.com
_URL_LOCAL = f"[^%{_NOT_LOCAL}]"
EMAIL_IN_URL = re.compile(rf"(?<!{_URL_LOCAL}){_URL_LOCAL}++%40{_LABEL}++(?:\.{_LABEL}++)++")
# written to dodge filters: ana [at] example [dot] com, ana @ example.com (a dot is required)
EMAIL_SPACED = re.compile(
    rf"(?<!{_LOCAL}){_LOCAL}++ ?+(?:@|[\[(](?i:at)[\])]) ?+{_LABEL}++"
    rf"(?:(?:\.| ?+[\[(](?i:dot)[\])] ?+){_LABEL}++)++"
)
IBAN = re.compile(
    r"(?<![0-9A-Za-z])[A-Z]{2}[0-9]{2}(?:[ -]?+[0-9A-Z]{4}+){2,8}+"
    r"(?:[ -]?+[0-9A-Z]{1,3}+(?![0-9A-Za-z]))?+"
)
# a reference: letters (or '#') glued to digits, optionally with - _ or #: A-10293, ORD-55120,
# INV-2026-0042, #10293, GB29NWBK6016...; or digits, then - or _ and letters: 10293-A
REFERENCE = re.compile(
    r"(?<![0-9A-Za-z])(#)?+(?(1) ?+)([A-Za-z]*+)[-_#]?+[0-9][0-9A-Za-z]*+"
    r"(?:[-_/][0-9A-Za-z]++)*+"
)
REFERENCE_SUFFIXED = re.compile(
    r"(?<![0-9A-Za-z])[0-9]++[-_][A-Za-z][0-9A-Za-z]*+(?:[-_/][0-9A-Za-z]++)*+"
)
# a number named as one: "order 55120", "invoice no. 4412", "หมายเลขคำสั่งซื้อ 55120",
# "شماره سفارش ۵۵۱۲۰"
_KEYWORDS_EN = frozenset(
    "order invoice inv account acct ticket case ref reference booking tracking customer member "
    "membership policy contract receipt transaction txn id no nr number pin iban card parcel "
    "package shipment serial voucher coupon confirmation reservation claim ord po tkt req"
    .split()
)
_KEYWORDS_OTHER = _fold_words(
    "คำสั่งซื้อ|ออเดอร์|เลขที่|ใบแจ้งหนี้|ใบเสร็จ|บัญชี|หมายเลข|รหัส|พัสดุ|บัตร|"
    "سفارش|فاکتور|حساب|شماره|کد|پیگیری|کارت|مرسوله|رسید"
)
_KEYWORD_TAIL = (
    r"[ .:#/\-]{0,3}+(?:(?i:no|nr|number|ending in|ending|ends in|ends with)[ .:#\-]{0,3}+)?+"
    r"([0-9]++(?:[-/][0-9]++)*+)"
)
# any Latin word before a number (the word is then looked up: one alternation of all keywords
# tried at every position costs 5x more); Thai and Persian keywords as an alternation
KEYWORD_NUMBER = re.compile(rf"(?<![A-Za-z])([A-Za-z]{{2,12}}+){_KEYWORD_TAIL}")
KEYWORD_NUMBER_OTHER = re.compile(rf"({_KEYWORDS_OTHER}){_KEYWORD_TAIL}")
# the keywords whose numbers are cards or accounts; the others name orders, invoices, tickets
_ACCOUNT_WORDS = frozenset(
    _fold_words("account acct card iban pin บัญชี บัตร حساب کارت").split()
)
# dates keep their digits: 2026-09-01, 01/09/2026, 1.9.2569 (Thai year), 1405/06/10 (Persian)
# (only a date on its own: not inside a longer run of digit groups such as +66-4-2020-3074)
DATE = re.compile(
    r"(?<![0-9+])(?<![0-9][-/. ])(?:(?:1[34]|19|20|25)[0-9]{2}([-/.])([0-9]{1,2})\1([0-9]{1,2})"
    r"|([0-9]{1,2})([-/.])([0-9]{1,2})\5(?:1[34]|19|20|25)[0-9]{2})(?![0-9])(?![-/.][0-9])"
    r"(?! [0-9]++(?![:0-9]))"
)
# a run of digit groups joined by a space, - . / or brackets: phones, cards, accounts
DIGIT_RUN = re.compile(
    r"(?<![0-9])(?:\+ ?+)?+[0-9]++"
    r"(?:(?: {0,2}+[-.] {0,2}+|/| {0,2}+\( {0,2}+|\) {0,2}+| {1,3}+)[0-9]++)*+"
)
# a name the text itself shows, though the conversation does not know it (an author "ana_l",
# a nickname): the capitalised words after a greeting ("Hi Ana,", "Dear Mrs. Lima!") or
# after a sign-off at the very end ("Thanks,\nAna Lima"); the word is looked up, as above
_CAPITALISED = r"[A-Z][A-Za-z'\-]*+(?: [A-Z][A-Za-z'\-]*+)?+"
GREETING = re.compile(
    rf"(?<![A-Za-z])([A-Za-z]{{2,9}}+)(?: ((?i:mrs|miss|mr|ms|dr|prof)\.?+))?+ ({_CAPITALISED})"
    r"(?= ?+[,!:\n]| *+$)"
)
SIGN_OFF = re.compile(
    rf"(?<![A-Za-z])(?i:thanks|thank you|regards|best|cheers|sincerely)[,.!]?+\s++"
    rf"({_CAPITALISED})[ .!]*+$"
)
_GREETINGS = frozenset("hi hello hey dear hallo hola ola bonjour ciao".split())
_NOT_NAMES = frozenset(
    "there team all everyone everybody again both folks guys friend friends customer customers "
    "sir madam support there's valued user".split()
)

# titles set aside from a name's tokens. Words that are also given names (Don, Lady) are not
# listed: a title left among the tokens is merely templated too, a name taken for a title
# would not be templated at all.
HONORIFICS = (
    "mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "madam", "madame", "mme", "mlle",
    "dame", "rev", "herr", "frau", "sr", "sra", "srta", "jr",
    "คุณ", "นาย", "นาง", "นางสาว", "ดร", "ท่าน",
    "آقای", "آقا", "خانم", "جناب", "دکتر", "سرکار", "مهندس", "سید", "السيد", "السيدة",
)
# at most this many names of customers (and of agents) per conversation, tokens per name;
# a known value longer than MAX_KNOWN_LENGTH is no name, e-mail or id (found over and over in
# a periodic text, its search would be quadratic)
MAX_NAMES, MAX_NAME_TOKENS, MAX_KNOWN_LENGTH = 20, 8, 256
# Thai writes the honorific glued to the name: คุณสมชาย, นางสาวสมหญิง
_THAI_TITLES = ("นางสาว", "นาย", "นาง", "คุณ", "ดร")
_NAME_SPLIT = re.compile(r"[\s.,;:/()\[\]\"_]+")
_LOCAL_PARTS = re.compile(r"[._+\-0-9]+")
# e-mail local parts that name a role, not a person
_ROLE_WORDS = frozenset(
    "info support sales contact admin hello mail office team service billing noreply reply "
    "customer user test accounts account help orders shop".split()
)
_NAME_PARTS = re.compile(r"[-'\u2019]+")
_PRIORITY = {
    "known": 0, "email": 1, "iban": 2, "reference": 3, "run": 4, "keyword": 5, "greeting": 6
}


# Latin letters that NFKD leaves whole: typed without the stroke or ligature
_LETTERS_APART = {
    "ß": "ss", "ẞ": "SS", "ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "đ": "d", "Đ": "D",
    "ı": "i", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "þ": "th", "Þ": "Th",
    # Cyrillic letters that look Latin (a name typed as "Аna" to dodge a filter)
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "х": "x", "у": "y", "і": "i", "ј": "j",
    "ѕ": "s", "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P",
    "С": "C", "Т": "T", "Х": "X", "І": "I",
    "\u0629": "\u0647",  # Arabic teh marbuta, written heh in Persian names (فاطمة, فاطمه)
}


# middle dots and the Arabic decimal separator join digit groups like a '.'
_DOTS = frozenset("\u00b7\u2027\u2219\u30fb\u066b")


@functools.lru_cache(maxsize=8192)
def _fold_char(ch: str) -> str:
    if ch == "\u200c":  # Persian half-space: a space for matching
        return " "
    out = []
    for c in unicodedata.normalize("NFKD", ch):
        if _DROPPED.match(c):
            continue
        if c.isdecimal():
            c = str(unicodedata.decimal(c))
        elif c == "\u2212" or unicodedata.category(c) == "Pd":
            c = "-"
        elif c in _DOTS:
            c = "."
        elif c.isspace() and c not in "\n\r":
            c = " "
        else:
            c = _LETTERS_APART.get(c, c)
        out.append(c)
    return "".join(out).translate(_LETTER_VARIANTS)


def fold(text: str) -> tuple[str, list[int] | None]:
    """(folded text, the original index of each folded character; None when they are the
    same, as for plain ASCII). Folding keeps case; see the module docstring."""
    if text.isascii():
        return text, None
    parts, starts = [], []
    for i, ch in enumerate(text):
        piece = _fold_char(ch)
        parts.append(piece)
        starts.extend([i] * len(piece))
    return _reorder_marks("".join(parts), starts)


def _reorder_marks(folded: str, starts: list[int]) -> tuple[str, list[int]]:
    """Marks stacked on one letter in canonical order (as NFKD of the whole text would put
    them: a Thai tone mark typed before a lower vowel, ุ่ or ุ่, reads the same), each run
    mapped to where its first mark came from."""
    chars = list(folded)
    i = 0
    while i < len(chars):
        if not unicodedata.combining(chars[i]):
            i += 1
            continue
        j = i
        while j < len(chars) and unicodedata.combining(chars[j]):
            j += 1
        if j - i > 1:
            chars[i:j] = sorted(chars[i:j], key=unicodedata.combining)
            starts[i:j] = [starts[i]] * (j - i)
        i = j
    return "".join(chars), starts


def _lower(folded: str) -> str:
    # lower-casing keeps offsets: one character for one (only U+0130 lowers to two, and
    # folding has already split off its dot)
    lower = folded.lower()
    return lower if len(lower) == len(folded) else "".join(c.lower()[0] for c in folded)


def _folded_lower(text: str) -> str:
    # names and ids repeat across a conversation's messages: remember the short ones
    return _folded_lower_short(text) if len(text) <= 200 else _lower(fold(text)[0])


@functools.lru_cache(maxsize=4096)
def _folded_lower_short(text: str) -> str:
    return _lower(fold(text)[0])


def _kind(ch: str) -> str:
    """'letter' for a letter of a script that separates words with spaces (Latin, Greek,
    Cyrillic), 'digit' for a digit, '' otherwise. A known value must not continue a word of
    the same kind: "Ana" is not in "Banana", "C77" not in "C778", but "Ana" is in "Ana2024",
    in "คุณAnaค่ะ"; Thai and Arabic-script names match anywhere (Thai has no spaces)."""
    if ch.isdigit():
        return "digit"
    if ch.isalpha() and (ch.isascii() or "\u00c0" <= ch <= "\u052f" or "\u1e00" <= ch <= "\u1fff"):
        return "letter"
    return ""


def _known_spans(folded: str, known: list[tuple[str, str]]) -> list[tuple[int, int, str, str]]:
    """Where the known values occur in the folded text, in any case, as whole words (a case
    change counts as a word start: "AnaLima88")."""
    lower = _lower(folded)
    spans = []
    for value, placeholder in known:
        needle = _folded_lower(value).strip()
        if not 2 <= len(needle) <= MAX_KNOWN_LENGTH:
            continue
        first, last = _kind(needle[0]), _kind(needle[-1])
        at = lower.find(needle)
        while at >= 0:
            end = at + len(needle)
            glued_before = (
                first and at > 0 and _kind(lower[at - 1]) == first
                and not (folded[at - 1].islower() and folded[at].isupper())
            )
            glued_after = (
                last and end < len(lower) and _kind(lower[end]) == last
                and not (folded[end - 1].islower() and folded[end].isupper())
            )
            if not glued_before and not glued_after:
                spans.append((at, end, placeholder, "known"))
            at = lower.find(needle, at + 1)
    return spans


def _digit_count(text: str) -> int:
    return sum(c.isdigit() for c in text)


def _run_placeholder(run: str) -> str | None:
    digits = _digit_count(run)
    if digits < 6:
        return None
    if run.startswith("+") or 8 <= digits <= 12:
        return "customer.phone"
    return "number"


def _mask_date(match: re.Match) -> str:
    day_month = sorted(int(v) for v in match.group(2, 3) if v) or sorted(
        int(v) for v in match.group(4, 6)
    )
    if 1 <= day_month[0] <= 12 and 1 <= day_month[1] <= 31:
        return "\x00" * len(match.group(0))
    return match.group(0)


def _pattern_spans(folded: str) -> list[tuple[int, int, str, str]]:
    spans = [
        (m.start(), m.end(), "customer.email", "email")
        for pattern in (EMAIL, EMAIL_SPACED, EMAIL_IN_URL)
        for m in pattern.finditer(folded)
    ]
    spans += [(m.start(), m.end(), "number", "iban") for m in IBAN.finditer(folded)]
    for m in REFERENCE.finditer(folded):
        digits = _digit_count(m.group(0))
        hashed = m.group(1) and (digits >= 3 or not m.group(0).startswith("# "))
        if hashed or (m.group(2) and digits >= 4):
            spans.append((m.start(), m.end(), "order.id", "reference"))
    for m in REFERENCE_SUFFIXED.finditer(folded):
        if _digit_count(m.group(0)) >= 4:
            spans.append((m.start(), m.end(), "order.id", "reference"))
    undated = DATE.sub(_mask_date, folded)
    keyworded = [*KEYWORD_NUMBER.finditer(undated), *KEYWORD_NUMBER_OTHER.finditer(undated)]
    for m in keyworded:
        word = m.group(1).lower()
        word = word[:-1] if word.endswith("s") and word[:-1] in _KEYWORDS_EN else word
        if (word in _KEYWORDS_EN or not word.isascii()) and _digit_count(m.group(2)) >= 4:
            placeholder = "number" if word in _ACCOUNT_WORDS else "order.id"
            spans.append((m.start(2), m.end(2), placeholder, "keyword"))
    for m in DIGIT_RUN.finditer(undated):
        placeholder = _run_placeholder(m.group(0))
        if placeholder:
            spans.append((m.start(), m.end(), placeholder, "run"))
    return spans + _shown_names(folded)


def _shown_names(folded: str) -> list[tuple[int, int, str, str]]:
    found = [(m, 3) for m in GREETING.finditer(folded) if m.group(1).lower() in _GREETINGS]
    # a sign-off ends the text: only its last 120 characters are searched
    found += [(m, 1) for m in SIGN_OFF.finditer(folded, max(0, len(folded) - 120))]
    spans = []
    for m, group in found:
        words = m.group(group).split()
        if words[0].lower() in _NOT_NAMES:
            continue
        if len(words) > 1:
            placeholder = "customer.name"
        elif group == 3 and m.group(2):  # Dear Mrs. Lima
            placeholder = "customer.last_name"
        else:
            placeholder = "customer.first_name"
        spans.append((m.start(group), m.end(group), placeholder, "greeting"))
    return spans


def _merge(spans: list[tuple[int, int, str, str]]) -> list[tuple[int, int, str]]:
    """Overlapping spans become one (nothing of either survives), named by the longest."""
    merged: list[list] = []
    for start, end, placeholder, kind in sorted(spans):
        rank = (end - start, -_PRIORITY[kind])
        if merged and start < merged[-1][1]:
            last = merged[-1]
            last[1] = max(last[1], end)
            if rank > last[3]:
                last[2], last[3] = placeholder, rank
        else:
            merged.append([start, end, placeholder, rank])
    return [(start, end, placeholder) for start, end, placeholder, _ in merged]


def template(text: str, known: list[tuple[str, str]]) -> str:
    """`text` with the customer's details replaced by placeholders. `known` pairs values this
    conversation has with their placeholder names (customer.name, customer.email, ...)."""
    folded, starts = fold(text)
    spans = _merge(_known_spans(folded, known) + _pattern_spans(folded))
    if not spans:
        return text
    if starts is not None:
        ends = _original_ends(starts, len(text))
        spans = [(starts[a], ends[b - 1], name) for a, b, name in spans]
    out, at = [], 0
    for start, end, placeholder in spans:
        out.append(text[at:start])
        out.append("{{" + placeholder + "}}")
        at = end
    out.append(text[at:])
    return "".join(out)


def found_details(text: str) -> list[tuple[str, str]]:
    """(placeholder, value) of the order references and e-mail addresses the patterns find in
    `text` (as `template` would replace them), in text order, each once; an order reference
    without its "#": e.g. ("order.id", "A-10293") for "order #A-10293"."""
    folded, starts = fold(text)
    spans = [(a, b, name) for a, b, name in _merge(_pattern_spans(folded))
             if name in ("order.id", "customer.email")]
    if starts is not None:
        ends = _original_ends(starts, len(text))
        spans = [(starts[a], ends[b - 1], name) for a, b, name in spans]
    found = [(name, text[a:b].strip().lstrip("#").strip()) for a, b, name in sorted(spans)]
    return list(dict.fromkeys(found))


def _original_ends(starts: list[int], length: int) -> list[int]:
    """For each folded character, where its original character ends, including the marks
    and invisible characters after it that folded to nothing (an NFD accent, a ZWJ)."""
    ends = [length] * len(starts)
    following = length
    for j in range(len(starts) - 1, -1, -1):
        if j + 1 < len(starts) and starts[j + 1] != starts[j]:
            following = starts[j + 1]
        ends[j] = following
    return ends


@functools.cache
def _honorifics() -> frozenset[str]:
    return frozenset(_folded_lower(h) for h in HONORIFICS)


def name_tokens(name: str) -> tuple[list[str], bool]:
    """The tokens of a person's name, folded and lower-cased, honorifics removed (Dr., Mr,
    คุณ, آقای ...; a Thai one glued to the name too), and whether there was one."""
    honorifics = _honorifics()
    tokens, titled = [], False
    for token in _NAME_SPLIT.split(_folded_lower(name)):
        if not token:
            continue
        if token in honorifics:
            titled = True
            continue
        title = next((t for t in _THAI_TITLES if token.startswith(t) and len(token) > len(t)), "")
        if title and not tokens:
            tokens.append(token[len(title):])
            continue
        tokens.append(token)
    return tokens, titled


def _name_details(name: str) -> list[tuple[str, str]]:
    if "@" in name:  # an e-mail address as the author: its local part names the person
        name = _LOCAL_PARTS.sub(" ", name.split("@")[0])
    tokens, titled = name_tokens(name)
    if not tokens:
        return []
    # a real name has a few tokens; an author field of thousands must not make templating slow
    tokens = tokens[:MAX_NAME_TOKENS]
    known = [(name, "customer.name"), (" ".join(tokens), "customer.name")]
    if len(tokens) == 1:
        latin_title = titled and tokens[0].isascii()
        return [*known, (tokens[0], "customer.last_name" if latin_title else "customer.first_name")]
    for i in range(1, len(tokens)):
        known.append((" ".join(tokens[:i]), "customer.first_name"))  # Mary, Mary Ann
        known.append((" ".join(tokens[i:]), "customer.last_name"))  # Smith, Ann Smith
    known += [(t, "customer.first_name") for t in tokens[1:-1]]  # a middle name alone
    for token in tokens:  # García-López, O'Brien: each part too
        parts = [p for p in _NAME_PARTS.split(token) if p]
        if len(parts) > 1:
            known += [(p, "customer.name") for p in parts]
    return known


def known_details(
    conversation: dict, agents: set[str] | None = None, customers: set[str] | None = None
) -> list[tuple[str, str]]:
    """(value, placeholder) pairs of what a conversation row knows about its customer (every
    name the customer wrote under, each token of it, e-mail, ids), and the names of the
    agents who answered."""
    known = []
    main = conversation.get("customer_name") or ""
    for name in [main, *sorted(set(customers or ()) - {main})][:MAX_NAMES]:
        known += _name_details(name.strip())
    email = conversation.get("customer_email") or ""
    if "@" in email:  # ana.lima@..., jsmith84@...: the words of the local part are names
        words = _LOCAL_PARTS.split(_folded_lower(email.split("@")[0]))
        known += [(w, "customer.name") for w in words if len(w) > 2 and w not in _ROLE_WORDS]
    known += [
        (email, "customer.email"),
        (conversation.get("customer_id") or "", "customer.id"),
        (conversation.get("id") or "", "ticket.id"),
    ]
    for agent in sorted(agents or ())[:MAX_NAMES]:
        tokens = agent.split()
        known.append((agent, "agent.name"))
        known.append((tokens[0] if tokens else "", "agent.name"))
    return known
