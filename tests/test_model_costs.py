"""Cost by model in the manager's report, and Claude Code's suggested evidence."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.config import OrgConfig
from bot.db import session_scope
from bot.models import OutputSignal
from bot.services import checkins
from bot.services.people import find_person
from bot.services.reports import team_report
from tests import factories as f


def test_report_shows_cost_by_model_and_premium_share(engine):
    for uid in ("U1", "U2"):
        f.person(engine, uid)
    f.teams(engine, {"T": ["U1", "U2"]})
    f.spend(engine, "U1", 30.0, model="gpt-4o-mini")
    f.spend(engine, "U2", 70.0, model="claude-sonnet-4-5", provider="anthropic")
    f.artifact(engine, "U1", "https://a.example/1", status="kept")
    f.artifact(engine, "U2", "https://a.example/2", status="kept")
    with session_scope(engine) as s:
        rep = team_report(s, team_name="T", period="2026-10", org=OrgConfig())
    models = {m.model: m for m in rep.models}
    assert models["claude-sonnet-4-5"].premium and not models["gpt-4o-mini"].premium
    assert models["claude-sonnet-4-5"].share == pytest.approx(0.7)
    assert models["claude-sonnet-4-5"].cost_per_artifact == pytest.approx(35.0)
    data = rep.as_json()
    assert data["premium_share"] == pytest.approx(0.7)
    assert [m["model"] for m in data["models"]] == ["claude-sonnet-4-5", "gpt-4o-mini"]


def test_claude_code_pull_requests_are_suggested_in_the_checkin_dm(engine):
    pid = f.person(engine, "U1")
    with session_scope(engine) as s:
        for day, n in ((1, 2), (2, 1)):
            s.add(OutputSignal(source="claude_code", date=dt.date(2026, 10, day), period="2026-10",
                               identity="u1@example.com", person_id=pid, metric="pull_requests", value=n))
    items = list(checkins.build_items(engine, OrgConfig(), "2026-10", f.NOW))
    assert len(items) == 1
    text = str(items[0].blocks)
    assert "Claude Code says you opened 3 PRs this month" in text
    with session_scope(engine) as s:
        assert find_person(s, "U1") is not None


def test_weekly_summary_shows_spend_by_model(engine):
    from bot.services.summary import build_summary

    for uid in ("U1", "U2", "U3"):
        f.person(engine, uid)
    f.teams(engine, {"T": ["U1", "U2", "U3"]})
    f.spend(engine, "U1", 25.0, model="gpt-4o-mini")
    f.spend(engine, "U2", 75.0, model="claude-sonnet-4-5", provider="anthropic")
    now = dt.datetime(2026, 10, 26, 13, 0, tzinfo=dt.UTC)
    with session_scope(engine) as s:
        summary = build_summary(s, OrgConfig(), now, chart=False)
    _text, blocks = summary.message("Weekly")
    dump = str(blocks)
    assert "Spend by model: claude-sonnet-4-5 (premium) $75.00 (75%)" in dump
    assert "Premium models: 75% of spend" in dump
