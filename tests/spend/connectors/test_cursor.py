"""Cursor: cycle spend placed on the days it was used, to the cent; daily usage as signals (loopback fake)."""

from __future__ import annotations

import zoneinfo
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.boards.leaderboard import board
from bot.config import OrgConfig, Settings
from bot.db import session_scope
from bot.models import OutputSignal, Person, SyncCursor, UsageRow
from bot.scoring import Weights
from bot.spend.connectors import cursor_admin
from bot.spend.connectors.base import UNATTRIBUTED
from bot.spend.sync import reconcile, suggested_evidence, sync_usage

from .fakes import CursorData, FakeCursor, cursor_day, cursor_spend
from .scenario import NOW, TZ, D, assert_key_refused

NY = zoneinfo.ZoneInfo(TZ)


def data() -> CursorData:
    return CursorData(
        cycle_start=D(2026, 7, 15),  # the billing cycle straddles July and August
        spend=[
            cursor_spend("Alice@Example.com", 1000),
            cursor_spend("bob@example.com", 101),
            cursor_spend("carol@example.com", None),  # null: no spend
            cursor_spend("dan@example.com", 250),  # spend, but no usage reported
            cursor_spend(None, 50),
        ],
        daily={
            D(2026, 7, 20): [cursor_day("alice@example.com", usage_based=1, accepted=10, added=12)],
            D(2026, 8, 3): [
                cursor_day("alice@example.com", usage_based=3, accepted=30, added=40, tabs_shown=9, tabs_accepted=4)
            ],
            D(2026, 8, 4): [cursor_day("bob@example.com", usage_based=None, chat=2, accepted=None)],
            D(2026, 8, 5): [cursor_day("bob@example.com", chat=1, agent=0)],
            # 6 August onwards: no usage (empty days)
        },
    )


def fetch(fake: FakeCursor, sleep: Any = None) -> Any:
    kw = {"sleep": sleep} if sleep else {}
    with cursor_admin.CursorAdmin(fake.key, base_url=fake.url, max_retries=3, **kw) as client:
        return cursor_admin.fetch_cursor(client, first=D(2026, 8, 1), last=D(2026, 8, 20), tz=NY, now=NOW)


def test_spread_is_proportional_and_exact_to_the_cent() -> None:
    days = {D(2026, 8, 1): 1, D(2026, 8, 2): 1, D(2026, 8, 3): 1}
    out = cursor_admin.spread(Decimal("1.00"), days, D(2026, 8, 31))
    assert out == {D(2026, 8, 1): Decimal("0.34"), D(2026, 8, 2): Decimal("0.33"), D(2026, 8, 3): Decimal("0.33")}
    assert cursor_admin.spread(Decimal("2.5"), {D(2026, 8, 1): 0}, D(2026, 8, 9)) == {D(2026, 8, 9): Decimal("2.50")}
    assert cursor_admin.spread(Decimal(0), {}, D(2026, 8, 9)) == {}


def test_cycle_spend_is_placed_on_the_days_it_was_used() -> None:
    with FakeCursor(data()) as fake:
        got = fetch(fake)
        spend_calls = fake.calls("/teams/spend")
        usage_calls = fake.calls("/teams/daily-usage-data")
    assert [c.body["page"] for c in spend_calls] == [1, 2, 3]  # five members, two a page
    assert spend_calls[0].headers["authorization"].startswith("Basic ")
    assert len(usage_calls) == 2  # 38 days asked in chunks of at most 30
    assert all(c.body["endDate"] - c.body["startDate"] <= 30 * 86_400_000 for c in usage_calls)
    assert got.first == D(2026, 7, 15) and got.last == D(2026, 8, 20)  # the whole cycle so far is placed again

    rows = {(r.identity, r.date): Decimal(str(r.cost_usd)) for r in got.rows}
    assert rows == {
        ("alice@example.com", D(2026, 7, 20)): Decimal("2.5"),  # 1 of her 4 usage-based requests
        ("alice@example.com", D(2026, 8, 3)): Decimal("7.5"),
        ("bob@example.com", D(2026, 8, 4)): Decimal("0.67"),  # no usage-based requests: all his requests
        ("bob@example.com", D(2026, 8, 5)): Decimal("0.34"),
        ("dan@example.com", D(2026, 8, 20)): Decimal("2.5"),  # no usage at all: the last day
        (UNATTRIBUTED, D(2026, 8, 20)): Decimal("0.5"),
    }
    assert sum(got.totals.values()) == Decimal("14.01")  # every member's spendCents, to the cent
    assert all(r.provider == "cursor" and r.model == "cursor" for r in got.rows)
    accepted = {(s.identity, s.date): s.value for s in got.signals if s.metric == "lines_accepted"}
    assert accepted[("alice@example.com", D(2026, 8, 3))] == 30
    assert accepted[("bob@example.com", D(2026, 8, 4))] == 0  # null counts as 0


