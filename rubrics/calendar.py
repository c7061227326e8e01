"""The team calendar and business-time arithmetic.

`[calendar]` in config.toml: an IANA `timezone`, `hours` per weekday (a list of
"HH:MM-HH:MM" intervals, several a day for split shifts and lunch breaks; "24:00" ends a day)
and `holidays` (ISO dates, whole local days off). Business time between two instants is the
length of their overlap with the working intervals, each interval turned into real (UTC)
instants in the calendar's timezone, so a DST change shortens or lengthens the day exactly
as the wall clock does."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from replykit.errors import InputError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
INTERVAL_RE = re.compile(r"^\s*(\d{2}):(\d{2})\s*-\s*(\d{2}):(\d{2})\s*$")
DEFAULT_HOURS = ["09:00-12:00", "13:00-17:30"]
CALENDAR_FIELDS = {"timezone", "hours", "holidays"}


@dataclass(frozen=True)
class Calendar:
    """Working intervals per weekday (0 = Monday) as minutes since local midnight."""

    timezone: str
    hours: tuple[tuple[tuple[int, int], ...], ...]
    holidays: frozenset[date]

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def _parse_interval(text, where: str) -> tuple[int, int]:
    match = INTERVAL_RE.match(text) if isinstance(text, str) else None
    if not match:
        raise InputError(f"expected 'HH:MM-HH:MM', got {text!r}", where)
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2 != 0):
        raise InputError(f"not a valid time of day in {text!r}", where)
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if start >= end:
        raise InputError(f"start must be before end in {text!r}", where)
    return start, end


def parse_calendar(section: dict | None) -> Calendar:
    """Validate a `[calendar]` table (None or {} gives the defaults: UTC, Mon-Fri
    09:00-12:00 and 13:00-17:30, no holidays). Errors name the field, e.g.
    `calendar.hours.mon[1]`."""
    section = section or {}
    if not isinstance(section, dict):
        raise InputError("must be a table", "calendar")
    unknown = set(section) - CALENDAR_FIELDS
    if unknown:
        raise InputError(f"unknown field(s) {', '.join(sorted(unknown))}", "calendar")
    tz = section.get("timezone", "UTC")
    try:
        if not isinstance(tz, str) or not tz:
            raise ValueError
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # OSError: "America", a folder
        raise InputError(f"unknown IANA timezone {tz!r}", "calendar.timezone") from exc
    raw_hours = section.get("hours")
    if raw_hours is None:
        raw_hours = {day: DEFAULT_HOURS for day in WEEKDAYS[:5]}
    if not isinstance(raw_hours, dict):
        raise InputError("must be a table of weekday = [intervals]", "calendar.hours")
    bad_days = set(raw_hours) - set(WEEKDAYS)
    if bad_days:
        raise InputError(
            f"unknown weekday(s) {', '.join(sorted(bad_days))} (use {', '.join(WEEKDAYS)})",
            "calendar.hours",
        )
    hours = []
    for day in WEEKDAYS:
        raw = raw_hours.get(day, [])
        if not isinstance(raw, list):
            raise InputError("must be a list of 'HH:MM-HH:MM'", f"calendar.hours.{day}")
        intervals = [_parse_interval(t, f"calendar.hours.{day}[{i}]") for i, t in enumerate(raw)]
        for i in range(1, len(intervals)):
            if intervals[i][0] < intervals[i - 1][1]:
                raise InputError(
                    "intervals must be in order and must not overlap",
                    f"calendar.hours.{day}[{i}]",
                )
        hours.append(tuple(intervals))
    raw_holidays = section.get("holidays", [])
    if not isinstance(raw_holidays, list):
        raise InputError("must be a list of ISO dates", "calendar.holidays")
    holidays = set()
    for i, value in enumerate(raw_holidays):
        if isinstance(value, date) and not isinstance(value, datetime):
            holidays.add(value)
            continue
        try:
            holidays.add(date.fromisoformat(value))
        except (TypeError, ValueError) as exc:
            raise InputError(
                f"expected an ISO date YYYY-MM-DD, got {value!r}", f"calendar.holidays[{i}]"
            ) from exc
    return Calendar(timezone=tz, hours=tuple(hours), holidays=frozenset(holidays))


def _local_instant(day: date, minutes: int, zone: ZoneInfo) -> datetime:
    day += timedelta(days=minutes // (24 * 60))  # "24:00" is the next day's midnight
    minutes %= 24 * 60
    local = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=zone)
    return local.astimezone(UTC)


def working_intervals(calendar: Calendar, start: datetime, end: datetime) -> list[tuple]:
    """Working intervals as disjoint, ordered (start, end) UTC instants covering the local
    days from `start` to `end` (one day of margin each side)."""
    zone = calendar.zone
    first = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date() + timedelta(days=1)
    spans: list[tuple[datetime, datetime]] = []
    day = first
    while day <= last:
        if day not in calendar.holidays:
            for a, b in calendar.hours[day.weekday()]:
                lo, hi = _local_instant(day, a, zone), _local_instant(day, b, zone)
                if lo < hi:
                    spans.append((lo, hi))
        day += timedelta(days=1)
    # a wall-clock time inside a DST gap maps onto the hour before it: merge any overlap
    spans.sort()
    merged: list[tuple[datetime, datetime]] = []
    for lo, hi in spans:
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def business_time(calendar: Calendar, start: datetime, end: datetime) -> timedelta:
    """Working time between two aware instants; zero when end <= start."""
    # in UTC: subtracting two datetimes that share a ZoneInfo ignores DST offsets
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if end <= start:
        return timedelta(0)
    total = timedelta(0)
    for lo, hi in working_intervals(calendar, start, end):
        overlap = min(hi, end) - max(lo, start)
        if overlap > timedelta(0):
            total += overlap
    return total


def calendar_time(start: datetime, end: datetime) -> timedelta:
    """Elapsed time between two aware instants; zero when end <= start."""
    return max(end.astimezone(UTC) - start.astimezone(UTC), timedelta(0))


def parse_instant(text: str) -> datetime:
    """An ISO-8601 timestamp as an aware UTC datetime (naive values are taken as UTC)."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
