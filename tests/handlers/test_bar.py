"""Issue 16, case 2: the bar exists only when last month had artifacts; otherwise every surface says "no bar yet"."""

from __future__ import annotations

import json

import pytest

from testing.signing import command_body
from tests.handlers.conftest import synced_bot
from tests.handlers.helpers import answer, import_artifacts, import_usage


@pytest.fixture(scope="module")
def two_months(sqlite_template, tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("bar")
    with synced_bot(sqlite_template, tmp) as bot:
        # Growth spends in October and November and ships nothing: 0 artifacts/$100 both months.
        # Infra ships in both months: its bar is October's score.
        import_usage(
            bot,
            "2026-10-05,alice@example.com,openai,gpt-4o-mini,10,1,30",
            "2026-11-05,alice@example.com,openai,gpt-4o-mini,10,1,30",
            "2026-10-05,dave@example.com,openai,gpt-4o-mini,10,1,20",
            "2026-11-05,dave@example.com,openai,gpt-4o-mini,10,1,20",
        )
        import_artifacts(
            bot,
            "2026-10,dave@example.com,https://github.com/acme/deploy/pull/1,Deploy bot,kept",
            "2026-11,dave@example.com,https://github.com/acme/deploy/pull/2,Deploy bot 2,kept",
        )
        yield bot


def test_a_team_without_artifacts_last_month_has_no_bar_on_any_surface(two_months) -> None:
    bot = two_months
    board = bot.leaderboard("2026-11")
    assert board["Growth"]["bar"] is None and board["Growth"]["cleared_bar"] is None
    assert board["Infra"]["bar"] == pytest.approx(5.0) and board["Infra"]["cleared_bar"] is True

    said = answer(bot, lambda url: command_body("/leaderboard", "2026-11", "U0ALICE", response_url=url))
    growth = next(line for line in said["blocks"][1]["text"]["text"].splitlines() if "Growth" in line)
    assert "no bar yet" in growth and "cleared" not in growth

    report = bot.answer_text(
        lambda url: command_body("/artifact-report", "Growth 2026-11", "U0CAROL", response_url=url)
    )
    assert "no bar yet" in report and "cleared" not in report

    res = bot.cli("report", "--team", "Growth", "--period", "2026-11", "--format", "json")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["cleared_bar"] is None
    res = bot.cli("report", "--team", "Growth", "--period", "2026-11")
    assert res.returncode == 0 and "no bar yet" in res.stdout
