"""``artifact-bot worker`` and the in-process scheduler of ``serve``."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

from bot.db import make_engine
from bot.slack import outbox
from jobs import scheduler as sched
from testing.slack_emulator import SlackEmulator
from tests.jobs.conftest import make_deps, posts_per_channel

ROOT = Path(__file__).resolve().parents[2]


def test_background_scheduler_schedules_every_job_and_sweeps_the_outbox(
    sqlite_engine: Engine, emu: SlackEmulator
) -> None:
    deps = make_deps(sqlite_engine, emu)
    scheduler = sched.start_background_scheduler(deps)
    try:
        assert scheduler.running
        assert {j.id for j in scheduler.get_jobs()} == {
            "checkin",
            "reminders",
            "close-period",
            "weekly-summary",
            "review-queue",
            "people-sync",
            "outbox",
        }
        outbox.enqueue(
            sqlite_engine, [outbox.OutboxItem("test:1", "test", "U0ALICE", "hello", [])], now=dt.datetime.now(dt.UTC)
        )
        sched._kick_outbox()  # what a job does after queueing: the sweep runs now, not in 30 s
        deadline = time.monotonic() + 10
        while outbox.counts(sqlite_engine).get("sent", 0) < 1:
            assert time.monotonic() < deadline, "the outbox sweep did not send"
            time.sleep(0.05)
        assert posts_per_channel(emu) == {"U0ALICE": 1}
    finally:
        sched.stop_scheduler(scheduler)
    assert not scheduler.running


@pytest.mark.slow
def test_worker_starts_stores_its_jobs_in_the_database_and_stops_on_sigterm(tmp_path: Path, emu: SlackEmulator) -> None:
    url = f"sqlite:///{tmp_path / 'worker.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARTIFACT_BOT", "OPENAI", "ANTHROPIC"))}
    env.update(emu.env(), DATABASE_URL=url, PYTHONPATH=str(ROOT))
    worker = subprocess.Popen(
        [sys.executable, "-m", "bot", "worker"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    engine = make_engine(url)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert worker.poll() is None, worker.communicate()[1].decode()
            if inspect(engine).has_table("apscheduler_jobs"):
                with engine.connect() as conn:
                    # every job of the registry but usage-sync (no provider key here)
                    if conn.execute(text("SELECT count(*) FROM apscheduler_jobs")).scalar() == 7:
                        break
            assert time.monotonic() < deadline, "the worker did not store its jobs"
            time.sleep(0.1)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(15) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
        engine.dispose()


def test_usage_sync_job_runs_only_with_a_key(sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    from jobs.runner import run_job
    from tests.jobs.conftest import console_text, quiet_console

    now = dt.datetime(2026, 11, 23, 18, 17, tzinfo=dt.UTC)
    deps = make_deps(sqlite_engine, None, clock=lambda: now)
    console = quiet_console()
    assert run_job(deps, "usage-sync", console=console) == 0
    assert "nothing to sync" in console_text(console)

    calls: list[dict[str, object]] = []

    def fake_sync(engine: Engine, settings: object, org: object, **kwargs: object) -> SimpleNamespace:
        calls.append(kwargs)
        return SimpleNamespace(lines=lambda: ["openai: 2026-11-20..2026-11-23: 12 rows"])

    monkeypatch.setattr("bot.spend.sync.sync_usage", fake_sync)
    deps.settings = deps.settings.model_copy(update={"openai_admin_key": "sk-admin-test"})
    console = quiet_console()
    assert run_job(deps, "usage-sync", console=console) == 0
    assert "12 rows" in console_text(console)
    assert calls == [{"provider": "all", "since": None, "now": now, "lookup_email": None}]
