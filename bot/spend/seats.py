"""Seat licences from config ``seats:``: one spend row per holder per month, and included usage.

A seat ``{tool: cursor, usd_per_month: 40, members: [...] or all, usage: billed|included}``
adds, for every month a usage sync touches, one usage row per holder dated the month's first
day: source ``seats``, provider = the tool, model ``seat``, cost = the monthly price. So a
$200-a-month seat counts whether or not its tokens are visible.

``usage: included`` means the price covers the tool's usage: the usage rows of the source
named like the tool (``cursor``, ``claude_code``, ``copilot``) are then stored for those people
with cost 0, and their priced value is kept as the signal ``included_usage_usd`` (shown, not
added to spend), so nothing is paid twice. ``billed`` (the default, and any tool without a
seat) leaves the usage cost as spend.

Holders: ``all`` is every active person; otherwise team names (their members), emails or
Slack ids. A name that matches nobody is logged and skipped.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from sqlalchemy import func, select
from sqlmodel import Session, col

from bot.config import OrgConfig, SeatConfig
from bot.models import Person, Team, TeamMember
from bot.people.store import find_person
from bot.periods import period_of
from bot.spend.usage import UsageRecord

log = logging.getLogger(__name__)

SOURCE = "seats"
MODEL = "seat"
INCLUDED_METRIC = "included_usage_usd"


def month_span(period: str) -> tuple[dt.date, dt.date]:
    """First and last day of ``YYYY-MM``."""
    year, month = int(period[:4]), int(period[5:7])
    first = dt.date(year, month, 1)
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return first, following - dt.timedelta(days=1)


def periods_between(first: dt.date, last: dt.date) -> list[str]:
    """Every ``YYYY-MM`` from ``first``'s month to ``last``'s."""
    out, day = [], first.replace(day=1)
    while day <= last:
        out.append(period_of(day))
        day = month_span(period_of(day))[1] + dt.timedelta(days=1)
    return out


def holders(session: Session, seat: SeatConfig) -> dict[int, str]:
    """Person id → identity (email, else Slack id) of a seat's holders."""
    people: list[Person] = []
    if seat.members == "all":
        people = list(session.scalars(select(Person).where(col(Person.is_active).is_(True))))
    else:
        for name in seat.members:
            team = session.scalars(select(Team).where(func.lower(Team.name) == name.strip().lower())).first()
            if team is not None:
                ids = select(TeamMember.person_id).where(TeamMember.team_id == team.id)
                people.extend(session.scalars(select(Person).where(col(Person.id).in_(ids))))
                continue
            person = find_person(session, name.strip())
            if person is None:
                log.warning("seats %s: %r is neither a team nor a known person; skipped", seat.tool, name)
                continue
            people.append(person)
    return {p.id: (p.email or p.slack_user_id or f"person:{p.id}") for p in people if p.id is not None}


def seat_records(session: Session, org: OrgConfig, period: str) -> list[UsageRecord]:
    """The seat rows of ``period``: one per holder and tool (two seats of a tool count once)."""
    day = month_span(period)[0]
    rows: dict[tuple[str, int], UsageRecord] = {}
    for seat in org.seats:
        for pid, identity in holders(session, seat).items():
            rows.setdefault(
                (seat.tool, pid),
                UsageRecord(
                    date=day,
                    identity=identity[:320],
                    provider=seat.tool,
                    model=MODEL,
                    requests=0,
                    cost_usd=float(seat.usd_per_month),
                    person_id=pid,
                ),
            )
    return list(rows.values())


def included_holders(session: Session, org: OrgConfig, tools: Iterable[str]) -> dict[str, set[int]]:
    """Tool → person ids whose seat of that tool includes its usage."""
    wanted = set(tools)
    out: dict[str, set[int]] = {}
    for seat in org.seats:
        if seat.usage == "included" and seat.tool in wanted:
            out.setdefault(seat.tool, set()).update(holders(session, seat))
    return out
