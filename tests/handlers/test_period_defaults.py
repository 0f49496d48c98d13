"""Issue 16, case 1: every default shows the period being collected, and every header names its month.

The bot runs on the real clock, so the test picks ``reply_until_day: 28``: on days 1–28 the period being
collected is last month while the calendar says this month, which is exactly the case that went wrong
(a November reply while ``/artifact-report``, ``/leaderboard``, the CLI and App Home showed December).
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from bot.periods import bounds, collecting_period, month_name, period_at
from testing.signing import command_body
from tests.handlers.conftest import ORG, synced_bot
from tests.handlers.helpers import import_usage, open_home


@pytest.fixture(scope="module")
def collecting(sqlite_template, tmp_path_factory: pytest.TempPathFactory):
    tmp_path = tmp_path_factory.mktemp("collecting")
    now = dt.datetime.now(dt.UTC)
    period = collecting_period(now, "UTC", 28)
    if period == period_at(now, "UTC"):
        pytest.skip("days 29-31: the period being collected is the current month under any reply_until_day")
    cfg = tmp_path / "collect.yaml"
    cfg.write_text(ORG + "checkin:\n  reply_until_day: 28\n")
    with synced_bot(sqlite_template, tmp_path, extra_env={"ARTIFACT_BOT_CONFIG": str(cfg)}) as bot:
        day = bounds(period)[0] + dt.timedelta(days=1)
        import_usage(
            bot,
            f"{day.isoformat()},alice@example.com,openai,gpt-4o-mini,10,1,43.21",
            f"{day.isoformat()},dave@example.com,openai,gpt-4o-mini,10,1,5.00",
        )
        yield bot, period


def test_slash_commands_default_to_the_period_being_collected(collecting) -> None:
    bot, period = collecting
    report = bot.answer_text(lambda url: command_body("/artifact-report", "Growth", "U0CAROL", response_url=url))
    assert f"Artifact report: Growth, {month_name(period)}" in report and "43.21" in report
    board = bot.answer_text(lambda url: command_body("/leaderboard", "", "U0ALICE", response_url=url))
    assert f"Leaderboard for {month_name(period)}" in board and "43.21" in board


def test_cli_defaults_to_the_period_being_collected(collecting) -> None:
    bot, period = collecting
    res = bot.cli("leaderboard", "--format", "json")
    assert res.returncode == 0, res.stderr
    assert {r["name"]: r["spend_usd"] for r in json.loads(res.stdout)}["Growth"] == pytest.approx(43.21)
    res = bot.cli("report", "--team", "Growth", "--format", "json")
    assert res.returncode == 0, res.stderr
    body = json.loads(res.stdout)
    assert body["period"] == period and body["spend_usd"] == pytest.approx(43.21)


def test_app_home_shows_the_period_being_collected(collecting) -> None:
    bot, period = collecting
    view = json.dumps(open_home(bot, "U0ALICE"))
    assert f"Your artifacts, {month_name(period)}" in view and "$43.21" in view
