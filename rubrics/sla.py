"""SLA targets per channel and priority, from `[sla]` in config.toml.

    [[sla.targets]]
    channel = "email"          # or "*" for any channel
    priority = "*"             # or a priority such as "urgent"
    first_response = "4h"      # first agent reply of a conversation
    response = "8h"            # every later agent reply
    clock = "business"         # or "calendar"

Given targets replace the defaults as a whole. A reply gets the most specific matching target:
channel and priority > channel and "*" > "*" and priority > "*" and "*"; with no match it
has no SLA."""

from __future__ import annotations

import re
from dataclasses import dataclass

from replykit.errors import InputError

DURATION_RE = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
TARGET_FIELDS = {"channel", "priority", "first_response", "response", "clock"}
DEFAULT_TARGETS = (
    {"channel": "*", "priority": "*", "first_response": "8h", "response": "16h",
     "clock": "business"},
    {"channel": "*", "priority": "urgent", "first_response": "1h", "response": "2h",
     "clock": "business"},
    {"channel": "email", "priority": "*", "first_response": "4h", "response": "8h",
     "clock": "business"},
    {"channel": "email", "priority": "urgent", "first_response": "1h", "response": "2h",
     "clock": "business"},
    {"channel": "chat", "priority": "*", "first_response": "2m", "response": "5m",
     "clock": "calendar"},
    {"channel": "chat", "priority": "urgent", "first_response": "1m", "response": "2m",
     "clock": "calendar"},
    {"channel": "phone", "priority": "*", "first_response": "1m", "response": "1m",
     "clock": "calendar"},
)


@dataclass(frozen=True)
class Target:
    channel: str
    priority: str
    first_response_s: int
    response_s: int
    clock: str


def parse_duration(value, where: str) -> int:
    """'4h', '2m', '1h30m', '90s', '1d' or an integer number of seconds -> seconds (> 0)."""
    if isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    else:
        match = DURATION_RE.match(value.strip()) if isinstance(value, str) else None
        if not match or not any(match.groups()):
            raise InputError(f"expected a duration like '4h', '30m', '1h30m', got {value!r}", where)
        d, h, m, s = (int(g or 0) for g in match.groups())
        seconds = ((d * 24 + h) * 60 + m) * 60 + s
    if seconds <= 0:
        raise InputError(f"must be a positive duration, got {value!r}", where)
    return seconds


def parse_sla(section: dict | None) -> tuple[Target, ...]:
    """Validate a `[sla]` table into targets (defaults when absent). Errors name the field,
    e.g. `sla.targets[2].first_response`."""
    section = section or {}
    if not isinstance(section, dict) or set(section) - {"targets"}:
        raise InputError("only 'targets' (a list of [[sla.targets]] tables) is allowed", "sla")
    raw_targets = section.get("targets", DEFAULT_TARGETS)
    if not isinstance(raw_targets, list | tuple):
        raise InputError("must be a list of [[sla.targets]] tables", "sla.targets")
    targets = []
    seen = set()
    for i, raw in enumerate(raw_targets):
        where = f"sla.targets[{i}]"
        if not isinstance(raw, dict):
            raise InputError("must be a table", where)
        unknown = set(raw) - TARGET_FIELDS
        if unknown:
            raise InputError(f"unknown field(s) {', '.join(sorted(unknown))}", where)
        channel, priority = raw.get("channel", "*"), raw.get("priority", "*")
        for name, value in (("channel", channel), ("priority", priority)):
            if not isinstance(value, str) or not value:
                raise InputError("must be a non-empty string ('*' matches any)", f"{where}.{name}")
        if (channel, priority) in seen:
            raise InputError(f"duplicate target for {channel}/{priority}", where)
        seen.add((channel, priority))
        clock = raw.get("clock", "business")
        if clock not in ("business", "calendar"):
            raise InputError(f"must be 'business' or 'calendar', got {clock!r}", f"{where}.clock")
        for name in ("first_response", "response"):
            if name not in raw:
                raise InputError("is required", f"{where}.{name}")
        targets.append(
            Target(
                channel=channel,
                priority=priority,
                first_response_s=parse_duration(raw["first_response"], f"{where}.first_response"),
                response_s=parse_duration(raw["response"], f"{where}.response"),
                clock=clock,
            )
        )
    return tuple(targets)


def target_for(targets: tuple[Target, ...], channel: str, priority: str) -> Target | None:
    """The most specific target for a channel and priority, or None."""
    by_key = {(t.channel, t.priority): t for t in targets}
    for key in ((channel, priority), (channel, "*"), ("*", priority), ("*", "*")):
        if key in by_key:
            return by_key[key]
    return None


def verdict(target_s: int, elapsed_s: float) -> dict:
    """{"target_s", "elapsed_s", "within": elapsed <= target, "by_s": elapsed - target}
    (by_s > 0: breached by that much; <= 0: the margin left)."""
    return {
        "target_s": target_s,
        "elapsed_s": elapsed_s,
        "within": elapsed_s <= target_s,
        "by_s": elapsed_s - target_s,
    }
