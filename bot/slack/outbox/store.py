"""The outbox: bulk messages are stored first, then sent by a paced, resumable dispatcher.

Enqueueing is idempotent (unique ``dedupe_key``). A dispatcher claims due rows a batch at a
time with a lease (one ``UPDATE ... RETURNING``; ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so
several dispatcher processes share the work without taking the same row), and sends them from
a few threads at a pace shared by every dispatcher of the workspace (one ``job_lease`` row
holds the next free send slot). A 429 pushes that slot past ``Retry-After``, which pauses the
whole workspace, not one thread. Transient errors are retried with backoff, permanent ones
recorded, fatal ones (bad token) stop the run.

Crash safety: a row is ``sending`` while claimed and becomes ``sent`` only after Slack answered.
A dispatcher killed at any moment leaves its claimed rows ``sending``; their lease expires (or,
on the same host, the dead pid is noticed at once) and the next dispatcher sends them. Only the
rows that were on the wire at the kill — at most ``concurrency`` — can reach a person twice.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic_settings import BaseSettings, SettingsConfigDict
from slack_sdk.errors import SlackApiError
from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from bot import lease
from bot.db import session_scope
from bot.lease import holder_id
from bot.models import Checkin, JobLease, OutboxMessage

log = logging.getLogger(__name__)

PERMANENT_ERRORS = frozenset(
    {
        "account_inactive",
        "user_not_found",
        "users_not_found",
        "messages_tab_disabled",
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "user_disabled",
        "cannot_dm_bot",
        "restricted_action",
        "no_permission",
        "ekm_access_denied",
        "invalid_blocks",
        "msg_too_long",
        "too_many_attachments",
        "invalid_arguments",
        "user_is_restricted",
        "team_access_not_granted",
        "no_text",
        "invalid_file",
        "file_not_found",
        "no_uploader",
    }
)
FATAL_ERRORS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "token_expired",
        "account_inactive_bot",
        "missing_scope",
        "not_allowed_token_type",
        "app_uninstalled",
        "team_disabled",
    }
)
MAX_ATTEMPTS = 8
PACE_LEASE = "pace:chat.postMessage"  # the job_lease row whose ``until`` is the workspace's next send slot
REMINDER_KINDS = ("reminder",)


class FatalSlackError(RuntimeError):
    """The bot cannot send anything (bad token, missing scope): stop the run."""


class OutboxSettings(BaseSettings):
    """How fast the outbox sends (environment: ``OUTBOX_RATE_PER_SECOND``, ``OUTBOX_CONCURRENCY``...).

    Slack allows chat.postMessage about one message per second per channel with a workspace-wide
    cap it does not publish; 10 DMs a second (600 a minute) stays under it, and a 429 slows every
    dispatcher down anyway. Concurrency covers Slack's latency (~100-300 ms a call): at 10/s,
    4 calls in flight are plenty.
    """

    model_config = SettingsConfigDict(env_prefix="OUTBOX_", case_sensitive=False, extra="ignore")

    rate_per_second: float = 10.0
    concurrency: int = 4
    lease_seconds: float = 30.0
    retry_base_seconds: float = 2.0


@dataclass
class OutboxItem:
    """A message to enqueue; with ``file`` (see :func:`file_payload`) it is a file upload."""

    dedupe_key: str
    kind: str
    channel: str
    text: str
    blocks: list[dict[str, Any]]
    person_id: int | None = None
    period: str | None = None
    file: dict[str, Any] | None = None
    not_before: dt.datetime | None = None


def file_payload(content: bytes, *, filename: str, title: str, alt_txt: str = "") -> dict[str, Any]:
    """The ``file`` of an :class:`OutboxItem` (stored as base64 in the row's JSON payload)."""
    return {"content": base64.b64encode(content).decode(), "filename": filename, "title": title, "alt_txt": alt_txt}


@dataclass
class DispatchStats:
    """What a dispatcher run did (thread-safe counters)."""

    sent: int = 0
    failed: int = 0
    retried: int = 0
    rate_limited: int = 0
    cancelled: int = 0
    batches: int = 0
    started: float = field(default_factory=time.monotonic)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, n in counts.items():
                setattr(self, name, getattr(self, name) + n)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    @property
    def rate(self) -> float:
        """Messages sent per second so far."""
        return self.sent / self.elapsed if self.elapsed > 0 else 0.0

    def eta(self, remaining: int) -> float | None:
        """Seconds left at the current rate (None before anything was sent)."""
        return remaining / self.rate if self.rate > 0 else None


Send = Callable[[str, str, list[dict[str, Any]]], tuple[str | None, str | None]]
Upload = Callable[[str, dict[str, Any]], tuple[str | None, str | None]]
Progress = Callable[[DispatchStats, int], None]


def _insert(engine: Engine) -> Any:
    return (postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert)(
        OutboxMessage.__table__  # type: ignore[attr-defined]
    )


def _naive(at: dt.datetime) -> dt.datetime:
    return at.astimezone(dt.UTC).replace(tzinfo=None) if at.tzinfo else at


def enqueue(engine: Engine, items: Iterable[OutboxItem], *, now: dt.datetime, batch: int = 1000) -> int:
    """Store messages to send; items whose ``dedupe_key`` exists are skipped. Returns rows added.

    ``items`` is consumed lazily, ``batch`` rows per transaction, so it may stream a whole org.
    """
    added = 0
    at = _naive(now)
    buf: list[dict[str, Any]] = []

    def flush() -> int:
        if not buf:
            return 0
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
        due = _naive(it.not_before) if it.not_before else at
        buf.append(
            {
                "dedupe_key": it.dedupe_key,
                "kind": it.kind,
                "period": it.period,
                "person_id": it.person_id,
                "channel": it.channel,
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


def counts(engine: Engine, *, kind_prefix: str | None = None, period: str | None = None) -> dict[str, int]:
    """Rows per state."""
    q = select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)
    if kind_prefix:
        q = q.where(OutboxMessage.kind.startswith(kind_prefix))
    if period:
        q = q.where(OutboxMessage.period == period)
    with session_scope(engine) as s:
        return {state: int(n) for state, n in s.execute(q)}


# --------------------------------------------------------------------------- pacing


class Pacer(Protocol):
    """Hands out send slots; ``pause`` stops everyone for a while (a 429)."""

    def acquire(self) -> bool: ...

    def pause(self, seconds: float) -> None: ...


class _LocalPause:
    def __init__(self, stop: threading.Event) -> None:
        self._stop = stop
        self._lock = threading.Lock()
        self._until = 0.0

    def pause(self, seconds: float) -> float:
        with self._lock:
            self._until = max(self._until, time.time() + max(seconds, 0.0))
            return self._until

    def active(self) -> bool:
        with self._lock:
            return self._until > time.time()

    def wait(self) -> bool:
        """Sleep out a pause; False when stopped meanwhile."""
        while True:
            with self._lock:
                left = self._until - time.time()
            if left <= 0:
                return not self._stop.is_set()
            if self._stop.wait(left):
                return False


class UnpacedPacer:
    """No pace (tests, the offline demo), but 429 pauses are still honoured."""

    def __init__(self, stop: threading.Event | None = None) -> None:
        self._pause = _LocalPause(stop or threading.Event())

    def acquire(self) -> bool:
        return self._pause.wait()

    def pause(self, seconds: float) -> None:
        self._pause.pause(seconds)


class SharedPacer:
    """A send pace shared by every dispatcher of the workspace through one ``job_lease`` row.

    The row's ``until`` is the next free send slot (real UTC time). Taking a slot is a
    compare-and-set that moves it one interval on; a 429 moves it past ``Retry-After``, so every
    dispatcher, in every process, waits. Threads of this process also re-check a local pause after
    sleeping to their slot, so a slot taken just before the 429 is not used during the pause.
    """

    def __init__(
        self, engine: Engine, rate_per_second: float, *, stop: threading.Event | None = None, name: str = PACE_LEASE
    ) -> None:
        if rate_per_second <= 0:
            raise ValueError("rate_per_second must be positive")
        self.engine = engine
        self.interval = 1.0 / rate_per_second
        self.name = name
        self._stop = stop or threading.Event()
        self._pause = _LocalPause(self._stop)

    @staticmethod
    def _to_dt(t: float) -> dt.datetime:
        return dt.datetime.fromtimestamp(t, dt.UTC).replace(tzinfo=None)

    @staticmethod
    def _to_ts(d: dt.datetime) -> float:
        return d.replace(tzinfo=dt.UTC).timestamp()

    def _move(self, new_slot: Callable[[float, float], tuple[float, float]]) -> float:
        """Compare-and-set the slot row: ``new_slot(current, now) -> (result, stored)``."""
        while True:
            now = time.time()
            with self.engine.begin() as conn:
                current = conn.execute(select(JobLease.until).where(JobLease.name == self.name)).scalar()
                if current is None:
                    result, stored = new_slot(now, now)
                    pg = self.engine.dialect.name == "postgresql"
                    ins = (postgresql.insert if pg else sqlite.insert)(JobLease)
                    res = conn.execute(
                        ins.values(name=self.name, holder="pacer", until=self._to_dt(stored)).on_conflict_do_nothing(
                            index_elements=["name"]
                        )
                    )
                else:
                    result, stored = new_slot(self._to_ts(current), now)
                    res = conn.execute(
                        update(JobLease)
                        .where(JobLease.name == self.name, JobLease.until == current)
                        .values(until=self._to_dt(stored))
                    )
                if (res.rowcount or 0) > 0:
                    return result

    def acquire(self) -> bool:
        while True:
            if not self._pause.wait():
                return False
            slot = self._move(lambda cur, now: (max(cur, now), max(cur, now) + self.interval))
            delay = slot - time.time()
            if delay > 0 and self._stop.wait(delay):
                return False
            if not self._pause.active():
                return True

    def pause(self, seconds: float) -> None:
        resume = self._pause.pause(seconds)
        self._move(lambda cur, now: (resume, max(cur, resume)))


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


_CLAIM_COLUMNS = (
    OutboxMessage.id,
    OutboxMessage.kind,
    OutboxMessage.channel,
    OutboxMessage.payload,
    OutboxMessage.attempts,
    OutboxMessage.person_id,
    OutboxMessage.period,
)


def _claim(engine: Engine, worker: str, limit: int, lease_s: float, now: dt.datetime) -> list[Claimed]:
    """Claim up to ``limit`` due rows: a crashed worker's expired leases first, then pending rows by due time.

    Each claim is one ``UPDATE ... WHERE id IN (SELECT ... [FOR UPDATE SKIP LOCKED]) RETURNING``, so
    two dispatchers never claim the same row (PostgreSQL row locks; SQLite's single writer).
    """
    at = _naive(now)
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
            Claimed(id=r[0], kind=r[1], channel=r[2], payload=r[3] or {}, attempts=r[4], person_id=r[5], period=r[6])
            for r in rows
        )
    out.sort(key=lambda c: c.id)
    return out


def _renew(engine: Engine, worker: str, ids: list[int], lease_s: float, now: dt.datetime) -> None:
    if not ids:
        return
    with engine.begin() as conn:
        conn.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.claimed_by == worker, OutboxMessage.state == "sending")
            .values(lease_until=_naive(now) + dt.timedelta(seconds=lease_s))
        )


