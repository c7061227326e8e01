"""The generic "JSONL over HTTP" source: any service that can answer one GET.

Protocol (docs/integrations.md): replykit requests `GET URL?cursor=CURSOR&limit=N` (no
`cursor` the first time); the answer is `application/x-ndjson` or text, one record per line
in the `import conversations` format, and the header `Replykit-Cursor` holds the cursor that
resumes after these records. An answer with no records ends the run."""

from __future__ import annotations

import json
from collections.abc import Iterator

from connectors.base import Batch, ConnectorError, secret, setting, whole_number
from connectors.http import RETRIES, Client, public_url

CURSOR_HEADER = "Replykit-Cursor"
LIMIT = 500
MAX_PAGES = 100_000  # a server that never answers an empty page stops somewhere


def from_config(name: str, settings: dict) -> JsonlHttp:
    """The source `[sync.NAME]` with type = "jsonl-http": url; optional token_env (sent as
    `Authorization: Bearer TOKEN`), limit (records asked per request, 500) and retries (6)."""
    headers = {}
    if settings.get("token_env"):
        headers["Authorization"] = f"Bearer {secret(settings, name, 'token')}"
    client = Client(name, setting(settings, name, "url"), headers=headers,
                    retries=whole_number(settings, name, "retries", RETRIES))
    return JsonlHttp(name, client, limit=whole_number(settings, name, "limit", LIMIT) or LIMIT)


class JsonlHttp:
    """A JSONL-over-HTTP endpoint as a `connectors.base.Source`."""

    def __init__(self, name: str, client: Client, limit: int = LIMIT):
        self.name = name
        self.client = client
        self.limit = limit

    def pull(self, cursor: str | None) -> Iterator[Batch]:
        """One batch per answer until an answer holds no record."""
        for _ in range(MAX_PAGES):
            params = {"limit": self.limit} if cursor is None else {"cursor": cursor,
                                                                   "limit": self.limit}
            response = self.client.request("GET", "", params=params)
            where = f"{self.name}: GET {public_url(response.url)}"
            records = []
            for number, line in enumerate(response.text.splitlines(), start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except ValueError:
                    raise ConnectorError(f"{where}: line {number} is not JSON") from None
                if not isinstance(record, dict):
                    raise ConnectorError(f"{where}: line {number} is not a JSON object")
                records.append(record)
            if not records:
                return
            following = response.headers.get(CURSOR_HEADER)
            if not following:
                raise ConnectorError(f"{where}: the answer has records but no {CURSOR_HEADER} "
                                     "header")
            if following == cursor:
                raise ConnectorError(f"{where}: {CURSOR_HEADER} did not move past {cursor!r}")
            cursor = following
            yield Batch(records, cursor)

    def post_reply(self, conversation_id: str, text: str, private: bool) -> str:
        """Not part of the protocol: the JSONL source only reads."""
        raise ConnectorError(f"{self.name}: a JSONL-over-HTTP source cannot take replies")

    def apply_actions(self, conversation_id: str, actions: list[dict]) -> list[str]:
        """Not part of the protocol: every action is reported as not supported."""
        return [f"{a.get('type')} {a.get('value')}: not supported by a JSONL-over-HTTP source"
                for a in actions]
