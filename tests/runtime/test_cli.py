"""The command line, run as a subprocess the way users and outside tests drive it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import factories as f

CONFIG = """\
timezone: UTC
spend_floor_usd: 10
teams:
  - name: Growth
    members: [alice@example.com, U0BOB]
    managers: [U0CAROL]
    monthly_budget_usd: 500
  - name: Infra
    members: [carol@example.com]
"""


def cli(
    *args: str, db_url: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "DATABASE_URL": db_url, **(env or {})}
    full_env.pop("ARTIFACT_BOT_CONFIG", None)
    if env and "ARTIFACT_BOT_CONFIG" in env:
        full_env["ARTIFACT_BOT_CONFIG"] = env["ARTIFACT_BOT_CONFIG"]
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=full_env,
        timeout=120,
    )


@pytest.mark.slow
def test_demo_runs_offline_and_writes_messages_and_chart(tmp_path):
    res = cli("demo", "--out", str(tmp_path / "out"), db_url="sqlite:///unused.db", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "Team leaderboard" in res.stdout and "Growth" in res.stdout
    out = tmp_path / "out"
    dms = sorted((out / "messages").glob("*.json"))
    assert len(dms) >= 30
    first = json.loads(dms[0].read_text())
    assert "show me the artifact" in first["text"]
    assert (out / "weekly-summary.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((out / "report-Growth.json").read_text())["blocks"]


def test_teams_usage_leaderboard_json_matches_the_formula(db_url, tmp_path):
    (tmp_path / "org.yaml").write_text(CONFIG)
    res = cli("teams", "import", "org.yaml", db_url=db_url, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    f.usage_csv(
        tmp_path / "usage.csv",
        "2026-10-01,alice@example.com,,openai,gpt-4o-mini,100,10,30",
        "2026-10-02,,U0BOB,anthropic,claude-sonnet-4-5,100,10,10",
        "2026-10-03,carol@example.com,,openai,gpt-4o-mini,100,10,4",
    )
    res = cli("usage", "import", "usage.csv", db_url=db_url, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    again = cli("usage", "import", "usage.csv", db_url=db_url, cwd=tmp_path)
    assert again.returncode == 0
    from bot.db import make_engine

    engine = make_engine(db_url)
    f.artifact(engine, "alice@example.com", "https://github.com/acme/a", status="kept")
    f.artifact(engine, "U0BOB", "https://github.com/acme/b")
    f.artifact(engine, "carol@example.com", "https://github.com/acme/c", status="killed")
    engine.dispose()
    res = cli("leaderboard", "--period", "2026-10", "--format", "json", db_url=db_url, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)
    by_name = {r["name"]: r for r in rows}
    growth, infra = by_name["Growth"], by_name["Infra"]
    # Growth: 1 kept + 0.5 submitted over $40 -> 100 × 1.5 / 40 = 3.75
    assert growth["artifacts"] == pytest.approx(1.5)
    assert growth["spend_usd"] == pytest.approx(40.0)
    assert growth["artifacts_per_100_usd"] == pytest.approx(3.75)
    assert growth["unmatched_spend_usd"] == 0
    # Infra: the only artifact was killed; $4 under the $10 floor
    assert infra["artifacts_per_100_usd"] == 0 and infra["unmatched_spend_usd"] == pytest.approx(4.0)
    assert [r["rank"] for r in rows] == [1, 2] and rows[0]["name"] == "Growth"
    for key in (
        "rank",
        "name",
        "artifacts",
        "spend_usd",
        "artifacts_per_100_usd",
        "unmatched_spend_usd",
        "cleared_bar",
    ):
        assert key in growth
    res = cli(
        "leaderboard",
        "--period",
        "2026-10",
        "--by",
        "person",
        "--format",
        "json",
        db_url=db_url,
        cwd=tmp_path,
    )
    people = {r["email"]: r for r in json.loads(res.stdout)}
    assert people["alice@example.com"]["artifacts_per_100_usd"] == pytest.approx(100 / 30)
    bob = next(r for r in people.values() if r["slack_user_id"] == "U0BOB")
    assert bob["artifacts_per_100_usd"] == pytest.approx(5.0)
    csv_out = cli("leaderboard", "--period", "2026-10", "--format", "csv", db_url=db_url, cwd=tmp_path)
    assert csv_out.stdout.splitlines()[0].startswith("rank,name,artifacts")
    report = cli(
        "report", "--team", "Growth", "--period", "2026-10", "--format", "json", db_url=db_url, cwd=tmp_path
    )
    assert report.returncode == 0, report.stderr
    data = json.loads(report.stdout)
    assert data["artifacts_per_100_usd"] == pytest.approx(3.75)
    assert {m["name"] for m in data["members"]} >= {"alice"}


def test_bad_usage_file_exits_2_and_writes_nothing(db_url, tmp_path):
    (tmp_path / "org.yaml").write_text(CONFIG)
    cli("teams", "import", "org.yaml", db_url=db_url, cwd=tmp_path)
    (tmp_path / "bad.csv").write_text(
        "date,email,provider,model,input_tokens,output_tokens,cost_usd\n"
        "2026-10-01,alice@example.com,openai,gpt-4o-mini,100,10,3\n"
        "2026-10-0x,alice@example.com,openai,gpt-4o-mini,100,10,3\n"
    )
    res = cli("usage", "import", "bad.csv", db_url=db_url, cwd=tmp_path)
    assert res.returncode == 2
    assert "bad.csv:3" in res.stderr and "date" in res.stderr
    lb = cli("leaderboard", "--period", "2026-10", "--format", "json", db_url=db_url, cwd=tmp_path)
    assert all(r["spend_usd"] == 0 for r in json.loads(lb.stdout))


def test_bad_config_and_bad_arguments_exit_2(tmp_path):
    (tmp_path / "bad.yaml").write_text("teams:\n  - name: X\n    monthly_budget_usd: -1\n")
    url = f"sqlite:///{tmp_path / 'x.db'}"
    res = cli("teams", "import", "bad.yaml", db_url=url, cwd=tmp_path)
    assert res.returncode == 2 and "bad.yaml:3" in res.stderr
    res = cli("leaderboard", "--period", "2026-13", db_url=url, cwd=tmp_path)
    assert res.returncode == 2 and "not a month" in res.stderr
    res = cli("report", "--team", "Nope", "--period", "2026-10", db_url=url, cwd=tmp_path)
    assert res.returncode == 2 and "No team named" in res.stderr


def test_db_upgrade_on_an_empty_database(db_url, tmp_path):
    res = cli("db", "upgrade", db_url=db_url, cwd=tmp_path)
    assert res.returncode == 0, res.stderr


def test_db_check_reports_and_repairs(tmp_path):
    from sqlalchemy import text

    from bot.db import make_engine, session_scope

    url = f"sqlite:///{tmp_path / 'c.db'}"
    (tmp_path / "org.yaml").write_text(CONFIG)
    cli("teams", "import", "org.yaml", db_url=url, cwd=tmp_path)
    (tmp_path / "u.csv").write_text("date,email,provider,model,input_tokens,output_tokens,cost_usd\n"
                                    "2026-10-01,alice@example.com,openai,gpt-4o-mini,100,10,30\n")
    cli("usage", "import", "u.csv", db_url=url, cwd=tmp_path)
    ok = cli("db", "check", db_url=url, cwd=tmp_path)
    assert ok.returncode == 0 and "match" in ok.stdout
    engine = make_engine(url)
    with session_scope(engine) as s:
        s.execute(text("UPDATE person_period_total SET cost_usd = 1"))
    engine.dispose()
    bad = cli("db", "check", db_url=url, cwd=tmp_path)
    assert bad.returncode == 1 and "difference" in bad.stdout
    assert cli("db", "check", "--repair", db_url=url, cwd=tmp_path).returncode == 0
    assert cli("db", "check", db_url=url, cwd=tmp_path).returncode == 0
