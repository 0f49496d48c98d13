"""The outbox table: enqueue, claim with a lease, renew, release, finish, resume after a crash.

Enqueueing is idempotent (unique ``dedupe_key``). A dispatcher claims due rows a batch at a time
with a lease (one ``UPDATE ... RETURNING``; ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several
dispatcher processes share the work without taking the same row). A row is ``sending`` while
claimed and becomes ``sent`` only after Slack answered; a dispatcher killed at any moment leaves
its rows ``sending`` until their lease expires (or, on the same host, the dead pid is noticed at
once by :func:`reclaim_dead`) and the next dispatcher sends them.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine

from bot import lease
from bot.db import session_scope, upsert_insert
from bot.models import Checkin, OutboxMessage
from bot.people import directory

log = logging.getLogger(__name__)

REMINDER_KINDS = ("reminder",)


@dataclass
class OutboxItem:
    """A message to enqueue; with ``file`` (see :func:`file_payload`) it is a file upload.

    ``team_id`` is the workspace to send it in; left None, :func:`enqueue` takes the person's
    home workspace (or, for a channel post, the channel's) when the install spans workspaces.

    ``thread_of`` is the ``dedupe_key`` of an earlier item: this one is sent as a reply in that
    message's thread once it has been sent (see :func:`thread_parent`).
    """

    dedupe_key: str
    kind: str
    channel: str
    text: str
    blocks: list[dict[str, Any]]
    person_id: int | None = None
    period: str | None = None
    file: dict[str, Any] | None = None
    not_before: dt.datetime | None = None
    team_id: str | None = None
    thread_of: str | None = None


def file_payload(content: bytes, *, filename: str, title: str, alt_txt: str = "") -> dict[str, Any]:
    """The ``file`` of an :class:`OutboxItem` (stored as base64 in the row's JSON payload)."""
    return {"content": base64.b64encode(content).decode(), "filename": filename, "title": title, "alt_txt": alt_txt}


def naive(at: dt.datetime) -> dt.datetime:
    """``at`` as naive UTC, the way the table stores times."""
    return at.astimezone(dt.UTC).replace(tzinfo=None) if at.tzinfo else at


def _insert(engine: Engine) -> Any:
    return upsert_insert(engine.dialect.name, OutboxMessage.__table__)  # type: ignore[attr-defined]


def enqueue(engine: Engine, items: Iterable[OutboxItem], *, now: dt.datetime, batch: int = 1000) -> int:
    """Store messages to send; items whose ``dedupe_key`` exists are skipped. Returns rows added.

    ``items`` is consumed lazily, ``batch`` rows per transaction, so it may stream a whole org.
    """
    added = 0
    at = naive(now)
    buf: list[dict[str, Any]] = []
    org_wide = directory.has_workspaces(engine)

    def flush() -> int:
        if not buf:
            return 0
        if org_wide:
            _fill_workspaces(engine, buf)
        stmt = _insert(engine).on_conflict_do_nothing(index_elements=["dedupe_key"])
        stmt = stmt.returning(OutboxMessage.id)
        with engine.begin() as conn:
            n = len(conn.execute(stmt, buf).all())
        buf.clear()
        return n

    for it in items:
        payload: dict[str, Any] = {"text": it.text, "blocks": it.blocks}
        if it.file is not None:
            payload["file"] = it.file
        if it.thread_of is not None:
            payload["thread_of"] = it.thread_of
        due = naive(it.not_before) if it.not_before else at
        buf.append(
            {
                "dedupe_key": it.dedupe_key,
                "kind": it.kind,
                "period": it.period,
                "person_id": it.person_id,
                "channel": it.channel,
                "team_id": it.team_id,
                "payload": payload,
                "state": "pending",
                "attempts": 0,
                "next_attempt_at": due,
                "created_at": at,
            }
        )
        if len(buf) >= batch:
            added += flush()
    added += flush()
    return added


def _fill_workspaces(engine: Engine, rows: list[dict[str, Any]]) -> None:
    """Give each row without a workspace its person's home workspace, or its channel's."""
    people = {r["person_id"] for r in rows if r["team_id"] is None and r["person_id"] is not None}
    homes = directory.home_workspaces(engine, people) if people else {}
    channels: dict[str, str | None] = {}
    for r in rows:
        if r["team_id"] is not None:
            continue
        if r["person_id"] is not None and r["person_id"] in homes:
            r["team_id"] = homes[r["person_id"]]
        elif r["channel"][:1] in ("C", "G"):
            if r["channel"] not in channels:
                channels[r["channel"]] = directory.channel_workspace(engine, r["channel"])
            r["team_id"] = channels[r["channel"]]


def counts(engine: Engine, *, kind_prefix: str | None = None, period: str | None = None) -> dict[str, int]:
    """Rows per state."""
    q = select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)
    if kind_prefix:
        q = q.where(OutboxMessage.kind.startswith(kind_prefix))
    if period:
        q = q.where(OutboxMessage.period == period)
    with session_scope(engine) as s:
        return {state: int(n) for state, n in s.execute(q)}


# --------------------------------------------------------------------------- claiming


@dataclass
class Claimed:
    """A claimed outbox row (plain values: nothing here is bound to a session)."""

    id: int
    kind: str
    channel: str
    payload: dict[str, Any]
    attempts: int
    person_id: int | None
    period: str | None
    team_id: str | None = None


_CLAIM_COLUMNS = (
    OutboxMessage.id,
    OutboxMessage.kind,
    OutboxMessage.channel,
    OutboxMessage.payload,
    OutboxMessage.attempts,
    OutboxMessage.person_id,
    OutboxMessage.period,
    OutboxMessage.team_id,
)


def claim(
    engine: Engine,
    worker: str,
    limit: int,
    lease_s: float,
    now: dt.datetime,
    *,
    skip_teams: frozenset[str | None] = frozenset(),
) -> list[Claimed]:
    """Claim up to ``limit`` due rows: a crashed worker's expired leases first, then pending rows by due time.

    Rows of the workspaces in ``skip_teams`` (the dispatcher has enough of theirs in hand: a
    paused workspace) are left for later, so they do not hold up the others.

    Each claim is one ``UPDATE ... WHERE id IN (SELECT ... [FOR UPDATE SKIP LOCKED]) RETURNING``, so
    two dispatchers never claim the same row (PostgreSQL row locks; SQLite's single writer).
    """
    at = naive(now)
    lease_until = at + dt.timedelta(seconds=lease_s)
    out: list[Claimed] = []
    conditions = [
        (OutboxMessage.state == "sending") & (OutboxMessage.lease_until < at),
        (OutboxMessage.state == "pending") & (OutboxMessage.next_attempt_at <= at),
    ]
    for cond in conditions:
        want = limit - len(out)
        if want <= 0:
            break
        if skip_teams:
            named = [t for t in skip_teams if t is not None]
            keep = OutboxMessage.team_id.is_not(None) if None in skip_teams else None
            if named:
                other = OutboxMessage.team_id.is_(None) | OutboxMessage.team_id.not_in(named)
                keep = other if keep is None else (keep & OutboxMessage.team_id.not_in(named))
            assert keep is not None
            cond = cond & keep
        sub = select(OutboxMessage.id).where(cond).order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(want)
        if engine.dialect.name == "postgresql":
            sub = sub.with_for_update(skip_locked=True)
        stmt = (
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(sub.scalar_subquery()), cond)  # cond again: re-checked under row locks
            .values(state="sending", claimed_by=worker, lease_until=lease_until)
            .returning(*_CLAIM_COLUMNS)
        )
        with engine.begin() as conn:
            rows = conn.execute(stmt).all()
        out.extend(
            Claimed(
                id=r[0],
                kind=r[1],
                channel=r[2],
                payload=r[3] or {},
                attempts=r[4],
                person_id=r[5],
                period=r[6],
                team_id=r[7],
            )
            for r in rows
        )
    out.sort(key=lambda c: c.id)
    return out


