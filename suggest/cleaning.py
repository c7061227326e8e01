"""Cleaning message bodies for indexing: HTML tags and entities, quoted e-mail history and
signatures are removed. The original text is always kept next to the cleaned one."""

from __future__ import annotations

import html
import re

_BREAKS = re.compile(r"<\s*(br|/p|/div|/li|/tr|/h[1-6])\b[^>]*>", re.IGNORECASE)
_BLOCKS = re.compile(r"<\s*(script|style)\b.*?<\s*/\s*\1\s*>", re.IGNORECASE | re.DOTALL)
_TAGS = re.compile(r"<[^<>]{0,2000}>")
_QUOTE_HEADER = re.compile(
    r"^\s*(On .{0,200} wrote:|-{2,}\s*Original Message\s*-{2,}|From: .+)\s*$", re.IGNORECASE
)
_SIGNATURE_START = re.compile(r"^\s*(--|__+|Sent from my \w+.*)\s*$", re.IGNORECASE)
_SPACES = re.compile(r"[ \t\u00a0]+")


def clean_body(text: str) -> str:
    """Plain text of a message as a customer or agent wrote it this time."""
    text = _BLOCKS.sub(" ", text)
    text = _BREAKS.sub("\n", text)
    text = html.unescape(_TAGS.sub(" ", text))
    kept = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if _QUOTE_HEADER.match(line) or _SIGNATURE_START.match(line):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(_SPACES.sub(" ", line).strip())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()
