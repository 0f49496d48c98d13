"""A manager's report for one team and period: scores, members, artifacts, waste, responses."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, text
from sqlmodel import Session, col

from bot.artifacts.flags import burst_people, carried_over, foreign_urls
from bot.artifacts.store import kill_reasons
from bot.boards.leaderboard import BoardRow, board, counted_artifact_values
from bot.config import OrgConfig, weights_of
from bot.errors import NotFound
from bot.models import Artifact, ArtifactLink, Checkin, Person, Team
from bot.people.teams import find_team
from bot.periods import bounds
from bot.scoring import KEPT, KILLED, SUBMITTED
from bot.spend.model_costs import ModelCost, premium_share, team_model_costs


@dataclass
class ReportArtifact:
    """An artifact as the report shows it."""

    id: int
    title: str
    kind: str
    status: str
    links: list[str]
    counted_value: float
    created_at: str
    flags: list[str] = field(default_factory=list)
    carried_over: str | None = None  # "first claimed by Ada in October 2026": counts 0 this period
    reviewed_by: str | None = None  # who kept or killed it (their name)
    kill_reason: str | None = None  # the reason given with the kill, if one was


@dataclass
class ReportMember:
    """A team member's line in the report."""

    person_id: int
    name: str
    slack_user_id: str | None
    email: str | None
    spend_usd: float
    tokens: int
    artifacts: float
    artifacts_per_100_usd: float
    checkin_status: str | None
    items: list[ReportArtifact] = field(default_factory=list)
    unpriced_rows: int = 0  # usage the price table could not price: not in spend_usd, never shown as $0
    unpriced_tokens: int = 0

    @property
    def unreviewed(self) -> int:
        """Claims waiting for a manager's keep or kill (the member's unreviewed queue)."""
        return sum(1 for a in self.items if a.status == SUBMITTED)


@dataclass
class TeamReport:
    """Everything ``/artifact-report`` and ``artifact-bot report`` show."""

    team: str
    team_id: int
    period: str
    row: BoardRow
    rank: int
    teams_ranked: int
    members: list[ReportMember]
    spent_without_artifact: list[str]
    response_rate: float | None
    checkins_sent: int
    checkins_answered: int
    models: list[ModelCost] = field(default_factory=list)
    team_level_usd: float = 0.0  # usage of no person assigned to the team (in row.spend_usd, no member's)
    team_level_rows: int = 0

    @property
    def team_level_line(self) -> str | None:
        """"team-level spend $X (N rows)", or None when the team has none."""
        if not self.team_level_rows:
            return None
        rows = f"{self.team_level_rows:,} row{'s' if self.team_level_rows != 1 else ''}"
        return f"team-level spend ${self.team_level_usd:,.2f} ({rows}): assigned to the team, not to a member"

    @property
    def unpriced_rows(self) -> int:
        """The team's usage rows that the price table could not price (not in its spend)."""
        return self.row.unpriced_rows or 0

    @property
    def unpriced_tokens(self) -> int:
        return self.row.unpriced_tokens or 0

    @property
    def unreviewed_queue(self) -> list[tuple[str, int]]:
        """Members with claims waiting for review, largest queue first (beyond the cap they count 0)."""
        queue = [(m.name, m.unreviewed) for m in self.members if m.unreviewed]
        return sorted(queue, key=lambda q: (-q[1], q[0]))

    def as_json(self) -> dict[str, Any]:
        """Machine output of ``report --format json``."""
        return {
            "team": self.team,
            "period": self.period,
            "rank": self.rank,
            "teams_ranked": self.teams_ranked,
            "artifacts": round(self.row.artifacts, 6),
            "spend_usd": round(self.row.spend_usd, 6),
            "unpriced_rows": self.unpriced_rows,
            "unpriced_tokens": self.unpriced_tokens,
            "artifacts_per_100_usd": round(self.row.artifacts_per_100_usd, 6),
            "unmatched_spend_usd": round(self.row.unmatched_spend_usd, 6),
            "team_level_spend_usd": round(self.team_level_usd, 6),
            "team_level_rows": self.team_level_rows,
            "bar": None if self.row.bar is None else round(self.row.bar, 6),
            "cleared_bar": self.row.cleared_bar,
            "monthly_budget_usd": self.row.monthly_budget_usd,
            "response_rate": self.response_rate,
            "spent_without_artifact": self.spent_without_artifact,
            "unreviewed_queue": [{"name": n, "unreviewed": k} for n, k in self.unreviewed_queue],
            "models": [m.as_json() for m in self.models],
            "premium_share": round(premium_share(self.models), 4),
            "members": [
                {
                    "name": m.name,
                    "slack_user_id": m.slack_user_id,
                    "email": m.email,
                    "spend_usd": round(m.spend_usd, 6),
                    "unpriced_rows": m.unpriced_rows,
                    "unpriced_tokens": m.unpriced_tokens,
                    "tokens": m.tokens,
                    "artifacts": round(m.artifacts, 6),
                    "artifacts_per_100_usd": round(m.artifacts_per_100_usd, 6),
                    "checkin": m.checkin_status,
                    "unreviewed": m.unreviewed,
                    "items": [a.__dict__ for a in m.items],
                }
                for m in self.members
            ],
        }


