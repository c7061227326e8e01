"""The interface in English, Thai and Persian: Flask-Babel with the gettext catalogs in
web/translations (`make translations`), the locale of each request (the user's choice, else
the language cookie of a signed-out visitor, else the browser's Accept-Language, else
English), the language picker, and dates and numbers in the user's locale and calendar
(Gregorian, Thai Buddhist era, or Solar Hijri; Persian digits in Persian)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from babel import dates, numbers
from flask import Blueprint, Flask, current_app, redirect, request
from flask_babel import Babel, get_locale, lazy_gettext

from replykit import users
from replykit.errors import InputError
from replykit.users import CALENDARS, LANGUAGES
from web.auth import _safe_next
from web.js_messages import js_messages
from web.security import current_user, public

LANGUAGE_NAMES = {"en": "English", "th": "ไทย", "fa": "فارسی"}  # each in its own language
CALENDAR_NAMES = {"gregorian": lazy_gettext("Gregorian"),
                  "buddhist": lazy_gettext("Thai Buddhist era"),
                  "persian": lazy_gettext("Solar Hijri")}
ROLE_NAMES = {"agent": lazy_gettext("agent"), "reviewer": lazy_gettext("reviewer"),
              "lead": lazy_gettext("lead"), "admin": lazy_gettext("admin")}
STATE_NAMES = {  # states of drafts, reviews, assignments and disputes (storage/reviews.py)
    "requested": lazy_gettext("requested"), "returned": lazy_gettext("returned"),
    "in_progress": lazy_gettext("in progress"), "submitted": lazy_gettext("submitted"),
    "open": lazy_gettext("open"), "done": lazy_gettext("done"),
    "upheld": lazy_gettext("upheld"), "rescore": lazy_gettext("re-score requested"),
    "rescored": lazy_gettext("re-scored")}
REPLY_STATUS_NAMES = {"draft": lazy_gettext("draft"), "approved": lazy_gettext("approved"),
                      "archived": lazy_gettext("archived")}  # of saved replies
RIGHT_TO_LEFT = frozenset({"fa"})
COOKIE = "replykit_lang"
PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
SOLAR_HIJRI_MONTHS = {
    "fa": ("فروردین", "اردیبهشت", "خرداد", "تیر", "مرداد", "شهریور", "مهر", "آبان", "آذر",
           "دی", "بهمن", "اسفند"),
    "en": ("Farvardin", "Ordibehesht", "Khordad", "Tir", "Mordad", "Shahrivar", "Mehr", "Aban",
           "Azar", "Dey", "Bahman", "Esfand"),
}
# Years (Solar Hijri) where the 33-year leap cycle is broken (Borkowski; jalaali-js).
_BREAKS = (-61, 9, 38, 199, 426, 686, 756, 818, 1111, 1181, 1210, 1635, 2060, 2097, 2192,
           2262, 2324, 2394, 2456, 3178)

bp = Blueprint("i18n", __name__)


def select_locale() -> str:
    """The request's language: the signed-in user's choice, the signed-out visitor's cookie,
    the browser's Accept-Language among LANGUAGES, else English."""
    user = current_user()
    if user and user.get("locale") in LANGUAGES:
        return user["locale"]
    if request.cookies.get(COOKIE) in LANGUAGES:
        return request.cookies[COOKIE]
    return request.accept_languages.best_match(LANGUAGES) or "en"


def init_app(app: Flask) -> None:
    """Flask-Babel, the template filters `when` (dates) and `num` (numbers), and the page's
    language, direction, picker choices and scripts' messages (`js_messages()`) for every
    template."""
    Babel(app, locale_selector=select_locale)
    app.jinja_env.filters["when"] = when
    app.jinja_env.filters["num"] = num

    @app.context_processor
    def language_globals():
        locale = str(get_locale())
        return {"locale": locale, "text_dir": "rtl" if locale in RIGHT_TO_LEFT else "ltr",
                "language_names": LANGUAGE_NAMES, "calendar_names": CALENDAR_NAMES,
                "role_names": ROLE_NAMES, "state_names": STATE_NAMES,
                "reply_status_names": REPLY_STATUS_NAMES, "js_messages": js_messages}


@bp.post("/language")
@public
def choose_language():
    """The picker: a signed-in user's language and calendar are stored on their account; a
    signed-out visitor's language in a cookie. Back to `next` (a path on this site)."""
    from web.db import get_home

    locale = request.form.get("locale", "")
    user = current_user()
    if user:
        calendar = request.form.get("calendar", user.get("calendar") or "gregorian")
        users.set_preferences(get_home().db, user["id"], locale, calendar)
    elif locale not in LANGUAGES + ("",):
        raise InputError(f"locale: {locale!r} is not one of {', '.join(LANGUAGES)}")
    response = redirect(_safe_next(request.form.get("next")))
    if locale:
        response.set_cookie(COOKIE, locale, max_age=365 * 24 * 3600, httponly=True,
                            samesite="Lax", secure=current_app.config["SESSION_COOKIE_SECURE"])
    else:
        response.delete_cookie(COOKIE)
    return response


