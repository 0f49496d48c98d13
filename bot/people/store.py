"""People: identity resolution, upserts from Slack, merges of email-only placeholders."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlmodel import Session

from bot.models import Artifact, Checkin, Note, Person, TeamMember, UsageRow, utcnow

log = logging.getLogger(__name__)


def is_slack_id(value: str) -> bool:
    """True for a Slack user id (U… or W…)."""
    return len(value) >= 3 and value[0] in "UW" and value[1:].isalnum() and value.upper() == value


@dataclass
class PersonIndex:
    """Email and Slack id → person id, loaded once for a bulk import."""

    by_email: dict[str, int]
    by_slack: dict[str, int]

    @classmethod
    def load(cls, session: Session) -> PersonIndex:
        by_email: dict[str, int] = {}
        by_slack: dict[str, int] = {}
        for pid, email, slack in session.execute(select(Person.id, Person.email, Person.slack_user_id)):
            if email:
                by_email[email.lower()] = pid
            if slack:
                by_slack[slack] = pid
        return cls(by_email, by_slack)

    def resolve(self, ident: str) -> int | None:
        ident = ident.strip()
        if "@" in ident:
            return self.by_email.get(ident.lower())
        return self.by_slack.get(ident)


def find_person(session: Session, ident: str) -> Person | None:
    """The person with this email or Slack user id."""
    ident = ident.strip()
    if "@" in ident:
        return session.scalars(select(Person).where(Person.email == ident.lower())).first()
    return session.scalars(select(Person).where(Person.slack_user_id == ident)).first()


def ensure_person(session: Session, ident: str, *, name: str | None = None) -> Person:
    """The person for an email or Slack id, created as a placeholder when unknown."""
    person = find_person(session, ident)
    if person is None:
        ident = ident.strip()
        if "@" in ident:
            person = Person(email=ident.lower(), name=name or ident.split("@")[0])
        else:
            person = Person(slack_user_id=ident, name=name or ident)
        session.add(person)
        session.flush()
    return person


def merge_people(session: Session, keep: Person, drop: Person) -> None:
    """Move everything of ``drop`` to ``keep`` and delete ``drop`` (same human seen twice)."""
    assert keep.id is not None and drop.id is not None
    from bot.freshness import invalidate_all, refresh_spend

    periods = set(session.scalars(select(UsageRow.period).where(UsageRow.person_id == drop.id).distinct()).all())
    periods |= set(session.scalars(select(Artifact.period).where(Artifact.person_id == drop.id).distinct()).all())
    # The same link logged by both for a period stays once (one live artifact per person, period and link).
    for art in session.scalars(
        select(Artifact).where(Artifact.person_id == drop.id, Artifact.removed.is_(False))  # type: ignore[attr-defined]
    ).all():
        clash = session.scalars(
            select(Artifact.id).where(
                Artifact.person_id == keep.id,
                Artifact.period == art.period,
                Artifact.primary_url == art.primary_url,
                Artifact.removed.is_(False),  # type: ignore[attr-defined]
            )
        ).first()
        if clash is not None:
            art.removed = True
    session.flush()
    for model in (UsageRow, Artifact, Note):
        session.execute(update(model).where(model.person_id == drop.id).values(person_id=keep.id))  # type: ignore[attr-defined]
    for checkin in session.scalars(select(Checkin).where(Checkin.person_id == drop.id)).all():
        clash = session.scalars(
            select(Checkin).where(Checkin.person_id == keep.id, Checkin.period == checkin.period)
        ).first()
        if clash is None:
            checkin.person_id = keep.id
        else:
            session.delete(checkin)
    for tm in session.scalars(select(TeamMember).where(TeamMember.person_id == drop.id)).all():
        exists = session.get(TeamMember, (tm.team_id, keep.id))
        session.delete(tm)
        if exists is None:
            session.flush()
            session.add(TeamMember(team_id=tm.team_id, person_id=keep.id))
    session.flush()
    refresh_spend(session, [(pid, p) for p in periods for pid in (keep.id, drop.id)])
    invalidate_all(session)  # team memberships moved too
    email = drop.email
    session.delete(drop)
    session.flush()
    if email and not keep.email:
        keep.email = email


@dataclass(frozen=True)
class SlackUser:
    """The parts of a Slack user object the bot keeps."""

    slack_user_id: str
    email: str | None
    name: str
    tz: str | None
    is_guest: bool = False
    status: str | None = None  # Slack status, emoji and text (":palm_tree: Vacation")
    updated: int | None = None  # the profile's "updated" (epoch seconds), when Slack gives it


def upsert_slack_user(session: Session, user: SlackUser) -> Person:
    """Create or update the person for a Slack user, merging an email-only placeholder."""
    email = user.email.lower() if user.email else None
    by_id = session.scalars(select(Person).where(Person.slack_user_id == user.slack_user_id)).first()
    by_email = session.scalars(select(Person).where(Person.email == email)).first() if email else None
    if by_id is not None and by_email is not None and by_id.id != by_email.id:
        merge_people(session, by_id, by_email)
        person = by_id
    else:
        person = by_id or by_email or Person()
    person.slack_user_id = user.slack_user_id
    if email:
        person.email = email
    person.name = user.name
    person.tz = user.tz
    person.is_guest = user.is_guest
    person.status_text = user.status
    if user.updated is not None:
        person.slack_updated = user.updated
    person.is_active = True
    person.updated_at = utcnow()
    session.add(person)
    session.flush()
    return person


def deactivate_missing(session: Session, seen_slack_ids: Iterable[str]) -> int:
    """Mark people with a Slack id not in ``seen_slack_ids`` inactive (history kept)."""
    seen = set(seen_slack_ids)
    count = 0
    rows = session.scalars(
        select(Person).where(Person.slack_user_id.is_not(None), Person.is_active.is_(True))  # type: ignore[union-attr, attr-defined]
    )
    for person in rows.all():
        if person.slack_user_id not in seen:
            person.is_active = False
            person.updated_at = utcnow()
            count += 1
    return count