def _release(engine: Engine, worker: str, ids: list[int], when: dt.datetime | None = None) -> None:
    """Put claimed rows back (not sent, no attempt used), due at ``when`` or as they were."""
    if not ids:
        return
    values: dict[str, Any] = {"state": "pending", "lease_until": None, "claimed_by": None}
    if when is not None:
        values["next_attempt_at"] = _naive(when)
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


def _finish(
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
    at = _naive(now)
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
        values["next_attempt_at"] = _naive(retry_at)
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


def _obsolete(engine: Engine, row: Claimed) -> bool:
    """A reminder whose check-in was answered (or skipped) since it was queued is not sent."""
    if row.kind not in REMINDER_KINDS or row.person_id is None or not row.period:
        return False
    with engine.connect() as conn:
        status = conn.execute(
            select(Checkin.status).where(Checkin.person_id == row.person_id, Checkin.period == row.period)
        ).scalar()
    return status is not None and status != "sent"


def _retry_after(exc: SlackApiError) -> float | None:
    resp = exc.response
    if getattr(resp, "status_code", None) == 429:
        headers = getattr(resp, "headers", None) or {}
        value = headers.get("Retry-After", headers.get("retry-after", 1))
        try:
            return max(float(value), 0.0)
        except (TypeError, ValueError):
            return 1.0
    return None


def _error_name(exc: SlackApiError) -> str:
    resp = exc.response
    try:
        name = resp.get("error") if resp is not None else None
    except Exception:
        name = None
    return str(name or getattr(resp, "status_code", None) or "slack_error")[:200]


# --------------------------------------------------------------------------- dispatching


class _Dispatcher:
    def __init__(
        self,
        engine: Engine,
        send: Send,
        upload: Upload | None,
        pacer: Pacer,
        worker: str,
        clock: Callable[[], dt.datetime],
        stats: DispatchStats,
        stop: threading.Event,
        retry_base: float,
        max_attempts: int,
    ) -> None:
        self.engine, self.send, self.upload, self.pacer = engine, send, upload, pacer
        self.worker, self.clock, self.stats, self.stop = worker, clock, stats, stop
        self.retry_base, self.max_attempts = retry_base, max_attempts

    def _backoff(self, attempts: int) -> dt.datetime:
        seconds = min(self.retry_base * (2**attempts), 300.0) * random.uniform(0.75, 1.25)
        return self.clock() + dt.timedelta(seconds=seconds)

    def _deliver(self, row: Claimed) -> tuple[str | None, str | None]:
        payload = row.payload
        if payload.get("file"):
            if self.upload is None:
                raise _Permanent("no_uploader")
            return self.upload(row.channel, payload["file"])
        return self.send(row.channel, payload.get("text", ""), payload.get("blocks") or [])

    def process(self, row: Claimed) -> None:
        """Send one claimed row, retrying it in place after 429 pauses."""
        while True:
            if not self.pacer.acquire() or self.stop.is_set():
                _release(self.engine, self.worker, [row.id])
                return
            if _obsolete(self.engine, row):
                _finish(
                    self.engine,
                    row,
                    self.worker,
                    state="cancelled",
                    now=self.clock(),
                    error="answered",
                    count_attempt=False,
                )
                self.stats.add(cancelled=1)
                return
            try:
                channel, ts = self._deliver(row)
            except _Permanent as exc:
                self._fail(row, str(exc))
                return
            except SlackApiError as exc:
                wait_s = _retry_after(exc)
                if wait_s is not None:
                    # The limit is the workspace's: pause every sender, then try this same row again.
                    self.stats.add(rate_limited=1)
                    log.info("Slack answered 429: pausing sends for %.1f s", wait_s)
                    self.pacer.pause(wait_s)
                    continue
                error = _error_name(exc)
                if error in FATAL_ERRORS:
                    _release(self.engine, self.worker, [row.id])
                    self.stop.set()
                    raise FatalSlackError(f"Slack refused the bot token: {error}") from exc
                if error in PERMANENT_ERRORS or row.attempts + 1 >= self.max_attempts:
                    self._fail(row, error)
                else:
                    self._retry(row, error)
                return
            except Exception as exc:  # network errors, timeouts: transient
                log.warning("send failed for outbox row %s: %s", row.id, type(exc).__name__)
                if row.attempts + 1 >= self.max_attempts:
                    self._fail(row, type(exc).__name__)
                else:
                    self._retry(row, type(exc).__name__)
                return
            _finish(self.engine, row, self.worker, state="sent", now=self.clock(), ts=ts, channel=channel)
            self.stats.add(sent=1)
            return

    def _fail(self, row: Claimed, error: str) -> None:
        _finish(self.engine, row, self.worker, state="failed", now=self.clock(), error=error)
        self.stats.add(failed=1)

    def _retry(self, row: Claimed, error: str) -> None:
        _finish(
            self.engine,
            row,
            self.worker,
            state="pending",
            now=self.clock(),
            error=error,
            retry_at=self._backoff(row.attempts),
        )
        self.stats.add(retried=1)


class _Permanent(Exception):
    pass


def dispatch(
    engine: Engine,
    send: Send,
    *,
    upload: Upload | None = None,
    rate_per_second: float = 1.0,
    concurrency: int = 1,
    batch: int | None = None,
    lease_seconds: float = 30.0,
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    sleep: Callable[[float], None] | None = None,
    progress: Progress | None = None,
    worker: str | None = None,
    stop_when_idle: bool = True,
    pacer: Pacer | None = None,
    retry_base_seconds: float = 2.0,
    max_attempts: int = MAX_ATTEMPTS,
    stop: threading.Event | None = None,
) -> DispatchStats:
    """Send every due outbox row at ``rate_per_second`` (shared by all dispatchers; 0 = unpaced).

    ``send(channel, text, blocks) -> (slack_channel, ts)`` posts one message and ``upload(channel,
    file) -> (channel, file_id)`` uploads a file row; both raise ``SlackApiError`` on failure.
    ``concurrency`` threads send at once (to cover Slack's latency). With ``stop_when_idle`` the
    run lasts until no row is pending or being sent anywhere, waiting out retries; otherwise it
    returns as soon as nothing is due now. Setting ``stop`` ends it early, handing back every row
    not yet sent.

    Raises:
        FatalSlackError: on errors that make every send fail (bad token, missing scope).
    """
    worker = worker or holder_id()
    halt = threading.Event()  # this run's own stop: set by ``stop``, a fatal error or an exception
    stats = DispatchStats()
    if pacer is None:
        pacer = SharedPacer(engine, rate_per_second, stop=halt) if rate_per_second > 0 else UnpacedPacer(halt)
    concurrency = max(1, concurrency)
    per_second = rate_per_second if rate_per_second > 0 else 100.0
    batch = batch or int(min(max(concurrency * 4, per_second * 2), 500))
    low_water = max(concurrency * 2, batch // 2)
    idle_sleep = sleep or (lambda s: (stop or halt).wait(s))
    core = _Dispatcher(engine, send, upload, pacer, worker, clock, stats, halt, retry_base_seconds, max_attempts)
    inflight: dict[Future[None], Claimed] = {}
    fatal: BaseException | None = None
    last_renew = last_progress = time.monotonic()
    lease.register(worker)
    reclaim_dead(engine, worker)
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="outbox")
    try:
        while True:
            if stop is not None and stop.is_set():
                halt.set()
            if halt.is_set() and not inflight:
                break
            if not halt.is_set() and len(inflight) < low_water:
                rows = _claim(engine, worker, batch, lease_seconds, clock())
                if rows:
                    stats.batches += 1
                    for row in rows:
                        inflight[pool.submit(core.process, row)] = row
                    remaining = _remaining(engine)
                    log.info(
                        "outbox batch %d: claimed %d; sent=%d failed=%d retried=%d rate_limited=%d "
                        "remaining=%d rate=%.1f/s",
                        stats.batches,
                        len(rows),
                        stats.sent,
                        stats.failed,
                        stats.retried,
                        stats.rate_limited,
                        remaining,
                        stats.rate,
                    )
                elif not inflight:
                    if not stop_when_idle:
                        break
                    nxt = _next_due(engine, worker)
                    if nxt is None:
                        break
                    delay = (nxt - _naive(clock())).total_seconds()
                    idle_sleep(min(max(delay, 0.05), 2.0))
                    reclaim_dead(engine, worker)
                    continue
            if inflight:
                done, _ = wait(list(inflight), timeout=0.25, return_when=FIRST_COMPLETED)
                for fut in done:
                    row = inflight.pop(fut)
                    exc = fut.exception()
                    if isinstance(exc, FatalSlackError):
                        fatal = fatal or exc
                        halt.set()
                    elif exc is not None:
                        log.error("outbox row %s failed in the dispatcher: %r", row.id, exc)
                        _release(engine, worker, [row.id])
            mono = time.monotonic()
            if inflight and mono - last_renew > lease_seconds / 3:
                _renew(engine, worker, [r.id for r in inflight.values()], lease_seconds, clock())
                last_renew = mono
            if progress is not None and mono - last_progress >= 0.5:
                progress(stats, _remaining(engine))
                last_progress = mono
    except BaseException:
        halt.set()
        raise
    finally:
        # Rows claimed but never started go back at once (no lease wait for the next dispatcher).
        unstarted = [row.id for fut, row in inflight.items() if fut.cancel()]
        pool.shutdown(wait=True)
        try:
            _release(engine, worker, unstarted)
        except Exception:
            log.exception("could not hand back %d claimed outbox row(s)", len(unstarted))
        lease.unregister(worker)
    if progress is not None:
        progress(stats, _remaining(engine))
    log.info(
        "outbox done: sent=%d failed=%d retried=%d rate_limited=%d cancelled=%d in %.1f s",
        stats.sent,
        stats.failed,
        stats.retried,
        stats.rate_limited,
        stats.cancelled,
        stats.elapsed,
    )
    if fatal is not None:
        raise fatal
    return stats


def _next_due(engine: Engine, worker: str) -> dt.datetime | None:
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


def _remaining(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.state.in_(("pending", "sending")))
            ).scalar()
            or 0
        )


