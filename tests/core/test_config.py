"""Settings and the organisation YAML: errors name the line and the field."""

from __future__ import annotations

import pytest

from bot.config import Settings, parse_org_config
from bot.errors import ConfigError

GOOD = """\
timezone: America/New_York
summary_channel: C0SUMMARY
admins: [U0ADMIN]
spend_floor_usd: 10
max_artifacts_per_person: 10
unreviewed_weight: 0.5
teams:
  - name: Growth
    members: [alice@example.com, U0BOB]
    managers: [U0CAROL]
    channel: C0GROWTH
    monthly_budget_usd: 5000
"""


def test_design_example_parses():
    org = parse_org_config(GOOD)
    assert org.timezone == "America/New_York"
    assert org.teams[0].members == ["alice@example.com", "U0BOB"]
    assert org.teams[0].monthly_budget_usd == 5000


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            GOOD.replace("timezone: America/New_York", "timezone: Mars/Olympus"),
            "config:1: timezone: unknown timezone",
        ),
        (
            GOOD.replace("monthly_budget_usd: 5000", "monthly_budget_usd: -5"),
            "config:12: teams.0.monthly_budget_usd: Input should be greater than or equal to 0",
        ),
        (
            GOOD.replace("    channel: C0GROWTH", "    chanel: C0GROWTH"),
            "config:11: teams.0.chanel: unknown key",
        ),
        (GOOD + "surprise: 1\n", "config:13: surprise: unknown key"),
        ("teams: [\n", "invalid YAML"),
        ("- just a list\n", "must be a mapping"),
        (GOOD.replace("U0BOB", "bob"), "neither an email nor a Slack user id"),
    ],
)
def test_errors_name_line_and_field(text, expected):
    with pytest.raises(ConfigError) as exc:
        parse_org_config(text)
    assert expected in str(exc.value)


def test_settings_from_environment(monkeypatch):
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9/api/")
    monkeypatch.setenv("DATABASE_URL", "sqlite:///x.db")
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    s = Settings()
    assert s.slack_api_url == "http://127.0.0.1:9/api/"
    with pytest.raises(ConfigError, match="SLACK_BOT_TOKEN"):
        s.require("slack_bot_token")
