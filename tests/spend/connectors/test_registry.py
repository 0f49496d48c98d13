"""The connector registry: what ``usage sync`` and the ``usage-sync`` job read."""

from __future__ import annotations

import datetime as dt
import logging
import subprocess
import sys
import zoneinfo
from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.config import OrgConfig, Settings
from bot.models import SyncCursor, UsageRow
from bot.spend import connectors
from bot.spend.connectors.base import ProviderFetch, SpendRow
from bot.spend.sync import sync_usage

from .fakes import AnthropicData, FakeAnthropic, message_usage
from .scenario import NOW, SONNET, TZ, D


@dataclass
class LocalConnector:
    """A provider answering from memory: what a new registry line plugs into the sync."""

    name: str = "local"
    env_keys: tuple[str, ...] = ("OPENAI_API_KEY",)
    calls: int = 0

    def configured(self, settings: Settings) -> bool:
        return connectors.setting(settings, "OPENAI_API_KEY") is not None

    def fetch(
        self, settings: Settings, *, first: dt.date, last: dt.date, tz: zoneinfo.ZoneInfo, now: dt.datetime
    ) -> ProviderFetch:
        self.calls += 1
        rows = [SpendRow(date=last, provider="local", model="m", identity="x@example.com", cost_usd=1.25)]
        return ProviderFetch(source=self.name, first=first, last=last, rows=rows)


def test_configured_follows_each_providers_keys() -> None:
    assert connectors.configured(Settings(openai_admin_key=None, anthropic_admin_key=None)) == []
    only = Settings(openai_admin_key=" ", anthropic_admin_key="k")
    assert connectors.configured(only) == ["anthropic", "claude_code"]  # one key, two sources
    both = Settings(openai_admin_key="a", anthropic_admin_key="b")
    assert {"openai", "anthropic", "claude_code"} <= set(connectors.configured(both))
    for connector in connectors.REGISTRY.values():
        assert connector.env_keys and all(k.isupper() for k in connector.env_keys)


def test_sync_all_skips_a_provider_without_its_key_with_one_log_line(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    with FakeAnthropic(AnthropicData(messages={D(2026, 8, 19): [message_usage(SONNET, uncached=10, out=1)]})) as a:
        settings = Settings(openai_admin_key=None, anthropic_admin_key=a.key, anthropic_base_url=a.url)
        with caplog.at_level(logging.INFO, logger="bot.spend.sync"):
            report = sync_usage(engine, settings, OrgConfig(timezone=TZ), since=D(2026, 8, 19), now=NOW)
    skipped = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    unset = [c for c in connectors.REGISTRY.values() if not c.configured(settings)]
    assert unset[0].name == "openai"
    assert skipped == [f"usage sync {c.name}: {', '.join(c.env_keys)} is not set (skipped)" for c in unset]
    assert [s.source for s in report.sources] == ["anthropic", "claude_code"]


def test_a_registered_connector_is_synced_with_its_cursor(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    local = LocalConnector()
    monkeypatch.setitem(connectors.REGISTRY, "local", local)
    settings = Settings(openai_admin_key=None, anthropic_admin_key=None, openai_api_key="sk-test")
    report = sync_usage(engine, settings, OrgConfig(timezone=TZ), provider="local", since=None, now=NOW)
    assert [s.source for s in report.sources] == ["local"] and local.calls == 1
    again = sync_usage(engine, settings, OrgConfig(timezone=TZ), provider="all", since=None, now=NOW)
    assert again.sources[0].first == D(2026, 8, 17)  # from the stored cursor, minus the look-back
    with Session(engine) as s:
        rows = s.scalars(select(UsageRow).where(UsageRow.source == "local")).all()
        assert [(r.date, r.cost_usd) for r in rows] == [(D(2026, 8, 20), 1.25)]  # re-sync replaced, not added
        assert s.get(SyncCursor, "local").last_date == D(2026, 8, 20)


def test_importing_the_sync_does_not_import_a_providers_sdk() -> None:
    code = "import sys, bot.spend.sync; print('openai' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
