"""Cleaning message bodies for indexing: HTML tags and entities, quoted e-mail history and
signatures are removed. The original text is always kept next to the cleaned one."""

from __future__ import annotations

import html
import re

# Every pattern is linear on any input (imports run them under the write lock): a tag's body
# stops at the next '<', and a script/style block is found by two separate scans.
_BREAKS = re.compile(r"<\s*+(br|/p|/div|/li|/tr|/h[1-6])\b[^<>]{0,2000}+>", re.IGNORECASE)
_BLOCK_OPEN = re.compile(r"<\s*+(script|style)\b", re.IGNORECASE)
_BLOCK_CLOSE = {
    name: re.compile(rf"<\s*+/\s*+{name}\s*+>", re.IGNORECASE) for name in ("script", "style")
}
_TAGS = re.compile(r"<[^<>]{0,2000}+>")
_QUOTE_HEADER = re.compile(
    r"^\s*(On .{0,200} wrote:|-{2,}\s*Original Message\s*-{2,}|From: .+)\s*$", re.IGNORECASE
)
_SIGNATURE_START = re.compile(r"^\s*(--|__+|Sent from my \w+.*)\s*$", re.IGNORECASE)
_SPACES = re.compile(r"[ \t\u00a0]+")


def _drop_blocks(text: str) -> str:
    """`text` without <script>/<style> blocks (an unclosed one is left to the tag pattern).
    Linear: once a kind has no closing tag after some point, later openings skip the search."""
    kept, at, unclosed = [], 0, set()
    for opening in _BLOCK_OPEN.finditer(text):
        name = opening.group(1).lower()
        if opening.start() < at or name in unclosed:
            continue
        closing = _BLOCK_CLOSE[name].search(text, opening.end())
        if closing is None:
            unclosed.add(name)
            continue
        kept.append(text[at : opening.start()])
        at = closing.end()
    return " ".join([*kept, text[at:]]) if kept else text


def clean_body(text: str) -> str:
    """Plain text of a message as a customer or agent wrote it this time."""
    text = _drop_blocks(text)
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
