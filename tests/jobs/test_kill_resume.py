"""Kill ``artifact-bot jobs run checkin`` with SIGKILL half way, run it again: no one skipped, no one twice
(beyond the few messages that were on the wire at the kill)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.db import make_engine, session_scope
from bot.models import Checkin, Person
from bot.slack import outbox
from testing.slack_emulator import SlackEmulator
from tests.jobs.conftest import posts_per_channel

ROOT = Path(__file__).resolve().parents[2]
PEOPLE = 150
CONCURRENCY = 4


@pytest.mark.slow
def test_sigkill_then_resume_sends_to_everyone_once(db_url: str, emu: SlackEmulator) -> None:
    engine = make_engine(db_url)
    with session_scope(engine) as s:
        s.add_all(
            Person(slack_user_id=f"U0{i:06d}", email=f"p{i}@example.com", name=f"Person {i}", tz="UTC")
            for i in range(PEOPLE)
        )
    emu.set_latency(0.01)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OUTBOX_", "ARTIFACT_BOT", "OPENAI", "ANTHROPIC"))}
    env.update(
        emu.env(),
        DATABASE_URL=db_url,
        OUTBOX_RATE_PER_SECOND="60",
        OUTBOX_MAX_RATE_PER_SECOND="60",  # a steady pace: the run must still be going when it is killed
        OUTBOX_CONCURRENCY=str(CONCURRENCY),
        OUTBOX_LEASE_SECONDS="20",
        PYTHONPATH=str(ROOT),
    )
    cmd = [sys.executable, "-m", "bot", "jobs", "run", "checkin", "--period", "2026-10"]

    first = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while emu.call_count("chat.postMessage", ok=True) < PEOPLE // 3:
        assert first.poll() is None, first.stderr.read().decode() if first.stderr else ""
        assert time.monotonic() < deadline, "the first run did not get going"
        time.sleep(0.02)
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    sent_before = emu.call_count("chat.postMessage", ok=True)
    assert sent_before < PEOPLE, "killed too late to test anything"
    assert outbox.counts(engine).get("sent", 0) < PEOPLE

    second = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr

    posts = posts_per_channel(emu)
    everyone = {f"U0{i:06d}" for i in range(PEOPLE)}
    assert set(posts) == everyone, f"missed: {sorted(everyone - set(posts))[:5]}"
    duplicates = sum(n - 1 for n in posts.values())
    assert duplicates <= CONCURRENCY, f"{duplicates} people were messaged twice"
    assert outbox.counts(engine) == {"sent": PEOPLE}
    with session_scope(engine) as s:
        assert {c.status for c in s.scalars(select(Checkin))} == {"sent"}
    engine.dispose()
