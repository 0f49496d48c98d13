"""Each workspace's pace: it finds Slack's limit (probe up, cut on 429 once per storm, creep back),
is remembered for the next run, and a 429 in one workspace never slows another."""

from __future__ import annotations

import datetime as dt
import itertools
import time

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.db import session_scope
from bot.models import OutboxMessage, SendPace
from bot.slack import outbox
from bot.slack.outbox import PaceSettings, WorkspacePacer, learned_rate, pace_name
from testing.slack_emulator import SlackEmulator
from tests.jobs.conftest import posts_per_channel

A, B = "T0AAAA", "T0BBBB"


def pace_row(engine: Engine, team: str | None) -> SendPace:
    with session_scope(engine) as s:
        row = s.scalars(select(SendPace).where(SendPace.name == pace_name(team))).one()
        s.expunge(row)
        return row


def test_pace_probes_up_then_cuts_once_per_storm_then_creeps_back(engine: Engine) -> None:
    pace = PaceSettings(start=10, minimum=1, maximum=100, probe_step=0.02, increase=0.02, decrease=0.7)
    pacer = WorkspacePacer(engine, pace, team_id=A)
    for _ in range(20):  # Slack accepts 20 sends: each raises the pace by 2 %
        assert pacer.acquire()
        pacer.accepted()
    assert pacer.acquire()
    probed = pace_row(engine, A).rate_per_second
    # Each accepted send raises the pace by 2 % while the pace is what holds sends back; on a loaded
    # machine a database round trip can outlast a slot, and that send's step is rightly skipped.
    assert 10 * 1.02**10 <= probed <= 10 * 1.02**20 * (1 + 1e-9)
    assert pace_row(engine, A).ceiling is None

    pacer.pause(0.05)  # a 429: one cut, and the refused rate becomes the ceiling
    row = pace_row(engine, A)
    assert row.rate_per_second == pytest.approx(probed * 0.7) and row.ceiling == pytest.approx(probed)
    pacer.pause(0.05)  # another answer of the same storm (sent before the pause ended): no second cut
    assert pace_row(engine, A).rate_per_second == pytest.approx(probed * 0.7)

    time.sleep(0.06)
    assert pacer.acquire()  # a send after the pause
    for _ in range(5):
        pacer.accepted()
    assert pacer.acquire()
    cut = probed * 0.7
    expected = cut
    for _ in range(5):
        expected += 0.02 * probed / expected  # additive: about 2 % of the ceiling per second
    assert pace_row(engine, A).rate_per_second == pytest.approx(expected, rel=1e-6)
    pacer.pause(0.01)  # a 429 after that pause ended is a new storm: cut again
    assert pace_row(engine, A).rate_per_second == pytest.approx(expected * 0.7, rel=1e-6)
    assert pace_row(engine, A).ceiling == pytest.approx(expected, rel=1e-6)


def test_pace_stays_within_its_bounds(engine: Engine) -> None:
    pacer = WorkspacePacer(engine, PaceSettings(start=10, minimum=4, maximum=11), team_id=A)
    for _ in range(50):
        assert pacer.acquire()
        pacer.accepted()
    assert pacer.acquire()
    assert pace_row(engine, A).rate_per_second == 11
    for _ in range(10):
        pacer._slot.at = time.time() + 3600  # each a new storm
        pacer.pause(0)
    assert pace_row(engine, A).rate_per_second == 4


def queue(engine: Engine, team: str | None, n: int) -> list[str]:
    channels = [f"U{team or 'X'}{i:04d}" for i in range(n)]
    outbox.enqueue(
        engine,
        (outbox.OutboxItem(f"t:{c}", "test", c, f"hi {c}", [], team_id=team) for c in channels),
        now=dt.datetime.now(dt.UTC),
    )
    return channels


def test_the_learned_rate_is_remembered_for_the_next_run(engine: Engine, emu: SlackEmulator) -> None:
    emu.set_rate("chat.postMessage", per_second=20, burst=5)
    pace = PaceSettings(start=60, minimum=1, maximum=100)
    send, upload = outbox.slack_sender(emu.client())
    queue(engine, None, 40)
    stats = outbox.dispatch(engine, send, upload=upload, pace=pace, concurrency=2, retry_base_seconds=0.05)
    assert stats.sent == 40 and stats.rate_limited >= 1
    first = learned_rate(engine, None)
    assert first is not None and first < 60
    assert pace_row(engine, None).ceiling is not None

    # A new run (new pacer, same database) starts from the learned rate, not from the configured 60/s.
    pacer = WorkspacePacer(engine, pace)
    assert pacer.acquire()
    assert pace_row(engine, None).rate_per_second == pytest.approx(first)


@pytest.mark.serial
def test_a_429_storm_in_one_workspace_never_slows_another(engine: Engine, emu: SlackEmulator) -> None:
    a = queue(engine, A, 30)
    b = queue(engine, B, 30)
    emu.rate_limit("chat.postMessage", retry_after=2, times=2, when=lambda p: p.get("team_id") == A)
    send, upload = outbox.slack_sender(emu.client())
    pace = PaceSettings(start=40, minimum=1, maximum=100)
    stats = outbox.dispatch(engine, send, upload=upload, pace=pace, concurrency=2, batch=10, retry_base_seconds=0.05)
    assert stats.sent == 60 and stats.rate_limited == 2
    assert posts_per_channel(emu) == {c: 1 for c in a + b}
    calls = emu.calls("chat.postMessage")
    assert all(c.params.get("team_id") == (A if str(c.params["channel"]).startswith("UT0AAAA") else B) for c in calls)

    # B ran through while A sat out its two 2-second pauses, and B's pace never moved down.
    storm_end = max(c.time for c in calls if c.status == 429) + 2.0
    b_times = sorted(c.time for c in calls if c.params["team_id"] == B)
    assert b_times[-1] < storm_end - 1.0
    assert max(y - x for x, y in itertools.pairwise(b_times)) < 0.5
    assert pace_row(engine, B).ceiling is None and pace_row(engine, B).rate_per_second >= 40
    assert pace_row(engine, A).ceiling is not None and pace_row(engine, A).rate_per_second < 40
    with session_scope(engine) as s:
        assert {r.team_id for r in s.scalars(select(OutboxMessage))} == {A, B}


def test_posts_and_uploads_carry_their_workspace(engine: Engine, emu: SlackEmulator) -> None:
    outbox.enqueue(
        engine,
        [
            outbox.OutboxItem("post", "summary", "C0GROWTH", "board", [], team_id=A),
            outbox.OutboxItem(
                "chart",
                "summary",
                "C0GROWTH",
                "",
                [],
                team_id=B,
                file=outbox.file_payload(b"\x89PNG", filename="c.png", title="Chart"),
            ),
            outbox.OutboxItem("plain", "summary", "C0PLAIN", "board", []),
        ],
        now=dt.datetime.now(dt.UTC),
    )
    send, upload = outbox.slack_sender(emu.client())
    stats = outbox.dispatch(engine, send, upload=upload, rate_per_second=0)
    assert stats.sent == 3
    posts = {c.params["channel"]: c.params.get("team_id") for c in emu.calls("chat.postMessage")}
    assert posts == {"C0GROWTH": A, "C0PLAIN": None}
    [complete] = emu.calls("files.completeUploadExternal")
    assert complete.params["team_id"] == B and complete.params["channel_id"] == "C0GROWTH"
