"""Claude Code: user actors' estimated cost is spend, API actors give signals only (loopback fake)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

import pytest
from genai_prices import Usage, calc_price
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.boards.leaderboard import board
from bot.config import OrgConfig, Settings
from bot.db import session_scope
from bot.models import OutputSignal, Person, SyncCursor, UsageRow
from bot.scoring import Weights
from bot.spend.connectors import claude_code
from bot.spend.connectors.anthropic_admin import AnthropicAdmin
from bot.spend.sync import sync_usage

from .fakes import AnthropicData, FakeAnthropic, anthropic_error, claude_code_record
from .scenario import NOW, SONNET, TZ, D, assert_key_refused

NY = zoneinfo.ZoneInfo(TZ)
OPUS = "claude-opus-4-20250514"
PATH = "/v1/organizations/usage_report/claude_code"


def null_record(day: dt.date) -> dict[str, Any]:
    """A user actor whose metrics and one model's cost are null (the API may omit them)."""
    rec = claude_code_record(day, email="Bob@Example.com", model=OPUS)
    rec["core_metrics"] = None
    rec["model_breakdown"] = [
        {
            "model": OPUS,
            "tokens": {"input": 1_000, "output": 200, "cache_read": 5_000, "cache_creation": 300},
            "estimated_cost": None,
        },
        {"model": SONNET, "tokens": None, "estimated_cost": {"amount": None, "currency": "USD"}},
    ]
    return rec


def data() -> AnthropicData:
    return AnthropicData(
        claude_code={
            D(2026, 8, 3): [
                claude_code_record(D(2026, 8, 3), email="alice@example.com", prs=2, commits=4, cents=186),
                claude_code_record(D(2026, 8, 3), email="alice@example.com", model=OPUS, cents="1200.5"),  # type: ignore[arg-type]
                claude_code_record(D(2026, 8, 3), key_name="ci-bot", prs=5, cents=999),
            ],
            # 4 August: no Claude Code use at all (an empty day)
            D(2026, 8, 5): [null_record(D(2026, 8, 5))],
        }
    )


def fetch(fake: FakeAnthropic, sleep: Any = None) -> Any:
    kw = {"sleep": sleep} if sleep else {}
    with AnthropicAdmin(fake.key, base_url=fake.url, max_retries=3, **kw) as client:
        return claude_code.fetch_claude_code(client, first=D(2026, 8, 1), last=D(2026, 8, 20), tz=NY, now=NOW)


def test_user_actors_are_spend_per_model_and_api_actors_only_signals() -> None:
    with FakeAnthropic(data()) as fake:
        got = fetch(fake)
        calls = fake.calls(PATH)
    # one request per UTC day of the window (31 July .. 20 August), plus one per extra page
    assert sorted({c.one("starting_at") for c in calls}) == [
        (D(2026, 7, 31) + dt.timedelta(days=i)).isoformat() for i in range(21)
    ]
    assert len(calls) == 21 + 2  # three records on 3 August at one a page
    assert calls[0].headers["x-api-key"] == fake.key and calls[0].headers["anthropic-version"] == "2023-06-01"
    assert got.source == "claude_code" and got.signal_source == "claude_code" and got.totals == {}

    spend = {(r.date, r.identity, r.model): r for r in got.rows}
    assert set(spend) == {
        (D(2026, 8, 3), "alice@example.com", SONNET),
        (D(2026, 8, 3), "alice@example.com", OPUS),
        (D(2026, 8, 5), "bob@example.com", OPUS),
    }  # no row for the api_actor ci-bot: its tokens are in the messages report already
    assert all(r.provider == "anthropic" for r in got.rows)
    assert spend[(D(2026, 8, 3), "alice@example.com", SONNET)].cost_usd == pytest.approx(1.86)
    assert spend[(D(2026, 8, 3), "alice@example.com", OPUS)].cost_usd == pytest.approx(12.005)
    bob = spend[(D(2026, 8, 5), "bob@example.com", OPUS)]
    assert (bob.input_tokens, bob.cached_tokens, bob.output_tokens) == (6_300, 5_000, 200)
    when = dt.datetime(2026, 8, 5, 12, tzinfo=dt.UTC)
    priced = calc_price(
        Usage(input_tokens=6_300, cache_read_tokens=5_000, cache_write_tokens=300, output_tokens=200),
        OPUS,
        provider_id="anthropic",
        genai_request_timestamp=when,
    )
    assert bob.cost_usd == pytest.approx(float(priced.total_price))  # null estimate: priced from its tokens

    prs: dict[tuple[dt.date, str], float] = {}
    for sig in got.signals:
        if sig.metric == "pull_requests":
            prs[(sig.date, sig.identity)] = prs.get((sig.date, sig.identity), 0) + sig.value
    assert prs == {
        (D(2026, 8, 3), "alice@example.com"): 2,
        (D(2026, 8, 3), "anthropic-key-name:ci-bot"): 5,
        (D(2026, 8, 5), "bob@example.com"): 0,
    }
    ci = [s for s in got.signals if s.identity == "anthropic-key-name:ci-bot"]
    assert ci[0].aliases == ("ci-bot",) and ci[0].email is None


