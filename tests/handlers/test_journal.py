"""On SQLite, DM replies are stored before the ack in a journal file of their own (``bot.db.journal_engine``):
the store never waits for the app's write lock, recovery finishes what a crash left there, and
``people forget`` empties it too. On PostgreSQL the journal is the main database."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

from sqlalchemy import func, select

from bot.artifacts import inbox
from bot.config import Settings, load_org_config
from bot.db import journal_engine, make_engine, session_scope
from bot.deps import Deps
from bot.models import Artifact, InboundMessage
from bot.slack.client import make_client
from handlers.messages import process_pending
from testing.signing import event_body, message_event
from tests.handlers.conftest import running_bot
from tests.handlers.test_scenarios import dm_texts, setup_org


def _journal_rows(path: Path) -> list[tuple[str, str | None, str | None]]:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT user_id, text, processed_at FROM inbound_message ORDER BY key").fetchall()


def test_dm_replies_go_through_their_own_journal_file(sqlite_template: Path, tmp_path: Path):
    db = tmp_path / "app.db"
    db.write_bytes(sqlite_template.read_bytes())
    with running_bot(f"sqlite:///{db}", tmp_path) as bot:
        setup_org(bot)
        event = message_event("U0BOB", "Shipped <https://github.com/acme/app/pull/9|the billing agent>")
        assert bot.post(event_body(event)).status == 200
        bot.wait_for(lambda: any("Recorded" in t for t in dm_texts(bot, "U0BOB")), timeout=20)
        journal = tmp_path / "app.inbox.db"
        rows = bot.wait_for(lambda: [r for r in _journal_rows(journal) if r[2] is not None], timeout=10)
        assert [(user, text) for user, text, _ in rows] == [("U0BOB", None)]  # processed: raw text dropped
        engine = make_engine(f"sqlite:///{db}")
        with session_scope(engine) as s:
            assert s.scalar(select(func.count()).select_from(InboundMessage)) == 0  # not in the app's file
        engine.dispose()

        # A reply a crash left unprocessed in the journal is still there for ``people forget``.
        journal_engine_ = make_engine(f"sqlite:///{journal}")
        inbox.store(journal_engine_, user_id="U0BOB", channel="D0BOB", ts="1.000200", text="private words")
        journal_engine_.dispose()
        res = bot.cli("people", "forget", "U0BOB", "--yes")
        assert res.returncode == 0, res.stderr
        assert _journal_rows(journal) == []


def test_recovery_finishes_replies_left_in_the_journal(sqlite_template: Path, tmp_path: Path):
    db = tmp_path / "app.db"
    db.write_bytes(sqlite_template.read_bytes())
    with running_bot(f"sqlite:///{db}", tmp_path) as bot:
        setup_org(bot)
        engine = make_engine(f"sqlite:///{db}")
        journal = journal_engine(engine)
        assert journal is not None and Path(journal.url.database or "").name == "app.inbox.db"
        # Stored before the ack, then the process died: nothing else happened.
        inbox.store(journal, user_id="U0ALICE", channel="D0ALICE", ts="1700000000.000100",
                    text="Done: <https://docs.example.com/runbook|the runbook agent>")
        deps = Deps(
            settings=Settings(slack_api_url=bot.emu.base_url, slack_bot_token="xoxb-test-token"),
            org=load_org_config(bot.cwd / "org.yaml"),
            engine=engine,
            inbox_engine=journal,
        )
        deps.slack = make_client(deps.settings)
        assert process_pending(deps, older_than=dt.timedelta(0)) == (1, 1)
        assert process_pending(deps, older_than=dt.timedelta(0)) == (0, 0)  # done once
        with session_scope(engine) as s:
            urls = s.scalars(select(Artifact.primary_url)).all()
        assert urls == ["https://docs.example.com/runbook"]
        engine.dispose()
        journal.dispose()


def test_postgresql_keeps_the_journal_in_its_own_database(db_url: str):
    engine = make_engine(db_url)
    try:
        if engine.dialect.name == "postgresql":
            assert journal_engine(engine) is None
        else:
            assert journal_engine(engine) is not None
    finally:
        engine.dispose()


def test_a_backlog_of_stored_replies_is_finished_in_batches_without_waiting_a_minute_each(
    sqlite_template: Path, tmp_path: Path
):
    # Before: the recovery pass took at most 200 stored replies a minute, one at a time (a backlog of
    # 4,600 took ~23 minutes). Now a full batch is followed at once by the next, several at a time.
    from sqlalchemy import update

    db = tmp_path / "app.db"
    db.write_bytes(sqlite_template.read_bytes())
    engine = make_engine(f"sqlite:///{db}")
    journal = journal_engine(engine)
    assert journal is not None
    backlog = 450
    for n in range(backlog):
        inbox.store(journal, user_id="U0ALICE", channel="D0ALICE", ts=f"1700000000.{n:06d}",
                    text=f"Done: <https://docs.example.com/runbook/{n}|runbook {n}>")
    with journal.begin() as conn:  # stored ten minutes ago: a crash left them
        conn.execute(update(InboundMessage).values(received_at=dt.datetime(2000, 1, 1)))
    with running_bot(f"sqlite:///{db}", tmp_path) as bot:
        setup_org(bot)
        started = dt.datetime.now()
        bot.wait_for(lambda: _journal_pending(journal) == 0, timeout=150)
        took = (dt.datetime.now() - started).total_seconds()
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(Artifact)) == backlog
    engine.dispose()
    journal.dispose()
    assert took < 120, took  # the old pace needed three passes a minute apart


def _journal_pending(journal) -> int:
    with session_scope(journal) as s:
        q = select(func.count()).select_from(InboundMessage).where(InboundMessage.processed_at.is_(None))
        return int(s.scalar(q))
