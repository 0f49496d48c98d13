"""Anti-gaming signals beyond the formula's caps and de-duplication, and who first claimed a carried-over link."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import Session, col

from bot.artifacts.links import escape_mrkdwn
from bot.models import Artifact, AuditLog, Person, Team, TeamManager, TeamMember
from bot.periods import bounds
from bot.scoring import Weights

log = logging.getLogger(__name__)


@dataclass
class CrossTeamClaim:
    """The same link claimed for the same period by people of teams that share nobody."""

    url: str
    period: str
    teams: list[str]
    managers: list[str]
    new: bool


def _teams_of(session: Session, person_id: int) -> set[int]:
    return set(session.scalars(select(TeamMember.team_id).where(TeamMember.person_id == person_id)).all())


def cross_team_claim(session: Session, artifact: Artifact, *, actor: str = "bot") -> CrossTeamClaim | None:
    """Whether another team's member claimed this artifact's link in the same period; recorded once per link."""
    others = session.scalars(
        select(Artifact).where(
            col(Artifact.period) == artifact.period,
            col(Artifact.primary_url) == artifact.primary_url,
            col(Artifact.person_id) != artifact.person_id,
            col(Artifact.removed).is_(False),
        )
    ).all()
    if not others:
        return None
    mine = _teams_of(session, artifact.person_id)
    team_ids = set(mine)
    foreign = False
    for other in others:
        theirs = _teams_of(session, other.person_id)
        if not (theirs & mine):
            foreign = True
            team_ids |= theirs
    if not foreign or not team_ids:
        return None
    names = sorted(session.scalars(select(Team.name).where(col(Team.id).in_(team_ids))).all())
    managers = sorted(set(session.scalars(select(TeamManager.ident).where(col(TeamManager.team_id).in_(team_ids)))))
    key = f"{artifact.period}:{artifact.primary_url}"[:64]
    seen = session.scalars(
        select(AuditLog).where(col(AuditLog.action) == "cross_team_claim", col(AuditLog.target_id) == key)
    ).first()
    if seen is None:
        session.add(
            AuditLog(
                actor=actor,
                action="cross_team_claim",
                target_type="link",
                target_id=key,
                detail={"url": artifact.primary_url, "teams": names, "period": artifact.period},
            )
        )
    return CrossTeamClaim(
        url=artifact.primary_url, period=artifact.period, teams=names, managers=managers, new=seen is None
    )


def claim_message(claim: CrossTeamClaim) -> str:
    """The note each manager gets."""
    teams = ", ".join(escape_mrkdwn(t) for t in claim.teams)
    return (
        f":warning: The same link was logged as an artifact for {claim.period} by people in different teams "
        f"({teams}): {escape_mrkdwn(claim.url)}. Check who built it before you keep it."
    )


def foreign_urls(session: Session, period: str, member_ids: list[int], urls: list[str]) -> set[str]:
    """Of ``urls``, those also claimed in ``period`` by someone outside ``member_ids``."""
    if not urls or not member_ids:
        return set()
    q = select(Artifact.primary_url).where(
        col(Artifact.period) == period,
        col(Artifact.removed).is_(False),
        col(Artifact.primary_url).in_(urls),
        col(Artifact.person_id).not_in(member_ids),
    )
    return set(session.scalars(q.distinct()).all())


def burst_people(
    session: Session, period: str, member_ids: list[int], *, tz: dt.tzinfo, hours: int, minimum: int
) -> dict[int, int]:
    """Members who logged at least ``minimum`` artifacts in the last ``hours`` of the period (person → count)."""
    if not member_ids:
        return {}
    end = dt.datetime.combine(bounds(period)[1] + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
    start = end - dt.timedelta(hours=hours)
    to_utc = lambda d: d.astimezone(dt.UTC).replace(tzinfo=None)  # noqa: E731
    counts: dict[int, int] = {}
    for pid in session.scalars(
        select(Artifact.person_id).where(
            col(Artifact.period) == period,
            col(Artifact.person_id).in_(member_ids),
            col(Artifact.created_at) >= to_utc(start),
            col(Artifact.created_at) < to_utc(end),
        )
    ):
        counts[pid] = counts.get(pid, 0) + 1
    return {pid: n for pid, n in counts.items() if n >= minimum}


def slack_ids(managers: list[str], session: Session) -> list[str]:
    """Managers as Slack user ids (emails resolved through people)."""
    out = []
    for m in managers:
        if "@" in m:
            p = session.scalars(select(Person).where(col(Person.email) == m.lower())).first()
            if p is not None and p.slack_user_id:
                out.append(p.slack_user_id)
        else:
            out.append(m)
    return sorted(set(out))


@dataclass(frozen=True)
class CarriedOver:
    """Who first claimed a link, and in which earlier period: later claims of it count 0."""

    url: str
    period: str
    person_id: int
    name: str

    def label(self) -> str:
        """``first claimed by Ada in October 2026``."""
        month = dt.date(int(self.period[:4]), int(self.period[5:7]), 1).strftime("%B %Y")
        return f"first claimed by {self.name} in {month}"


def carried_over(session: Session, period: str, urls: Iterable[str], w: Weights) -> dict[str, CarriedOver]:
    """Of these canonical URLs, those claimed with a value in a period before ``period`` (by anyone), with
    the first claim: the same rule as the scoring's carry-over."""
    wanted = sorted(set(urls))
    out: dict[str, CarriedOver] = {}
    for i in range(0, len(wanted), 500):
        rows = session.execute(
            select(
                col(Artifact.primary_url),
                col(Artifact.period),
                col(Artifact.kind),
                col(Artifact.status),
                col(Artifact.person_id),
                col(Person.name),
                col(Person.email),
            )
            .join(Person, col(Person.id) == col(Artifact.person_id))
            .where(
                col(Artifact.primary_url).in_(wanted[i : i + 500]),
                col(Artifact.period) < period,
                col(Artifact.removed).is_(False),
            )
            .order_by(col(Artifact.period), col(Artifact.created_at), col(Artifact.id))
        ).all()
        for url, first_period, kind, status, pid, name, email in rows:
            if url not in out and w.value(kind, status) > 0:
                out[url] = CarriedOver(url=url, period=first_period, person_id=pid, name=name or email or "someone")
    return out
