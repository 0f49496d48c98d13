"""Weekly summary: team board, new artifacts, spend against budget with a burn-rate forecast."""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.artifacts.links import escape_mrkdwn
from bot.boards.leaderboard import BoardRow, board
from bot.config import OrgConfig, weights_of
from bot.db import session_scope
from bot.models import Artifact, ArtifactLink, Checkin, Person, Team, TeamManager, TeamMember, UsageRow
from bot.periods import bounds, collecting_period, days_elapsed, days_in, month_name, period_of
from bot.slack import outbox
from bot.slack.blocks import model_cost_text, money, summary_details, summary_headline
from bot.spend.model_costs import model_costs

log = logging.getLogger(__name__)


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
    new_artifacts: list[tuple[str, str, list[str], str]]  # (teams, title, links, people): one per canonical link
    forecasts: list[Forecast]
    response_rate: float | None
    chart_png: bytes = b""
    extra: dict[str, Any] = field(default_factory=dict)
    spend_usd: float | None = None  # the month's spend of the audience (every team, or the one team)

    def budget_lines(self) -> list[str]:
        """Each team's spend against its budget, and the spend by model."""
        lines = []
        for f in self.forecasts:
            if f.budget_usd:
                end = f" — budget runs out {f.runs_out_on.isoformat()}" if f.runs_out_on else ""
                lines.append(
                    f"{f.team}: {money(f.spend_usd)} of {money(f.budget_usd)}, "
                    f"on pace for {money(f.projected_usd)}{end}"
                )
        models = self.extra.get("models") or []
        if models:
            parts = [model_cost_text(m) for m in models[:5]]  # an unknown model: "unpriced (N rows, T tokens)"
            premium = sum(m.share for m in models if m.premium)
            lines.append("Spend by model: " + "; ".join(parts) + f". Premium models: {premium:.0%} of spend.")
        return lines

    def headline(self, title: str) -> tuple[str, list[dict[str, Any]]]:
        """The short top-level post."""
        return summary_headline(
            title=title,
            period=self.period,
            board_rows=self.rows,
            new_count=len(self.new_artifacts),
            response_rate=self.response_rate,
            spend_usd=self.spend_usd,
        )

    def details(self) -> tuple[str, list[dict[str, Any]]]:
        """The thread reply under the headline: the whole board, new artifacts, budgets."""
        return summary_details(
            period=self.period,
            board_rows=self.rows,
            new_artifacts=self.new_artifacts,
            budget_lines=self.budget_lines(),
            response_rate=self.response_rate,
            hidden=self.hidden,
        )


def forecast(spend: float, budget: float | None, period: str, today: dt.date, team: str) -> Forecast:
    """Linear burn-rate forecast: the month's projected spend and the day the budget runs out.

    The pace is over the month's complete days (before ``today``, whose usage is still coming in).
    """
    elapsed = max(days_elapsed(period, today - dt.timedelta(days=1)), 1)
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


