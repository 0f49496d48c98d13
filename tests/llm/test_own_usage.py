"""The bot accounts for its own spend: priced usage rows of its own person, one per day and model."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from bot.config import OrgConfig
from bot.llm.client import LLM, USAGE_SOURCE, bot_email, own_usage_rows, record_own_usage, usage_recorder
from bot.models import Person
from bot.spend.prices import price_tokens
from bot.spend.usage import UsageRecord

from .conftest import NOW
from .fake_openai import FakeOpenAI, completion, error, structured

REPLY = "Churn dashboard <https://acme.looker.com/dashboards/87>"
ANSWER = [{"title": "Churn dashboard", "kind": "dashboard", "impact": None,
           "links": ["https://acme.looker.com/dashboards/87"]}]
DAY = NOW.date()


def unit_cost(prompt: int, out: int, cached: int, model: str = "gpt-4o-mini", day: dt.date = DAY) -> float:
    cost = price_tokens("openai", model, day, input_tokens=prompt, output_tokens=out, cached_tokens=cached)
    assert cost is not None and cost > 0
    return cost


def test_usage_record_is_priced_from_the_response(fake: FakeOpenAI, llm: LLM, usage: list[UsageRecord]) -> None:
    fake.push(structured(ANSWER, usage=(1000, 200, 400)))
    llm.extract_artifacts(REPLY)
    [rec] = usage
    assert (rec.date, rec.provider, rec.model, rec.requests) == (DAY, "openai", "gpt-4o-mini", 1)
    assert (rec.input_tokens, rec.output_tokens, rec.cached_tokens) == (1000, 200, 400)
    assert rec.cost_usd == pytest.approx(unit_cost(1000, 200, 400))


def test_calls_of_a_day_add_up_on_the_bots_own_board(fake: FakeOpenAI, make_llm: Any, engine: Engine) -> None:
    org = OrgConfig()
    llm = make_llm(on_usage=usage_recorder(engine, org))
    fake.push(
        structured(ANSWER, usage=(1000, 200, 400)),
        completion("{broken", usage=(800, 100, 0)),      # malformed, but the tokens were spent
        error(429, "slow down"),                         # not answered, not billed
        completion("Growth shipped 1 artifact.", usage=(1500, 120, 1000)),
    )
    assert llm.extract_artifacts(REPLY).path == "model"
    assert llm.extract_artifacts(REPLY).reason == "malformed"
    assert llm.extract_artifacts(REPLY).reason == "rate_limited"
    report = {"scope": "Growth", "period": "2026-05", "spend_usd": 12.0,
              "items": [{"title": "Churn dashboard", "kind": "dashboard", "status": "kept", "person": "A"}]}
    assert llm.narrate(report).path == "model"

    with Session(engine) as session:
        people = session.scalars(select(Person)).all()
        [row] = own_usage_rows(session, org)
    [bot] = people
    assert (bot.name, bot.email, bot.slack_user_id) == ("artifact-bot", "artifact-bot@artifact-bot.invalid", None)
    assert (row.source, row.identity, row.person_id, row.date, row.period) == (
        USAGE_SOURCE, "artifact-bot", bot.id, DAY, "2026-05")
    assert (row.provider, row.model, row.requests) == ("openai", "gpt-4o-mini", 3)
    assert (row.input_tokens, row.output_tokens, row.cached_tokens) == (3300, 420, 1400)
    expected = unit_cost(1000, 200, 400) + unit_cost(800, 100, 0) + unit_cost(1500, 120, 1000)
    assert row.priced is True
    assert row.cost_usd == pytest.approx(expected)
    assert row.cost_usd == pytest.approx(unit_cost(3300, 420, 1400))


def test_days_and_models_get_their_own_rows(engine: Engine) -> None:
    org = OrgConfig(bot_identity="helper-bot")
    day2 = DAY + dt.timedelta(days=1)
    for day, model in ((DAY, "gpt-4o-mini"), (DAY, "gpt-4o-mini"), (day2, "gpt-4o-mini"), (DAY, "gpt-4o")):
        record_own_usage(engine, UsageRecord(date=day, identity="ignored", provider="openai", model=model,
                                             input_tokens=100, output_tokens=10, requests=1), org)
    with Session(engine) as session:
        rows = sorted(own_usage_rows(session, org), key=lambda r: (r.date, r.model))
        bot = session.scalars(select(Person).where(col(Person.email) == bot_email("helper-bot"))).one()
    assert [(r.date, r.model, r.requests, r.input_tokens) for r in rows] == [
        (DAY, "gpt-4o", 1, 100), (DAY, "gpt-4o-mini", 2, 200), (day2, "gpt-4o-mini", 1, 100)]
    assert {r.identity for r in rows} == {"helper-bot"}
    assert {r.person_id for r in rows} == {bot.id}
    mini = rows[1]
    assert mini.cost_usd == pytest.approx(unit_cost(200, 20, 0))  # priced when the record had no cost


def test_unknown_model_is_kept_unpriced(engine: Engine) -> None:
    org = OrgConfig()
    for _ in range(2):
        record_own_usage(engine, UsageRecord(date=DAY, identity="x", provider="openai", model="my-local-llm",
                                             input_tokens=50, output_tokens=5, requests=1), org)
    with Session(engine) as session:
        [row] = own_usage_rows(session, org)
    assert (row.input_tokens, row.requests, row.cost_usd, row.priced) == (100, 2, None, False)


def test_concurrent_calls_do_not_lose_usage(engine: Engine) -> None:
    org = OrgConfig()
    record = usage_recorder(engine, org)
    rec = UsageRecord(date=DAY, identity="x", provider="openai", model="gpt-4o-mini",
                      input_tokens=10, output_tokens=1, cost_usd=0.001, requests=1)

    def work() -> None:
        for _ in range(5):
            record(rec)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with Session(engine) as session:
        [row] = own_usage_rows(session, org)
        assert len(session.scalars(select(Person)).all()) == 1
    assert (row.requests, row.input_tokens) == (30, 300)
    assert row.cost_usd == pytest.approx(0.03)


def test_recorder_failure_is_logged_not_raised(sqlite_engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    engine = sqlite_engine  # its own file: the table is dropped
    engine.dispose()
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE usage_row")
    usage_recorder(engine, OrgConfig())(UsageRecord(date=DAY, identity="x", provider="openai", model="m"))
    assert "could not store the bot's own usage" in caplog.text
