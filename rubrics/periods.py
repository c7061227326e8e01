"""Report and assignment periods, as half-open [start, end) UTC instants. Dates are local
dates of the team calendar's timezone; a `--to` date includes that whole day."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from replykit.errors import InputError
from rubrics.calendar import Calendar

INTERVALS = ("day", "week", "month")
# periods (days, weeks or months) a report may hold: a thousand years by day was 374,000 of
# them, 84 MB of JSON built by one request
MAX_BUCKETS = 5_000


def _local_midnight(day: date, calendar: Calendar) -> datetime:
    return datetime.combine(day, time(0), tzinfo=calendar.zone).astimezone(UTC)


def _parse_bound(text: str, calendar: Calendar, where: str, is_end: bool) -> datetime:
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()):
            day = date.fromisoformat(text.strip())
            return _local_midnight(day + timedelta(days=1 if is_end else 0), calendar)
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise InputError(f"expected YYYY-MM-DD or an ISO datetime, got {text!r}", where) from exc
    except OverflowError as exc:  # the day after 9999-12-31, midnight before 0001-01-01 UTC
        raise InputError(f"{text!r} is out of range", where) from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=calendar.zone)
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise InputError(f"{text!r} is out of range", where) from exc


def parse_bounds(
    start: str | None, end: str | None, calendar: Calendar, now: datetime | None = None
) -> tuple[datetime, datetime]:
    """--from/--to into [start, end). Defaults: to = now, from = 30 days before `to`."""
    now = now or datetime.now(UTC)
    hi = _parse_bound(end, calendar, "--to", True) if end else now
    if start:
        lo = _parse_bound(start, calendar, "--from", False)
    elif hi.year > 1 or hi.month > 1:
        lo = hi - timedelta(days=30)
    else:
        raise InputError(f"30 days before {end!r} is out of range", "--from")
    if lo >= hi:
        raise InputError("--from must be before --to", "--from")
    return lo, hi


def parse_period(text: str, calendar: Calendar) -> tuple[datetime, datetime]:
    """'2024-05' (a month), '2024-W18' (an ISO week), '2024-05-06' (a day) or
    '2024-05-01..2024-05-15' (inclusive dates) into [start, end)."""
    text = (text or "").strip()
    try:
        if m := re.fullmatch(r"(\d{4})-(\d{2})", text):
            first = date(int(m[1]), int(m[2]), 1)
            nxt = date(first.year + first.month // 12, first.month % 12 + 1, 1)
            return _local_midnight(first, calendar), _local_midnight(nxt, calendar)
        if m := re.fullmatch(r"(\d{4})-W(\d{2})", text):
            first = date.fromisocalendar(int(m[1]), int(m[2]), 1)
            return (_local_midnight(first, calendar),
                    _local_midnight(first + timedelta(days=7), calendar))
        if m := re.fullmatch(r"(\d{4}-\d{2}-\d{2})(?:\.\.(\d{4}-\d{2}-\d{2}))?", text):
            first = date.fromisoformat(m[1])
            last = date.fromisoformat(m[2] or m[1])
            if last < first:
                raise ValueError("end before start")
            return (_local_midnight(first, calendar),
                    _local_midnight(last + timedelta(days=1), calendar))
    except ValueError as exc:
        raise InputError(f"not a valid period {text!r}: {exc}", "--period") from exc
    raise InputError(
        f"expected YYYY-MM, YYYY-Www, YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD, got {text!r}",
        "--period",
    )


def bucket_key(instant: datetime, interval: str, calendar: Calendar) -> str:
    """The local day ('2024-05-06'), ISO week ('2024-W19') or month ('2024-05') of an instant."""
    day = instant.astimezone(calendar.zone).date()
    if interval == "day":
        return day.isoformat()
    if interval == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{day.year}-{day.month:02d}"


def buckets(start: datetime, end: datetime, interval: str, calendar: Calendar) -> list[tuple]:
    """[(key, lo, hi)] covering [start, end): local days, ISO weeks or months, clipped."""
    if interval not in INTERVALS:
        raise InputError(f"must be one of {', '.join(INTERVALS)}", "--interval")
    try:
        return _buckets(start, end, interval, calendar)
    except OverflowError as exc:  # the last period would end after 9999-12-31
        raise InputError("the period ends too close to 9999-12-31", "--to") from exc


def _buckets(start: datetime, end: datetime, interval: str, calendar: Calendar) -> list[tuple]:
    result: list[tuple] = []
    day = start.astimezone(calendar.zone).date()
    while True:
        lo = max(start, _local_midnight(day, calendar))
        if lo >= end:
            break
        key = bucket_key(lo, interval, calendar)
        nxt = day + timedelta(days=1)
        while bucket_key(_local_midnight(nxt, calendar), interval, calendar) == key:
            nxt += timedelta(days=1)
        result.append((key, lo, min(end, _local_midnight(nxt, calendar))))
        if len(result) > MAX_BUCKETS:
            raise InputError(f"the period holds more than {MAX_BUCKETS:,} {interval}s: give a "
                             "shorter period or a longer interval", "--interval")
        day = nxt
    return result