def build_summary(
    session: Session, org: OrgConfig, now: dt.datetime, *, team_id: int | None = None, chart: bool = True
) -> WeeklySummary:
    """The summary of the current month so far (teams below the minimum size are hidden)."""
    period = collecting_period(now, org.tz, org.checkin.reply_until_day)
    today = now.astimezone(org.tz).date()
    rows = board(session, period, weights_of(org), by="team")
    visible = [r for r in rows if (r.members or 0) >= org.min_team_size]
    for i, r in enumerate(visible, 1):
        r.rank = i
    since = (now - dt.timedelta(days=7)).astimezone(dt.UTC).replace(tzinfo=None)
    q = (
        select(Team.name, Artifact.id, Artifact.title, Artifact.primary_url, Person.name)
        .join(TeamMember, TeamMember.person_id == Artifact.person_id)
        .join(Team, Team.id == TeamMember.team_id)
        .join(Person, Person.id == Artifact.person_id)
        .where(Artifact.created_at >= since, Artifact.removed.is_(False), Artifact.status != "killed")  # type: ignore[attr-defined]
        .order_by(Artifact.created_at.desc(), Artifact.id)  # ties in a fixed order on every database
        .limit(NEW_ARTIFACTS_READ)
    )  # type: ignore[attr-defined]
    if team_id is not None:
        q = q.where(Team.id == team_id)
    # One line per canonical link, newest first, with everyone who logged it (a shared artifact, or
    # a member of two teams, is one line, not several).
    lines: dict[str, dict[str, Any]] = {}
    for team, aid, title, url, who in session.execute(q).all():
        line = lines.setdefault(url or f"id:{aid}", {"id": aid, "title": title, "teams": [], "people": []})
        for key, value in (("teams", team), ("people", who or "someone")):
            if value not in line[key]:
                line[key].append(value)
    links: dict[int, list[str]] = {}
    if lines:
        for aid, link_url in session.execute(
            select(ArtifactLink.artifact_id, ArtifactLink.url)
            .where(ArtifactLink.artifact_id.in_([v["id"] for v in lines.values()]))
            .order_by(ArtifactLink.position)
        ):  # type: ignore[attr-defined]
            links.setdefault(aid, []).append(link_url)
    # A link several people logged first (the team's shared work), then newest first as read.
    ordered = sorted(lines.values(), key=lambda v: -len(v["people"]))
    new = [(", ".join(v["teams"]), v["title"], links.get(v["id"], []), ", ".join(v["people"])) for v in ordered]
    chosen = [r for r in visible if team_id is None or r.team_id == team_id]
    forecasts = [forecast(r.spend_usd, r.monthly_budget_usd, period, today, r.name) for r in chosen]
    cq = (
        select(Checkin.status, func.count())
        .group_by(Checkin.status)
        .where(Checkin.period == session.scalar(select(func.max(Checkin.period))))
    )
    counts = {s: int(n) for s, n in session.execute(cq)}
    sent = sum(counts.get(s, 0) for s in ("sent", "answered", "skipped"))
    rate = (counts.get("answered", 0) + counts.get("skipped", 0)) / sent if sent else None
    png = b""
    if visible and chart:
        from bot.boards.charts import score_chart  # matplotlib: loaded only when a chart is drawn

        png = score_chart(
            [r.name for r in visible],
            [r.artifacts_per_100_usd for r in visible],
            [r.bar for r in visible],
            title=f"Artifacts per $100, {month_name(period)}",
        )
    return WeeklySummary(
        period=period,
        rows=visible,
        hidden=len(rows) - len(visible),
        new_artifacts=new,
        forecasts=forecasts,
        response_rate=rate,
        chart_png=png,
        spend_usd=sum(r.spend_usd for r in (rows if team_id is None else chosen)),
        extra={"models": model_costs(session, period, sum(r.artifacts for r in chosen), team_id=team_id)},
    )


def week_start(now: dt.datetime, tz: Any) -> dt.date:
    """The Monday of the week of ``now`` in ``tz``."""
    today = now.astimezone(tz).date()
    return today - dt.timedelta(days=today.weekday())


def week_key(now: dt.datetime, tz: Any) -> str:
    """ISO week of ``now`` in org time, e.g. ``2026-W48`` (the weekly summary's idempotency key)."""
    year, week, _ = now.astimezone(tz).isocalendar()
    return f"{year}-W{week:02d}"


# --------------------------------------------------------------------------- spend anomalies


@dataclass
class AnomalyRule:
    """A day is anomalous at ``ratio`` times the trailing daily average and ``min_jump_usd`` above it.

    The baseline is the average over the ``baseline_days`` before the week looked at, zero days
    included, and needs spend on at least ``min_active_days`` of them (no history, no baseline).
    """

    days: int = 7
    baseline_days: int = 28
    ratio: float = 3.0
    min_jump_usd: float = 25.0
    min_active_days: int = 3


