"""Pure month, week and timezone arithmetic. Never reads the clock."""

from __future__ import annotations

import calendar
import datetime as dt
import re
import zoneinfo

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")  # English whatever the locale: the bot's words are English
_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def parse_period(value: str) -> str:
    """Validate a ``YYYY-MM`` period and return it.

    Raises:
        ValueError: when the text is not a valid month.
    """
    value = value.strip()
    m = _PERIOD.match(value)
    if not m or not 2000 <= int(m.group(1)) <= 2100:
        raise ValueError(f"{value!r} is not a month like 2026-10 (YYYY-MM)")
    return value


def is_period(value: str) -> bool:
    """True when ``value`` is a valid ``YYYY-MM`` period."""
    try:
        parse_period(value)
    except ValueError:
        return False
    return True


def period_of(day: dt.date) -> str:
    """The period a calendar day belongs to."""
    return f"{day.year:04d}-{day.month:02d}"


def period_at(now: dt.datetime, tz: zoneinfo.ZoneInfo | str) -> str:
    """The period of an aware instant in a timezone."""
    zone = zoneinfo.ZoneInfo(tz) if isinstance(tz, str) else tz
    return period_of(now.astimezone(zone).date())


def bounds(period: str) -> tuple[dt.date, dt.date]:
    """First and last day of a period."""
    year, month = int(period[:4]), int(period[5:7])
    return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])


def previous(period: str) -> str:
    """The period before ``period``."""
    year, month = int(period[:4]), int(period[5:7])
    return f"{year - 1:04d}-12" if month == 1 else f"{year:04d}-{month - 1:02d}"


def following(period: str) -> str:
    """The period after ``period``."""
    year, month = int(period[:4]), int(period[5:7])
    return f"{year + 1:04d}-01" if month == 12 else f"{year:04d}-{month + 1:02d}"


def last_weekday(period: str) -> dt.date:
    """The last Monday-to-Friday day of a period."""
    day = bounds(period)[1]
    while day.weekday() >= 5:
        day -= dt.timedelta(days=1)
    return day


def reply_deadline(period: str, tz: zoneinfo.ZoneInfo, until_day: int = 7) -> dt.datetime:
    """End (exclusive, aware) of the window in which replies count for ``period``.

    Replies are accepted until the end of day ``until_day`` of the next month, org time.
    """
    nxt = bounds(following(period))[0]
    end = dt.datetime.combine(nxt + dt.timedelta(days=until_day), dt.time(0), tzinfo=tz)
    return end


def days_elapsed(period: str, today: dt.date) -> int:
    """Days of ``period`` elapsed up to and including ``today`` (clamped to the month)."""
    first, last = bounds(period)
    if today < first:
        return 0
    return (min(today, last) - first).days + 1


def days_in(period: str) -> int:
    """Number of days in a period."""
    first, last = bounds(period)
    return (last - first).days + 1


def collecting_period(now: dt.datetime, tz: zoneinfo.ZoneInfo | str, reply_until_day: int = 7) -> str:
    """The period being collected at ``now``: the one every surface shows by default.

    Last month until the end of day ``reply_until_day`` (org time), while its replies still count;
    from then on, the current month. The same boundary as :func:`reply_deadline`.
    """
    zone = zoneinfo.ZoneInfo(tz) if isinstance(tz, str) else tz
    local = now.astimezone(zone).date()
    current = period_of(local)
    return previous(current) if local.day <= reply_until_day else current


def month_name(period: str) -> str:
    """``2026-11`` → ``November 2026``."""
    return f"{_MONTHS[int(period[5:7]) - 1]} {int(period[:4])}"


def last_reply_day(period: str, until_day: int = 7) -> dt.date:
    """The last day (org time) on which a reply still counts for ``period``: day ``until_day`` of the next month."""
    return bounds(following(period))[0] + dt.timedelta(days=until_day - 1)
