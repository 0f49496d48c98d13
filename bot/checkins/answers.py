"""A person's answers to their check-in that are not artifacts: *Nothing this month*."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.engine import Engine

from bot.artifacts.store import open_period
from bot.checkins.checkin import mark_skipped
from bot.config import OrgConfig
from bot.db import session_scope
from bot.errors import InputError
from bot.periods import is_period, period_at


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
        raise InputError(f"Answers for {chosen} are closed; you can answer for {open_now}. Nothing was changed.")
    mark_skipped(engine, person_id, chosen, now)
    return chosen