def remaining(engine: Engine) -> int:
    """Rows still to send (pending or being sent), every kind."""
    return _remaining(engine)


# --------------------------------------------------------------------------- Slack


def slack_sender(client: Any) -> tuple[Send, Upload]:
    """``send`` and ``upload`` functions over a ``WebClient`` for :func:`dispatch`.

    The client's own 429 retry handler is dropped: a 429 must reach the dispatcher so that it
    pauses every sender, instead of one thread sleeping while the others keep hitting the limit.
    """
    from slack_sdk import WebClient
    from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

    c = client
    if isinstance(client, WebClient):
        c = WebClient(
            token=client.token,
            base_url=client.base_url,
            timeout=client.timeout,
            ssl=client.ssl,
            proxy=client.proxy,
            retry_handlers=[h for h in client.retry_handlers if not isinstance(h, RateLimitErrorRetryHandler)],
        )

    def send(channel: str, text: str, blocks: list[dict[str, Any]]) -> tuple[str | None, str | None]:
        resp = c.chat_postMessage(
            channel=channel, text=text, blocks=blocks or None, unfurl_links=False, unfurl_media=False
        )
        return resp.get("channel"), resp.get("ts")

    def upload(channel: str, file: dict[str, Any]) -> tuple[str | None, str | None]:
        try:
            content = base64.b64decode(file["content"])
        except (KeyError, ValueError) as exc:
            raise _Permanent("invalid_file") from exc
        resp = c.files_upload_v2(
            channel=channel,
            file=content,
            filename=file.get("filename") or "file.bin",
            title=file.get("title") or None,
            alt_txt=file.get("alt_txt") or None,
            initial_comment=file.get("comment") or None,
            request_file_info=False,
        )
        found = resp.get("file") or (resp.get("files") or [{}])[0]
        return channel, (found or {}).get("id")

    return send, upload
