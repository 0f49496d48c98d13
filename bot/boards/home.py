"""Data for a person's App Home and their check-in: my spend, my artifacts, my team's standing."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from bot.artifacts.flags import carried_over
from bot.artifacts.store import artifacts_of, links_of
from bot.boards.charts import TREND_CHART_VERSION, TrendMonth
from bot.boards.leaderboard import board
from bot.config import OrgConfig, weights_of
from bot.db import session_scope, upsert_insert
from bot.models import HomeChartFile, Person, PersonPeriodTotal
from bot.people.teams import teams_of
from bot.periods import collecting_period, month_name, period_at
from bot.spend.model_costs import unpriced_by_period, unpriced_by_person


@dataclass
class HomeData:
    """What App Home shows one person: each field is a keyword of ``bot.slack.blocks.home_view``, which
    takes them all (``home_view(**vars(data), ...)``), so a number added here reaches every Home drawn."""

    name: str
    period: str
    spend_usd: float
    tokens: int
    artifacts: list[tuple[str, list[str], str]]
    team_lines: list[str] = field(default_factory=list)
    unpriced_rows: int = 0  # usage the price table could not price: not in spend_usd, never shown as $0
    unpriced_tokens: int = 0
    history: list[TrendMonth] = field(default_factory=list)  # the last six months, oldest first
    by_status: dict[str, int] = field(default_factory=dict)  # the period's artifacts per status


HISTORY_MONTHS = 6


def history_of(session: Session, person_id: int, period: str, org: OrgConfig) -> list[TrendMonth]:
    """The last six months up to ``period``, oldest first: (period, artifacts per $100, artifacts, spend).

    A month with no data (no usage and no counted artifact) has None for its three numbers: a gap, not a zero.
    """
    from bot.boards.rollups import ensure_fresh
    from bot.periods import previous
    from bot.scoring import score

    periods = [period]
    while len(periods) < HISTORY_MONTHS:
        periods.append(previous(periods[-1]))
    w = weights_of(org)
    for p in periods:
        ensure_fresh(session, p, w)
    totals = {
        r[0]: r[1:]
        for r in session.execute(
            select(
                PersonPeriodTotal.period,
                PersonPeriodTotal.artifacts,
                PersonPeriodTotal.cost_usd,
                PersonPeriodTotal.usage_rows,
                PersonPeriodTotal.artifact_count,
                PersonPeriodTotal.unpriced_rows,
            ).where(PersonPeriodTotal.person_id == person_id, col(PersonPeriodTotal.period).in_(periods))
        )
    }
    # The roll-ups say which months have unpriced usage: only those are read from the usage rows.
    unpriced = unpriced_by_period(session, person_id, [p for p, row in totals.items() if row[4]])
    out: list[TrendMonth] = []
    for p in reversed(periods):
        row = totals.get(p)
        if row is None or not (row[2] or row[3] or row[0] or row[1]):
            out.append(TrendMonth(p, None, None, None))
            continue
        arts, spend = float(row[0]), float(row[1])
        out.append(TrendMonth(p, score(arts, spend, w.spend_floor_usd), arts, spend, *unpriced.get(p, (0, 0))))
    return out


def person_spend(session: Session, person_id: int, period: str) -> tuple[float, int]:
    """A person's spend and tokens in a period.

    Read from the person's roll-up, which every usage writer refreshes in its own transaction
    (``refresh_spend``), instead of summing the raw usage rows.
    """
    row = session.execute(
        select(PersonPeriodTotal.cost_usd, PersonPeriodTotal.tokens).where(
            PersonPeriodTotal.person_id == person_id, PersonPeriodTotal.period == period
        )
    ).first()
    return (float(row[0]), int(row[1])) if row is not None else (0.0, 0)


def home_data(session: Session, person: Person, org: OrgConfig, now: dt.datetime) -> HomeData:
    """My spend and tokens this period, my artifacts, my teams' rank and bar (teams of visible size)."""
    assert person.id is not None
    period = collecting_period(now, org.tz, org.checkin.reply_until_day)
    spend, tokens = person_spend(session, person.id, period)
    unpriced = unpriced_by_person(session, period, [person.id]).get(person.id, (0, 0))
    # The period being collected, and anything already logged for the month after it (a link logged on
    # 1 December with no check-in open belongs to December: it is shown, with its month).
    items: list[tuple[str, list[str], str]] = []
    for p in dict.fromkeys([period, period_at(now, org.tz)]):
        arts = artifacts_of(session, person.id, p)
        links = links_of(session, [a.id for a in arts if a.id is not None])
        first = carried_over(session, p, [a.primary_url for a in arts], weights_of(org))
        when = "" if p == period else f"{month_name(p)}; "
        over = {u: f"carried over, {c.label()}" for u, c in first.items()}
        items += [
            (
                a.title,
                [link.url for link in links.get(a.id or 0, [])],
                when + "; ".join(x for x in (a.status, over.get(a.primary_url)) if x),
            )
            for a in arts
        ]
    lines = []
    my_teams = teams_of(session, person.id)
    if my_teams:
        rows = board(session, period, weights_of(org), by="team")
        by_id = {r.team_id: r for r in rows}
        for t in my_teams:
            r = by_id.get(t.id)
            if r is None:
                continue
            bar = "no bar yet" if r.bar is None else f"bar {r.bar:.2f} ({'cleared' if r.cleared_bar else 'not yet'})"
            lines.append(
                f"*{t.name}*: rank {r.rank} of {len(rows)}, {r.artifacts_per_100_usd:.2f} artifacts/$100, {bar}"
            )
    statuses: dict[str, int] = {}
    for a in artifacts_of(session, person.id, period):
        statuses[a.status] = statuses.get(a.status, 0) + 1
    return HomeData(
        history=history_of(session, person.id, period, org),
        by_status=statuses,
        name=person.name or "there",
        period=period,
        spend_usd=spend,
        tokens=tokens,
        artifacts=items,
        team_lines=lines,
        unpriced_rows=unpriced[0],
        unpriced_tokens=unpriced[1],
    )


