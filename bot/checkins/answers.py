"""A person's answers to their check-in that are not artifacts: *Nothing this month*."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.engine import Engine

from bot.artifacts.store import open_period
from bot.checkins.checkin import mark_skipped
from bot.config import OrgConfig
from bot.db import session_scope
from bot.errors import InputError
from bot.periods import is_period, month_name, period_at


def skip_month(*, engine: Engine, org: OrgConfig, person_id: int, period: str | None, now: dt.datetime) -> str:
    """Record *Nothing this month* for ``period`` (the button's value) and return the period recorded.

    A missing or malformed period (an old button) means the person's open period. Only the period
    being collected (the open check-in's) or the current month can be answered: a forged value such
    as ``2099-12`` creates nothing.

    Raises:
        InputError: the button names a month that is not open for answers.
    """
    with session_scope(engine) as s:
        open_now = open_period(s, person_id, now, org)
    chosen = period if period and is_period(period) else open_now
    if chosen not in {open_now, period_at(now, org.tz)}:
        raise InputError(
            f"Answers for {month_name(chosen)} are closed; you can answer for {month_name(open_now)}. "
            "Nothing was changed."
        )
    mark_skipped(engine, person_id, chosen, now)
    return chosen


def snooze(*, engine: Engine, org: OrgConfig, person_id: int, period: str | None, now: dt.datetime) -> dt.datetime:
    """*Remind me tomorrow*: no reminder for this check-in before this time tomorrow. Returns that time.

    Raises:
        InputError: no check-in of that month to snooze.
    """
    from sqlalchemy import select

    from bot.models import Checkin

    until = now + dt.timedelta(days=1)
    with session_scope(engine) as s:
        chosen = period if period and is_period(period) else open_period(s, person_id, now, org)
        c = s.scalars(select(Checkin).where(Checkin.person_id == person_id, Checkin.period == chosen)).first()
        if c is None:
            raise InputError(f"There is no check-in for {chosen} to snooze.")
        c.snoozed_until = until.astimezone(dt.UTC).replace(tzinfo=None)
    return until


def away_until(*, engine: Engine, org: OrgConfig, person_id: int, day: str, now: dt.datetime) -> dt.date:
    """*I'm away until…*: no check-in or reminder through ``day`` (YYYY-MM-DD, org time). Returns it.

    Raises:
        InputError: not a date, in the past, or more than a year ahead.
    """
    from bot.models import Person

    try:
        until = dt.date.fromisoformat(day)
    except (TypeError, ValueError):
        raise InputError("That is not a date; pick one in the calendar.") from None
    today = now.astimezone(org.tz).date()
    if not today <= until <= today + dt.timedelta(days=366):
        raise InputError("Pick a day from today to a year ahead. Nothing was changed.")
    with session_scope(engine) as s:
        p = s.get(Person, person_id)
        if p is None:
            raise InputError("I do not know you yet.")
        p.away_until = until
    return until
