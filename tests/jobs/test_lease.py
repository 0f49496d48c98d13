"""Leases: two workers never run the same job run twice (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from sqlalchemy.engine import Engine

from bot import lease
from jobs import scheduler as sched
from jobs import weekly_summary
from jobs.common import JobResult
from tests.jobs.conftest import make_deps


def test_one_holder_at_a_time_and_a_finished_run_is_not_repeated(engine: Engine) -> None:
    assert lease.try_acquire(engine, "job:x", holder="a", ttl=60, run_key="2026-W48")
    assert not lease.try_acquire(engine, "job:x", holder="b", ttl=60, run_key="2026-W48")
    assert lease.try_acquire(engine, "job:x", holder="a", ttl=60, run_key="2026-W48")  # re-entrant
    lease.release(engine, "job:x", holder="a", done=True)
    assert not lease.try_acquire(engine, "job:x", holder="b", ttl=60, run_key="2026-W48")  # that run is done
    assert lease.try_acquire(engine, "job:x", holder="b", ttl=60, run_key="2026-W49")  # the next one is not


def test_an_expired_lease_of_a_crashed_holder_is_taken_over(engine: Engine) -> None:
    assert lease.try_acquire(engine, "job:y", holder="dead", ttl=30, run_key="k")
    later = lambda: lease.wall_clock() + dt.timedelta(seconds=31)  # noqa: E731
    assert not lease.try_acquire(engine, "job:y", holder="b", ttl=30, run_key="k")
    assert lease.try_acquire(engine, "job:y", holder="b", ttl=30, run_key="k", clock=later)  # not done: retried
    assert not lease.renew(engine, "job:y", holder="dead", ttl=30)  # the crashed holder lost it


def test_hold_renews_and_records_the_run(engine: Engine) -> None:
    with lease.hold(engine, "job:z", run_key="r1", ttl=0.3, holder="me") as held:
        assert held is not None
        time.sleep(0.5)  # longer than the ttl: renewals keep it
        assert not lease.try_acquire(engine, "job:z", holder="other", ttl=1, run_key="r1")
    with lease.hold(engine, "job:z", run_key="r1", holder="other") as again:
        assert again is None


def test_two_workers_firing_the_same_job_run_it_once(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    runs: list[str] = []

    def slow_job(deps: object, *, now: dt.datetime) -> JobResult:
        runs.append(threading.current_thread().name)
        time.sleep(0.3)
        return JobResult(job="weekly-summary")

    monkeypatch.setattr(weekly_summary, "enqueue_due", slow_job)
    monkeypatch.setitem(sched._STATE, "deps", make_deps(engine, None))
    workers = [threading.Thread(target=sched.fire, args=("weekly-summary",), name=f"worker-{i}") for i in (1, 2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert len(runs) == 1
    sched.fire("weekly-summary")  # a worker waking up late for the same week
    assert len(runs) == 1
