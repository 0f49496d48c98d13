"""A person's answers to their check-in that are not artifacts: *Nothing this month*."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.engine import Engine

from bot.artifacts.store import open_period
from bot.checkins.checkin import mark_skipped
from bot.config import OrgConfig
from bot.db import session_scope
from bot.periods import is_period


def skip_month(*, engine: Engine, org: OrgConfig, person_id: int, period: str | None, now: dt.datetime) -> str:
    """Record *Nothing this month* for ``period`` (the button's value) and return the period recorded.

    A missing or malformed period (an old button, a forged value) means the person's open period.
    """
    chosen = period if period and is_period(period) else None
    if chosen is None:
        with session_scope(engine) as s:
            chosen = open_period(s, person_id, now, org)
    mark_skipped(engine, person_id, chosen, now)
    return chosen
