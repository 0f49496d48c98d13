"""The dispatcher: claims due outbox rows and sends them from a few threads at the pacer's pace.

Each workspace has its own pacer (see :mod:`.pacer`) and its own sending threads, so a 429 in
one workspace pauses only that workspace's sends: the dispatcher stops claiming a paused
workspace's rows once it holds enough of them and keeps sending the others'. Transient errors
are retried with backoff, permanent ones recorded, fatal ones (bad token) stop the run; after a
429 the same row is sent again (a 429 is not an attempt). Only the rows on the wire at a crash —
at most ``concurrency`` per workspace — can reach a person twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.errors import SlackApiError
from sqlalchemy.engine import Engine

from bot import lease
from bot.lease import holder_id
from bot.slack.outbox import store
from bot.slack.outbox.pacer import Pacer, PaceSettings, UnpacedPacer, WorkspacePacer, WorkspacePacers
from bot.slack.outbox.store import Claimed
from bot.slack.sender import PermanentSendError, Send, Upload

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
THREAD_WAIT = dt.timedelta(seconds=2)  # how long a thread reply waits before looking for its parent again


class FatalSlackError(RuntimeError):
    """The bot cannot send anything (bad token, missing scope): stop the run."""


@dataclass
class DispatchStats:
    """What a dispatcher run did (thread-safe counters)."""

    sent: int = 0
    failed: int = 0
    retried: int = 0
    rate_limited: int = 0
    cancelled: int = 0
    waiting: int = 0  # thread replies put back until their parent message is sent
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


Progress = Callable[[DispatchStats, int], None]


def retry_after(exc: SlackApiError) -> float | None:
    """Seconds Slack asked to wait (HTTP 429 ``Retry-After``), None when the error is not a 429."""
    resp = exc.response
    if getattr(resp, "status_code", None) == 429:
        headers = getattr(resp, "headers", None) or {}
        value = headers.get("Retry-After", headers.get("retry-after", 1))
        try:
            return max(float(value), 0.0)
        except (TypeError, ValueError):
            return 1.0
    return None


def error_name(exc: SlackApiError) -> str:
    """Slack's ``error`` string (or the HTTP status) of a refused call."""
    resp = exc.response
    try:
        name = resp.get("error") if resp is not None else None
    except Exception:
        name = None
    return str(name or getattr(resp, "status_code", None) or "slack_error")[:200]


