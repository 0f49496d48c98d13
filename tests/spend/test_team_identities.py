"""Identities assigned to a team (``identities: {key: team:NAME}``, FOCUS team tags): the config checks the
team, ``usage import`` stores the rows as the team's team-level spend, and the CLI shows team-level and
org-wide unattributed spend (a subprocess per command, on SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import parse_org_config
from bot.db import make_engine
from bot.errors import ConfigError
from bot.spend.focus import _teams_of
from bot.spend.usage import UsageRecord
from tests import factories as f
from tests.boards.test_team_level_spend import D, focus_file

CONFIG = """\
timezone: America/New_York
teams:
  - name: Growth
    members: [alice@example.com, bob@example.com]
identities:
  projects/growth-batch: team:Growth
focus: {person_tag: owner, team_tag: team}
"""


def test_an_identity_assigned_to_an_unknown_team_is_a_config_error_naming_its_line() -> None:
    text = CONFIG.replace(
        "  projects/growth-batch: team:Growth\n", "  projects/growth-batch: team:Growth\n  key-ops: team:Ops\n"
    )
    with pytest.raises(ConfigError) as exc:
        parse_org_config(text, source="org.yaml")
    assert str(exc.value) == "org.yaml:7: identities.key-ops: unknown team 'Ops' (teams: Growth)"


def test_team_names_match_case_insensitively_and_people_stay_people() -> None:
    org = parse_org_config(CONFIG.replace("team:Growth", '"team: growth"\n  key-ada: ada@example.com'))
    assert org.team_identities() == {"projects/growth-batch": "Growth"}
    records = [
        UsageRecord(date=D(2026, 8, 1), identity="team:growth", provider="aws", model="Bedrock"),
        UsageRecord(date=D(2026, 8, 1), identity="Projects/Growth-Batch", provider="aws", model="Bedrock"),
        UsageRecord(date=D(2026, 8, 1), identity="arn:other", provider="aws", model="Bedrock"),
        UsageRecord(date=D(2026, 8, 1), identity="team:Growth", provider="aws", model="x", person_id=7),
    ]
    assert _teams_of(records, org) == {"team:growth": "growth", "Projects/Growth-Batch": "Growth"}


def cli(*args: str, db_url: str, cwd: Path, config: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": db_url, "ARTIFACT_BOT_CONFIG": str(config)}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=120
    )


def test_usage_import_of_a_focus_file_gives_the_team_its_team_level_spend(db_url: str, tmp_path: Path) -> None:
    engine = make_engine(db_url)
    f.person(engine, "U0ALICE", email="alice@example.com")
    f.person(engine, "U0BOB", email="bob@example.com")
    engine.dispose()
    config = tmp_path / "org.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    bill = focus_file(tmp_path)
    # A ResourceId the config assigns to Growth; the untagged Azure line stays nobody's.
    bill.write_text(
        bill.read_text() + "1.25,USD,2026-08-07,2026-08-08,Usage,AWS,Amazon Bedrock,projects/growth-batch,\n"
    )

    teams = cli("teams", "import", str(config), db_url=db_url, cwd=tmp_path, config=config)
    assert teams.returncode == 0, teams.stderr
    first = cli("usage", "import", str(bill), db_url=db_url, cwd=tmp_path, config=config)
    assert first.returncode == 0, first.stderr
    assert "$31.42 team-level spend (3 rows)" in first.stdout
    again = cli("usage", "import", str(bill), db_url=db_url, cwd=tmp_path, config=config)
    assert again.stdout == first.stdout

    check = cli("db", "check", db_url=db_url, cwd=tmp_path, config=config)
    assert check.returncode == 0, check.stdout + check.stderr

    report = cli(
        "report",
        "--team",
        "Growth",
        "--period",
        "2026-08",
        "--format",
        "json",
        db_url=db_url,
        cwd=tmp_path,
        config=config,
    )
    assert report.returncode == 0, report.stderr
    data = json.loads(report.stdout)
    assert (data["team_level_spend_usd"], data["team_level_rows"]) == (31.42, 3)
    assert round(data["spend_usd"], 2) == 12.50 + 31.42  # Alice's Bedrock + the team's
    assert data["unmatched_spend_usd"] == 12.5  # members' spend without an artifact: never the team's

    table = cli("report", "--team", "growth", "--period", "2026-08", db_url=db_url, cwd=tmp_path, config=config)
    assert "team-level spend $31.42 (3 rows): assigned to the team, not to a member" in table.stdout

    board = cli("leaderboard", "--period", "2026-08", db_url=db_url, cwd=tmp_path, config=config)
    assert board.returncode == 0, board.stderr
    assert "team-level spend $31.42 (3 rows" in board.stdout
    assert "unattributed $4.40 (1 rows, no person or team, org-wide)" in board.stdout