def renew(engine: Engine, worker: str, ids: list[int], lease_s: float, now: dt.datetime) -> None:
    """Extend this worker's lease on rows it is still sending."""
    if not ids:
        return
    with engine.begin() as conn:
        conn.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.claimed_by == worker, OutboxMessage.state == "sending")
            .values(lease_until=naive(now) + dt.timedelta(seconds=lease_s))
        )


def release(engine: Engine, worker: str, ids: list[int], when: dt.datetime | None = None) -> None:
    """Put claimed rows back (not sent, no attempt used), due at ``when`` or as they were."""
    if not ids:
        return
    values: dict[str, Any] = {"state": "pending", "lease_until": None, "claimed_by": None}
    if when is not None:
        values["next_attempt_at"] = naive(when)
    with engine.begin() as conn:
        conn.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.claimed_by == worker, OutboxMessage.state == "sending")
            .values(**values)
        )


def reclaim_dead(engine: Engine, me: str) -> int:
    """Hand back rows claimed by dispatchers of this host whose process is gone (SIGKILL, OOM).

    Saves waiting for their leases to expire (see :func:`bot.lease.is_dead_here`).
    """
    with engine.connect() as conn:
        holders = [
            h
            for (h,) in conn.execute(
                select(OutboxMessage.claimed_by).where(OutboxMessage.state == "sending").distinct()
            )
            if h and h != me
        ]
    dead = [h for h in holders if lease.is_dead_here(h)]
    n = 0
    for h in dead:
        with engine.begin() as conn:
            res = conn.execute(
                update(OutboxMessage)
                .where(OutboxMessage.state == "sending", OutboxMessage.claimed_by == h)
                .values(state="pending", lease_until=None, claimed_by=None)
            )
            n += max(res.rowcount or 0, 0)
    if n:
        log.warning("took back %d outbox row(s) from %d dead dispatcher(s) on this host", n, len(dead))
    return n


