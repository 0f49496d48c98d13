"""``serve`` does the work after each ack in processes of its own (``bot.runtime.work``): the serving
process only verifies, stores and acknowledges. A work process that dies is replaced and the queued
work still runs; one left without its serving process stops; threads-only mode still works."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from testing.signing import event_body, message_event
from tests.handlers.conftest import child_pids, running_bot
from tests.handlers.test_scenarios import command, dm_texts, response, setup_org


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _work_pids(serve_pid: int) -> list[int]:
    """The work processes ``serve`` spawned (not multiprocessing's resource tracker)."""
    return [
        p for p in child_pids(serve_pid) if "spawn_main" in _cmdline(p) and "resource_tracker" not in _cmdline(p)
    ]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


needs_proc = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from Linux /proc")


@needs_proc
def test_the_work_runs_in_a_lower_priority_process_that_is_replaced_when_it_dies(db_url: str, tmp_path: Path):
    with running_bot(db_url, tmp_path) as bot:
        (work,) = bot.wait_for(lambda: _work_pids(bot.pid), timeout=20)
        base = os.getpriority(os.PRIO_PROCESS, bot.pid)
        bot.wait_for(lambda: os.getpriority(os.PRIO_PROCESS, work) > base, timeout=20)
        setup_org(bot)
        url = command(bot, "/artifact", "https://github.com/acme/app/pull/1 First agent", "U0ALICE")
        assert "Recorded 1 artifact" in response(bot, url)["text"]

        os.kill(work, signal.SIGKILL)
        bot.wait_for(lambda: not _alive(work), timeout=10)
        # Acked by the serving process while no work process runs; done by the one that replaces it.
        url = command(bot, "/artifact", "https://github.com/acme/app/pull/2 Second agent", "U0ALICE")
        dm = message_event("U0BOB", "Shipped <https://docs.example.com/guide/9|the guide>")
        assert bot.post(event_body(dm)).status == 200
        assert "Recorded 1 artifact" in response(bot, url)["text"]
        bot.wait_for(lambda: any("the guide" in t or "Recorded" in t for t in dm_texts(bot, "U0BOB")), timeout=30)
        (again,) = _work_pids(bot.pid)
        assert again != work
        people = bot.leaderboard(time.strftime("%Y-%m"), by="person")
        assert people["Alice Smith"]["artifact_count"] == 2
        assert people["Bob Jones"]["artifact_count"] == 1
        assert bot.log_path is not None
        assert "died with exit code -9" in bot.log_path.read_text()


@needs_proc
def test_work_processes_stop_with_the_server_and_when_it_is_killed(db_url: str, tmp_path: Path):
    with running_bot(db_url, tmp_path, extra_env={"ARTIFACT_BOT_WORK_PROCESSES": "2"}) as bot:
        works = bot.wait_for(lambda: len(p := _work_pids(bot.pid)) == 2 and p, timeout=20)
        setup_org(bot)
        url = command(bot, "/artifact", "https://x.example.com/a A", "U0ALICE")
        assert "Recorded 1 artifact" in response(bot, url)["text"]
        os.kill(bot.pid, signal.SIGTERM)  # graceful: the server closes, its work processes finish
        bot.wait_for(lambda: not any(_alive(p) for p in works), timeout=20)

    with running_bot(db_url, tmp_path) as bot:
        (work,) = bot.wait_for(lambda: _work_pids(bot.pid), timeout=20)
        os.kill(bot.pid, signal.SIGKILL)  # killed outright: the orphaned work process stops by itself
        bot.wait_for(lambda: not _alive(work), timeout=20)


def test_threads_only_mode_still_does_the_work(db_url: str, tmp_path: Path):
    with running_bot(db_url, tmp_path, extra_env={"ARTIFACT_BOT_WORK_PROCESSES": "0"}) as bot:
        assert not _work_pids(bot.pid)
        setup_org(bot)
        url = command(bot, "/artifact", "https://github.com/acme/app/pull/3 Third agent", "U0ALICE")
        assert "Recorded 1 artifact" in response(bot, url)["text"]


def test_a_work_process_that_cannot_start_is_restarted_after_a_pause_not_in_a_loop(tmp_path: Path):
    from bot.config import OrgConfig, Settings
    from bot.db import make_engine
    from bot.deps import Deps
    from bot.runtime.work import RESTART_PAUSE_S, ProcessLazyListenerRunner

    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    broken = Settings(database_url="nosuchdatabase://nowhere", slack_bot_token="xoxb-x", slack_signing_secret="s")
    from bot.runtime.app import create_app

    runner = ProcessLazyListenerRunner(
        Deps(settings=broken, org=OrgConfig(), engine=engine), processes=1, threads=1, app_factory=create_app
    )
    try:
        time.sleep(2 * RESTART_PAUSE_S)
        # Each attempt dies while starting (about a second here); without the pause it would have
        # been replaced five times or more by now.
        assert 1 <= runner.replaced <= 2
    finally:
        runner.close(grace=1.0)
        engine.dispose()