@dataclass
class Anomaly:
    """A person or a team whose daily spend jumped well above its own trailing baseline."""

    subject: str  # "person" | "team"
    key: int
    name: str
    day: dt.date
    spend_usd: float
    baseline_usd: float
    team_ids: list[int] = field(default_factory=list)

    @property
    def times(self) -> float:
        return self.spend_usd / self.baseline_usd if self.baseline_usd > 0 else float("inf")


def _daily(by_team: bool, first: dt.date, last: dt.date) -> Any:
    cost = func.sum(func.coalesce(UsageRow.cost_usd, 0.0))
    if by_team:
        q = select(TeamMember.team_id.label("k"), UsageRow.date.label("d"), cost.label("usd")).join(
            TeamMember, TeamMember.person_id == UsageRow.person_id
        )
        key: Any = TeamMember.team_id
    else:
        q = select(UsageRow.person_id.label("k"), UsageRow.date.label("d"), cost.label("usd")).where(
            UsageRow.person_id.is_not(None)
        )
        key = UsageRow.person_id
    return q.where(UsageRow.date >= first, UsageRow.date <= last).group_by(key, UsageRow.date)


def find_anomalies(
    session: Session, org: OrgConfig, now: dt.datetime, rule: AnomalyRule | None = None
) -> list[Anomaly]:
    """People and teams whose spend on a day of the last ``rule.days`` full days jumped above their baseline.

    Computed in SQL aggregates (one row per flagged subject comes back), never by loading usage rows.
    """
    rule = rule or AnomalyRule()
    today = now.astimezone(org.tz).date()
    r0, r1 = today - dt.timedelta(days=rule.days), today - dt.timedelta(days=1)
    b0 = r0 - dt.timedelta(days=rule.baseline_days)
    found: list[Anomaly] = []
    for by_team in (False, True):
        daily = _daily(by_team, b0, r1).cte("daily")
        base = (
            select(daily.c.k, func.sum(daily.c.usd).label("total"), func.count().label("active"))
            .where(daily.c.d < r0)
            .group_by(daily.c.k)
            .cte("base")
        )
        peak = (
            select(daily.c.k, func.max(daily.c.usd).label("top")).where(daily.c.d >= r0).group_by(daily.c.k).cte("peak")
        )
        mean = base.c.total / float(rule.baseline_days)
        q = (
            select(peak.c.k, peak.c.top, mean.label("mean"))
            .join(base, base.c.k == peak.c.k)
            .where(
                base.c.active >= rule.min_active_days,
                peak.c.top >= mean * rule.ratio,
                peak.c.top - mean >= rule.min_jump_usd,
            )
        )
        flagged = {int(k): (float(top), float(m)) for k, top, m in session.execute(q)}
        if not flagged:
            continue
        recent = _daily(by_team, r0, r1).subquery()
        days: dict[int, tuple[dt.date, float]] = {}
        for k, d, usd in session.execute(
            select(recent.c.k, recent.c.d, recent.c.usd).where(recent.c.k.in_(list(flagged)))
        ):
            if int(k) not in days or float(usd) > days[int(k)][1]:
                days[int(k)] = (d if isinstance(d, dt.date) else dt.date.fromisoformat(str(d)), float(usd))
        if by_team:
            names = dict(session.execute(select(Team.id, Team.name).where(Team.id.in_(list(flagged)))).all())
            teams_of: dict[int, list[int]] = {k: [k] for k in flagged}
        else:
            names = {
                pid: name or email or slack or str(pid)
                for pid, name, email, slack in session.execute(
                    select(Person.id, Person.name, Person.email, Person.slack_user_id).where(
                        Person.id.in_(list(flagged))
                    )
                )
            }
            teams_of = {k: [] for k in flagged}
            for pid, tid in session.execute(
                select(TeamMember.person_id, TeamMember.team_id).where(TeamMember.person_id.in_(list(flagged)))
            ):
                teams_of[int(pid)].append(int(tid))
        for k, (top, m) in sorted(flagged.items()):
            day, _ = days.get(k, (r1, top))
            found.append(
                Anomaly(
                    subject="team" if by_team else "person",
                    key=k,
                    name=str(names.get(k, k)),
                    day=day,
                    spend_usd=top,
                    baseline_usd=m,
                    team_ids=teams_of.get(k, []),
                )
            )
    return found


