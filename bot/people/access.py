"""Who may see and change what. Roles come from the config and the teams' managers."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import Session

from bot.config import OrgConfig
from bot.models import Person, Team, TeamManager, TeamMember


@dataclass(frozen=True)
class Viewer:
    """The person making a request and their roles."""

    slack_user_id: str
    email: str | None
    is_admin: bool
    managed_team_ids: frozenset[int]


def viewer(session: Session, org: OrgConfig, slack_user_id: str) -> Viewer:
    """Roles of a Slack user: admin from the config, manager of the teams that list them."""
    person = session.scalars(select(Person).where(Person.slack_user_id == slack_user_id)).first()
    email = person.email if person else None
    idents = [slack_user_id] + ([email] if email else [])
    managed = frozenset(session.scalars(select(TeamManager.team_id).where(TeamManager.ident.in_(idents))).all())  # type: ignore[attr-defined]
    admin = slack_user_id in org.admins or (email is not None and email in [a.lower() for a in org.admins])
    return Viewer(slack_user_id=slack_user_id, email=email, is_admin=admin, managed_team_ids=managed)


def can_see_team(v: Viewer, team: Team) -> bool:
    """Admins and the team's managers see its people's spend."""
    return v.is_admin or (team.id is not None and team.id in v.managed_team_ids)


def can_review_person(session: Session, v: Viewer, person_id: int) -> bool:
    """Admins, and managers of a team the person belongs to, may keep or kill their artifacts."""
    if v.is_admin:
        return True
    if not v.managed_team_ids:
        return False
    teams = set(session.scalars(select(TeamMember.team_id).where(TeamMember.person_id == person_id)).all())
    return bool(teams & v.managed_team_ids)