class _Dispatcher:
    def __init__(
        self,
        engine: Engine,
        send: Send,
        upload: Upload | None,
        pacers: WorkspacePacers,
        worker: str,
        clock: Callable[[], dt.datetime],
        stats: DispatchStats,
        stop: threading.Event,
        retry_base: float,
        max_attempts: int,
    ) -> None:
        self.engine, self.send, self.upload, self.pacers = engine, send, upload, pacers
        self.worker, self.clock, self.stats, self.stop = worker, clock, stats, stop
        self.retry_base, self.max_attempts = retry_base, max_attempts

    def _backoff(self, attempts: int) -> dt.datetime:
        seconds = min(self.retry_base * (2**attempts), 300.0) * random.uniform(0.75, 1.25)
        return self.clock() + dt.timedelta(seconds=seconds)

    def _deliver(self, row: Claimed, thread_ts: str | None = None) -> tuple[str | None, str | None]:
        payload = row.payload
        extra: dict[str, str] = {}
        if row.team_id:
            extra["team_id"] = row.team_id
        if thread_ts:
            extra["thread_ts"] = thread_ts
        if payload.get("file"):
            if self.upload is None:
                raise PermanentSendError("no_uploader")
            return self.upload(row.channel, payload["file"], **extra)
        return self.send(row.channel, payload.get("text", ""), payload.get("blocks") or [], **extra)

    def _thread(self, row: Claimed) -> tuple[bool, str | None]:
        """Whether ``row`` may go now, and the ``thread_ts`` to reply in.

        A reply waits (put back, no attempt counted) while its parent is unsent; a parent that failed or
        is gone leaves the reply to go as a message of its own, so its content is never lost.
        """
        key = row.payload.get("thread_of")
        if not key:
            return True, None
        parent = store.thread_parent(self.engine, key)
        if parent is None or parent.state in ("failed", "cancelled"):
            return True, None
        if parent.state == "sent" and parent.ts:
            return True, parent.ts
        self._put_back(row, "waiting_for_thread", self.clock() + THREAD_WAIT, count_attempt=False)
        self.stats.add(waiting=1)
        return False, None

    def process(self, row: Claimed) -> None:
        """Send one claimed row, retrying it in place after 429 pauses."""
        ready, thread_ts = self._thread(row)
        if not ready:
            return
        pacer = self.pacers.get(row.team_id)
        while True:
            if not pacer.acquire() or self.stop.is_set():
                store.release(self.engine, self.worker, [row.id])
                return
            if store.obsolete(self.engine, row):
                self._finish(row, "cancelled", error="answered", count_attempt=False)
                self.stats.add(cancelled=1)
                return
            try:
                channel, ts = self._deliver(row, thread_ts)
            except PermanentSendError as exc:
                self._fail(row, str(exc))
                return
            except SlackApiError as exc:
                wait_s = retry_after(exc)
                if wait_s is not None:
                    # The limit is the workspace's: pause its senders, slow its pace, then try this row again.
                    self.stats.add(rate_limited=1)
                    pacer.pause(wait_s)
                    continue
                error = error_name(exc)
                if error in FATAL_ERRORS:
                    store.release(self.engine, self.worker, [row.id])
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
            pacer.accepted()
            self._finish(row, "sent", ts=ts, channel=channel)
            self.stats.add(sent=1)
            return

    def _fail(self, row: Claimed, error: str) -> None:
        self._finish(row, "failed", error=error)
        self.stats.add(failed=1)

    def _retry(self, row: Claimed, error: str) -> None:
        self._put_back(row, error, self._backoff(row.attempts))
        self.stats.add(retried=1)

    def _put_back(self, row: Claimed, error: str, at: dt.datetime, *, count_attempt: bool = True) -> None:
        """Return ``row`` to the queue, due at ``at``, with ``error`` as its last error."""
        self._finish(row, "pending", error=error, retry_at=at, count_attempt=count_attempt)

    def _finish(self, row: Claimed, state: str, **outcome: Any) -> None:
        """Record ``row``'s outcome as this worker, now (:func:`store.finish`)."""
        store.finish(self.engine, row, self.worker, state=state, now=self.clock(), **outcome)


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
    pace: PaceSettings | None = None,
    retry_base_seconds: float = 2.0,
    max_attempts: int = MAX_ATTEMPTS,
    stop: threading.Event | None = None,
) -> DispatchStats:
    """Send every due outbox row, each workspace at its own pace (shared by all dispatchers).

    The pace is ``pace`` (a start rate that moves within bounds to find Slack's limit), else a
    fixed ``rate_per_second`` per workspace (0 = unpaced; 429 pauses are honoured either way).

    ``send(channel, text, blocks) -> (slack_channel, ts)`` posts one message and ``upload(channel,
    file) -> (channel, file_id)`` uploads a file row; both raise ``SlackApiError`` on failure.
    ``concurrency`` threads per workspace send at once (to cover Slack's latency). With ``stop_when_idle`` the
    run lasts until no row is pending or being sent anywhere, waiting out retries; otherwise it
    returns as soon as nothing is due now. Setting ``stop`` ends it early, handing back every row
    not yet sent.

    Raises:
        FatalSlackError: on errors that make every send fail (bad token, missing scope).
    """
    worker = worker or holder_id()
    halt = threading.Event()  # this run's own stop: set by ``stop``, a fatal error or an exception
    stats = DispatchStats()
    if pacer is not None:
        given = pacer
        pacers = WorkspacePacers(lambda team: given)
    elif pace is None and rate_per_second <= 0:
        pacers = WorkspacePacers(lambda team: UnpacedPacer(halt))
    else:
        settings = pace or PaceSettings.fixed(rate_per_second)
        pacers = WorkspacePacers(lambda team: WorkspacePacer(engine, settings, team_id=team, stop=halt))
    concurrency = max(1, concurrency)
    start_rate = pace.start if pace is not None else rate_per_second
    per_second = start_rate if start_rate > 0 else 100.0
    batch = batch or int(min(max(concurrency * 4, per_second * 2), 500))
    low_water = max(concurrency * 2, batch // 2)
    idle_sleep = sleep or (lambda s: (stop or halt).wait(s))
    core = _Dispatcher(engine, send, upload, pacers, worker, clock, stats, halt, retry_base_seconds, max_attempts)
    inflight: dict[Future[None], Claimed] = {}
    held: dict[str | None, int] = {}  # rows in hand per workspace
    pools: dict[str | None, ThreadPoolExecutor] = {}
    fatal: BaseException | None = None
    last_renew = last_progress = claim_after = time.monotonic()
    lease.register(worker)
    store.reclaim_dead(engine, worker)

    def pool_for(team: str | None) -> ThreadPoolExecutor:
        if team not in pools:
            pools[team] = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=f"outbox-{team or 'ws'}")
        return pools[team]

    try:
        while True:
            if stop is not None and stop.is_set():
                halt.set()
            if halt.is_set() and not inflight:
                break
            # Workspaces with enough rows in hand (a paused one keeps its rows) are not claimed from,
            # so the others' rows keep coming. After a claim that found nothing, look again in 0.5 s.
            full = frozenset(team for team, n in held.items() if n >= low_water)
            mono = time.monotonic()
            if not halt.is_set() and mono >= claim_after:
                rows = store.claim(engine, worker, batch, lease_seconds, clock(), skip_teams=full)
                if rows:
                    stats.batches += 1
                    for row in rows:
                        inflight[pool_for(row.team_id).submit(core.process, row)] = row
                        held[row.team_id] = held.get(row.team_id, 0) + 1
                    left = store.remaining(engine)
                    log.info(
                        "outbox batch %d: claimed %d; sent=%d failed=%d retried=%d rate_limited=%d "
                        "remaining=%d rate=%.1f/s",
                        stats.batches,
                        len(rows),
                        stats.sent,
                        stats.failed,
                        stats.retried,
                        stats.rate_limited,
                        left,
                        stats.rate,
                    )
                elif inflight:
                    claim_after = mono + 0.5
                else:
                    if not stop_when_idle:
                        break
                    nxt = store.next_due(engine, worker)
                    if nxt is None:
                        break
                    delay = (nxt - store.naive(clock())).total_seconds()
                    idle_sleep(min(max(delay, 0.05), 2.0))
                    store.reclaim_dead(engine, worker)
                    continue
            elif not inflight and not halt.is_set():
                idle_sleep(max(claim_after - mono, 0.01))
                continue
            if inflight:
                done, _ = wait(list(inflight), timeout=0.25, return_when=FIRST_COMPLETED)
                for fut in done:
                    row = inflight.pop(fut)
                    held[row.team_id] -= 1
                    if held[row.team_id] < low_water:
                        claim_after = 0.0  # this workspace wants more rows: claim at once
                    exc = fut.exception()
                    if isinstance(exc, FatalSlackError):
                        fatal = fatal or exc
                        halt.set()
                    elif exc is not None:
                        log.error("outbox row %s failed in the dispatcher: %r", row.id, exc)
                        store.release(engine, worker, [row.id])
            mono = time.monotonic()
            if inflight and mono - last_renew > lease_seconds / 3:
                store.renew(engine, worker, [r.id for r in inflight.values()], lease_seconds, clock())
                last_renew = mono
            if progress is not None and mono - last_progress >= 0.5:
                progress(stats, store.remaining(engine))
                last_progress = mono
    except BaseException:
        halt.set()
        raise
    finally:
        # Rows claimed but never started go back at once (no lease wait for the next dispatcher).
        unstarted = [row.id for fut, row in inflight.items() if fut.cancel()]
        for p in pools.values():
            p.shutdown(wait=True)
        try:
            store.release(engine, worker, unstarted)
        except Exception:
            log.exception("could not hand back %d claimed outbox row(s)", len(unstarted))
        lease.unregister(worker)
    if progress is not None:
        progress(stats, store.remaining(engine))
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
