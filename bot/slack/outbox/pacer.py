"""Send pace: slots handed out at a rate shared by every dispatcher, and 429 pauses.

A :class:`SharedPacer` keeps the workspace's next free send slot in one ``job_lease`` row, so
dispatchers in several processes share one pace; a 429 moves that slot past ``Retry-After``,
which pauses the whole workspace, not one thread.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from typing import Protocol

from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from bot.models import JobLease

PACE_LEASE = "pace:chat.postMessage"  # the job_lease row whose ``until`` is the workspace's next send slot


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


class Pacer(Protocol):
    """Hands out send slots; ``pause`` stops everyone for a while (a 429)."""

    def acquire(self) -> bool: ...

    def pause(self, seconds: float) -> None: ...


class LocalPause:
    """A pause shared by the threads of this process (set by a 429, slept out before each send)."""

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
        self._pause = LocalPause(stop or threading.Event())

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
        self._pause = LocalPause(self._stop)

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
