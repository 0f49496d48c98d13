"""Fixtures for the scheduler, outbox and job tests: a Slack emulator, an org, Deps, fast outbox settings."""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from rich.console import Console
from sqlalchemy import update
from sqlalchemy.engine import Engine

from bot.config import OrgConfig, Settings, TeamConfig
from bot.db import session_scope
from bot.deps import Deps
from bot.models import Artifact, Person
from bot.people.store import find_person
from bot.people.teams import import_teams
from bot.spend.usage import UsageRecord, upsert_records
from testing.slack_emulator import SlackEmulator
from tests import factories


@pytest.fixture(autouse=True)
def fast_outbox(monkeypatch: pytest.MonkeyPatch) -> None:
    """Quick pace and retries so the suite stays fast (each test may override)."""
    monkeypatch.setenv("OUTBOX_RATE_PER_SECOND", "400")
    monkeypatch.setenv("OUTBOX_CONCURRENCY", "4")
    monkeypatch.setenv("OUTBOX_RETRY_BASE_SECONDS", "0.05")
    monkeypatch.setenv("OUTBOX_LEASE_SECONDS", "10")
    for key in ("OPENAI_ADMIN_KEY", "ANTHROPIC_ADMIN_KEY"):
        monkeypatch.delenv(key, raising=False)


@pytest.fixture
def emu() -> Iterator[SlackEmulator]:
    with SlackEmulator() as emulator:
        yield emulator


def org_config(**overrides: Any) -> OrgConfig:
    base: dict[str, Any] = {
        "timezone": "America/New_York",
        "summary_channel": "C0SUMMARY",
        "admins": ["U0ADMIN"],
        "min_team_size": 1,
    }
    base.update(overrides)
    return OrgConfig(**base)


def make_deps(
    engine: Engine,
    emu: SlackEmulator | None,
    org: OrgConfig | None = None,
    clock: Callable[[], dt.datetime] | None = None,
) -> Deps:
    settings = Settings(
        slack_bot_token=emu.env()["SLACK_BOT_TOKEN"] if emu else None,
        slack_api_url=emu.base_url if emu else "http://127.0.0.1:9/api/",
    )
    deps = Deps(settings=settings, org=org or org_config(), engine=engine, slack=emu.client() if emu else None)
    if clock is not None:
        deps.clock = clock
    return deps


def quiet_console() -> Console:
    return Console(file=io.StringIO(), width=200)


def console_text(console: Console) -> str:
    file = console.file
    assert isinstance(file, io.StringIO)
    return file.getvalue()


def people(engine: Engine, ids: list[str], tz: str | None = "UTC") -> dict[str, int]:
    out = {sid: factories.person(engine, sid, name=f"{sid[2:].title()} Person", tz=tz or "UTC") for sid in ids}
    if tz is None:
        with session_scope(engine) as s:
            s.execute(update(Person).where(Person.slack_user_id.in_(ids)).values(tz=None))
    return out


def team(
    engine: Engine,
    name: str,
    members: list[str],
    *,
    managers: list[str] | None = None,
    channel: str | None = None,
    budget: float | None = None,
) -> None:
    with session_scope(engine) as s:
        import_teams(
            s,
            [
                TeamConfig(
                    name=name, members=members, managers=managers or [], channel=channel, monthly_budget_usd=budget
                )
            ],
        )


def daily_spend(engine: Engine, slack_id: str, days: list[dt.date], usd: float | Callable[[dt.date], float]) -> None:
    """One usage row per day, in one transaction."""
    with session_scope(engine) as s:
        found = find_person(s, slack_id)
        assert found is not None and found.id is not None
        pid = found.id
    records = [
        UsageRecord(
            date=d,
            identity=f"person:{pid}",
            person_id=pid,
            provider="openai",
            model="gpt-4o-mini",
            input_tokens=1000,
            output_tokens=100,
            cost_usd=usd(d) if callable(usd) else usd,
        )
        for d in days
    ]
    with session_scope(engine) as s:
        upsert_records(s, records, source="csv")


def artifact_at(
    engine: Engine, slack_id: str, url: str, *, period: str, title: str, created: dt.datetime, status: str = "submitted"
) -> int:
    aid = factories.artifact(engine, slack_id, url, period=period, title=title, status=status)
    with session_scope(engine) as s:
        s.execute(
            update(Artifact)
            .where(Artifact.id == aid)
            .values(created_at=created.astimezone(dt.UTC).replace(tzinfo=None))
        )
    return aid


def days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def posts_per_channel(emu: SlackEmulator) -> Counter[str]:
    """Successful chat.postMessage calls per ``channel`` parameter (a user id for DMs)."""
    return Counter(str(c.params.get("channel")) for c in emu.calls("chat.postMessage", ok=True))
