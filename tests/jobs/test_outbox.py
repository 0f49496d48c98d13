"""The outbox dispatcher through the Slack emulator: pace, 429 storms, transient 500s, permanent and fatal errors."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.checkins import checkin as checkins
from bot.db import session_scope
from bot.lease import holder_id
from bot.models import Checkin, OutboxMessage
from bot.slack import outbox
from bot.slack.outbox import store as outbox_store
from jobs.runner import run_job
from testing.slack_emulator import SlackEmulator
from tests import factories as f
from tests.jobs.conftest import console_text, make_deps, people, posts_per_channel, quiet_console

NOW = dt.datetime(2026, 10, 30, 20, 0, tzinfo=dt.UTC)


def queue(engine: Engine, n: int, *, kind: str = "test", prefix: str = "U0") -> list[str]:
    channels = [f"{prefix}{i:05d}" for i in range(n)]
    outbox.enqueue(
        engine,
        (
            outbox.OutboxItem(dedupe_key=f"{kind}:{c}", kind=kind, channel=c, text=f"hi {c}", blocks=[])
            for c in channels
        ),
        now=dt.datetime.now(dt.UTC),
    )
    return channels


def dispatch(engine: Engine, emu: SlackEmulator, **kwargs: object) -> outbox.DispatchStats:
    send, upload = outbox.slack_sender(emu.client())
    options: dict[str, object] = {"rate_per_second": 0, "concurrency": 4, "retry_base_seconds": 0.05}
    options.update(kwargs)
    return outbox.dispatch(engine, send, upload=upload, **options)  # type: ignore[arg-type]


def states(engine: Engine) -> dict[str, int]:
    return outbox.counts(engine)


def test_enqueue_is_idempotent(engine: Engine) -> None:
    assert len(queue(engine, 5)) == 5
    assert outbox.enqueue(engine, [outbox.OutboxItem("test:U000000", "test", "U000000", "again", [])], now=NOW) == 0
    assert states(engine) == {"pending": 5}


def test_pace_is_kept_and_shared_by_two_dispatchers(engine: Engine, emu: SlackEmulator) -> None:
    channels = queue(engine, 30)
    started = time.monotonic()
    threads = [threading.Thread(target=dispatch, args=(engine, emu), kwargs={"rate_per_second": 20}) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    # 20/s for the workspace, not 20/s each: 30 messages need at least 29 intervals of 50 ms.
    assert elapsed >= 29 / 20 - 0.05
    # No one-second window of arrivals holds more than the pace allows: 20, plus one for the window's
    # edge, plus one because a send the loaded machine delayed in transit arrives next to the one
    # after it (the dispatchers space the sends; the emulator sees arrivals). Unpaced, all 30 arrive
    # within a fraction of a second.
    times = sorted(c.time for c in emu.calls("chat.postMessage"))
    assert max(sum(1 for t in times if start <= t < start + 1.0) for start in times) <= 22
    assert posts_per_channel(emu) == {c: 1 for c in channels}


def test_429_storm_pauses_every_sender_for_retry_after_and_loses_nothing(engine: Engine, emu: SlackEmulator) -> None:
    channels = queue(engine, 60)
    # We send far faster than Slack allows: 60 messages within a second on this machine (PostgreSQL),
    # while the bucket lets 10 through at once and 10 a second after that.
    emu.set_rate("chat.postMessage", per_second=10, burst=10)
    stats = dispatch(engine, emu, rate_per_second=400, concurrency=6)
    assert stats.rate_limited > 0 and emu.throttled_count("chat.postMessage") == stats.rate_limited
    assert posts_per_channel(emu) == {c: 1 for c in channels}
    assert states(engine) == {"sent": 60}
    calls = emu.calls("chat.postMessage")
    for limited in (c for c in calls if c.status == 429):
        wait = 1.0  # the bucket's Retry-After: whole seconds, here 1
        # (requests already in flight when the 429 came back may land a little later on a loaded machine)
        during = [c for c in calls if limited.time + 0.4 < c.time < limited.time + wait - 0.05]
        assert during == [], "a request went out while the workspace was paused"
    with session_scope(engine) as s:  # a 429 is not an attempt
        assert {r.attempts for r in s.scalars(select(OutboxMessage))} == {1}


def test_transient_server_errors_are_retried_with_backoff(engine: Engine, emu: SlackEmulator) -> None:
    channels = queue(engine, 20)
    emu.server_error("chat.postMessage", status=500, times=5)
    emu.server_error("chat.postMessage", status=503, times=2)
    stats = dispatch(engine, emu)
    assert stats.retried == 7 and stats.failed == 0
    assert posts_per_channel(emu) == {c: 1 for c in channels}
    with session_scope(engine) as s:
        rows = list(s.scalars(select(OutboxMessage)))
    assert {r.state for r in rows} == {"sent"}
    assert sum(r.attempts for r in rows) == 27


def test_slack_down_then_up(engine: Engine, emu: SlackEmulator) -> None:
    channels = queue(engine, 10)
    emu.down()
    threading.Timer(0.4, emu.up).start()
    stats = dispatch(engine, emu, concurrency=2)
    assert stats.retried > 0
    assert posts_per_channel(emu) == {c: 1 for c in channels}


def test_permanent_errors_are_recorded_once(engine: Engine, emu: SlackEmulator) -> None:
    ids = people(engine, ["U0ALICE", "U0GONE", "U0BOB"])
    checkins.enqueue_checkins(engine, make_deps(engine, emu).org, "2026-10", NOW)
    emu.fail("chat.postMessage", error="user_disabled", when=lambda p: p.get("channel") == "U0GONE")
    stats = dispatch(engine, emu)
    assert (stats.sent, stats.failed, stats.retried) == (2, 1, 0)
    assert sum(1 for c in emu.calls("chat.postMessage") if c.params["channel"] == "U0GONE") == 1
    with session_scope(engine) as s:
        status = {c.person_id: (c.status, c.error) for c in s.scalars(select(Checkin))}
        failed = s.scalars(select(OutboxMessage).where(OutboxMessage.state == "failed")).one()
    assert status[ids["U0GONE"]] == ("failed", "user_disabled")
    assert status[ids["U0ALICE"]][0] == "sent"
    assert failed.last_error == "user_disabled" and failed.attempts == 1
    assert checkins.failures(engine, "2026-10") == [("U0GONE", "user_disabled")]


def test_too_many_transient_failures_become_permanent(engine: Engine, emu: SlackEmulator) -> None:
    queue(engine, 1)
    emu.server_error("chat.postMessage", status=500, times=None)
    stats = dispatch(engine, emu, max_attempts=3)
    assert (stats.sent, stats.failed, stats.retried) == (0, 1, 2)
    assert states(engine) == {"failed": 1}


def test_a_refused_token_stops_the_run_and_keeps_the_messages(engine: Engine, emu: SlackEmulator) -> None:
    people(engine, ["U0ALICE", "U0BOB", "U0CAROL"])
    deps = make_deps(engine, emu, clock=lambda: NOW)
    emu.fail("chat.postMessage", error="invalid_auth")
    console = quiet_console()
    assert run_job(deps, "checkin", period="2026-10", console=console) == 1
    assert "invalid_auth" in console_text(console)
    assert states(engine) == {"pending": 3}  # nothing lost, nothing left claimed
    emu.clear_failures()
    assert run_job(deps, "checkin", period="2026-10", console=quiet_console()) == 0
    assert posts_per_channel(emu) == {"U0ALICE": 1, "U0BOB": 1, "U0CAROL": 1}


@pytest.mark.serial
def test_a_dead_dispatchers_rows_on_this_host_are_taken_back_at_once(engine: Engine, emu: SlackEmulator) -> None:
    channels = queue(engine, 6)
    host = holder_id().split(":")[0]
    dead = f"{host}:999999:abcdef"  # no such pid
    outbox_store.claim(engine, dead, 4, 3600, dt.datetime.now(dt.UTC))  # claimed with an hour-long lease
    started = time.monotonic()
    stats = dispatch(engine, emu)
    assert stats.sent == 6 and time.monotonic() - started < 5
    assert posts_per_channel(emu) == {c: 1 for c in channels}


def test_stop_hands_claimed_rows_back(engine: Engine, emu: SlackEmulator) -> None:
    queue(engine, 40)
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    stats = dispatch(engine, emu, rate_per_second=20, stop=stop)
    assert 0 < stats.sent < 40
    assert states(engine) == {"sent": stats.sent, "pending": 40 - stats.sent}


def test_file_rows_are_uploaded(engine: Engine, emu: SlackEmulator) -> None:
    png = b"\x89PNG\r\n\x1a\nfake"
    outbox.enqueue(
        engine,
        [
            outbox.OutboxItem(
                "chart:1",
                "summary_chart",
                "C0SUMMARY",
                "",
                [],
                file=outbox.file_payload(png, filename="c.png", title="Chart"),
            )
        ],
        now=dt.datetime.now(dt.UTC),
    )
    dispatch(engine, emu)
    [upload] = emu.completed_uploads()
    assert upload.data == png and upload.channel_id == "C0SUMMARY" and upload.title == "Chart"
    assert states(engine) == {"sent": 1}


@pytest.mark.parametrize("answered", [True, False])
def test_reminder_is_dropped_when_the_checkin_was_answered_meanwhile(
    engine: Engine, emu: SlackEmulator, answered: bool
) -> None:
    ids = people(engine, ["U0ALICE"])
    f.checkin(engine, ids["U0ALICE"], "2026-10", "answered" if answered else "sent")
    outbox.enqueue(
        engine,
        [
            outbox.OutboxItem(
                "reminder1:2026-10:1", "reminder", "U0ALICE", "Reminder", [], person_id=ids["U0ALICE"], period="2026-10"
            )
        ],
        now=NOW,
    )
    stats = dispatch(engine, emu)
    assert (stats.cancelled, stats.sent) == ((1, 0) if answered else (0, 1))
    assert emu.call_count("chat.postMessage") == (0 if answered else 1)
