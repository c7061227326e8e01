"""Fuzzing the [calendar] and [sla] tables of config.toml: a config either loads, its calendar
and SLA targets validate and business time stays within elapsed time, or it fails with our
typed error naming the file or the field."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

from fuzzing import check_typed_error, fuzz_settings, json_values, mutated, noisy, texts, to_bytes
from hypothesis import example, given
from hypothesis import strategies as st

from replykit.config import load_config
from rubrics import calendar, sla

intervals = st.sampled_from(["09:00-12:00", "13:00-17:30", "00:00-24:00", "22:00-23:59",
                             "12:00-09:00", "24:00-24:00", "9:00-10:00", "25:00-26:00"]) | texts
calendars = st.fixed_dictionaries({
    "timezone": st.sampled_from(["UTC", "Asia/Bangkok", "Asia/Tehran", "Europe/London",
                                 "America", "Nowhere/City", "../etc", "x" * 300]) | texts,
    "hours": st.dictionaries(st.sampled_from([*calendar.WEEKDAYS, "Mon", "xyz"]),
                             st.lists(intervals, max_size=3), max_size=7),
    "holidays": st.lists(st.dates() | st.sampled_from(["2026-01-01", "2026-02-30"]) | texts,
                         max_size=3),
}).flatmap(lambda c: mutated(c, sorted(calendar.CALENDAR_FIELDS)))
durations = st.sampled_from(["4h", "30m", "1h30m", "90s", "1d", "0s", "", "h"]) | st.integers(
    -5, 10**6) | st.just("9" * 30 + "d") | texts
targets = st.fixed_dictionaries({
    "channel": st.sampled_from(["*", "email", "chat", ""]), "priority": st.sampled_from(
        ["*", "urgent"]), "first_response": durations, "response": durations,
    "clock": st.sampled_from(["business", "calendar", "wall"]),
}).flatmap(lambda t: mutated(t, sorted(sla.TARGET_FIELDS)))
slas = st.fixed_dictionaries({"targets": st.lists(targets, max_size=4)}).flatmap(
    lambda s: mutated(s, ["targets"]))


def toml(value) -> str:
    """A TOML value (inline tables and arrays); None is written as an empty string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | date):
        return value.isoformat() if isinstance(value, date) else str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(map(toml, value)) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k), ensure_ascii=False)} = {toml(v)}"
                               for k, v in value.items()) + "}"
    return json.dumps("" if value is None else value, ensure_ascii=False)


@st.composite
def config_toml(draw) -> bytes:
    lines = []
    if draw(st.booleans()):
        lines.append(f"calendar = {toml(draw(calendars | json_values))}")
    if draw(st.booleans()):
        lines.append(f"sla = {toml(draw(slas | json_values))}")
    return draw(noisy(to_bytes("\n".join(lines) + "\n")))


@fuzz_settings()
@given(data=config_toml(), start=st.datetimes(datetime(2020, 1, 1), datetime(2030, 1, 1),
                                              timezones=st.just(UTC)),
       hours=st.integers(0, 24 * 40))
# found by fuzzing: a timezone naming a folder of the zone database (IsADirectoryError) or a
# name too long for a file (OSError); a section that is not a table was "unknown setting(s):
# calendar" without naming the file
@example(data=b'calendar = ""\n', start=datetime(2026, 1, 1, tzinfo=UTC), hours=1)
@example(data=b'calendar = {timezone = "America"}\n', start=datetime(2026, 1, 1, tzinfo=UTC),
         hours=1)
@example(data=b'calendar = {timezone = "' + b"x" * 300 + b'"}\n',
         start=datetime(2026, 1, 1, tzinfo=UTC), hours=1)
def test_calendar_and_sla_config(tmp_path, data, start, hours):
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    (home / "config.toml").write_bytes(data)
    try:
        sections = load_config(home).sections
    except Exception as exc:  # noqa: BLE001 - anything but our typed error fails the test
        check_typed_error(exc, "config.toml")
        return
    try:
        cal = calendar.parse_calendar(sections.get("calendar"))
    except Exception as exc:  # noqa: BLE001
        check_typed_error(exc, "calendar")
    else:
        end = start + timedelta(hours=hours)
        business = calendar.business_time(cal, start, end)
        assert timedelta(0) <= business <= calendar.calendar_time(start, end)
    try:
        found = sla.parse_sla(sections.get("sla"))
    except Exception as exc:  # noqa: BLE001
        check_typed_error(exc, "sla")
    else:
        for target in found:
            assert target.first_response_s > 0 and target.response_s > 0
            assert sla.target_for(found, target.channel, target.priority) == target
