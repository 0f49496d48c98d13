"""The managers' review queue: three days before a period's replies close, each manager gets one DM
listing their teams' unreviewed artifacts with Keep and Kill buttons; the DM is redrawn in place as
they review."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from bot.config import OrgConfig
from bot.db import session_scope
from bot.models import Artifact, ArtifactLink, Person, Team, TeamManager, TeamMember
from bot.periods import collecting_period, reply_deadline
from bot.slack import outbox
from bot.slack.blocks import review_queue_message

KIND = "review_queue"
DAYS_BEFORE_CLOSE = 3


@dataclass
class QueueItem:
    """One unreviewed artifact in a manager's queue."""

    artifact_id: int
    title: str
    author: str
    team: str
    links: list[str]
    status: str = "submitted"


def queue_period(org: OrgConfig, now: dt.datetime) -> str | None:
    """The period whose queue goes out now: the one being collected, in its last three days."""
    period = collecting_period(now, org.tz, org.checkin.reply_until_day)
    deadline = reply_deadline(period, org.tz, org.checkin.reply_until_day)
    return period if deadline - dt.timedelta(days=DAYS_BEFORE_CLOSE) <= now < deadline else None


def _manager_person(session: Session, ident: str) -> Person | None:
    if "@" in ident:
        return session.scalars(select(Person).where(func.lower(col(Person.email)) == ident.lower())).first()
    return session.scalars(select(Person).where(col(Person.slack_user_id) == ident)).first()


def managers(session: Session) -> dict[str, Person]:
    """Every manager who can be messaged, by Slack id."""
    out: dict[str, Person] = {}
    for ident in sorted(set(session.scalars(select(TeamManager.ident)).all())):
        p = _manager_person(session, ident)
        if p is not None and p.slack_user_id and p.is_active:
            out[p.slack_user_id] = p
    return out


def queue_of(session: Session, manager: Person, period: str) -> list[QueueItem]:
    """The unreviewed artifacts of ``period`` by members of the teams ``manager`` manages (not their own)."""
    idents = [i for i in (manager.slack_user_id, (manager.email or "").lower() or None) if i]
    team_ids = set(session.scalars(select(TeamManager.team_id).where(col(TeamManager.ident).in_(idents))).all())
    if not team_ids:
        return []
    rows = session.execute(
        select(Artifact.id, Artifact.title, Person.name, Team.name)
        .join(TeamMember, col(TeamMember.person_id) == col(Artifact.person_id))
        .join(Team, col(Team.id) == col(TeamMember.team_id))
        .join(Person, col(Person.id) == col(Artifact.person_id))
        .where(
            col(TeamMember.team_id).in_(team_ids),
            col(Artifact.period) == period,
            col(Artifact.status) == "submitted",
            col(Artifact.removed).is_(False),
            col(Artifact.person_id) != manager.id,
        )
        .order_by(Team.name, Person.name, Artifact.id)
    ).all()
    seen: set[int] = set()
    items = []
    for aid, title, author, team in rows:
        if aid in seen:  # a member of two of the manager's teams
            continue
        seen.add(aid)
        items.append(QueueItem(artifact_id=aid, title=title, author=author or "someone", team=team, links=[]))
    if items:
        links: dict[int, list[str]] = {}
        for aid, url in session.execute(
            select(ArtifactLink.artifact_id, ArtifactLink.url)
            .where(col(ArtifactLink.artifact_id).in_([i.artifact_id for i in items]))
            .order_by(col(ArtifactLink.position))
        ):
            links.setdefault(aid, []).append(url)
        for i in items:
            i.links = links.get(i.artifact_id, [])
    return items


def queue_for(*, engine: Engine, slack_user_id: str, period: str) -> list[QueueItem]:
    """The review queue of ``slack_user_id`` for ``period`` (empty for someone who manages no team)."""
    with session_scope(engine) as s:
        manager = _manager_person(s, slack_user_id)
        return queue_of(s, manager, period) if manager is not None else []


def manager_queue_message(
    *, engine: Engine, org: OrgConfig, manager_id: str, period: str, now: dt.datetime
) -> tuple[str, list[dict]] | None:
    """The queue DM of one manager as it stands now (None when they manage no team)."""
    with session_scope(engine) as s:
        manager = _manager_person(s, manager_id)
        if manager is None:
            return None
        items = queue_of(s, manager, period)
    deadline = reply_deadline(period, org.tz, org.checkin.reply_until_day) - dt.timedelta(days=1)
    return review_queue_message(period=period, items=items, closes=deadline.date())


def queue_items(engine: Engine, org: OrgConfig, period: str, now: dt.datetime) -> Iterator[outbox.OutboxItem]:
    """One DM per manager with anything to review in ``period`` (idempotent by manager and period)."""
    with session_scope(engine) as s:
        people = managers(s)
        queues = {sid: queue_of(s, p, period) for sid, p in people.items()}
    deadline = reply_deadline(period, org.tz, org.checkin.reply_until_day) - dt.timedelta(days=1)
    for sid, items in queues.items():
        if not items:
            continue
        text, blocks = review_queue_message(period=period, items=items, closes=deadline.date())
        yield outbox.OutboxItem(
            dedupe_key=f"{KIND}:{period}:{sid}", kind=KIND, channel=sid, text=text, blocks=blocks, period=period
        )


def enqueue_review_queues(
    engine: Engine, org: OrgConfig, now: dt.datetime, period: str | None = None
) -> tuple[str | None, int]:
    """Queue the managers' review DMs when their time has come (or for ``period`` when given)."""
    period = period or queue_period(org, now)
    if period is None:
        return None, 0
    return period, outbox.enqueue(engine, queue_items(engine, org, period, now), now=now)
