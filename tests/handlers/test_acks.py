"""Slack's HTTP 200 never waits for a listener's work; errors after the ack still reach the person;
``serve --workers N`` answers like one process and reloads its config on SIGHUP."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from slack_bolt import App
from slack_bolt.request import BoltRequest

from bot import ids
from handlers.errors import SORRY, ack_now, reported
from testing.signing import (
    app_home_opened_event,
    block_actions_payload,
    command_body,
    event_body,
    interaction_body,
    message_event,
    signed_headers,
)
from testing.slack_emulator import SlackEmulator
from tests.handlers.conftest import ORG, SECRET, Bot, child_pids, running_bot
from tests.handlers.helpers import count, rows
from tests.handlers.test_scenarios import command, current_period, dm_texts, response, setup_org

SLOW = 8.0  # seconds every Web API call takes while the acks are checked


@pytest.mark.serial
def test_events_and_buttons_ack_before_their_work(bot: Bot):
    setup_org(bot)
    bot.emu.set_latency(SLOW)  # views.publish, chat.postMessage, views.open... now take 8 s each
    started = time.monotonic()
    assert bot.post(event_body(app_home_opened_event("U0ALICE"))).status == 200
    dm = message_event("U0BOB", "Shipped <https://github.com/acme/app/pull/7|the checkout agent>")
    assert bot.post(event_body(dm)).status == 200
    click = block_actions_payload("U0BOB", ids.ACTION_ADD_ARTIFACT, "add", response_url=bot.emu.response_url())
    assert bot.post(interaction_body(click)).status == 200
    acked_after = time.monotonic() - started
    # Had any ack waited for its listener's work, that work's Web API call (8 s) would be finished
    # and recorded by now.
    assert bot.emu.call_count("views.publish") == 0
    assert bot.emu.call_count("chat.postMessage") == 0
    assert bot.emu.call_count("views.open") == 0
    assert acked_after < SLOW
    # The work still runs, and every answer arrives.
    bot.wait_for(lambda: bot.emu.home_views.get("U0ALICE"), timeout=30)
    bot.wait_for(lambda: any("checkout agent" in t or "Recorded" in t for t in dm_texts(bot, "U0BOB")), timeout=30)
    bot.wait_for(lambda: bot.emu.calls("views.open"), timeout=30)
    people = bot.leaderboard(current_period(), by="person")
    assert people["Bob Jones"]["artifact_count"] == 1, dm_texts(bot, "U0BOB")


def test_an_error_after_the_ack_reaches_the_person(caplog: pytest.LogCaptureFixture):
    # Bolt itself only logs one line when a lazy listener raises; ``reported`` keeps the traceback
    # and tells the person, as for errors raised before the ack.
    with SlackEmulator() as emu:
        app = App(
            client=emu.client(),
            signing_secret=SECRET,
            process_before_response=True,
            token_verification_enabled=False,
        )

        def broken(command: dict, respond: object) -> None:
            raise RuntimeError("the database went away")

        app.command("/leaderboard")(ack=ack_now, lazy=[reported(broken)])
        url = emu.response_url()
        body = command_body("/leaderboard", "", "U0ALICE", response_url=url).decode()
        with caplog.at_level(logging.ERROR):
            resp = app.dispatch(BoltRequest(body=body, headers=signed_headers(body, SECRET)))
            assert resp.status == 200
            deadline = time.monotonic() + 10
            while not emu.responses_to(url) and time.monotonic() < deadline:
                time.sleep(0.05)
        answer = emu.responses_to(url)[-1].body
        assert answer["text"] == SORRY and answer["response_type"] == "ephemeral"
        assert any(r.exc_info and "the database went away" in str(r.exc_info[1]) for r in caplog.records)


def _audited(db_url: str, action: str) -> int:
    return count(db_url, "SELECT count(*) FROM audit_log WHERE action = :a", a=action)


def _stored(db_url: str) -> dict[str, int]:
    stored = rows(
        db_url,
        "SELECT p.slack_user_id, count(*) FROM artifact a JOIN person p ON p.id = a.person_id GROUP BY p.slack_user_id",
    )
    return {str(u): int(n) for u, n in stored}


def test_several_worker_processes_answer_and_reload(db_url: str, tmp_path: Path):
    with running_bot(db_url, tmp_path, serve_args=("--workers", "2")) as bot:
        assert len(child_pids(bot.pid)) == 2  # the gunicorn master and two workers
        setup_org(bot)
        # Every surface, several times, so both workers serve some of it.
        urls = [
            command(bot, "/artifact", f"https://github.com/acme/app/pull/{n} Agent {n}", "U0ALICE") for n in range(6)
        ]
        for url in urls:
            assert "Recorded 1 artifact" in response(bot, url)["text"]
        for n in range(4):
            dm = message_event("U0BOB", f"Shipped <https://docs.example.com/guide/{n}|guide {n}>")
            assert bot.post(event_body(dm)).status == 200
        assert bot.post(event_body(app_home_opened_event("U0ALICE"))).status == 200
        bot.wait_for(lambda: bot.emu.home_views.get("U0ALICE"), timeout=20)
        # Every artifact stored (by whichever worker); the board counts at most three unreviewed claims each.
        bot.wait_for(lambda: _stored(db_url) == {"U0ALICE": 6, "U0BOB": 4}, timeout=30)
        people = bot.leaderboard(current_period(), by="person")
        assert people["Alice Smith"]["artifact_count"] == people["Bob Jones"]["artifact_count"] == 3
        ans = response(bot, command(bot, "/leaderboard", "", "U0ERIN"))
        assert "Growth" in json.dumps(ans["blocks"])

        # SIGHUP to the master: every worker reloads the config; a bad file keeps the old one in force.
        def report_allowed() -> bool:
            said = [response(bot, command(bot, "/artifact-report", "Growth", "U0ERIN"))["text"] for _ in range(4)]
            return all("Artifact report" in t for t in said)

        assert not report_allowed()  # Erin manages no team and is not an admin
        org = Path(bot.env["ARTIFACT_BOT_CONFIG"])
        org.write_text("teams: [this is not: valid")
        os.kill(bot.pid, signal.SIGHUP)
        bot.wait_for(lambda: _audited(db_url, "config_reload_failed") == 2, timeout=20)  # one per worker
        assert len(child_pids(bot.pid)) == 2
        assert not report_allowed()
        org.write_text(ORG.replace("admins: [U0ADMIN]", "admins: [U0ADMIN, U0ERIN]"))
        os.kill(bot.pid, signal.SIGHUP)
        bot.wait_for(report_allowed, timeout=20)
        assert bot.log_path is not None
        log_text = bot.log_path.read_text()
        assert "Traceback" not in log_text, log_text[-3000:]


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--workers", "0"], {}, "not between 1 and 64"),
        (["--workers", "two"], {}, "not a whole number"),
        (["--workers", "2", "--socket"], {}, "Socket Mode runs in one process"),
        ([], {"WEB_CONCURRENCY": "lots"}, "WEB_CONCURRENCY"),
        ([], {"ARTIFACT_BOT_WORK_THREADS": "0"}, "ARTIFACT_BOT_WORK_THREADS"),
        ([], {"ARTIFACT_BOT_WORK_PROCESSES": "-1"}, "ARTIFACT_BOT_WORK_PROCESSES"),
        (["--workers", "2"], {"SLACK_BOT_TOKEN": ""}, "SLACK_BOT_TOKEN"),  # before any worker starts
    ],
)
def test_bad_worker_counts_are_usage_errors(args: list[str], env: dict[str, str], message: str, tmp_path: Path):
    res = subprocess.run(
        [sys.executable, "-m", "bot", "serve", *args],
        env={**os.environ, **env, "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert res.returncode == 2, res.stderr
    assert message in res.stderr
    if message != "SLACK_BOT_TOKEN":  # usage errors: refused before the database was touched
        assert not list(tmp_path.glob("x*.db"))


def test_work_threads_run_at_a_lower_cpu_priority():
    import threading

    from bot.runtime.app import WORK_NICE, lower_priority

    if not hasattr(os, "setpriority"):
        pytest.skip("no setpriority on this platform")
    base = os.getpriority(os.PRIO_PROCESS, 0)
    seen: list[int] = []

    def work() -> None:
        lower_priority()
        seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))

    t = threading.Thread(target=work)
    t.start()
    t.join()
    assert seen == [min(base + WORK_NICE, 19)]
    assert os.getpriority(os.PRIO_PROCESS, 0) == base  # this (acknowledging) thread is unchanged
