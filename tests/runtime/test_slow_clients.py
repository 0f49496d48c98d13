"""``serve`` keeps answering Slack while idle and slowloris sockets are held open against it."""

from __future__ import annotations

import time
import urllib.request
from pathlib import Path

import pytest

from testing.signing import command_body, event_body, message_event
from testing.sockets import Holder, raise_nofile
from tests.handlers.conftest import running_bot

pytestmark = [pytest.mark.slow, pytest.mark.serial]


@pytest.mark.parametrize("serve_args", [(), ("--workers", "2")], ids=["one-process", "workers-2"])
def test_acks_go_on_while_hundreds_of_idle_and_slow_sockets_are_open(tmp_path: Path, serve_args) -> None:
    # Before: waitress stopped accepting at 100 connections (and gunicorn's threads each waited on a
    # slow client's headers), so no /healthz and no Slack request was answered until they closed.
    raise_nofile(4096)
    with running_bot(f"sqlite:///{tmp_path / 'bot.db'}", tmp_path, serve_args=serve_args) as bot:
        port = int(bot.url.rsplit(":", 1)[1])
        holder = Holder(port, idle=300, slow=60)
        holder.start()
        try:
            assert holder.refused == 0 and len(holder.socks) == 360
            took: list[float] = []
            for i in range(12):
                t0 = time.perf_counter()
                if i % 3 == 0:
                    with urllib.request.urlopen(f"{bot.url}/healthz", timeout=5) as r:
                        assert r.status == 200
                elif i % 3 == 1:
                    res = bot.post(command_body("/leaderboard", "", user_id="U0ALICE"))
                    assert res.status == 200
                else:
                    res = bot.post(event_body(message_event("U0ALICE", f"shipped https://example.com/x/{i}")))
                    assert res.status == 200
                took.append(time.perf_counter() - t0)
        finally:
            holder.stop()
    assert max(took) < 2.0, took
