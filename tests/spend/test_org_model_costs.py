"""Spend by model of the whole organisation (the weekly summary's), beside a team's."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from bot.db import session_scope
from bot.spend.model_costs import model_costs, team_model_costs
from bot.spend.usage import UsageRecord, upsert_records
from tests import factories as f


def test_the_organisation_counts_every_row_and_a_team_only_its_members(engine):
    for uid in ("U1", "U2", "U3"):
        f.person(engine, uid)
    f.teams(engine, {"T": ["U1", "U2"]})
    f.spend(engine, "U1", 30.0, model="gpt-4o-mini")
    f.spend(engine, "U2", 50.0, model="claude-sonnet-4-5", provider="anthropic")
    f.spend(engine, "U3", 10.0, model="gpt-4o-mini")  # in no team
    with session_scope(engine) as s:
        upsert_records(  # nobody's: a shared key
            s,
            [
                UsageRecord(
                    date=dt.date(2026, 10, 6),
                    identity="key:ci",
                    provider="openai",
                    model="gpt-4o-mini",
                    input_tokens=500,
                    output_tokens=50,
                    cost_usd=20.0,
                )
            ],
            source="csv",
        )
    with session_scope(engine) as s:
        team_id = s.execute(text("SELECT id FROM team WHERE name = 'T'")).scalar_one()
        org = model_costs(s, "2026-10", 4.0)
        team = model_costs(s, "2026-10", 2.0, team_id=team_id)
        assert team == team_model_costs(s, team_id, "2026-10", 2.0)

    assert [(m.model, m.cost_usd) for m in org] == [("gpt-4o-mini", 60.0), ("claude-sonnet-4-5", 50.0)]
    mini = org[0]
    assert mini.share == pytest.approx(60 / 110) and mini.cost_per_artifact == pytest.approx(15.0)
    assert mini.tokens == 1100 * 2 + 550 and not mini.premium and org[1].premium
    assert [(m.model, m.cost_usd, m.cost_per_artifact) for m in team] == [
        ("claude-sonnet-4-5", 50.0, 25.0),
        ("gpt-4o-mini", 30.0, 15.0),
    ]
    with session_scope(engine) as s:
        assert model_costs(s, "2026-11", 1.0) == []
