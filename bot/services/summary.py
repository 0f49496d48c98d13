"""Weekly summary: team board, new artifacts, spend against budget with a burn-rate forecast."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, text
from sqlmodel import Session

from bot.blocks import money, summary_message
from bot.charts import score_chart
from bot.config import OrgConfig, weights_of
from bot.models import Artifact, ArtifactLink, Checkin, Team, TeamMember
from bot.periods import bounds, days_elapsed, days_in, period_at
from bot.services.leaderboard import BoardRow, board


@dataclass
class Forecast:
    """Spend of a team this month against its budget."""

    team: str
    spend_usd: float
    budget_usd: float | None
    projected_usd: float
    runs_out_on: dt.date | None


@dataclass
class WeeklySummary:
    """What the weekly summary says, for one audience (the org or one team's channel)."""

    period: str
    rows: list[BoardRow]
    hidden: int
    new_artifacts: list[tuple[str, str, list[str]]]
    forecasts: list[Forecast]
    response_rate: float | None
    chart_png: bytes = b""
    extra: dict[str, Any] = field(default_factory=dict)

    def message(self, title: str) -> tuple[str, list[dict[str, Any]]]:
        lines = []
        for f in self.forecasts:
            if f.budget_usd:
                end = f" — budget runs out {f.runs_out_on.isoformat()}" if f.runs_out_on else ""
                lines.append(f"{f.team}: {money(f.spend_usd)} of {money(f.budget_usd)}, "
                             f"on pace for {money(f.projected_usd)}{end}")
        return summary_message(title=title, board_rows=self.rows, new_artifacts=self.new_artifacts,
                               budget_lines=lines, response_rate=self.response_rate, hidden=self.hidden)


def forecast(spend: float, budget: float | None, period: str, today: dt.date, team: str) -> Forecast:
    """Linear burn-rate forecast: the month's projected spend and the day the budget runs out."""
    elapsed = max(days_elapsed(period, today), 1)
    daily = spend / elapsed
    projected = daily * days_in(period)
    runs_out = None
    if budget and daily > 0:
        first, last = bounds(period)
        day_index = int(budget / daily)  # days of spend the budget covers
        candidate = first + dt.timedelta(days=max(day_index, 0))
        if candidate <= last:
            runs_out = max(candidate, today) if spend < budget else today
    return Forecast(team=team, spend_usd=spend, budget_usd=budget, projected_usd=projected, runs_out_on=runs_out)


def build_summary(session: Session, org: OrgConfig, now: dt.datetime, *, team_id: int | None = None) -> WeeklySummary:
    """The summary of the current month so far (teams below the minimum size are hidden)."""
    period = period_at(now, org.tz)
    today = now.astimezone(org.tz).date()
    rows = board(session, period, weights_of(org), by="team")
    visible = [r for r in rows if (r.members or 0) >= org.min_team_size]
    for i, r in enumerate(visible, 1):
        r.rank = i
    since = (now - dt.timedelta(days=7)).astimezone(dt.UTC).replace(tzinfo=None)
    q = (select(Team.name, Artifact.id, Artifact.title)
         .join(TeamMember, TeamMember.person_id == Artifact.person_id).join(Team, Team.id == TeamMember.team_id)
         .where(Artifact.created_at >= since, Artifact.removed.is_(False), Artifact.status != "killed")  # type: ignore[attr-defined]
         .order_by(Artifact.created_at.desc()).limit(30))  # type: ignore[attr-defined]
    if team_id is not None:
        q = q.where(Team.id == team_id)
    found = session.execute(q).all()
    links: dict[int, list[str]] = {}
    if found:
        for aid, url in session.execute(select(ArtifactLink.artifact_id, ArtifactLink.url).where(
                ArtifactLink.artifact_id.in_([a for _, a, _ in found])).order_by(ArtifactLink.position)):  # type: ignore[attr-defined]
            links.setdefault(aid, []).append(url)
    new = [(team, title, links.get(aid, [])) for team, aid, title in found]
    chosen = [r for r in visible if team_id is None or r.team_id == team_id]
    forecasts = [forecast(r.spend_usd, r.monthly_budget_usd, period, today, r.name) for r in chosen]
    cq = select(Checkin.status, func.count()).group_by(Checkin.status).where(
        Checkin.period == session.scalar(select(func.max(Checkin.period))))
    counts = {s: int(n) for s, n in session.execute(cq)}
    sent = sum(counts.get(s, 0) for s in ("sent", "answered", "skipped"))
    rate = (counts.get("answered", 0) + counts.get("skipped", 0)) / sent if sent else None
    chart = score_chart([r.name for r in visible], [r.artifacts_per_100_usd for r in visible],
                        [r.bar for r in visible], title=f"Artifacts per $100, {period}") if visible else b""
    return WeeklySummary(period=period, rows=visible, hidden=len(rows) - len(visible), new_artifacts=new,
                         forecasts=forecasts, response_rate=rate, chart_png=chart)


def ping_sql(session: Session) -> int:
    """Cheap query used by health checks of the summary tables."""
    return int(session.execute(text("SELECT 1")).scalar() or 0)
