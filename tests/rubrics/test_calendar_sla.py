"""Business-time arithmetic (hand-computed cases and hypothesis properties), calendar and SLA
validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from replykit.errors import InputError
from rubrics.calendar import business_time, parse_calendar
from rubrics.sla import parse_duration, parse_sla, target_for

BERLIN = ZoneInfo("Europe/Berlin")
DEFAULT = parse_calendar(None)  # UTC, Mon-Fri 09:00-12:00 + 13:00-17:30
TEAM = parse_calendar({
    "timezone": "Europe/Berlin",
    "hours": {d: ["09:00-12:00", "13:00-17:30"] for d in ("mon", "tue", "wed", "thu", "fri")}
    | {"sat": ["10:00-14:00"]},
    "holidays": ["2024-12-25", "2025-04-21"],
})
ALWAYS = parse_calendar({
    "timezone": "Europe/Berlin",
    "hours": {d: ["00:00-24:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
})


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def hours(td):
    return td.total_seconds() / 3600


def test_weekend_and_lunch_hand_computed():
    # Fri 16:00 -> Mon 10:00 (UTC): Fri 16:00-17:30 = 1.5 h, Mon 09:00-10:00 = 1 h
    assert hours(business_time(DEFAULT, utc(2024, 5, 3, 16), utc(2024, 5, 6, 10))) == 2.5
    # Mon 11:00 -> 14:00: 11-12 = 1 h, lunch 12-13 excluded, 13-14 = 1 h
    assert hours(business_time(DEFAULT, utc(2024, 5, 6, 11), utc(2024, 5, 6, 14))) == 2
    # holiday: Mon 2024-05-06 off -> only Friday's 1.5 h plus Tue 09:00-10:00
    cal = parse_calendar({"holidays": ["2024-05-06"]})
    assert hours(business_time(cal, utc(2024, 5, 3, 16), utc(2024, 5, 7, 10))) == 2.5
    # end before start is zero, never negative
    assert business_time(DEFAULT, utc(2024, 5, 6, 14), utc(2024, 5, 6, 10)) == timedelta(0)


def test_timezone_shifts_the_working_day():
    # Berlin in May is UTC+2: 09:00 local = 07:00 UTC. 07:00-10:00 UTC = 09:00-12:00 local.
    assert hours(business_time(TEAM, utc(2024, 5, 6, 7), utc(2024, 5, 6, 10))) == 3
    assert hours(business_time(TEAM, utc(2024, 5, 6, 5), utc(2024, 5, 6, 7))) == 0


def test_dst_spring_forward_and_fall_back_berlin():
    # last Sunday of March 2024: 02:00 CET -> 03:00 CEST; the local day has 23 hours
    day = ALWAYS
    start = datetime(2024, 3, 31, 0, 0, tzinfo=BERLIN)
    end = datetime(2024, 4, 1, 0, 0, tzinfo=BERLIN)
    assert hours(business_time(day, start, end)) == 23
    # last Sunday of October 2024: 03:00 CEST -> 02:00 CET; the local day has 25 hours
    start = datetime(2024, 10, 27, 0, 0, tzinfo=BERLIN)
    end = datetime(2024, 10, 28, 0, 0, tzinfo=BERLIN)
    assert hours(business_time(day, start, end)) == 25
    # a Sunday shift 01:00-04:00 lasts 2 real hours in March and 4 in October
    night = parse_calendar({"timezone": "Europe/Berlin", "hours": {"sun": ["01:00-04:00"]}})
    assert hours(business_time(night, utc(2024, 3, 30), utc(2024, 4, 1))) == 2
    assert hours(business_time(night, utc(2024, 10, 26), utc(2024, 10, 28))) == 4
    # a shift that begins inside the gap (02:30 does not exist on 2024-03-31) is not counted
    # twice with the shift before it
    gap = parse_calendar({"timezone": "Europe/Berlin",
                          "hours": {"sun": ["00:00-02:30", "03:00-05:00"]}})
    # real time: 00:00 CET (23:00Z) .. 05:00 CEST (03:00Z) = 4 h, of which none is a break
    assert hours(business_time(gap, utc(2024, 3, 30), utc(2024, 4, 1))) == 4


instants = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2026, 12, 31),
    timezones=st.just(UTC),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(instants, min_size=3, max_size=3), st.sampled_from([DEFAULT, TEAM, ALWAYS]))
def test_business_time_is_additive_and_bounded(points, cal):
    a, b, c = sorted(points)
    ab, bc, ac = business_time(cal, a, b), business_time(cal, b, c), business_time(cal, a, c)
    assert ab >= timedelta(0) and bc >= timedelta(0)
    assert ac == ab + bc
    assert ac <= c - a


@settings(max_examples=100, deadline=None)
@given(instants, instants)
def test_round_the_clock_calendar_equals_elapsed_time_across_dst(a, b):
    a, b = sorted((a, b))
    assert business_time(ALWAYS, a, b) == b - a


@settings(max_examples=150, deadline=None)
@given(
    st.dates(min_value=datetime(2024, 1, 1).date(), max_value=datetime(2026, 12, 1).date()),
    st.sampled_from(["evening", "lunch", "sunday", "holiday"]),
    st.floats(0, 1), st.floats(0, 1),
)
def test_zero_for_spans_fully_outside_hours(day, kind, f1, f2):
    # windows of TEAM (Europe/Berlin) with no working time, in local wall-clock time
    monday = day - timedelta(days=day.weekday())
    if kind == "evening":  # Tue 17:30 -> Wed 09:00
        lo = datetime.combine(monday + timedelta(days=1), datetime.min.time()).replace(
            hour=17, minute=30)
        hi = lo + timedelta(hours=15, minutes=30)
    elif kind == "lunch":  # Thu 12:00 -> 13:00
        lo = datetime.combine(monday + timedelta(days=3), datetime.min.time()).replace(hour=12)
        hi = lo + timedelta(hours=1)
    elif kind == "sunday":  # Sat 14:00 -> Mon 09:00
        lo = datetime.combine(monday + timedelta(days=5), datetime.min.time()).replace(hour=14)
        hi = datetime.combine(monday + timedelta(days=7), datetime.min.time()).replace(hour=9)
    else:  # Christmas 2024 (a Wednesday) is a holiday: 00:00 -> 24:00
        lo, hi = datetime(2024, 12, 25), datetime(2024, 12, 26)
    lo, hi = lo.replace(tzinfo=BERLIN).astimezone(UTC), hi.replace(tzinfo=BERLIN).astimezone(UTC)
    x, y = sorted((lo + (hi - lo) * f1, lo + (hi - lo) * f2))
    assert business_time(TEAM, x, y) == timedelta(0)


@pytest.mark.parametrize(
    "section, where, message",
    [
        ({"timezone": "Mars/Olympus"}, "calendar.timezone", "unknown IANA timezone"),
        ({"hours": {"mon": ["09:00-12:00", "11:00-13:00"]}}, "calendar.hours.mon[1]",
         "must not overlap"),
        ({"hours": {"mon": ["09:00-12:00", "13:00-12:30"]}}, "calendar.hours.mon[1]",
         "start must be before end"),
        ({"hours": {"tue": ["9-17"]}}, "calendar.hours.tue[0]", "expected 'HH:MM-HH:MM'"),
        ({"hours": {"wed": ["09:00-25:00"]}}, "calendar.hours.wed[0]", "not a valid time"),
        ({"hours": {"funday": []}}, "calendar.hours", "unknown weekday(s) funday"),
        ({"hours": {"mon": "09:00-17:00"}}, "calendar.hours.mon", "must be a list"),
        ({"holidays": ["2024-13-01"]}, "calendar.holidays[0]", "expected an ISO date"),
        ({"zone": "UTC"}, "calendar", "unknown field(s) zone"),
    ],
)
def test_invalid_calendar(section, where, message):
    with pytest.raises(InputError) as info:
        parse_calendar(section)
    assert info.value.where == where
    assert message in info.value.message


def test_sla_defaults_and_specificity():
    targets = parse_sla(None)
    assert target_for(targets, "email", "normal").first_response_s == 4 * 3600
    assert target_for(targets, "email", "urgent").first_response_s == 3600
    assert target_for(targets, "chat", "normal").first_response_s == 120
    assert target_for(targets, "chat", "normal").clock == "calendar"
    assert target_for(targets, "sms", "urgent").response_s == 2 * 3600  # */urgent
    assert target_for(targets, "sms", "low").first_response_s == 8 * 3600  # */*
    custom = parse_sla({"targets": [{"channel": "email", "first_response": "1h30m",
                                     "response": 600, "clock": "calendar"}]})
    assert target_for(custom, "email", "x").first_response_s == 5400
    assert target_for(custom, "chat", "x") is None


@pytest.mark.parametrize(
    "section, where, message",
    [
        ({"targets": [{"first_response": "4 hours", "response": "1h"}]},
         "sla.targets[0].first_response", "expected a duration"),
        ({"targets": [{"first_response": "4h"}]}, "sla.targets[0].response", "is required"),
        ({"targets": [{"first_response": "4h", "response": "1h", "clock": "wall"}]},
         "sla.targets[0].clock", "must be 'business' or 'calendar'"),
        ({"targets": [{"first_response": "0m", "response": "1h"}]},
         "sla.targets[0].first_response", "positive"),
        ({"targets": [{"first_response": "1h", "response": "1h"},
                      {"first_response": "2h", "response": "1h"}]},
         "sla.targets[1]", "duplicate target for */*"),
        ({"email": {}}, "sla", "only 'targets'"),
    ],
)
def test_invalid_sla(section, where, message):
    with pytest.raises(InputError) as info:
        parse_sla(section)
    assert info.value.where == where
    assert message in info.value.message


def test_parse_duration():
    assert parse_duration("1d2h3m4s", "x") == 93784
    assert parse_duration("2m", "x") == 120
