"""serve starts and keeps working while Slack's auth.test fails; /healthz says so; no task is dropped."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from testing.signing import event_body, message_event
from tests.handlers.conftest import running_bot
from tests.handlers.test_scenarios import command, response, setup_org

pytestmark = pytest.mark.slow


def _health(url: str) -> dict:
    with urllib.request.urlopen(f"{url}/healthz", timeout=5) as r:
        assert r.status == 200
        return json.loads(r.read())


def test_serve_starts_and_works_while_auth_test_fails(tmp_path: Path, monkeypatch) -> None:
    # Before: serve called auth.test while building the app and exited when Slack did not answer; a
    # new work process's first task met Bolt's auth.test again and was dropped (never done, never
    # retried), so a Keep, a /artifact-report or a DM reply was lost while Slack's auth.test failed.
    from testing.slack_emulator import SlackEmulator

    started = SlackEmulator.start

    def start_with_auth_test_failing(self):  # the emulator the bot talks to fails auth.test from its start
        out = started(self)
        self.server_error("auth.test", status=503, times=None)
        return out

    monkeypatch.setattr(SlackEmulator, "start", start_with_auth_test_failing)
    with running_bot(f"sqlite:///{tmp_path / 'bot.db'}", tmp_path) as bot:
        health = _health(bot.url)
        assert health["status"] == "ok" and health["slack"].startswith("unreachable"), health
        bot.emu.clear_failures()  # the admin's one-off ``people sync`` asks Slack itself
        setup_org(bot)
        bot.emu.server_error("auth.test", status=503, times=None)
        url = command(bot, "/artifact", "https://github.com/acme/app/pull/5 Release agent", "U0ALICE")
        assert "Recorded 1 artifact" in response(bot, url)["text"]
        dm = message_event("U0BOB", "Shipped <https://docs.example.com/g|the guide>")
        assert bot.post(event_body(dm)).status == 200
        bot.wait_for(lambda: bot.emu.calls("chat.postMessage"), timeout=20)  # the DM reply was answered
        assert _health(bot.url)["slack"].startswith("unreachable")  # the server never got its answer
        bot.emu.clear_failures()  # Slack answers again: the background check notices
        bot.wait_for(lambda: _health(bot.url)["slack"] == "ok", timeout=40)
        assert bot.log_path is not None and "Traceback" not in bot.log_path.read_text()
