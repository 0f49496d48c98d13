"""Seat licences: a row per holder per month; ``usage: included`` shows the tool's usage but does not add it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.boards.leaderboard import board
from bot.config import OrgConfig, Settings, TeamConfig, parse_org_config
from bot.db import session_scope
from bot.errors import ConfigError
from bot.models import OutputSignal, Person, UsageRow
from bot.people.teams import import_teams
from bot.scoring import Weights
from bot.spend.sync import sync_usage

from . import test_claude_code, test_cursor
from .fakes import FakeAnthropic, FakeCursor
from .scenario import NOW, TZ, D

CLAUDE_CODE_ALICE = 1.86 + 12.005  # her Claude Code estimated cost in August (test_claude_code.data)
CURSOR_ALICE_AUGUST = 7.5  # her Cursor usage placed in August (test_cursor.data)


def org(claude_usage: str) -> OrgConfig:
    return parse_org_config(
        f"""
timezone: {TZ}
seats:
  - {{tool: claude_code, usd_per_month: 200, members: [alice@example.com], usage: {claude_usage}}}
  - {{tool: cursor, usd_per_month: 40, members: [Growth], usage: included}}
"""
    )


@contextmanager
def providers() -> Iterator[Settings]:
    with FakeAnthropic(test_claude_code.data()) as a, FakeCursor(test_cursor.data()) as c:
        yield Settings(
            openai_admin_key=None,
            anthropic_admin_key=a.key,
            anthropic_base_url=a.url,
            cursor_admin_key=c.key,
            cursor_api_url=c.url,
        )


def seed(engine: Engine) -> None:
    with session_scope(engine) as s:
        s.add(Person(slack_user_id="U0ALICE", email="alice@example.com", name="Alice"))
        s.add(Person(slack_user_id="U0BOB", email="bob@example.com", name="Bob"))
        s.add(Person(slack_user_id="U0ZOE", email="zoe@example.com", name="Zoe"))
        import_teams(s, [TeamConfig(name="Growth", members=["alice@example.com", "U0BOB"])])


def spend(engine: Engine, period: str) -> dict[str, float]:
    with Session(engine) as s:
        return {r.name: r.spend_usd for r in board(s, period, Weights(), by="person")}


def rows(engine: Engine) -> list[tuple[Any, ...]]:
    with Session(engine) as s:
        usage = sorted(
            (r.source, r.date, r.identity, r.provider, r.model, r.cost_usd) for r in s.scalars(select(UsageRow))
        )
        signals = sorted((x.source, x.date, x.identity, x.metric, x.value) for x in s.scalars(select(OutputSignal)))
        return [*usage, *signals]


def test_a_billed_seat_adds_its_fee_to_the_usage_and_an_included_seat_replaces_it(engine: Engine) -> None:
    seed(engine)
    with providers() as settings:
        sync_usage(engine, settings, org("billed"), since=None, now=NOW)
        august = spend(engine, "2026-08")
        # Claude Code billed: her estimated cost + the $200 seat; Cursor included: the $40 seat, not her $7.50
        assert august["Alice"] == pytest.approx(CLAUDE_CODE_ALICE + 200 + 40)
        with Session(engine) as s:
            bob_code = sum(
                r.cost_usd or 0
                for r in s.scalars(select(UsageRow).where(UsageRow.source == "claude_code"))
                if r.identity == "bob@example.com"
            )
        assert bob_code > 0  # Claude Code without a seat: billed
        assert august["Bob"] == pytest.approx(40 + bob_code)  # his $1.01 of Cursor usage is in his seat
        assert "Zoe" not in august or august["Zoe"] == 0  # no seat, no usage
        assert spend(engine, "2026-07")["Alice"] == pytest.approx(200 + 40)  # the sync touched July: its seats

        with Session(engine) as s:
            seat_rows = s.scalars(
                select(UsageRow).where(UsageRow.source == "seats", UsageRow.period == "2026-08")
            ).all()
            assert sorted((r.identity, r.provider, r.model, r.cost_usd) for r in seat_rows) == [
                ("alice@example.com", "claude_code", "seat", 200.0),
                ("alice@example.com", "cursor", "seat", 40.0),
                ("bob@example.com", "cursor", "seat", 40.0),
            ]
            shown = s.scalars(
                select(OutputSignal).where(
                    OutputSignal.metric == "included_usage_usd", OutputSignal.period == "2026-08"
                )
            ).all()
            by_person: dict[str, float] = {}
            for x in shown:
                by_person[x.identity] = by_person.get(x.identity, 0) + x.value
            assert by_person == {"alice@example.com": CURSOR_ALICE_AUGUST, "bob@example.com": pytest.approx(1.01)}
        # every attributed dollar is on somebody's line, to the cent
        with Session(engine) as s:
            total = sum(
                Decimal(str(r.cost_usd or 0))
                for r in s.scalars(
                    select(UsageRow).where(UsageRow.period == "2026-08", UsageRow.person_id.is_not(None))
                )
            )
        assert Decimal(str(round(sum(august.values()), 6))) == total.quantize(Decimal("0.000001"))

        before = rows(engine)
        sync_usage(engine, settings, org("billed"), since=None, now=NOW)  # a second sync changes nothing
        assert rows(engine) == before

        # a seat's terms apply to the days a sync writes: after changing them, re-sync the month
        sync_usage(engine, settings, org("included"), since=D(2026, 8, 1), now=NOW)
        assert spend(engine, "2026-08")["Alice"] == pytest.approx(200 + 40)  # the seat fee alone


def test_seats_without_any_provider_key_still_sync_and_bad_seats_are_refused(engine: Engine) -> None:
    seed(engine)
    none = Settings(openai_admin_key=None, anthropic_admin_key=None)
    report = sync_usage(engine, none, org("billed"), since=None, now=NOW)
    assert [s.source for s in report.sources] == ["seats"] and report.sources[0].cost_usd == 280
    everyone = parse_org_config(f"timezone: {TZ}\nseats:\n  - {{tool: copilot, usd_per_month: 19, members: all}}\n")
    sync_usage(engine, none, everyone, since=None, now=NOW)
    assert spend(engine, "2026-08") == {"Alice": 19, "Bob": 19, "Zoe": 19}  # the old seats are replaced
    with pytest.raises(ConfigError, match="usd_per_month"):
        parse_org_config("seats:\n  - {tool: cursor, usd_per_month: -5}\n")
    with pytest.raises(ConfigError, match="usage"):
        parse_org_config("seats:\n  - {tool: cursor, usd_per_month: 5, usage: sometimes}\n")