# --------------------------------------------------------------------------- finishing


def finish(
    engine: Engine,
    row: Claimed,
    worker: str,
    *,
    state: str,
    now: dt.datetime,
    ts: str | None = None,
    channel: str | None = None,
    error: str | None = None,
    retry_at: dt.datetime | None = None,
    count_attempt: bool = True,
) -> bool:
    """Record a row's outcome (only while this worker still holds it) and its check-in's status."""
    at = naive(now)
    values: dict[str, Any] = {
        "state": state,
        "lease_until": None,
        "last_error": error,
        "attempts": row.attempts + (1 if count_attempt else 0),
    }
    if state == "sent":
        values.update(slack_ts=ts, slack_channel=channel, sent_at=at)
    if state == "pending":
        values["claimed_by"] = None
    if retry_at is not None:
        values["next_attempt_at"] = naive(retry_at)
    with session_scope(engine) as s:
        res = s.execute(
            update(OutboxMessage).where(OutboxMessage.id == row.id, OutboxMessage.claimed_by == worker).values(**values)
        )
        if (res.rowcount or 0) == 0:
            return False  # the lease was lost (another dispatcher took the row over): leave it to them
        if row.kind.startswith("checkin") and row.person_id is not None and row.period:
            c = s.scalars(
                select(Checkin).where(Checkin.person_id == row.person_id, Checkin.period == row.period)
            ).first()
            if c is not None:
                if state == "sent" and c.status in ("pending", "failed"):
                    c.status, c.sent_at, c.channel_id, c.message_ts, c.error = "sent", at, channel, ts, None
                elif state == "failed" and c.status in ("pending", "sent"):
                    c.status, c.error = "failed", error
    return True


@dataclass
class Parent:
    """The message a threaded row replies to: its state, and where Slack put it once sent."""

    state: str
    channel: str | None
    ts: str | None


def thread_parent(engine: Engine, dedupe_key: str) -> Parent | None:
    """The row ``dedupe_key`` names (a threaded row's parent), or None when there is no such row."""
    with engine.connect() as conn:
        got = conn.execute(
            select(OutboxMessage.state, OutboxMessage.slack_channel, OutboxMessage.slack_ts).where(
                OutboxMessage.dedupe_key == dedupe_key
            )
        ).first()
    return Parent(state=got[0], channel=got[1], ts=got[2]) if got is not None else None


def obsolete(engine: Engine, row: Claimed) -> bool:
    """A reminder whose check-in was answered (or skipped) since it was queued is not sent."""
    if row.kind not in REMINDER_KINDS or row.person_id is None or not row.period:
        return False
    with engine.connect() as conn:
        status = conn.execute(
            select(Checkin.status).where(Checkin.person_id == row.person_id, Checkin.period == row.period)
        ).scalar()
    return status is not None and status != "sent"


def next_due(engine: Engine, worker: str) -> dt.datetime | None:
    """When something may next need this dispatcher: a retry coming due, or another worker's lease ending."""
    with engine.connect() as conn:
        pending = conn.execute(
            select(func.min(OutboxMessage.next_attempt_at)).where(OutboxMessage.state == "pending")
        ).scalar()
        leased = conn.execute(
            select(func.min(OutboxMessage.lease_until)).where(
                OutboxMessage.state == "sending", OutboxMessage.claimed_by != worker
            )
        ).scalar()
    times = [t for t in (pending, leased) if t is not None]
    return min(times) if times else None


def remaining(engine: Engine) -> int:
    """Rows still to send (pending or being sent), every kind."""
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.state.in_(("pending", "sending")))
            ).scalar()
            or 0
        )