def when(value, kind: str = "datetime") -> str:
    """Template filter: an ISO-8601 timestamp (UTC when it names no zone) as a readable date
    (`kind` 'date') or date and time, in the request's locale and the user's calendar. Empty:
    '–'; text that is not a timestamp is shown as it is."""
    if not value:
        return "–"
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    user = current_user()
    calendar = (user or {}).get("calendar") or "gregorian"
    return format_instant(moment, str(get_locale()), calendar, kind)


def num(value, digits: int | None = None) -> str:
    """Template filter: a number in the request's locale (Persian digits and separators in
    Persian); `digits`: exactly that many decimals."""
    if value is None:
        return "–"
    locale = str(get_locale())
    pattern = None if digits is None else "#,##0" + ("." + "0" * digits if digits else "")
    text = numbers.format_decimal(value, format=pattern, locale=locale,
                                  numbering_system="default")  # the locale's separators
    return text.translate(PERSIAN_DIGITS) if locale == "fa" else text


def format_instant(moment: datetime, locale: str, calendar: str = "gregorian",
                   kind: str = "datetime") -> str:
    """`moment` (UTC if naive) as the locale's medium date ('date') or medium date and short
    time ('datetime'), in UTC, with the year, month and day of `calendar` (one of CALENDARS);
    Persian text uses Persian digits."""
    if calendar not in CALENDARS:
        raise ValueError(f"calendar: {calendar!r} is not one of {', '.join(CALENDARS)}")
    moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    pattern = _calendar_pattern(dates.get_date_format("medium", locale).pattern,
                                moment.date(), calendar, locale)
    text = dates.format_date(moment.date(), pattern, locale=locale)
    if kind == "datetime":
        clock = dates.format_time(moment, "short", tzinfo=UTC, locale=locale)
        text = dates.get_datetime_format("medium", locale).replace("{1}", text).replace(
            "{0}", clock)
    return text.translate(PERSIAN_DIGITS) if locale == "fa" else text


def _calendar_pattern(pattern: str, day: date, calendar: str, locale: str) -> str:
    """A CLDR date pattern with its year (and, for Solar Hijri, month and day) fields
    replaced by quoted literals of `calendar`'s date for `day`."""
    if calendar == "gregorian":
        return pattern
    if calendar == "buddhist":
        fields = {"y": lambda _n: str(thai_buddhist_year(day))}
    else:
        year, month, dom = to_solar_hijri(day)
        months = SOLAR_HIJRI_MONTHS.get(locale, SOLAR_HIJRI_MONTHS["en"])
        fields = {"y": lambda _n: str(year),
                  "M": lambda n: months[month - 1] if n >= 3 else f"{month:0{n}d}",
                  "L": lambda n: months[month - 1] if n >= 3 else f"{month:0{n}d}",
                  "d": lambda n: f"{dom:0{n}d}"}
    parts = pattern.split("'")
    for i in range(0, len(parts), 2):  # the parts outside quotes
        parts[i] = re.sub(r"([yMLd])\1*", lambda m: (
            "'" + fields[m.group(1)](len(m.group(0))) + "'" if m.group(1) in fields
            else m.group(0)), parts[i])
    return "'".join(parts)


def thai_buddhist_year(day: date) -> int:
    """The Thai Buddhist-era year of a Gregorian date (2026 -> 2569)."""
    return day.year + 543


def to_solar_hijri(day: date) -> tuple[int, int, int]:
    """(year, month, day) in the Solar Hijri calendar of a Gregorian date, by the arithmetic
    33-year-cycle algorithm with its break years (exact for Solar Hijri years 1-3177):
    2026-03-21 -> (1405, 1, 1)."""
    year = day.year - 621
    leap, march = _year_start(year)
    k = (day - date(day.year, 3, march)).days
    if k >= 0:
        if k <= 185:
            return year, 1 + k // 31, k % 31 + 1
        k -= 186
    else:
        year -= 1
        k += 179 + (leap == 1)
    return year, 7 + k // 30, k % 30 + 1


def _year_start(year: int) -> tuple[int, int]:
    """(years since the last Solar Hijri leap year, 0-4; the day of March of the Gregorian
    year `year + 621` on which Solar Hijri `year` begins)."""
    if not _BREAKS[0] <= year < _BREAKS[-1]:
        raise ValueError(f"Solar Hijri year {year} is outside 1-3177")
    gregorian = year + 621
    leap_j, previous, jump = -14, _BREAKS[0], 0
    for brk in _BREAKS[1:]:
        jump = brk - previous
        if year < brk:
            break
        leap_j += jump // 33 * 8 + jump % 33 // 4
        previous = brk
    n = year - previous
    leap_j += n // 33 * 8 + (n % 33 + 3) // 4
    if jump % 33 == 4 and jump - n == 4:
        leap_j += 1
    leap_g = gregorian // 4 - (gregorian // 100 + 1) * 3 // 4 - 150
    march = 20 + leap_j - leap_g
    if jump - n < 6:
        n = n - jump + (jump + 4) // 33 * 33
    leap = ((n + 1) % 33 - 1) % 4 if (n + 1) % 33 else 4
    return leap, march
