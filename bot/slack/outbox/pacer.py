"""Send pace: each workspace its own pace, shared by every dispatcher, that finds Slack's limit.

A :class:`WorkspacePacer` keeps a workspace's next free send slot and its rate in one
``send_pace`` row, so dispatchers in several processes share one pace per workspace. The rate
starts at ``OUTBOX_RATE_PER_SECOND`` (or the rate learned by an earlier run) and is adjusted
within ``OUTBOX_MIN_RATE_PER_SECOND``..``OUTBOX_MAX_RATE_PER_SECOND``:

* until Slack first answers 429, each accepted send raises it by ``OUTBOX_PROBE_STEP`` (5 %:
  the pace doubles about every 15 sends), so a generous workspace is found in seconds;
* a 429 pauses the workspace for ``Retry-After`` and cuts the rate once (``OUTBOX_DECREASE``,
  x0.7), remembering the rate Slack refused as the ceiling; the requests already on the wire
  that also come back 429 do not cut it again;
* after that, while Slack accepts, the rate grows by ``OUTBOX_INCREASE`` (2 %) of the ceiling
  per second (additive increase), so it creeps back towards the limit and probes past it slowly.

The row outlives the run: the next run starts from the learned rate. A 429 in one workspace
touches only that workspace's row.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from bot.db import upsert_insert
from bot.models import SendPace

log = logging.getLogger(__name__)

PACE_PREFIX = "chat.postMessage:"  # send_pace rows are named PACE_PREFIX + team id ("-": the one workspace)


class OutboxSettings(BaseSettings):
    """How fast the outbox sends (environment: ``OUTBOX_RATE_PER_SECOND``, ``OUTBOX_CONCURRENCY``...).

    Slack allows chat.postMessage about one message per second per channel with a workspace-wide
    cap it does not publish. Each workspace's pace starts at ``rate_per_second`` (10 DMs a second)
    and finds the cap itself within ``min_rate_per_second``..``max_rate_per_second`` (see the
    module docstring for ``probe_step``, ``increase`` and ``decrease``). Concurrency (per
    workspace) covers Slack's latency (~50-300 ms a call) and the bookkeeping of each send: 8 calls
    in flight keep up with 50 a second.
    """

    model_config = SettingsConfigDict(env_prefix="OUTBOX_", case_sensitive=False, extra="ignore")

    rate_per_second: float = 10.0
    min_rate_per_second: float = 1.0
    max_rate_per_second: float = 100.0
    probe_step: float = 0.05
    increase: float = 0.02
    decrease: float = 0.7
    concurrency: int = 8
    lease_seconds: float = 30.0
    retry_base_seconds: float = 2.0


class Pacer(Protocol):
    """Hands out send slots; ``accepted`` after Slack took a send; ``pause`` stops everyone for a while (a 429)."""

    def acquire(self) -> bool: ...

    def accepted(self) -> None: ...

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

    def accepted(self) -> None:
        pass

    def pause(self, seconds: float) -> None:
        self._pause.pause(seconds)


@dataclass(frozen=True)
class PaceSettings:
    """The bounds and steps of a workspace's pace (see the module docstring)."""

    start: float
    minimum: float
    maximum: float
    probe_step: float = 0.05
    increase: float = 0.02
    decrease: float = 0.7

    @classmethod
    def fixed(cls, rate: float) -> PaceSettings:
        """A pace that never moves (``rate`` messages a second)."""
        return cls(start=rate, minimum=rate, maximum=rate)

    @classmethod
    def from_settings(cls, cfg: OutboxSettings) -> PaceSettings:
        return cls(
            start=cfg.rate_per_second,
            minimum=min(cfg.min_rate_per_second, cfg.rate_per_second),
            maximum=max(cfg.max_rate_per_second, cfg.rate_per_second),
            probe_step=cfg.probe_step,
            increase=cfg.increase,
            decrease=cfg.decrease,
        )

    def clamp(self, rate: float) -> float:
        return min(self.maximum, max(self.minimum, rate))

    def grown(self, rate: float, ceiling: float | None, accepted: int) -> float:
        """The rate after ``accepted`` more sends went through."""
        for _ in range(accepted):
            if ceiling is None:
                rate += self.probe_step * rate  # probing: no limit met yet
            else:
                rate += self.increase * ceiling / rate  # per send, so per second: increase x ceiling
        return self.clamp(rate)


@dataclass(frozen=True)
class _Pace:
    rate: float
    ceiling: float | None
    next_slot: float
    cut_at: float | None


