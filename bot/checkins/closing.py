"""Period close: once replies are no longer accepted, freeze the month's scores and post the final board.

Closing is idempotent. The freeze (``board_snapshot`` rows for teams and people, and the period
marked ``closed``) happens once, in one transaction; the final leaderboard posts go through the
outbox with one key per channel, so a second close (another worker, a manual re-run) sends nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.artifacts.links import escape_mrkdwn
from bot.boards.leaderboard import BoardRow, board
from bot.config import OrgConfig, weights_of
from bot.db import session_scope, upsert_insert
from bot.models import BoardSnapshot, Period, Team
from bot.periods import month_name, period_at, previous, reply_deadline
from bot.slack import outbox
from bot.slack.blocks import leaderboard_message

log = logging.getLogger(__name__)

CHUNK = 1000


@dataclass
class CloseResult:
    """What closing a period did."""

    period: str
    closed_now: bool
    frozen_rows: int
    queued: int


def _snapshot_row(row: BoardRow, by: str) -> dict[str, Any]:
    data = row.as_json(by=by)
    data.update(team_id=row.team_id, person_id=row.person_id, channel=row.channel)
    return data


def _insert_snapshots(session: Any, rows: list[dict[str, Any]], dialect: str) -> None:
    if not rows:
        return
    ins = upsert_insert(dialect, BoardSnapshot)
    session.execute(ins.on_conflict_do_nothing(index_elements=["period", "by", "key"]), rows)


def freeze(engine: Engine, org: OrgConfig, period: str, now: dt.datetime) -> tuple[bool, int]:
    """Freeze ``period``'s boards and mark it closed. (closed now?, snapshot rows written)."""
    at = now.astimezone(dt.UTC).replace(tzinfo=None)
    weights = weights_of(org)
    with session_scope(engine) as s:
        p = s.get(Period, period)
        if p is not None and p.status == "closed":
            return False, 0
        written = 0
        for by in ("team", "person"):
            rows = board(s, period, weights, by=by)
            for i in range(0, len(rows), CHUNK):
                chunk = [
                    {
                        "period": period,
                        "by": by,
                        "key": str(r.team_id if by == "team" else r.person_id),
                        "row": _snapshot_row(r, by),
                        "frozen_at": at,
                    }
                    for r in rows[i : i + CHUNK]
                ]
                _insert_snapshots(s, chunk, engine.dialect.name)
                written += len(chunk)
            del rows
        if p is None:
            p = Period(period=period)
        p.status, p.closed_at = "closed", at
        s.add(p)
    log.info("period %s closed: %d board line(s) frozen", period, written)
    return True, written


def frozen_board(engine: Engine, period: str, *, by: str = "team") -> list[dict[str, Any]]:
    """The frozen board of a closed period, by rank (empty when the period was never closed)."""
    with session_scope(engine) as s:
        rows = [
            r.row
            for r in s.scalars(select(BoardSnapshot).where(BoardSnapshot.period == period, BoardSnapshot.by == by))
        ]
    return sorted(rows, key=lambda r: r.get("rank") or 0)


def final_narrative(period: str, rows: list[dict[str, Any]], *, llm: Any = None) -> str | None:
    """The period-close post's narrative: the language model's when one is configured (checked
    against the figures), the template's otherwise."""
    from bot.llm.narrative import write_narrative

    teams = [
        {
            "name": r.get("name"),
            "rank": r.get("rank"),
            "artifacts_per_100_usd": r.get("artifacts_per_100_usd"),
            "artifacts": r.get("artifacts"),
            "spend_usd": r.get("spend_usd"),
        }
        for r in rows
    ]
    data = {
        "scope": "The organisation",
        "period": month_name(period),
        "spend_usd": round(sum(float(r.get("spend_usd") or 0) for r in rows), 2),
        "artifacts": round(sum(float(r.get("artifacts") or 0) for r in rows), 2),
        "teams": teams,
    }
    return write_narrative(llm, data)


def _final_items(
    engine: Engine, org: OrgConfig, period: str, rows: list[dict[str, Any]] | None = None, *, llm: Any = None
) -> Iterator[outbox.OutboxItem]:
    if rows is None:
        rows = frozen_board(engine, period, by="team")
    if not any(r.get("spend_usd") or r.get("artifact_count") for r in rows):
        log.info("period %s had no spend and no artifacts: no final leaderboard posted", period)
        return
    visible = [SimpleNamespace(**r) for r in rows if (r.get("members") or 0) >= org.min_team_size]
    for i, r in enumerate(visible, 1):
        r.rank = i
    hidden = len(rows) - len(visible)
    text, blocks = leaderboard_message(
        period=period, rows=visible, hidden=hidden, final=True, floor_usd=org.spend_floor_usd
    )
    story = final_narrative(period, [vars(r) for r in visible], llm=llm)
    if story:
        blocks = [*blocks, {"type": "section", "text": {"type": "mrkdwn", "text": escape_mrkdwn(story)}}]
    with session_scope(engine) as s:
        team_channels = [
            c for (c,) in s.execute(select(Team.channel).where(Team.channel.is_not(None)).order_by(Team.name))
        ]
    channels = list(dict.fromkeys([c for c in [org.summary_channel, *team_channels] if c]))
    for channel in channels:
        yield outbox.OutboxItem(
            dedupe_key=f"final:{period}:{channel}",
            kind="final_board",
            channel=channel,
            text=text,
            blocks=blocks,
            period=period,
        )


def close_period(engine: Engine, org: OrgConfig, period: str, now: dt.datetime, *, llm: Any = None) -> CloseResult:
    """Freeze ``period`` (once) and queue the final leaderboard, with its narrative, for the summary and
    team channels."""
    closed_now, written = freeze(engine, org, period, now)
    queued = outbox.enqueue(engine, _final_items(engine, org, period, llm=llm), now=now)
    return CloseResult(period=period, closed_now=closed_now, frozen_rows=written, queued=queued)


def preview_close(engine: Engine, org: OrgConfig, period: str, *, llm: Any = None) -> list[outbox.OutboxItem]:
    """A dry run of :func:`close_period`: the final posts it would queue, from the board as it stands
    (a closed period's frozen board). Freezes nothing, queues nothing."""
    rows = frozen_board(engine, period, by="team")
    if not rows:
        with session_scope(engine) as s:
            rows = [_snapshot_row(r, "team") for r in board(s, period, weights_of(org), by="team")]
    return list(_final_items(engine, org, period, rows, llm=llm))


def period_to_close(org: OrgConfig, now: dt.datetime) -> str | None:
    """Last month, once its replies have closed (end of day ``reply_until_day``, org time).

    Returned even when it is already closed: closing again is free and finishes a close that was
    interrupted between the freeze and queueing the final posts.
    """
    period = previous(period_at(now, org.tz))
    if now < reply_deadline(period, org.tz, org.checkin.reply_until_day):
        return None
    return period
