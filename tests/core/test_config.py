"""Settings and the organisation YAML: errors name the line and the field."""

from __future__ import annotations

import pytest

from bot.config import Settings, load_org_config, parse_org_config
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
        (GOOD.replace("U0BOB", "bob"), "member 'bob' is neither an email nor a Slack user id"),
        (  # a manager is checked as a member is: an email needs a domain with a dot
            GOOD.replace("managers: [U0CAROL]", "managers: [carol@localhost]"),
            "manager 'carol@localhost' is neither an email nor a Slack user id",
        ),
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


# --- strictness (a weight that is not a number, a file that is not UTF-8) ---------------------------


@pytest.mark.parametrize(
    "yaml_text",
    [
        "kind_weights: {other: .nan}",
        "kind_weights: {agent: .inf}",
        "spend_floor_usd: .inf",
        "unreviewed_weight: .nan",
        "teams: [{name: A, monthly_budget_usd: .inf}]",
    ],
)
def test_weights_and_amounts_must_be_finite(yaml_text: str) -> None:
    # Before: ``kind_weights: {other: .nan}`` was accepted and scored those artifacts 0.
    with pytest.raises(ConfigError) as err:
        parse_org_config(yaml_text, source="org.yaml")
    assert "org.yaml:1:" in str(err.value)


def test_a_config_that_is_not_utf8_is_a_clear_config_error(tmp_path) -> None:
    # Before: UnicodeDecodeError escaped: exit 1 with a traceback.
    path = tmp_path / "org.yaml"
    path.write_bytes(b"timezone: UTC\nadmins: [U0ADMIN]\nsummary_channel: C0\xe9T\n")
    with pytest.raises(ConfigError) as err:
        load_org_config(path)
    assert f"{path}:3:" in str(err.value) and "UTF-8" in str(err.value)
