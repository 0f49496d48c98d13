"""Several dispatchers on PostgreSQL share one run (FOR UPDATE SKIP LOCKED) without double-sending."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from bot.db import make_engine
from bot.slack import outbox
from testing.slack_emulator import SlackEmulator
from tests.jobs.conftest import posts_per_channel


@pytest.fixture
def pg_engines(pg_database: str) -> Iterator[list[Engine]]:
    """Three engines (three connection pools, as three processes would have) on a fresh PostgreSQL database."""
    from tests.conftest import _truncate_pg

    engines = [make_engine(pg_database) for _ in range(3)]
    _truncate_pg(engines[0])
    yield engines
    for e in engines:
        e.dispose()


def test_three_dispatchers_share_one_run_with_zero_duplicates(pg_engines: list[Engine], emu: SlackEmulator) -> None:
    channels = [f"U0{i:05d}" for i in range(600)]
    outbox.enqueue(
        pg_engines[0],
        (
            outbox.OutboxItem(
                dedupe_key=f"checkin:2026-10:{i}", kind="test", channel=c, text="show me the artifact", blocks=[]
            )
            for i, c in enumerate(channels)
        ),
        now=dt.datetime.now(dt.UTC),
    )
    emu.set_latency(0.01)  # slow enough that no dispatcher can drain the run before the others start
    sent: dict[str, int] = {}

    def run(i: int, engine: Engine) -> None:
        send, upload = outbox.slack_sender(emu.client())
        stats = outbox.dispatch(
            engine, send, upload=upload, rate_per_second=0, concurrency=4, batch=20, worker=f"test-host:{1000 + i}:w{i}"
        )
        sent[f"w{i}"] = stats.sent

    threads = [threading.Thread(target=run, args=(i, e)) for i, e in enumerate(pg_engines)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert posts_per_channel(emu) == {c: 1 for c in channels}  # everyone once: none missed, none twice
    assert sum(sent.values()) == 600
    assert sum(1 for n in sent.values() if n > 0) >= 2, f"the work was not shared: {sent}"
    assert outbox.counts(pg_engines[0]) == {"sent": 600}
