"""The outbox: bulk messages are stored first, then sent by a paced, resumable dispatcher.

Enqueueing is idempotent (unique ``dedupe_key``). The dispatcher claims due rows in small
batches with a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several dispatchers share
the work), sends them at a configured pace, honours 429 ``Retry-After`` for the whole
workspace, retries transient errors with backoff and records permanent ones.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.errors import SlackApiError
from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from bot.db import session_scope
from bot.models import Checkin, OutboxMessage, utcnow

log = logging.getLogger(__name__)

PERMANENT_ERRORS = frozenset({
    "account_inactive", "user_not_found", "users_not_found", "messages_tab_disabled", "channel_not_found",
    "not_in_channel", "is_archived", "user_disabled", "cannot_dm_bot", "restricted_action",
    "no_permission", "ekm_access_denied", "invalid_blocks", "msg_too_long", "too_many_attachments",
    "invalid_arguments", "user_is_restricted", "team_access_not_granted",
})
FATAL_ERRORS = frozenset({"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive_bot",
                          "missing_scope", "not_allowed_token_type"})
MAX_ATTEMPTS = 8


class FatalSlackError(RuntimeError):
    """The bot cannot send anything (bad token, missing scope): stop the run."""


@dataclass
class OutboxItem:
    """A message to enqueue."""

    dedupe_key: str
    kind: str
    channel: str
    text: str
    blocks: list[dict[str, Any]]
    person_id: int | None = None
    period: str | None = None


@dataclass
class DispatchStats:
    """What a dispatcher run did."""

    sent: int = 0
    failed: int = 0
    retried: int = 0
    rate_limited: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started


def _insert(engine: Engine) -> Any:
    return (postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert)(
        OutboxMessage.__table__  # type: ignore[attr-defined]
    )


def enqueue(engine: Engine, items: Iterable[OutboxItem], *, now: dt.datetime, batch: int = 1000) -> int:
    """Store messages to send; items whose ``dedupe_key`` exists are skipped. Returns rows added."""
    added = 0
    at = now.astimezone(dt.UTC).replace(tzinfo=None)
    buf: list[dict[str, Any]] = []

    def flush() -> int:
        if not buf:
            return 0
        stmt = _insert(engine).on_conflict_do_nothing(index_elements=["dedupe_key"])
        with engine.begin() as conn:
            res = conn.execute(stmt, buf)
            n = max(res.rowcount or 0, 0)
        buf.clear()
        return n

    for it in items:
        buf.append({"dedupe_key": it.dedupe_key, "kind": it.kind, "period": it.period, "person_id": it.person_id,
                    "channel": it.channel, "payload": {"text": it.text, "blocks": it.blocks}, "state": "pending",
                    "attempts": 0, "next_attempt_at": at, "created_at": at})
        if len(buf) >= batch:
            added += flush()
    added += flush()
    return added


def counts(engine: Engine, *, kind_prefix: str | None = None, period: str | None = None) -> dict[str, int]:
    """Rows per state."""
    q = select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)
    if kind_prefix:
        q = q.where(OutboxMessage.kind.startswith(kind_prefix))  # type: ignore[attr-defined]
    if period:
        q = q.where(OutboxMessage.period == period)
    with session_scope(engine) as s:
        return {state: int(n) for state, n in s.execute(q)}


def _claim(engine: Engine, worker: str, limit: int, lease_s: float, now: dt.datetime) -> list[OutboxMessage]:
    """Claim up to ``limit`` due rows for this worker (pending, or a crashed worker's expired lease)."""
    at = now.astimezone(dt.UTC).replace(tzinfo=None)
    due = (
        (OutboxMessage.state == "pending") & (OutboxMessage.next_attempt_at <= at)
    ) | ((OutboxMessage.state == "sending") & (OutboxMessage.lease_until < at))  # type: ignore[operator]
    q = select(OutboxMessage.id).where(due).order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit)
    with session_scope(engine) as s:
        if engine.dialect.name == "postgresql":
            q = q.with_for_update(skip_locked=True)
        ids = list(s.scalars(q).all())
        if not ids:
            return []
        s.execute(
            update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(  # type: ignore[union-attr]
                state="sending", claimed_by=worker, lease_until=at + dt.timedelta(seconds=lease_s))
        )
        rows = list(s.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids))  # type: ignore[union-attr]
                              .order_by(OutboxMessage.id)).all())
    return rows


def _finish(engine: Engine, row: OutboxMessage, *, state: str, ts: str | None = None, channel: str | None = None,
            error: str | None = None, retry_at: dt.datetime | None = None) -> None:
    now = utcnow()
    with session_scope(engine) as s:
        values: dict[str, Any] = {"state": state, "attempts": row.attempts + 1, "lease_until": None,
                                  "last_error": error}
        if state == "sent":
            values.update(slack_ts=ts, slack_channel=channel, sent_at=now)
        if retry_at is not None:
            values["next_attempt_at"] = retry_at
        # Only the claimant may finish the row (a lease stolen after expiry is not overwritten).
        s.execute(update(OutboxMessage).where(OutboxMessage.id == row.id, OutboxMessage.claimed_by == row.claimed_by)
                  .values(**values))
        if row.kind.startswith("checkin") and row.person_id is not None and row.period:
            c = s.scalars(select(Checkin).where(Checkin.person_id == row.person_id,
                                                Checkin.period == row.period)).first()
            if c is not None:
                if state == "sent" and c.status in ("pending", "failed"):
                    c.status, c.sent_at, c.channel_id, c.message_ts, c.error = "sent", now, channel, ts, None
                elif state == "failed" and c.status in ("pending", "sent"):
                    c.status, c.error = "failed", error


