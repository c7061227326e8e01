"""What every helpdesk source offers (`Source`), the batches it yields (`Batch`), its one
error type (`ConnectorError`), and reading a source's settings from `[sync.NAME]` of
config.toml: credentials come from environment variables the settings name (`token_env =
"DJANGO_HELPDESK_TOKEN"`), never from the file or the command line."""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from replykit.errors import ReplykitError

# Settings keys that would put a secret into config.toml: refused, name an env variable instead.
SECRET_KEYS = ("token", "password", "api_key", "api_token", "secret", "access_token")

# [sync.NAME] type -> the module whose from_config(name, settings) builds the source.
SOURCE_TYPES = {
    "django-helpdesk": "connectors.django_helpdesk",
    "jsonl-http": "connectors.jsonl_http",
    "chatwoot": "connectors.chatwoot",
    "zendesk": "connectors.zendesk",
}
# Sources whose conversation ids are `id_prefix` + the helpdesk's own ticket number.
NUMBERED = ("django-helpdesk", "chatwoot", "zendesk")


class ConnectorError(ReplykitError):
    """A source cannot be reached, refuses us or answers something we cannot read. The
    message names the source and the request, never a credential."""

    status = 502


@dataclass(frozen=True)
class Batch:
    """Records in the `import conversations` format (docs/conversations.md; optional `nps`
    0-10, `ces` 1-7) and the cursor to resume after them: stored with them, atomically."""

    records: list[dict]
    cursor: str


class Source(Protocol):
    """A helpdesk: `pull` conversations, `post_reply` into one, `apply_actions` to one."""

    name: str

    def pull(self, cursor: str | None) -> Iterator[Batch]:
        """Batches of everything new or changed since `cursor` (None: from the start), oldest
        first. Each batch's cursor resumes right after it; pulling again from the last one
        yields nothing new (or only messages the importer skips as already stored). The
        generator is lazy: the runner commits each batch before asking for the next."""
        ...

    def post_reply(self, conversation_id: str, text: str, private: bool) -> str:
        """Add `text` to the conversation as a reply (private: an internal note the customer
        does not see); returns the helpdesk's id of the new message."""
        ...

    def apply_actions(self, conversation_id: str, actions: list[dict]) -> list[str]:
        """Apply a saved reply's actions (its `actions` list: `{"type": "set_status", "value":
        "solved"}`..., docs/saved-replies.md) to the conversation; returns one line per
        action: what was applied, or that the helpdesk's API does not allow it."""
        ...


def helpdesk_number(source: str, conversation_id: str, id_prefix: str) -> int:
    """The helpdesk's own ticket/conversation number in replykit's conversation id
    (`id_prefix` + number); ConnectorError for an id of another source."""
    number = str(conversation_id).removeprefix(id_prefix)
    if not number.isdigit():
        raise ConnectorError(f"{source}: conversation {conversation_id!r} did not come from this "
                             f"source (its ids are {id_prefix}NUMBER)")
    return int(number)


def source_settings(sections: dict, name: str) -> dict:
    """The `[sync.NAME]` table of config.toml (`sections` of the Config), checked: it exists,
    has a known `type`, and holds no secret itself."""
    sources = sections.get("sync", {})
    settings = sources.get(name)
    if not isinstance(settings, dict):
        known = ", ".join(sorted(k for k, v in sources.items() if isinstance(v, dict)))
        raise ConnectorError(f"no source {name!r} in config.toml [sync.{name}]"
                             + (f" (configured: {known})" if known else ""))
    kind = settings.get("type")
    if kind not in SOURCE_TYPES:
        raise ConnectorError(f"config.toml [sync.{name}] type: {kind!r} is not one of "
                             f"{', '.join(SOURCE_TYPES)}")
    literal = sorted(set(settings) & set(SECRET_KEYS))
    if literal:
        raise ConnectorError(
            f"config.toml [sync.{name}] {literal[0]}: secrets are not kept in the file; set "
            f"{literal[0]}_env = \"SOME_VARIABLE\" and put the secret in that environment variable")
    _check_prefix_is_own(sources, name)
    return settings


def _check_prefix_is_own(sources: dict, name: str) -> None:
    """Helpdesk sources number their tickets from 1 each: two with the same `id_prefix` (none
    set counts as '') would store both helpdesks' ticket 42 as one conversation."""
    def prefix(settings: dict) -> str:
        return str(settings.get("id_prefix", ""))

    own = prefix(sources[name])
    for other, settings in sources.items():
        if (other != name and isinstance(settings, dict) and settings.get("type") in NUMBERED
                and sources[name].get("type") in NUMBERED and prefix(settings) == own):
            raise ConnectorError(
                f"config.toml [sync.{name}] id_prefix: {own!r} is also [sync.{other}]'s, so "
                "their tickets with the same number would be one conversation; give each "
                f"helpdesk its own, e.g. id_prefix = \"{name}-\"")


def make_source(sections: dict, name: str) -> Source:
    """The source configured as `[sync.NAME]`."""
    settings = source_settings(sections, name)
    module = importlib.import_module(SOURCE_TYPES[settings["type"]])
    return module.from_config(name, settings)


def setting(settings: dict, name: str, key: str, default=None):
    """A required (default None) or optional setting of `[sync.NAME]`, as text."""
    value = settings.get(key, default)
    if value is None or value == "":
        raise ConnectorError(f"config.toml [sync.{name}] {key}: is required")
    return str(value)


def whole_number(settings: dict, name: str, key: str, default: int) -> int:
    """An optional whole-number setting of `[sync.NAME]` (at least 0)."""
    value = settings.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConnectorError(f"config.toml [sync.{name}] {key}: {value!r} is not a whole "
                             "number")
    return value


def secret(settings: dict, name: str, key: str) -> str:
    """The secret whose environment variable `[sync.NAME]` names as `KEY_env`."""
    variable = settings.get(f"{key}_env")
    if not variable:
        raise ConnectorError(f"config.toml [sync.{name}] {key}_env: is required (the name of "
                             f"the environment variable holding the {key})")
    value = os.environ.get(str(variable))
    if not value:
        raise ConnectorError(f"environment variable {variable} (config.toml [sync.{name}] "
                             f"{key}_env) is not set")
    return value
