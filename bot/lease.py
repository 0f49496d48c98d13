"""Database leases: which worker runs a scheduled job, on SQLite and PostgreSQL alike.

A lease is one ``job_lease`` row: ``holder`` runs ``name`` until ``until`` (naive UTC). Taking
it is a single conditional ``UPDATE`` (or the first ``INSERT``), so two workers racing for it
never both win. A holder renews the lease while it works; a crashed holder's lease expires and
another worker takes over.

``run_key`` names the run a lease is for (``2026-W45``, ``2026-10``...). A run that finished is
remembered (``holder`` becomes ``done:<holder>``) so a second worker that wakes up late for the
same run skips it instead of running it again.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine

from bot.db import upsert_insert
from bot.models import JobLease

log = logging.getLogger(__name__)

DONE_PREFIX = "done:"


def wall_clock() -> dt.datetime:
    """Naive UTC now: leases are compared across processes, so they use the real clock."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def holder_id() -> str:
    """A name for this process: ``host:pid:random`` (the pid lets a restart spot its dead predecessor)."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(3)}"


_LIVE: set[str] = set()  # holder ids in use by this process (leases held, dispatchers running)
_LIVE_LOCK = threading.Lock()


def register(holder: str) -> None:
    """Mark a holder id of this process as alive (see :func:`is_dead_here`)."""
    with _LIVE_LOCK:
        _LIVE.add(holder)


def unregister(holder: str) -> None:
    with _LIVE_LOCK:
        _LIVE.discard(holder)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_dead_here(holder: str) -> bool:
    """True when ``holder`` (``host:pid:token``) is a process of this host that is gone (SIGKILL, OOM).

    An id with this process's own pid that this process is not using is an earlier incarnation
    (containers often reuse the same pid after a restart). Ids of other hosts are never judged.
    """
    parts = holder.removeprefix(DONE_PREFIX).split(":")
    if len(parts) != 3 or parts[0] != socket.gethostname()[:80] or not parts[1].isdigit():
        return False
    if int(parts[1]) == os.getpid():
        with _LIVE_LOCK:
            return holder not in _LIVE
    return not _pid_alive(int(parts[1]))


def try_acquire(
    engine: Engine,
    name: str,
    *,
    holder: str,
    ttl: float,
    run_key: str | None = None,
    clock: Callable[[], dt.datetime] = wall_clock,
) -> bool:
    """Take the lease ``name`` for ``ttl`` seconds. True when this holder now has it.

    Refused while another holder's lease is unexpired, and for a ``run_key`` that already finished.
    """
    now = clock()
    until = now + dt.timedelta(seconds=ttl)
    ins = upsert_insert(engine.dialect.name, JobLease)
    with engine.begin() as conn:
        res = conn.execute(
            ins.values(name=name, holder=holder, until=until, run_key=run_key).on_conflict_do_nothing(
                index_elements=["name"]
            )
        )
        if (res.rowcount or 0) > 0:
            return True
        takeover = JobLease.until < now
        if run_key is not None:
            same_run = func.coalesce(JobLease.run_key, "") == run_key
            finished = same_run & JobLease.holder.startswith(DONE_PREFIX)
            takeover = takeover & ~finished
        res = conn.execute(
            update(JobLease)
            .where(JobLease.name == name, (JobLease.holder == holder) | takeover)
            .values(holder=holder, until=until, run_key=run_key)
        )
        return (res.rowcount or 0) > 0


def renew(engine: Engine, name: str, *, holder: str, ttl: float, clock: Callable[[], dt.datetime] = wall_clock) -> bool:
    """Extend a lease this holder has. False when it was lost (expired and taken by another)."""
    with engine.begin() as conn:
        res = conn.execute(
            update(JobLease)
            .where(JobLease.name == name, JobLease.holder == holder)
            .values(until=clock() + dt.timedelta(seconds=ttl))
        )
        return (res.rowcount or 0) > 0


def release(
    engine: Engine, name: str, *, holder: str, done: bool, clock: Callable[[], dt.datetime] = wall_clock
) -> None:
    """Give the lease back; ``done=True`` remembers that its run finished."""
    values: dict[str, object] = {"until": clock()}
    if done:
        values["holder"] = (DONE_PREFIX + holder)[:128]
    with engine.begin() as conn:
        conn.execute(update(JobLease).where(JobLease.name == name, JobLease.holder == holder).values(**values))


def current(engine: Engine, name: str) -> JobLease | None:
    """The lease row, if any (for messages such as "running on host:pid until ...")."""
    with engine.connect() as conn:
        row = conn.execute(
            select(JobLease.name, JobLease.holder, JobLease.until, JobLease.run_key).where(JobLease.name == name)
        ).first()
    return None if row is None else JobLease(name=row[0], holder=row[1], until=row[2], run_key=row[3])


@dataclass
class Held:
    """A lease being held (and renewed in the background)."""

    name: str
    holder: str
    run_key: str | None
    lost: threading.Event


@contextmanager
def hold(
    engine: Engine,
    name: str,
    *,
    run_key: str | None = None,
    ttl: float = 300.0,
    holder: str | None = None,
    clock: Callable[[], dt.datetime] = wall_clock,
) -> Iterator[Held | None]:
    """Hold the lease ``name`` for the duration of the block, renewing it every ``ttl / 3`` seconds.

    Yields None when another worker has it (or the run already finished): the caller skips.
    On a clean exit the run is recorded as done; on an exception the lease is only released,
    so another worker may retry the same run.
    """
    who = holder or holder_id()
    if not try_acquire(engine, name, holder=who, ttl=ttl, run_key=run_key, clock=clock) and not _take_from_dead(
        engine, name, holder=who, ttl=ttl, run_key=run_key, clock=clock
    ):
        yield None
        return
    register(who)
    held = Held(name=name, holder=who, run_key=run_key, lost=threading.Event())
    stop = threading.Event()

    def keep_alive() -> None:
        while not stop.wait(ttl / 3):
            try:
                if not renew(engine, name, holder=who, ttl=ttl, clock=clock):
                    log.warning("lease %s was lost by %s", name, who)
                    held.lost.set()
                    return
            except Exception:
                log.exception("could not renew lease %s", name)

    thread = threading.Thread(target=keep_alive, name=f"lease:{name}", daemon=True)
    thread.start()
    ok = False
    try:
        yield held
        ok = True
    finally:
        stop.set()
        thread.join(timeout=5)
        try:
            release(engine, name, holder=who, done=ok, clock=clock)
        except Exception:
            log.exception("could not release lease %s", name)
        unregister(who)


def _take_from_dead(
    engine: Engine, name: str, *, holder: str, ttl: float, run_key: str | None, clock: Callable[[], dt.datetime]
) -> bool:
    """Take a lease whose unexpired holder is a dead process of this host (no need to wait out its ttl)."""
    row = current(engine, name)
    if row is None or row.holder.startswith(DONE_PREFIX) or not is_dead_here(row.holder):
        return False
    with engine.begin() as conn:
        res = conn.execute(
            update(JobLease)
            .where(JobLease.name == name, JobLease.holder == row.holder)
            .values(holder=holder, until=clock() + dt.timedelta(seconds=ttl), run_key=run_key)
        )
    if (res.rowcount or 0) > 0:
        log.warning("lease %s: its holder %s is gone; taken over", name, row.holder)
        return True
    return False