def _retry_after(exc: SlackApiError) -> float | None:
    resp = exc.response
    if getattr(resp, "status_code", None) == 429:
        try:
            return float(resp.headers.get("Retry-After", resp.headers.get("retry-after", 1)))
        except (TypeError, ValueError):
            return 1.0
    return None


def dispatch(
    engine: Engine,
    send: Callable[[str, str, list[dict[str, Any]]], tuple[str | None, str | None]],
    *,
    rate_per_second: float = 1.0,
    batch: int = 50,
    lease_seconds: float = 120.0,
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    sleep: Callable[[float], None] = time.sleep,
    progress: Callable[[DispatchStats, int], None] | None = None,
    worker: str | None = None,
    stop_when_idle: bool = True,
) -> DispatchStats:
    """Send every due outbox row, paced at ``rate_per_second``.

    ``send(channel, text, blocks) -> (slack_channel, ts)`` posts one message and raises
    ``SlackApiError`` on failure. Returns when nothing is due (and nothing is waiting for a retry).

    Raises:
        FatalSlackError: on errors that make every send fail (bad token, missing scope).
    """
    worker = worker or f"{socket.gethostname()}:{os.getpid()}"
    stats = DispatchStats()
    interval = 1.0 / rate_per_second if rate_per_second > 0 else 0.0
    next_send = time.monotonic()
    while True:
        rows = _claim(engine, worker, batch, lease_seconds, clock())
        if not rows:
            waiting = _next_retry(engine)
            if waiting is None or not stop_when_idle:
                break
            delay = (waiting - clock().astimezone(dt.UTC).replace(tzinfo=None)).total_seconds()
            sleep(max(min(delay, 5.0), 0.05))
            continue
        for i, row in enumerate(rows):
            pause = next_send - time.monotonic()
            if pause > 0:
                sleep(pause)
            next_send = max(next_send + interval, time.monotonic())
            try:
                channel, ts = send(row.channel, row.payload.get("text", ""), row.payload.get("blocks") or [])
            except SlackApiError as exc:
                error = str(exc.response.get("error") or exc.response.status_code)[:200]
                wait = _retry_after(exc)
                if wait is not None:
                    # The limit is per workspace: pause everyone, put back this row and the rest of the batch.
                    stats.rate_limited += 1
                    resume = clock().astimezone(dt.UTC).replace(tzinfo=None) + dt.timedelta(seconds=wait)
                    _release(engine, rows[i:], resume)
                    sleep(wait)
                    next_send = time.monotonic()
                    break
                if error in FATAL_ERRORS:
                    _release(engine, rows[i:], utcnow())
                    raise FatalSlackError(f"Slack refused the bot token: {error}") from exc
                if error in PERMANENT_ERRORS or row.attempts + 1 >= MAX_ATTEMPTS:
                    _finish(engine, row, state="failed", error=error)
                    stats.failed += 1
                else:
                    backoff = min(2 ** row.attempts, 300)
                    _finish(engine, row, state="pending", error=error,
                            retry_at=utcnow() + dt.timedelta(seconds=backoff))
                    stats.retried += 1
            except Exception as exc:  # network errors: transient
                log.warning("send failed for outbox row %s: %s", row.id, type(exc).__name__)
                backoff = min(2 ** row.attempts, 300)
                if row.attempts + 1 >= MAX_ATTEMPTS:
                    _finish(engine, row, state="failed", error=type(exc).__name__)
                    stats.failed += 1
                else:
                    _finish(engine, row, state="pending", error=type(exc).__name__,
                            retry_at=utcnow() + dt.timedelta(seconds=backoff))
                    stats.retried += 1
            else:
                _finish(engine, row, state="sent", ts=ts, channel=channel)
                stats.sent += 1
        log.info("outbox batch done: sent=%d failed=%d retried=%d", stats.sent, stats.failed, stats.retried)
        if progress is not None:
            progress(stats, _remaining(engine))
    return stats


def _release(engine: Engine, rows: list[OutboxMessage], when: dt.datetime) -> None:
    at = when.astimezone(dt.UTC).replace(tzinfo=None) if when.tzinfo else when
    with session_scope(engine) as s:
        s.execute(update(OutboxMessage).where(OutboxMessage.id.in_([r.id for r in rows]),  # type: ignore[union-attr]
                                              OutboxMessage.claimed_by == rows[0].claimed_by)
                  .values(state="pending", lease_until=None, next_attempt_at=at))


def _next_retry(engine: Engine) -> dt.datetime | None:
    with session_scope(engine) as s:
        return s.scalar(select(func.min(OutboxMessage.next_attempt_at)).where(OutboxMessage.state == "pending"))


def _remaining(engine: Engine) -> int:
    with session_scope(engine) as s:
        return int(s.scalar(select(func.count()).select_from(OutboxMessage)
                            .where(OutboxMessage.state.in_(("pending", "sending")))) or 0)  # type: ignore[attr-defined]