_SLACK_USER = re.compile(r"^[UW][A-Z0-9]+$")


def _slack_ids(session: Session, idents: list[str]) -> list[str]:
    """Slack user ids of managers/admins given as Slack ids or emails (unknown emails are skipped)."""
    out = [i for i in idents if _SLACK_USER.match(i)]
    emails = [i.lower() for i in idents if "@" in i]
    if emails:
        out += [
            sid
            for (sid,) in session.execute(
                select(Person.slack_user_id).where(
                    func.lower(Person.email).in_(emails), Person.slack_user_id.is_not(None)
                )
            )
        ]
    return list(dict.fromkeys(out))


def anomaly_alerts(
    session: Session, org: OrgConfig, anomalies: list[Anomaly], *, week: str, rule: AnomalyRule
) -> list[outbox.OutboxItem]:
    """One private DM per manager listing the anomalies of their teams (people without a team: admins)."""
    if not anomalies:
        return []
    team_ids = sorted({t for a in anomalies for t in a.team_ids})
    team_names = dict(session.execute(select(Team.id, Team.name).where(Team.id.in_(team_ids))).all())
    managers: dict[int, list[str]] = {t: [] for t in team_ids}
    for tid, ident in session.execute(
        select(TeamManager.team_id, TeamManager.ident).where(TeamManager.team_id.in_(team_ids))
    ):
        managers[int(tid)].append(ident)
    admins = _slack_ids(session, list(org.admins))
    # manager -> section title -> lines
    inbox: dict[str, dict[str, list[str]]] = {}
    for a in anomalies:
        what = f"Team {a.name}" if a.subject == "team" else a.name
        line = (
            f"• *{escape_mrkdwn(what)}*: {money(a.spend_usd)} on {a.day:%a %d %b}, "
            f"{a.times:.1f}× the usual {money(a.baseline_usd)}/day ({rule.baseline_days}-day average)"
        )
        targets: list[tuple[str, str]] = []
        for tid in a.team_ids:
            for sid in _slack_ids(session, managers.get(tid, [])):
                targets.append((sid, team_names.get(tid, str(tid))))
        if not a.team_ids:
            targets = [(sid, "No team") for sid in admins]
        for sid, title in targets:
            inbox.setdefault(sid, {}).setdefault(title, []).append(line)
    items = []
    for sid, sections in sorted(inbox.items()):
        n = sum(len(v) for v in sections.values())
        plural = "s" if n != 1 else ""
        text_ = f"Spend alert (private): {n} unusual spend jump{plural} last week in your team(s)."
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": "Spend alert — private to managers"}}
        ]
        for title, lines in sorted(sections.items()):
            body = (f"*{escape_mrkdwn(title)}*\n" + "\n".join(lines))[:3000]
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": body}})
        blocks.append(
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": (
                            f"Only the team's managers get this. A jump is a day at least {rule.ratio:g}× the trailing "
                            f"{rule.baseline_days}-day daily average and at least {money(rule.min_jump_usd)} above it."
                        ),
                    }
                ],
            }
        )
        items.append(
            outbox.OutboxItem(
                dedupe_key=f"anomaly:{week}:{sid}", kind="anomaly", channel=sid, text=text_, blocks=blocks[:50]
            )
        )
    return items


# --------------------------------------------------------------------------- the weekly run


@dataclass
class WeeklyRun:
    """What a weekly summary run queued."""

    week: str
    period: str
    channels: list[str]
    queued: int
    anomalies: list[Anomaly]


NEW_ARTIFACTS_READ = 500  # new artifacts read per summary: enough to count "+N more" past the shown ones

CHART_DELAY = dt.timedelta(seconds=1.2)  # thread replies follow their post (Slack: ~1 message/s per channel)


