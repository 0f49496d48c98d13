"""Honest money: usage whose model the price table does not know (and that has no cost) shows as
"unpriced (N rows, T tokens)" wherever money is shown, never as $0.00 (0%)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.boards import charts
from bot.boards.home import home_data
from bot.boards.leaderboard import board, table_columns
from bot.boards.reports import report_csv, team_report
from bot.boards.summary import build_summary
from bot.config import OrgConfig, weights_of
from bot.db import session_scope
from bot.people.store import find_person
from bot.periods import month_name
from bot.slack import blocks as bk
from bot.spend.usage import UsageRecord, upsert_records
from tests import factories as f

NOW = dt.datetime(2026, 10, 30, 20, 0, tzinfo=dt.UTC)
UNKNOWN = "acme-internal-llm"


def usage(engine, slack_id: str, day: int, model: str, inp: int, out: int, cost: float | None) -> None:
    with session_scope(engine) as s:
        p = find_person(s, slack_id)
        assert p is not None and p.id is not None
        upsert_records(
            s,
            [
                UsageRecord(
                    dt.date(2026, 10, day),
                    f"person:{p.id}",
                    "acme" if model == UNKNOWN else "openai",
                    model,
                    inp,
                    out,
                    0,
                    0,
                    cost,
                    p.id,
                )
            ],
            source="csv",
        )


@pytest.fixture
def org_with_unpriced(engine):
    """Alice: $5.00 priced and one unpriced row; Bob: only two unpriced rows; Carol: nothing."""
    for who in ("U0ALICE", "U0BOB", "U0CAROL"):
        f.person(engine, who, name=who[2:].title())
    f.teams(engine, {"Growth": ["U0ALICE", "U0BOB", "U0CAROL"]})
    usage(engine, "U0ALICE", 3, "gpt-4o-mini", 1000, 100, 5.0)
    usage(engine, "U0ALICE", 4, UNKNOWN, 5000, 500, None)
    usage(engine, "U0BOB", 5, UNKNOWN, 1000, 100, None)
    usage(engine, "U0BOB", 6, UNKNOWN, 1000, 100, None)
    return engine


def test_boards_flag_unpriced_people_and_teams(org_with_unpriced):
    w = weights_of(OrgConfig())
    with session_scope(org_with_unpriced) as s:
        people = {r.name: r for r in board(s, "2026-10", w, by="person")}
        teams = board(s, "2026-10", w, by="team")
    bob, alice, carol = people["Bob"], people["Alice"], people["Carol"]
    assert (bob.spend_usd, bob.unpriced_rows, bob.unpriced_tokens) == (0.0, 2, 2200)
    spend = table_columns("person").index("spend")
    assert bob.cells(by="person")[spend] == "unpriced (2 rows, 2,200 tokens)"
    assert alice.cells(by="person")[spend] == "$5.00 + unpriced (1 row, 5,500 tokens)"
    assert carol.cells(by="person")[spend] == "$0.00"  # no usage at all: nothing to flag
    assert bob.as_json(by="person")["unpriced_rows"] == 2 and bob.as_json(by="person")["unpriced_tokens"] == 2200
    [growth] = teams
    assert (growth.unpriced_rows, growth.unpriced_tokens) == (3, 7700)
    assert "Growth*: " in bk.board_lines(teams) and "$5.00 + unpriced (3 rows, 7,700 tokens)" in bk.board_lines(teams)


def test_report_names_unpriced_models_and_members(org_with_unpriced):
    with session_scope(org_with_unpriced) as s:
        report = team_report(s, team_name="Growth", period="2026-10", org=OrgConfig())
    text, blocks = bk.report_message(report)
    rendered = json.dumps(blocks, ensure_ascii=False)
    assert f"{UNKNOWN} unpriced (3 rows, 7,700 tokens)" in rendered
    assert "$0.00 (0%" not in rendered
    assert "*Bob* — unpriced (2 rows, 2,200 tokens)" in rendered
    assert "spend $5.00 + unpriced (3 rows, 7,700 tokens)" in rendered
    assert "$5.00 + unpriced (3 rows, 7,700 tokens) spend" in text
    data = report.as_json()
    assert (data["unpriced_rows"], data["unpriced_tokens"]) == (3, 7700)
    [model] = [m for m in data["models"] if m["model"] == UNKNOWN]
    assert (model["unpriced_rows"], model["unpriced_tokens"]) == (3, 7700)
    rows = list(csv.DictReader(io.StringIO(report_csv(report))))
    assert {r["member"]: (r["member_unpriced_rows"], r["member_unpriced_tokens"]) for r in rows} == {
        "Alice": ("1", "5500"),
        "Bob": ("2", "2200"),
        "Carol": ("0", "0"),
    }


def test_weekly_summary_never_says_zero_for_unpriced(org_with_unpriced):
    org = OrgConfig()
    with session_scope(org_with_unpriced) as s:
        team_id = board(s, "2026-10", weights_of(org), by="team")[0].team_id
        for summary in (
            build_summary(s, org, NOW, chart=False),
            build_summary(s, org, NOW, team_id=team_id, chart=False),
        ):
            _text, blocks = summary.details()
            rendered = json.dumps(blocks, ensure_ascii=False)
            assert f"{UNKNOWN} unpriced (3 rows, 7,700 tokens)" in rendered
            assert "$0.00 (0%)" not in rendered
            assert "unpriced (3 rows, 7,700 tokens)" in rendered.split("Spend by model")[0]  # the board line


def test_app_home_shows_unpriced_instead_of_zero(org_with_unpriced):
    org = OrgConfig()
    with session_scope(org_with_unpriced) as s:
        person = find_person(s, "U0BOB")
        assert person is not None
        data = home_data(s, person, org, NOW)
    assert (data.spend_usd, data.unpriced_rows, data.unpriced_tokens) == (0.0, 2, 2200)
    view = bk.home_view(**vars(data))
    rendered = json.dumps(view, ensure_ascii=False)
    assert f"{month_name(data.period)}: *unpriced (2 rows, 2,200 tokens)* of AI spend" in rendered
    # The last six months and the trend chart say it too: October's usage is unpriced, not $0.00.
    assert "— 0 artifacts, unpriced (2 rows, 2,200 tokens)" in rendered
    assert "(0 artifacts, unpriced (2 rows, 2,200 tokens) spent)" in bk.home_chart_alt_text(data.history)
    assert charts.trend_tick_labels(data.history)[-1] == "Oct\n0 artifacts\nunpriced (2 rows)"
    assert "$0.00" not in rendered


def test_app_home_history_adds_unpriced_to_priced_spend(org_with_unpriced):
    with session_scope(org_with_unpriced) as s:
        person = find_person(s, "U0ALICE")
        assert person is not None
        data = home_data(s, person, OrgConfig(), NOW)
    assert data.history[-1][3:] == (5.0, 1, 5500)
    assert "$5.00 + unpriced (1 row, 5,500 tokens)" in json.dumps(bk.home_view(**vars(data)), ensure_ascii=False)
    assert charts.trend_tick_labels(data.history)[-1] == "Oct\n0 artifacts\n$5.00 + unpriced"


def cli(*args: str, db_url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": db_url, "COLUMNS": "200"}
    env.pop("ARTIFACT_BOT_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=120
    )


def test_cli_leaderboard_and_report_show_unpriced(org_with_unpriced, db_url, tmp_path):
    table = cli("leaderboard", "--period", "2026-10", "--by", "person", db_url=db_url, cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    assert "unpriced (2 rows, 2,200 tokens)" in table.stdout
    assert "$5.00 + unpriced (1 row, 5,500 tokens)" in table.stdout
    as_json = cli(
        "leaderboard", "--period", "2026-10", "--by", "person", "--format", "json", db_url=db_url, cwd=tmp_path
    )
    bob = next(r for r in json.loads(as_json.stdout) if r["name"] == "Bob")
    assert (bob["spend_usd"], bob["unpriced_rows"], bob["unpriced_tokens"]) == (0.0, 2, 2200)
    as_csv = cli("leaderboard", "--period", "2026-10", "--format", "csv", db_url=db_url, cwd=tmp_path)
    [growth] = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert (growth["unpriced_rows"], growth["unpriced_tokens"]) == ("3", "7700")
    report = cli("report", "--team", "Growth", "--period", "2026-10", db_url=db_url, cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    assert f"acme/{UNKNOWN} unpriced (3 rows, 7,700 tokens)" in report.stdout
    assert "$0.00 (0%)" not in report.stdout