def team_report(session: Session, *, team_name: str, period: str, org: OrgConfig) -> TeamReport:
    """Build the report of one team.

    Raises:
        NotFound: no team of that name.
    """
    team = find_team(session, team_name)
    if team is None:
        names = ", ".join(session.scalars(select(Team.name).order_by(Team.name)).all()) or "none yet"
        raise NotFound(f"No team named {team_name!r}. Teams: {names}.")
    return report_for_team(session, team=team, period=period, org=org)


def report_for_team(
    session: Session, *, team: Team, period: str, org: OrgConfig, now: dt.datetime | None = None
) -> TeamReport:
    """Build the report of a team object."""
    w = weights_of(org)
    teams = board(session, period, w, by="team")
    row = next(r for r in teams if r.team_id == team.id)
    people = board(session, period, w, by="person", team_id=team.id, with_bar=False)
    person_ids = [r.person_id for r in people if r.person_id is not None]
    counted = counted_artifact_values(session, period, w, person_ids)
    # Plain columns, not ORM objects: a team's report lists hundreds of artifacts.
    arts = (
        session.execute(
            select(
                Artifact.id,
                Artifact.person_id,
                Artifact.title,
                Artifact.kind,
                Artifact.status,
                Artifact.primary_url,
                Artifact.created_at,
                Artifact.reviewed_by,
            )
            .where(
                Artifact.period == period,
                Artifact.removed.is_(False),  # type: ignore[attr-defined]
                Artifact.person_id.in_(person_ids),
            )  # type: ignore[attr-defined]
            .order_by(Artifact.person_id, Artifact.created_at)
        ).all()
        if person_ids
        else []
    )
    links = _link_urls(session, [a.id for a in arts if a.id is not None])
    reviewers = {a.reviewed_by for a in arts if a.reviewed_by and a.status in (KEPT, KILLED)}
    reviewer_names = (
        dict(
            session.execute(
                select(Person.slack_user_id, Person.name).where(col(Person.slack_user_id).in_(reviewers))
            ).all()
        )
        if reviewers
        else {}
    )
    reasons = kill_reasons(session, [a.id for a in arts if a.status == KILLED and a.id is not None])
    checkins = (
        dict(
            session.execute(
                select(Checkin.person_id, Checkin.status).where(
                    Checkin.period == period, Checkin.person_id.in_(person_ids)
                )  # type: ignore[attr-defined]
            ).all()
        )
        if person_ids
        else {}
    )
    if now is not None and person_ids:
        # Away now (Slack status, or "I'm away until…") and not answered: "away", out of the response rate.
        from bot.people.away import is_away

        for p in session.scalars(select(Person).where(Person.id.in_(person_ids))):  # type: ignore[union-attr]
            if p.id is not None and checkins.get(p.id) in (None, "pending", "sent") and is_away(p, org, now):
                checkins[p.id] = "away"
    members: dict[int, ReportMember] = {}
    for r in people:
        assert r.person_id is not None
        members[r.person_id] = ReportMember(
            person_id=r.person_id,
            name=r.name,
            slack_user_id=r.slack_user_id,
            email=r.email,
            spend_usd=r.spend_usd,
            tokens=r.tokens,
            artifacts=r.artifacts,
            artifacts_per_100_usd=r.artifacts_per_100_usd,
            checkin_status=checkins.get(r.person_id),
            unpriced_rows=r.unpriced_rows,
            unpriced_tokens=r.unpriced_tokens,
        )
    foreign = foreign_urls(session, period, person_ids, sorted({a.primary_url for a in arts}))
    carried = carried_over(session, period, {a.primary_url for a in arts}, w)
    bursts = burst_people(
        session, period, person_ids, tz=org.tz, hours=org.burst_window_hours, minimum=org.burst_min_artifacts
    )
    burst_start = _burst_start(period, org)
    for a in arts:
        assert a.id is not None
        value = counted.get(a.person_id, {}).get(a.primary_url, 0.0)
        flags = []
        first = carried.get(a.primary_url)
        if first is not None:
            flags.append(f"carried over: {first.label()}")
        if a.primary_url in foreign:
            flags.append("also claimed by another team")
        if a.person_id in bursts and a.created_at >= burst_start:
            flags.append(f"one of {bursts[a.person_id]} logged in the last {org.burst_window_hours}h of the period")
        members[a.person_id].items.append(
            ReportArtifact(
                id=a.id,
                title=a.title,
                kind=a.kind,
                status=a.status,
                links=links.get(a.id, []),
                counted_value=value,
                created_at=a.created_at.isoformat(timespec="minutes"),
                flags=flags,
                carried_over=first.label() if first is not None else None,
                reviewed_by=reviewer_names.get(a.reviewed_by) if a.status in (KEPT, KILLED) else None,
                kill_reason=reasons.get(a.id),
            )
        )
    sent = sum(1 for s in checkins.values() if s in ("sent", "answered", "skipped"))
    answered = sum(1 for s in checkins.values() if s in ("answered", "skipped"))
    ordered = sorted(members.values(), key=lambda m: (-m.artifacts_per_100_usd, -m.artifacts, m.spend_usd, m.name))
    return TeamReport(
        team=team.name,
        team_id=team.id or 0,
        period=period,
        row=row,
        rank=row.rank,
        teams_ranked=len(teams),
        members=ordered,
        spent_without_artifact=[m.name for m in ordered if m.spend_usd > 0 and m.artifacts == 0],
        response_rate=(answered / sent) if sent else None,
        checkins_sent=sent,
        checkins_answered=answered,
        models=team_model_costs(session, team.id or 0, period, row.artifacts),
        **_team_level(session, team.id or 0, period),
    )


