"""Who is away: a Slack status that says so (configurable words and emoji) or "I'm away until…" in the DM.

Away people get no check-in and no reminder; they show as "away" in the report and are left out of
the response rate; the check-in goes out when they are back, if the reply window is still open.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import and_, func, not_, or_
from sqlmodel import col

from bot.config import OrgConfig
from bot.models import Checkin, Person


def status_is_away(status: str | None, org: OrgConfig) -> bool:
    """Whether a Slack status (emoji and text) says the person is away."""
    text = (status or "").lower()
    return bool(text) and any(word.lower() in text for word in org.checkin.away_statuses if word)


def is_away(person: Person, org: OrgConfig, now: dt.datetime) -> bool:
    """Whether ``person`` is away at ``now`` (status, or a date they gave that has not passed, org time)."""
    today = now.astimezone(org.tz).date()
    return status_is_away(person.status_text, org) or (person.away_until is not None and person.away_until >= today)


def available(org: OrgConfig, now: dt.datetime) -> list[Any]:
    """SQL conditions on ``Person``: not away at ``now``."""
    today = now.astimezone(org.tz).date()
    status = func.lower(func.coalesce(col(Person.status_text), ""))
    words = [w.lower() for w in org.checkin.away_statuses if w]
    away_status = or_(*(status.contains(w, autoescape=True) for w in words)) if words else None
    conds: list[Any] = [or_(col(Person.away_until).is_(None), col(Person.away_until) < today)]
    if away_status is not None:
        conds.append(not_(away_status))
    return conds


def not_snoozed(now: dt.datetime) -> Any:
    """SQL condition on ``Checkin``: no "remind me tomorrow" in force at ``now``."""
    at = now.astimezone(dt.UTC).replace(tzinfo=None)
    return or_(col(Checkin.snoozed_until).is_(None), and_(col(Checkin.snoozed_until) <= at))