def test_429_retry_after_is_waited_out_and_401_names_the_key() -> None:
    waits: list[float] = []
    with FakeCursor(data()) as fake:
        fake.fail("/teams/spend", (429, {"retry-after": "4"}, {"error": "Too Many Requests"}))
        got = fetch(fake, sleep=waits.append)
    assert waits == [4.0] and sum(got.totals.values()) == Decimal("14.01")
    with FakeCursor(data(), key="key_right") as fake:
        settings = Settings(cursor_admin_key="key_wrong", cursor_api_url=fake.url)
        assert_key_refused(cursor_admin, settings, variable="CURSOR_ADMIN_KEY", key="key_wrong")


def snapshot(engine: Engine) -> list[tuple[Any, ...]]:
    with Session(engine) as s:
        usage = sorted((r.date, r.identity, r.person_id, r.cost_usd) for r in s.scalars(select(UsageRow)))
        signals = sorted((x.date, x.identity, x.metric, x.value) for x in s.scalars(select(OutputSignal)))
        return [*usage, *signals]


def test_sync_fills_each_months_board_and_reconciles_and_a_resync_changes_nothing(engine: Engine) -> None:
    with session_scope(engine) as s:
        s.add(Person(slack_user_id="U0ALICE", email="alice@example.com", name="Alice"))
        s.add(Person(slack_user_id="U0BOB", email="bob@example.com", name="Bob"))
    org = OrgConfig(timezone=TZ)
    with FakeCursor(data()) as fake:
        settings = Settings(
            openai_admin_key=None, anthropic_admin_key=None, cursor_admin_key=fake.key, cursor_api_url=fake.url
        )
        sync_usage(engine, settings, org, provider="cursor", since=None, now=NOW)
        first = snapshot(engine)
        sync_usage(engine, settings, org, provider="all", since=None, now=NOW)  # only cursor has a key
        assert snapshot(engine) == first
    with Session(engine) as s:
        assert s.get(SyncCursor, "cursor").last_date == D(2026, 8, 20)
        july = {r.name: r.spend_usd for r in board(s, "2026-07", Weights(), by="person")}
        august = {r.name: r.spend_usd for r in board(s, "2026-08", Weights(), by="person")}
        assert july["Alice"] == pytest.approx(2.5) and august["Alice"] == pytest.approx(7.5)
        assert august["Bob"] == pytest.approx(1.01)
        for period, bill in (("2026-07", Decimal("2.50")), ("2026-08", Decimal("11.51"))):
            rec = next(r for r in reconcile(s, period) if r["source"] == "cursor")
            assert Decimal(str(rec["provider_total_usd"])) == bill
            assert Decimal(str(rec["attributed_usd"])) + Decimal(str(rec["unattributed_usd"])) == bill
        assert s.scalars(select(OutputSignal).where(OutputSignal.source == "cursor")).first() is not None
        alice_id = s.scalars(select(Person.id).where(Person.slack_user_id == "U0ALICE")).one()
        evidence = suggested_evidence(s, alice_id, "2026-08")
        assert evidence["cursor_lines_accepted"] == 30  # context and a suggestion, never an artifact
        assert (
            evidence["text"]
            == "Your coding tools this month: Cursor: 30 lines accepted. Add what they built as artifacts?"
        )
