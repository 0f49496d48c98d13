"""Drill: PostgreSQL goes away in the middle of handling DM replies. No reply is lost, none doubles.

The app stores each reply before acknowledging Slack; while the database is unreachable it
answers 500, and Slack retries (simulated here by re-sending, with X-Slack-Retry-Num, every
request that did not get a 200, plus some that did).
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bot.config import Settings, load_org_config
from bot.db import make_engine, session_scope
from bot.deps import Deps
from bot.models import Artifact
from bot.slack.client import make_client
from handlers.messages import process_pending
from testing.signing import event_body, message_event, retry_headers
from testing.tcp_proxy import TcpProxy
from tests.conftest import PG_SKIP
from tests.handlers.conftest import running_bot


def test_no_reply_lost_when_postgresql_restarts(request: pytest.FixtureRequest, tmp_path: Path):
    import os

    if not os.environ.get("TEST_DATABASE_URL"):
        pytest.skip(PG_SKIP)
    db_url: str = request.getfixturevalue("pg_database")
    from tests.conftest import _truncate_pg

    engine = make_engine(db_url)
    _truncate_pg(engine)
    url = make_url(db_url)
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        with running_bot(proxied, tmp_path) as bot:
            users = ["U0ALICE", "U0BOB", "U0CAROL", "U0DAVE", "U0ERIN"]
            now = time.time()
            bodies = []
            for i in range(30):
                ts = f"{now - 60 + i:.6f}"
                text = f"Shipped thing {i} https://github.com/acme/drill/pull/{i}"
                bodies.append(event_body(message_event(users[i % len(users)], text, ts=ts)))
            statuses = {}
            for i, body in enumerate(bodies):
                if i == 10:
                    proxy.cut()  # the database restarts ...
                if i == 20:
                    proxy.restore()  # ... and is back
                    time.sleep(0.5)
                statuses[i] = bot.post(body).status
            failed = [i for i, s in statuses.items() if s != 200]
            assert failed, "the outage was not seen: every request got a 200"
            assert all(statuses[i] == 200 for i in range(20, 30))
            # Slack retries what was not acknowledged, and sometimes what was.
            for attempt in (1, 2):
                for i in [*failed, 0, 5, 25]:
                    res = bot.post(bodies[i], **retry_headers(attempt))
                    assert res.status == 200
            # Replies acknowledged just before the cut but not yet processed wait in the inbox; the server's
            # recovery pass (every minute, for replies older than two minutes) finishes them. Run that pass now.
            time.sleep(1.0)
            deps = Deps(
                settings=Settings(slack_api_url=bot.emu.base_url, slack_bot_token="xoxb-test-token"),
                org=load_org_config(bot.cwd / "org.yaml"),
                engine=engine,
            )
            deps.slack = make_client(deps.settings)
            recovered, _ = process_pending(deps, older_than=dt.timedelta(0))
            bot.wait_for(lambda: _count(engine) == 30, timeout=20)
            time.sleep(1.0)
            assert _count(engine) == 30  # every reply stored once
            with session_scope(engine) as s:
                urls = s.scalars(select(Artifact.primary_url)).all()
            assert len(set(urls)) == 30
    print(
        f"drill: events sent {len(bodies)}, answered 500 during the outage {len(failed)}, "
        f"finished by the recovery pass {recovered}, stored {_count(engine)}, duplicates 0"
    )
    engine.dispose()


def _count(engine) -> int:
    with session_scope(engine) as s:
        return int(s.scalar(select(func.count()).select_from(Artifact)) or 0)