def _to_dt(t: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(t, dt.UTC).replace(tzinfo=None)


def _to_ts(d: dt.datetime) -> float:
    return d.replace(tzinfo=dt.UTC).timestamp()


def pace_name(team_id: str | None) -> str:
    """The ``send_pace`` row of a workspace (None: the single workspace of a plain install)."""
    return PACE_PREFIX + (team_id or "-")


def learned_rate(engine: Engine, team_id: str | None) -> float | None:
    """The pace a workspace's sends ran at when last seen (None before any run)."""
    with engine.connect() as conn:
        return conn.execute(select(SendPace.rate_per_second).where(SendPace.name == pace_name(team_id))).scalar()


class WorkspacePacer:
    """One workspace's pace, shared by every dispatcher through its ``send_pace`` row (see the module)."""

    def __init__(
        self, engine: Engine, pace: PaceSettings, *, team_id: str | None = None, stop: threading.Event | None = None
    ) -> None:
        if pace.minimum <= 0:
            raise ValueError("the pace must be positive")
        self.engine = engine
        self.pace = pace
        self.team_id = team_id
        self.name = pace_name(team_id)
        self._stop = stop or threading.Event()
        self._pause = LocalPause(self._stop)
        self._lock = threading.Lock()
        self._accepted = 0
        self._slot = threading.local()  # the slot of this thread's current send

    def _update(self, change: Callable[[_Pace, float], tuple[float, _Pace]]) -> float:
        """Compare-and-set the pace row: ``change(current, now) -> (result, new)``."""
        while True:
            now = time.time()
            with self.engine.begin() as conn:
                row = conn.execute(
                    select(
                        SendPace.rate_per_second,
                        SendPace.ceiling,
                        SendPace.next_slot,
                        SendPace.cut_at,
                        SendPace.updated_at,
                    ).where(SendPace.name == self.name)
                ).first()
                if row is None:
                    current = _Pace(rate=self.pace.clamp(self.pace.start), ceiling=None, next_slot=now, cut_at=None)
                else:
                    current = _Pace(
                        rate=self.pace.clamp(row[0]),
                        ceiling=row[1],
                        next_slot=_to_ts(row[2]),
                        cut_at=_to_ts(row[3]) if row[3] is not None else None,
                    )
                result, new = change(current, now)
                values = {
                    "rate_per_second": new.rate,
                    "ceiling": new.ceiling,
                    "next_slot": _to_dt(new.next_slot),
                    "cut_at": _to_dt(new.cut_at) if new.cut_at is not None else None,
                    "updated_at": _to_dt(max(now, _to_ts(row[4]) + 1e-6) if row is not None else now),
                }
                if row is None:
                    ins = upsert_insert(self.engine.dialect.name, SendPace)
                    res = conn.execute(
                        ins.values(name=self.name, **values).on_conflict_do_nothing(index_elements=["name"])
                    )
                else:
                    res = conn.execute(
                        update(SendPace)
                        .where(SendPace.name == self.name, SendPace.next_slot == row[2], SendPace.updated_at == row[4])
                        .values(**values)
                    )
                if (res.rowcount or 0) > 0:
                    return result

    def _take_accepted(self) -> int:
        with self._lock:
            n, self._accepted = self._accepted, 0
            return n

    def acquire(self) -> bool:
        while True:
            if not self._pause.wait():
                return False
            accepted = self._take_accepted()

            def take(cur: _Pace, now: float, accepted: int = accepted) -> tuple[float, _Pace]:
                # Raise the pace only while it is what holds the sends back (the slot is now or later):
                # a pace far above what the senders manage says nothing about Slack's limit.
                at_pace = cur.next_slot >= now - 1.0 / cur.rate
                rate = self.pace.grown(cur.rate, cur.ceiling, accepted) if at_pace else cur.rate
                slot = max(cur.next_slot, now)
                return slot, _Pace(rate, cur.ceiling, slot + 1.0 / rate, cur.cut_at)

            slot = self._update(take)
            delay = slot - time.time()
            if delay > 0 and self._stop.wait(delay):
                return False
            if not self._pause.active():
                self._slot.at = slot
                return True

    def accepted(self) -> None:
        with self._lock:
            self._accepted += 1

    def pause(self, seconds: float) -> None:
        sent_at = getattr(self._slot, "at", time.time())
        resume = self._pause.pause(seconds)

        def cut(cur: _Pace, now: float) -> tuple[float, _Pace]:
            if cur.cut_at is not None and sent_at < cur.cut_at:
                # Sent before the last pause ended: the same storm, already answered by one cut.
                return cur.rate, _Pace(cur.rate, cur.ceiling, max(cur.next_slot, resume), cur.cut_at)
            rate = self.pace.clamp(cur.rate * self.pace.decrease)
            return rate, _Pace(rate, cur.rate, max(cur.next_slot, resume), resume)

        rate = self._update(cut)
        log.info("workspace %s: Slack answered 429; paused %.1f s, pace %.1f/s", self.team_id or "-", seconds, rate)


class WorkspacePacers:
    """The pacer of each workspace, made on first use (a 429 in one never slows another)."""

    def __init__(self, make: Callable[[str | None], Pacer]) -> None:
        self._make = make
        self._lock = threading.Lock()
        self._pacers: dict[str | None, Pacer] = {}

    def get(self, team_id: str | None) -> Pacer:
        with self._lock:
            pacer = self._pacers.get(team_id)
            if pacer is None:
                pacer = self._pacers[team_id] = self._make(team_id)
            return pacer