def _team_level(session: Session, team_id: int, period: str) -> dict[str, Any]:
    """The team's team-level spend and rows in ``period`` (its roll-up, current after ``board``)."""
    found = session.execute(
        text("SELECT cost_usd, usage_rows FROM team_level_total WHERE team_id = :t AND period = :p"),
        {"t": team_id, "p": period},
    ).first()
    return {"team_level_usd": float(found[0]), "team_level_rows": int(found[1])} if found else {}


def _link_urls(session: Session, artifact_ids: list[int]) -> dict[int, list[str]]:
    """Link URLs per artifact, in order (``links_of`` without building ORM objects)."""
    out: dict[int, list[str]] = {}
    for i in range(0, len(artifact_ids), 500):
        q = (
            select(ArtifactLink.artifact_id, ArtifactLink.url)
            .where(ArtifactLink.artifact_id.in_(artifact_ids[i : i + 500]))  # type: ignore[attr-defined]
            .order_by(ArtifactLink.artifact_id, ArtifactLink.position)
        )
        for aid, url in session.execute(q).all():
            out.setdefault(aid, []).append(url)
    return out


def _burst_start(period: str, org: OrgConfig) -> dt.datetime:
    end = dt.datetime.combine(bounds(period)[1] + dt.timedelta(days=1), dt.time(0), tzinfo=org.tz)
    return (end - dt.timedelta(hours=org.burst_window_hours)).astimezone(dt.UTC).replace(tzinfo=None)


def report_csv(report: TeamReport) -> str:
    """The report as CSV: one line per artifact, and one per member without any."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(
        [
            "period",
            "team",
            "member",
            "email",
            "spend_usd",
            "member_artifacts",
            "member_artifacts_per_100_usd",
            "artifact_id",
            "title",
            "kind",
            "status",
            "counted_value",
            "links",
            "flags",
            "member_unreviewed",
            "member_unpriced_rows",
            "member_unpriced_tokens",
        ]
    )
    for m in report.members:
        base = [
            report.period,
            report.team,
            m.name,
            m.email or "",
            f"{m.spend_usd:.2f}",
            f"{m.artifacts:g}",
            f"{m.artifacts_per_100_usd:.4f}",
        ]
        if not m.items:
            w.writerow(_safe_row([*base, "", "", "", "", "", "", "", m.unreviewed, m.unpriced_rows, m.unpriced_tokens]))
        for a in m.items:
            w.writerow(
                _safe_row([
                    *base,
                    a.id,
                    a.title,
                    a.kind,
                    a.status,
                    f"{a.counted_value:g}",
                    " ".join(a.links),
                    "; ".join(a.flags),
                    m.unreviewed,
                    m.unpriced_rows,
                    m.unpriced_tokens,
                ])
            )
    if report.team_level_line:  # spend of the team that is no member's: one line of its own
        w.writerow(
            _safe_row(
                [report.period, report.team, "(team-level spend)", "", f"{report.team_level_usd:.2f}", "", "",
                 "", report.team_level_line, "", "", "", "", "", "", "", ""]
            )
        )
    return out.getvalue()


def _safe_row(cells: list[Any]) -> list[Any]:
    """Every text cell neutralised against spreadsheet formulas (a Slack real name, a title, a link)."""
    from bot.artifacts.transfer import csv_safe

    return [csv_safe(c) if isinstance(c, str) else c for c in cells]


def record_export(*, engine: Any, actor: str, report: TeamReport, fmt: str, now: dt.datetime) -> None:
    """Audit an export of a whole team's report (who took it, which team and month, in what format)."""
    from bot.db import session_scope
    from bot.models import AuditLog

    with session_scope(engine) as s:
        s.add(
            AuditLog(
                at=now.astimezone(dt.UTC).replace(tzinfo=None),
                actor=actor[:64],
                action="report_exported",
                target_type="team",
                target_id=report.team[:64],
                detail={"period": report.period, "format": fmt, "members": len(report.members)},
            )
        )
