"""Unicode text normalisation, applied identically to indexed documents and to queries.

Two strengths: `clean_text` keeps case and is what embedders read; `normalize_text` also
case-folds and removes marks, and is what the lexical index reads."""

from __future__ import annotations

import re
import unicodedata

# Arabic letter variants that Persian writes differently: Arabic yeh/alef maksura -> Persian
# yeh, Arabic kaf -> Persian keheh. Typed text mixes them depending on the keyboard.
_LETTER_VARIANTS = str.maketrans({"\u064a": "\u06cc", "\u0649": "\u06cc", "\u0643": "\u06a9"})
# Arabic-Indic, Persian and Thai digits -> ASCII digits.
_DIGITS = str.maketrans(
    {
        **{chr(0x0660 + i): str(i) for i in range(10)},
        **{chr(0x06F0 + i): str(i) for i in range(10)},
        **{chr(0x0E50 + i): str(i) for i in range(10)},
    }
)
# Harakat and other Arabic marks, superscript alef, tatweel (a stretching stroke).
_ARABIC_MARKS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
# Invisible direction marks and joiners that change no meaning for search, and NUL (which no
# PostgreSQL text can hold). ZWNJ (U+200C) is Persian's half-space inside words; users write
# it, a space, or nothing, so it becomes a space.
_INVISIBLE = re.compile("[\x00\u200b\u200d\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff\u00ad]")
_WHITESPACE = re.compile(r"\s+")
_LATIN_ACCENTS = re.compile("[\u0300-\u036f]")


def clean_text(text: str) -> str:
    """NFKC, Persian letter forms unified, invisible marks dropped, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text)
    text = text.translate(_LETTER_VARIANTS)
    text = _INVISIBLE.sub("", text).replace("\u200c", " ")
    return _WHITESPACE.sub(" ", text).strip()


def normalize_text(text: str) -> str:
    """`clean_text`, then case-folded, digits made ASCII, Arabic diacritics/tatweel and
    combining marks of Latin letters removed (Thai vowel and tone marks are kept)."""
    text = clean_text(text).casefold().translate(_DIGITS)
    text = _ARABIC_MARKS.sub("", text)
    # Only the Latin/Greek/Cyrillic accents (U+0300-U+036F) go: Thai and Arabic-script marks
    # live in their own blocks and carry meaning there.
    text = _LATIN_ACCENTS.sub("", unicodedata.normalize("NFD", text))
    # a mark or tatweel standing alone between spaces leaves two spaces behind: collapse again
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFC", text)).strip()


_SCRIPT_RANGES = (
    ("thai", 0x0E00, 0x0E7F),
    ("arabic", 0x0600, 0x06FF),
    ("arabic", 0x0750, 0x077F),
    ("arabic", 0xFB50, 0xFDFF),
    ("arabic", 0xFE70, 0xFEFF),
    ("cjk", 0x3040, 0x30FF),
    ("cjk", 0x4E00, 0x9FFF),
    ("hangul", 0xAC00, 0xD7AF),
    ("cyrillic", 0x0400, 0x04FF),
    ("greek", 0x0370, 0x03FF),
    ("devanagari", 0x0900, 0x097F),
    ("hebrew", 0x0590, 0x05FF),
)


def dominant_script(text: str) -> str:
    """The script most letters of `text` are written in: 'latin', 'thai', 'arabic', ...
    ('latin' when there are no letters)."""
    counts: dict[str, int] = {}
    for ch in text:
        if not ch.isalpha():
            continue
        code = ord(ch)
        script = next((name for name, lo, hi in _SCRIPT_RANGES if lo <= code <= hi), "latin")
        counts[script] = counts.get(script, 0) + 1
    return max(counts, key=counts.get) if counts else "latin"
