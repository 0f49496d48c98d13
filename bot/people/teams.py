"""Teams from the organisation config: members, managers, budgets, channels."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy import delete, func, select
from sqlmodel import Session

from bot.config import OrgConfig, TeamConfig
from bot.db import serialize
from bot.errors import NotFound
from bot.freshness import invalidate_all
from bot.models import AuditLog, Person, Team, TeamManager, TeamMember
from bot.people.store import ensure_person


@dataclass
class TeamImport:
    """What a teams import changed."""

    teams_created: int = 0
    teams_updated: int = 0
    members: int = 0
    people_created: int = 0


def import_teams(session: Session, teams: list[TeamConfig], *, actor: str = "cli") -> TeamImport:
    """Create or update the listed teams, replacing their members and managers.

    Teams not listed are left alone (their history stays). Members unknown so far are created
    as placeholders keyed by email or Slack id; ``people sync`` fills in the rest. Idempotent.
    """
    serialize(session, "teams")  # two processes applying the config at once would both insert members
    result = TeamImport()
    before = session.scalar(select(func.count()).select_from(Person)) or 0
    for tc in teams:
        team = session.scalars(select(Team).where(Team.name == tc.name)).first()
        if team is None:
            team = Team(name=tc.name)
            result.teams_created += 1
        else:
            result.teams_updated += 1
        team.channel = tc.channel
        team.monthly_budget_usd = tc.monthly_budget_usd
        session.add(team)
        session.flush()
        old_managers = set(session.scalars(select(TeamManager.ident).where(TeamManager.team_id == team.id)).all())
        session.execute(delete(TeamMember).where(TeamMember.team_id == team.id))  # type: ignore[arg-type]
        session.execute(delete(TeamManager).where(TeamManager.team_id == team.id))  # type: ignore[arg-type]
        seen: set[int] = set()
        for ident in tc.members:
            person = ensure_person(session, ident)
            assert person.id is not None
            if person.id not in seen:
                seen.add(person.id)
                session.add(TeamMember(team_id=team.id, person_id=person.id))
        result.members += len(seen)
        for ident in dict.fromkeys(tc.managers):
            session.add(TeamManager(team_id=team.id, ident=ident))
        if old_managers != set(tc.managers):
            session.add(
                AuditLog(
                    actor=actor,
                    action="managers_changed",
                    target_type="team",
                    target_id=str(team.id),
                    detail={
                        "team": team.name,
                        "before": sorted(old_managers),
                        "after": sorted(set(tc.managers)),
                    },
                )
            )
        session.flush()
    invalidate_all(session)  # membership changed: team roll-ups are recomputed on the next read
    after = session.scalar(select(func.count()).select_from(Person)) or 0
    result.people_created = after - before
    return result


def sync_from_config(session: Session, org: OrgConfig, *, actor: str = "config") -> TeamImport:
    """Apply the config's teams (used at start-up and on reload)."""
    return import_teams(session, org.teams, actor=actor)


def find_team(session: Session, name: str) -> Team | None:
    """A team by name, case-insensitively."""
    return session.scalars(select(Team).where(func.lower(Team.name) == name.strip().lower())).first()


def teams_of(session: Session, person_id: int) -> list[Team]:
    """Teams a person is a member of."""
    q = select(Team).join(TeamMember, TeamMember.team_id == Team.id).where(TeamMember.person_id == person_id)
    return list(session.scalars(q.order_by(Team.name)).all())


def member_ids(session: Session, team_id: int) -> list[int]:
    """Person ids of a team's members."""
    return list(session.scalars(select(TeamMember.person_id).where(TeamMember.team_id == team_id)).all())


@dataclass(frozen=True)
class TeamSummary:
    """One team as ``teams list`` shows it."""

    name: str
    members: int
    managers: list[str]
    channel: str | None
    monthly_budget_usd: float | None

    def as_json(self) -> dict[str, object]:
        """Plain data for ``--format json``: the fields, by their names."""
        return asdict(self)


def list_teams(session: Session) -> list[TeamSummary]:
    """Every team with its member count, managers, channel and budget, by name."""
    counts = dict(
        session.execute(select(TeamMember.team_id, func.count()).group_by(TeamMember.team_id)).tuples().all()
    )
    managers: dict[int, list[str]] = {}
    for team_id, ident in session.execute(select(TeamManager.team_id, TeamManager.ident).order_by(TeamManager.ident)):
        managers.setdefault(team_id, []).append(ident)
    return [
        TeamSummary(
            name=t.name,
            members=int(counts.get(t.id, 0)),
            managers=managers.get(t.id, []),
            channel=t.channel,
            monthly_budget_usd=t.monthly_budget_usd,
        )
        for t in session.scalars(select(Team).order_by(Team.name))
    ]


def remove_team(session: Session, name: str, *, actor: str) -> dict[str, object]:
    """Take a team off the board: its members, managers and open roll-ups go; history stays.

    What stays: every person with their usage and artifacts (they belong to people, not teams),
    the frozen boards of closed periods, and an audit entry with the team's whole definition
    (members, managers, channel, budget), enough to import it again.

    Raises:
        NotFound: when no team has that name (case-insensitive).
    """
    from bot.models import TeamPeriodTotal

    serialize(session, "teams")
    team = find_team(session, name)
    if team is None:
        raise NotFound(f"no team named {name!r}")
    members = session.execute(
        select(Person.email, Person.slack_user_id).join(TeamMember, TeamMember.person_id == Person.id)
        .where(TeamMember.team_id == team.id)
    ).all()
    detail: dict[str, object] = {
        "team": team.name,
        "members": sorted(email or slack_id or "?" for email, slack_id in members),
        "managers": sorted(session.scalars(select(TeamManager.ident).where(TeamManager.team_id == team.id)).all()),
        "channel": team.channel,
        "monthly_budget_usd": team.monthly_budget_usd,
    }
    for model in (TeamMember, TeamManager, TeamPeriodTotal):
        session.execute(delete(model).where(model.team_id == team.id))  # type: ignore[arg-type]
    session.add(AuditLog(actor=actor, action="team_removed", target_type="team", target_id=str(team.id), detail=detail))
    session.delete(team)
    session.flush()
    invalidate_all(session)  # the open periods' team boards are recomputed without it
    return detail