def test_429_with_retry_after_is_waited_out_and_401_names_the_key() -> None:
    waits: list[float] = []
    with FakeAnthropic(data()) as fake:
        fake.fail(
            PATH,
            anthropic_error(429, "rate_limit_error", "slow", {"retry-after": "3"}),
        )
        got = fetch(fake, sleep=waits.append)
    assert waits == [3.0] and len(got.rows) == 3
    with FakeAnthropic(data(), key="the-right-key") as fake:
        settings = Settings(anthropic_admin_key="a-wrong-key", anthropic_base_url=fake.url)
        assert_key_refused(claude_code, settings, variable="ANTHROPIC_ADMIN_KEY", key="a-wrong-key")


def snapshot(engine: Engine) -> list[tuple[Any, ...]]:
    with Session(engine) as s:
        usage = [
            (r.source, r.date, r.identity, r.person_id, r.model, r.input_tokens, r.cost_usd)
            for r in s.scalars(select(UsageRow))
        ]
        signals = [(x.source, x.date, x.identity, x.metric, x.value) for x in s.scalars(select(OutputSignal))]
        return sorted(usage) + sorted(signals)  # type: ignore[arg-type]


def test_sync_puts_claude_code_spend_on_the_board_and_a_resync_changes_nothing(engine: Engine) -> None:
    with session_scope(engine) as s:
        s.add(Person(slack_user_id="U0ALICE", email="alice@example.com", name="Alice"))
    org = OrgConfig(timezone=TZ)
    with FakeAnthropic(data()) as fake:
        settings = Settings(openai_admin_key=None, anthropic_admin_key=fake.key, anthropic_base_url=fake.url)
        report = sync_usage(engine, settings, org, provider="claude_code", since=None, now=NOW)
        first = snapshot(engine)
        again = sync_usage(engine, settings, org, provider="claude_code", since=None, now=NOW)
        assert snapshot(engine) == first
        assert again.sources[0].first == D(2026, 8, 17)  # the stored cursor minus the look-back
    assert [s.source for s in report.sources] == ["claude_code"]
    with Session(engine) as s:
        assert s.get(SyncCursor, "claude_code").last_date == D(2026, 8, 20)
        alice = s.scalars(select(Person).where(Person.slack_user_id == "U0ALICE")).one()
        line = next(r for r in board(s, "2026-08", Weights(), by="person") if r.person_id == alice.id)
        assert line.spend_usd == pytest.approx(1.86 + 12.005)  # her seat's Claude Code estimated cost
        assert "bob@example.com" in {r.identity for r in s.scalars(select(UsageRow)) if r.person_id is None}
