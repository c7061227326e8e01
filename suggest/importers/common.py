"""What every helpdesk importer shares: reading one JSON document with the line of each
record, ids, HTML bodies as text, and a language guessed from the script."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

from index.normalize import dominant_script
from replykit.errors import InputError
from replykit.textio import check_text

_SPACE = re.compile(r"[ \t\r\n\f]*")
_WHITESPACE = re.compile(r"\s+")
_DECODER = json.JSONDecoder()
# Letters Persian has and Arabic does not (pe, che, zhe, gaf, keheh, farsi yeh)
_PERSIAN = re.compile("[\u067e\u0686\u0698\u06af\u06a9\u06cc]")


MAX_FILE_BYTES = 256 * 1024 * 1024  # one JSON document is read whole: its size is bounded


def _load(path: Path) -> tuple[object, str]:
    try:
        if Path(path).stat().st_size > MAX_FILE_BYTES:
            raise InputError(f"is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB: export the "
                             "saved replies in parts (pages) and import each", str(path))
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read file ({exc.strerror})", str(path)) from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise InputError("not UTF-8 text; save the file as UTF-8", f"{path} line {line}") from exc
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON ({exc.msg})", f"{path} line {exc.lineno}") from exc
    except RecursionError as exc:
        raise InputError("invalid JSON (nested too deeply)", str(path)) from exc
    check_text(document, str(path))
    return document, text


def _skip(text: str, position: int) -> int:
    return _SPACE.match(text, position).end()


def _array(text: str, position: int) -> Iterator[tuple[int, object]]:
    """(offset, value) of each element of the JSON array starting at `position` (valid JSON)."""
    position = _skip(text, _skip(text, position) + 1)
    while text[position] != "]":
        value, end = _DECODER.raw_decode(text, position)
        yield position, value
        position = _skip(text, end)
        if text[position] == ",":
            position = _skip(text, position + 1)


def _member(text: str, position: int, key: str) -> int:
    """Offset of the value of `key` in the JSON object starting at `position` (valid JSON that
    has the key); the last one when the key repeats, as json.loads reads it."""
    found = None
    position = _skip(text, _skip(text, position) + 1)
    while text[position] != "}":
        name, end = _DECODER.raw_decode(text, position)
        position = _skip(text, _skip(text, end) + 1)
        if name == key:
            found = position
        _, end = _DECODER.raw_decode(text, position)
        position = _skip(text, end)
        if text[position] == ",":
            position = _skip(text, position + 1)
    return found


def records(path: Path, key: str | None) -> Iterator[tuple[int, dict, dict]]:
    """(line, record, page) for each record of a helpdesk's JSON file: an API response object
    whose `key` holds the list ({"macros": [...]}), a list of such responses (pages), or the
    bare list. `page` is the response object the record came from ({} for a bare list).
    InputError naming the line for bad JSON or a record that is not an object."""
    document, text = _load(path)
    line, counted = 1, 0

    def line_of(offset: int) -> int:
        nonlocal line, counted
        line += text.count("\n", counted, offset)
        counted = offset
        return line

    def listed(offset: int, page: dict) -> Iterator[tuple[int, dict, dict]]:
        for at, value in _array(text, offset):
            if not isinstance(value, dict):
                raise InputError("expected a JSON object for each record", f"{path} line "
                                 f"{line_of(at)}")
            yield line_of(at), value, page

    def holds_list(value) -> bool:
        return key is not None and isinstance(value, dict) and isinstance(value.get(key), list)

    start = _skip(text, 0)
    if holds_list(document):
        yield from listed(_member(text, start, key), document)
    elif isinstance(document, list) and document and all(map(holds_list, document)):
        for at, page in _array(text, start):
            yield from listed(_member(text, at, key), page)
    elif isinstance(document, list):
        yield from listed(start, {})
    else:
        wanted = f'an object with a "{key}" list or ' if key else ""
        raise InputError(f"expected {wanted}a JSON list of records", f"{path} line 1")


def vendor_id(source: str, value, where: str) -> str:
    """replykit's id of a record: `<source>-<its id>` ('zendesk-360001'); InputError (which
    refuses the file) when the record has no usable id."""
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).strip():
        raise InputError("is missing or not a number or text: every record needs its id",
                         f"{where}field id")
    return f"{source}-{str(value).strip()}"


def text(value) -> str:
    """A text field, or '' for a missing or non-text one."""
    return value if isinstance(value, str) else ""


def objects(value) -> list[dict]:
    """The objects of a list field ([] for a missing or non-list one; non-objects left out)."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def guess_language(text: str) -> str:
    """'th' for Thai script, 'fa' for Persian (Arabic script with Persian letters), 'ar' for
    other Arabic script, otherwise 'en'."""
    script = dominant_script(text)
    if script == "thai":
        return "th"
    if script == "arabic":
        return "fa" if _PERSIAN.search(text) else "ar"
    return "en"


_BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
           "ul", "ol", "table", "pre", "hr"}
_HIDDEN = {"script", "style", "head", "title"}


_HARD, _SOFT, _LINK = "\n", "\x01", "\x00"  # parser marks: <br> or </p>, other blocks, <a>


class _TextParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0
        self.links: list[str | None] = []

    def handle_starttag(self, tag, attrs):
        if tag in _HIDDEN:
            self.hidden += 1
        elif tag == "br":
            self.parts.append(_HARD)
        elif tag in _BLOCKS:
            self.parts.append(_SOFT)
            if tag == "li":
                self.parts.append("- ")
        elif tag == "a":
            self.links.append(dict(attrs).get("href"))
            self.parts.append(_LINK)

    def handle_endtag(self, tag):
        if tag in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag == "p":
            self.parts.append(_HARD)
        elif tag in _BLOCKS and tag != "br":
            self.parts.append(_SOFT)
        elif tag == "a" and _LINK in self.parts:
            href = self.links.pop() if self.links else None
            start = len(self.parts) - 1 - self.parts[::-1].index(_LINK)
            label = "".join(self.parts[start + 1 :]).strip()
            self.parts[start:] = [label]
            if href and href not in label and not href.startswith(("#", "javascript:")):
                self.parts.append(f" ({href})" if label else href)

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(_WHITESPACE.sub(" ", data))


def html_to_text(html: str) -> str:
    """The text of an HTML body: a line break for each <br> and block (a blank line after a
    paragraph or between <br><br>), lists as '- ' lines, links as 'text (address)'."""
    parser = _TextParser()
    parser.feed(html)
    parser.close()
    out: list[str] = []
    hard, soft = 0, False
    for part in parser.parts:
        if part == _HARD:
            hard += 1
        elif part == _SOFT:
            soft = True
        elif part.strip() and part != _LINK:
            if out and (hard or soft):
                out[-1] = out[-1].rstrip()
                out.append("\n" * max(hard + soft, 1))
                part = part.lstrip()
            elif not out:
                part = part.lstrip()
            out.append(part)
            hard, soft = 0, False
        elif out and not (hard or soft) and part != _LINK:
            out.append(" ")
    return "".join(out).strip()