def weekly_items(
    engine: Engine, org: OrgConfig, now: dt.datetime, *, rule: AnomalyRule | None = None
) -> tuple[WeeklyRun, list[outbox.OutboxItem]]:
    """The week's summaries (summary channel, then each team's channel, each with the chart) and alerts."""
    rule = rule or AnomalyRule()
    week = week_key(now, org.tz)
    items: list[outbox.OutboxItem] = []
    channels: list[str] = []
    with session_scope(engine) as s:
        org_summary = build_summary(s, org, now)
        period = org_summary.period
        chart = org_summary.chart_png
        targets: list[tuple[str, WeeklySummary, str]] = []
        if org.summary_channel:
            targets.append((org.summary_channel, org_summary, weekly_title(now, org.tz, period)))
        for team in s.scalars(select(Team).where(Team.channel.is_not(None)).order_by(Team.name)):
            if team.channel and team.channel not in {c for c, _, _ in targets}:
                summary = build_summary(s, org, now, team_id=team.id, chart=False)
                targets.append((team.channel, summary, weekly_title(now, org.tz, period, team=team.name)))
        for channel, summary, title in targets:
            items += summary_items(summary, title, channel=channel, week=week, chart=chart, now=now)
            channels.append(channel)
        anomalies = find_anomalies(s, org, now, rule)
        items += anomaly_alerts(s, org, anomalies, week=week, rule=rule)
    return WeeklyRun(week=week, period=period, channels=channels, queued=0, anomalies=anomalies), items


def weekly_title(now: dt.datetime, tz: Any, period: str, *, team: str | None = None) -> str:
    """``Weekly AI artifacts summary, week of 16 November 2026 (November 2026)``: the week, and the month it scores."""
    monday = week_start(now, tz)
    week_of = f"week of {monday.day} {month_name(period_of(monday))}"
    who = f": {team}" if team else ""
    return f"Weekly AI artifacts summary{who}, {week_of} ({month_name(period)})"


def summary_items(
    summary: WeeklySummary, title: str, *, channel: str, week: str, chart: bytes, now: dt.datetime
) -> list[outbox.OutboxItem]:
    """One channel's summary: the short post, then in its thread the details and the chart."""
    head_key = f"summary:{week}:{channel}"
    text_, blocks = summary.headline(title)
    items = [
        outbox.OutboxItem(
            dedupe_key=head_key, kind="summary", channel=channel, text=text_, blocks=blocks, period=summary.period
        )
    ]
    text_, blocks = summary.details()
    items.append(
        outbox.OutboxItem(
            dedupe_key=f"summary_thread:{week}:{channel}",
            kind="summary_thread",
            channel=channel,
            text=text_,
            blocks=blocks,
            period=summary.period,
            not_before=now + CHART_DELAY,
            thread_of=head_key,
        )
    )
    if chart:
        items.append(
            outbox.OutboxItem(
                dedupe_key=f"summary_chart:{week}:{channel}",
                kind="summary_chart",
                channel=channel,
                text="",
                blocks=[],
                period=summary.period,
                not_before=now + 2 * CHART_DELAY,
                thread_of=head_key,
                file=outbox.file_payload(
                    chart,
                    filename=f"artifacts-per-100-usd-{summary.period}.png",
                    title=f"Artifacts per $100 of AI spend, {month_name(summary.period)}",
                    alt_txt="Bar chart of artifacts per $100 of AI spend per team, "
                    "with each team's bar (last month's score) marked",
                ),
            )
        )
    return items


def enqueue_weekly(engine: Engine, org: OrgConfig, now: dt.datetime, *, rule: AnomalyRule | None = None) -> WeeklyRun:
    """Queue this week's summaries, charts and manager alerts; a second run in the same week adds nothing."""
    run, items = weekly_items(engine, org, now, rule=rule)
    run.queued = outbox.enqueue(engine, items, now=now)
    log.info(
        "weekly summary %s: %d message(s) queued for %d channel(s), %d anomaly(ies)",
        run.week,
        run.queued,
        len(run.channels),
        len(run.anomalies),
    )
    return run
