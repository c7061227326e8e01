"""Saved replies from other helpdesks' own JSON (`replykit replies import --from SOURCE`):
one module per tool, each reading what the tool's public API returns for its macros, saved
replies or canned responses (see its docstring) into replykit records."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from suggest.importers import chatwoot, common, freshdesk, gorgias, helpscout, zendesk

SOURCES = {
    "zendesk": zendesk,
    "helpscout": helpscout,
    "freshdesk": freshdesk,
    "chatwoot": chatwoot,
    "gorgias": gorgias,
}


def read_records(source: str, path: Path) -> Iterator[tuple[int, dict, list[tuple[str, str]]]]:
    """(line, replykit record, [(field, note)]) for each record of a `source` file."""
    module = SOURCES[source]
    for line, item, page in common.records(path, module.LIST_KEY):
        record, notes = module.to_record(item, f"{path} line {line}, ", page)
        yield line, record, notes