def chart_key(history: Sequence[TrendMonth]) -> str | None:
    """The hash of a trend chart's data (the numbers as drawn, and the drawing's version); None when
    no month has data: no chart at all."""
    if all(m.score is None for m in history):
        return None
    data = [
        [m.period, *(None if v is None else round(v, 2) for v in (m.score, m.artifacts, m.spend)), m.unpriced_rows]
        for m in history
    ]
    return hashlib.sha256(json.dumps([TREND_CHART_VERSION, data]).encode()).hexdigest()


# After Slack refused a person's chart file (deleted since, or not shown), Home goes without a chart
# for this long unless the data changes: a refusal that lasts never costs an upload per opening.
RETRY_REFUSED_CHART = dt.timedelta(hours=6)


def _naive_utc(now: dt.datetime) -> dt.datetime:
    return now.astimezone(dt.UTC).replace(tzinfo=None)


def _store_chart(engine: Engine, person_id: int, key: str, file_id: str, now: dt.datetime) -> None:
    values = {"person_id": person_id, "data_hash": key, "file_id": file_id, "updated_at": _naive_utc(now)}
    ins = upsert_insert(engine.dialect.name, HomeChartFile)
    with session_scope(engine) as s:
        # An upsert: two App Home openings at once both upload, the last one's file is kept.
        s.execute(ins.values(**values).on_conflict_do_update(index_elements=["person_id"], set_=values))


def home_chart_file(
    *,
    engine: Engine,
    person_id: int,
    history: Sequence[TrendMonth],
    upload: Callable[[bytes], str],
    now: dt.datetime,
    replaced: list[str] | None = None,
) -> str | None:
    """The Slack file id of a person's App Home trend chart; None when they have no history.

    The chart uploaded for the same data is shown again; otherwise it is drawn and ``upload`` (PNG
    bytes -> file id) sends it, and its id is kept for the next opening. No session is held during
    the upload. Errors of ``upload`` propagate and nothing is stored. A chart Slack refused
    (``refused_home_chart``) is left out until the data changes or ``RETRY_REFUSED_CHART`` has passed.
    The file a new upload replaces is added to ``replaced`` (when given), for the caller to delete
    from Slack once Home shows the new one.
    """
    key = chart_key(history)
    if key is None:
        return None
    with session_scope(engine) as s:
        row = s.get(HomeChartFile, person_id)
        old = row.file_id if row is not None else ""
        if row is not None and row.data_hash == key:
            if row.file_id:
                return row.file_id
            if _naive_utc(now) - row.updated_at < RETRY_REFUSED_CHART:
                return None
    from bot.boards.charts import trend_chart  # matplotlib: loaded only when a chart is drawn

    file_id = upload(trend_chart(history))
    _store_chart(engine, person_id, key, file_id, now)
    if replaced is not None and old and old != file_id:
        replaced.append(old)
    return file_id


def refused_home_chart(*, engine: Engine, person_id: int, file_id: str, now: dt.datetime) -> None:
    """Remember that Slack refused to show a person's chart file (deleted since it was uploaded, say)."""
    with session_scope(engine) as s:
        s.execute(
            update(HomeChartFile)
            .where(HomeChartFile.person_id == person_id, HomeChartFile.file_id == file_id)
            .values(file_id="", updated_at=_naive_utc(now))
        )
