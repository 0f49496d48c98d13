"""Cost by model in the manager's report, and Claude Code's suggested evidence."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.boards.reports import team_report
from bot.checkins import checkin as checkins
from bot.config import OrgConfig
from bot.db import session_scope
from bot.models import OutputSignal
from bot.people.store import find_person
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
    from bot.boards.summary import build_summary

    for uid in ("U1", "U2", "U3"):
        f.person(engine, uid)
    f.teams(engine, {"T": ["U1", "U2", "U3"]})
    f.spend(engine, "U1", 25.0, model="gpt-4o-mini")
    f.spend(engine, "U2", 75.0, model="claude-sonnet-4-5", provider="anthropic")
    now = dt.datetime(2026, 10, 26, 13, 0, tzinfo=dt.UTC)
    with session_scope(engine) as s:
        summary = build_summary(s, OrgConfig(), now, chart=False)
    _text, blocks = summary.details()
    dump = str(blocks)
    assert "Spend by model: claude-sonnet-4-5 (premium) $75.00 (75%)" in dump
    assert "Premium models: 75% of spend" in dump


def _statements(engine):
    from sqlalchemy import event

    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    return seen, lambda: event.remove(engine, "before_cursor_execute", record)


def test_cost_by_model_comes_from_roll_ups_kept_current_by_every_write(engine, monkeypatch):
    from sqlalchemy import text

    from bot import freshness
    from bot.boards.rollups import check
    from bot.scoring import Weights
    from bot.spend.model_costs import team_model_costs

    for uid in ("U1", "U2", "U3"):
        f.person(engine, uid)
    f.teams(engine, {"T": ["U1", "U2", "U3"]})
    f.spend(engine, "U1", 30.0, model="gpt-4o-mini")
    with session_scope(engine) as s:
        team_id = s.execute(text("SELECT id FROM team WHERE name = 'T'")).scalar_one()
        assert {m.model: m.cost_usd for m in team_model_costs(s, team_id, "2026-10", 1.0)} == {"gpt-4o-mini": 30.0}
    # A small write refreshes its people's rows in its own transaction: the report reads no raw row.
    f.spend(engine, "U2", 20.0, model="gpt-4o-mini", day=dt.date(2026, 10, 3))
    seen, stop = _statements(engine)
    with session_scope(engine) as s:
        costs = {m.model: m.cost_usd for m in team_model_costs(s, team_id, "2026-10", 1.0)}
    stop()
    assert costs == {"gpt-4o-mini": pytest.approx(50.0)}
    assert not any("usage_row" in q for q in seen)
    # A big write (here: more people than the per-person threshold) marks the period; the next read
    # recomputes it once from the raw rows, and the one after reads the roll-ups again.
    monkeypatch.setattr(freshness, "FULL_REFRESH_ABOVE", 1)
    from bot.spend.usage import UsageRecord, upsert_records

    with session_scope(engine) as s:
        upsert_records(
            s,
            [
                UsageRecord(date=dt.date(2026, 10, 9), identity=f"person:{pid}", person_id=pid, provider="anthropic",
                            model="claude-haiku-4-5", input_tokens=10, output_tokens=1, cost_usd=usd)
                for pid, usd in ((3, 5.0), (1, 1.0))
            ],
            source="csv",
        )
    with session_scope(engine) as s:
        state = s.execute(text("SELECT current FROM model_rollup_period WHERE period = '2026-10'")).scalar_one()
    with session_scope(engine) as s:
        costs = {m.model: m.cost_usd for m in team_model_costs(s, team_id, "2026-10", 1.0)}
        assert check(s, Weights()) == []
    assert costs == {"gpt-4o-mini": pytest.approx(50.0), "claude-haiku-4-5": pytest.approx(6.0)}
    seen, stop = _statements(engine)
    with session_scope(engine) as s:
        team_model_costs(s, team_id, "2026-10", 1.0)
    stop()
    assert not any("usage_row" in q for q in seen)
    # ``db check`` compares them with the raw rows.
    with session_scope(engine) as s:
        s.execute(text("UPDATE person_model_total SET cost_usd = 999 WHERE person_id = 1"))
    with session_scope(engine) as s:
        assert {d.what for d in check(s, Weights())} == {"model"}
    assert state in (0, False)  # the big write had marked the period


def test_a_write_during_a_full_model_refresh_keeps_the_period_marked(engine):
    # The full recompute reads the generation first; a write committed while it runs bumps it, so
    # the recompute does not record the period as current and the next read computes it again.
    from sqlalchemy import text

    from bot import model_rollups

    f.person(engine, "U1")
    f.spend(engine, "U1", 10.0, model="gpt-4o-mini")
    with session_scope(engine) as s:
        model_rollups.mark_stale(s, "2026-10")
    with session_scope(engine) as refresher:
        generation = refresher.execute(
            text("SELECT generation FROM model_rollup_period WHERE period = '2026-10'")
        ).scalar_one()
        f.spend(engine, "U1", 4.0, model="gpt-4o-mini", day=dt.date(2026, 10, 2))  # commits meanwhile
        model_rollups.refresh_period(refresher, "2026-10", generation=generation)
    with session_scope(engine) as s:
        assert s.execute(text("SELECT current FROM model_rollup_period WHERE period = '2026-10'")).scalar_one() in (
            0,
            False,
        )
        assert model_rollups.differences(s, "2026-10") == []


def test_premium_comes_from_the_one_price_lookup_and_an_unknown_model_is_not_premium():
    from bot.spend.model_costs import PREMIUM_OUTPUT_USD_PER_MTOK, is_premium
    from bot.spend.prices import unit_prices

    day = dt.date(2026, 10, 1)
    for provider, model in (("anthropic", "claude-sonnet-4-5"), ("openai", "gpt-4o-mini")):
        prices = unit_prices(provider, model, day)
        assert prices is not None
        assert is_premium(provider, model, day) == (prices.output * 1_000_000 >= PREMIUM_OUTPUT_USD_PER_MTOK)
    assert is_premium("anthropic", "claude-sonnet-4-5", day) and not is_premium("openai", "gpt-4o-mini", day)
    assert unit_prices("openai", "my-local-llm", day) is None
    assert not is_premium("openai", "my-local-llm", day)
