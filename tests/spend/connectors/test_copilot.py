"""GitHub Copilot: premium requests per user and model as spend, usage metrics (NDJSON) as signals."""

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
from bot.spend.connectors import copilot
from bot.spend.connectors.base import UNATTRIBUTED
from bot.spend.sync import reconcile, suggested_evidence, sync_usage

from .fakes import FakeGitHub, GitHubData, copilot_user, premium_item
from .scenario import NOW, TZ, D, assert_key_refused

NY = zoneinfo.ZoneInfo(TZ)
USAGE = "/organizations/acme/settings/billing/premium_request/usage"


def data() -> GitHubData:
    return GitHubData(
        metrics={
            D(2026, 8, 3): [
                copilot_user("alice-gh", D(2026, 8, 3), generations=10, acceptances=4, loc=30),
                copilot_user("bob-gh", D(2026, 8, 3), generations=2),
            ],
        },
        premium={
            (D(2026, 8, 3), "alice-gh"): [premium_item("gpt-5", 50, 2.0), premium_item("claude-sonnet-4", 10, None)],
            (D(2026, 8, 3), "bob-gh"): [premium_item("gpt-5", 5, 0.2)],
            (D(2026, 8, 4), "ghost"): [premium_item("gpt-5", 25, 1.0)],  # not in any metrics report
        },
        no_report={D(2026, 8, 5)},  # GitHub answers 204 for a day without a report
    )


def fetch(fake: FakeGitHub, sleep: Any = None) -> Any:
    kw = {"sleep": sleep} if sleep else {}
    with copilot.GitHub(fake.token, fake.org, base_url=fake.url, max_retries=3, **kw) as client:
        return copilot.fetch_copilot(client, first=D(2026, 8, 1), last=D(2026, 8, 20), tz=NY, now=NOW)


def test_premium_requests_are_spend_per_user_and_model_and_metrics_are_signals() -> None:
    with FakeGitHub(data()) as fake:
        got = fetch(fake)
        downloads = [r for r in fake.requests if r.path.startswith("/download/")]
    assert downloads and all("authorization" not in r.headers for r in downloads)  # signed links get no token
    assert {r.path for r in downloads} >= {"/download/2026-08-03/0.ndjson", "/download/2026-08-03/1.ndjson"}
    rows = {(r.date, r.identity, r.model): (r.cost_usd, r.requests) for r in got.rows}
    assert rows == {
        (D(2026, 8, 3), "github:alice-gh", "gpt-5"): (2.0, 50),
        (D(2026, 8, 3), "github:alice-gh", "claude-sonnet-4"): (0.0, 10),  # null net amount: included, $0
        (D(2026, 8, 3), "github:bob-gh", "gpt-5"): (pytest.approx(0.2), 5),
    }
    assert all(r.provider == "github" and r.aliases == (r.identity.removeprefix("github:"),) for r in got.rows)
    assert got.totals[D(2026, 8, 3)] == Decimal("2.2") and got.totals[D(2026, 8, 4)] == Decimal("1.0")
    assert sum(got.totals.values()) == Decimal("3.2")
    accepted = {(s.date, s.identity): s.value for s in got.signals if s.metric == "code_acceptances"}
    assert accepted == {(D(2026, 8, 3), "github:alice-gh"): 4, (D(2026, 8, 3), "github:bob-gh"): 0}


def test_429_retry_after_is_waited_out_and_401_names_the_token() -> None:
    waits: list[float] = []
    with FakeGitHub(data()) as fake:
        fake.fail(USAGE, (429, {"retry-after": "5"}, {"message": "API rate limit exceeded"}))
        got = fetch(fake, sleep=waits.append)
    assert waits == [5.0] and sum(got.totals.values()) == Decimal("3.2")
    with FakeGitHub(data(), token="ghp_right") as fake:
        settings = Settings(github_token="ghp_wrong", github_org="acme", github_api_url=fake.url)
        assert_key_refused(copilot, settings, variable="GITHUB_TOKEN", key="ghp_wrong")


def test_copilot_needs_both_its_variables() -> None:
    from bot.spend.connectors import REGISTRY

    assert not REGISTRY["copilot"].configured(Settings(github_token="ghp_x", github_org=None))
    assert REGISTRY["copilot"].configured(Settings(github_token="ghp_x", github_org="acme"))


def snapshot(engine: Engine) -> list[tuple[Any, ...]]:
    with Session(engine) as s:
        usage = sorted((r.date, r.identity, r.person_id, r.model, r.cost_usd) for r in s.scalars(select(UsageRow)))
        signals = sorted((x.date, x.identity, x.metric, x.value) for x in s.scalars(select(OutputSignal)))
        return [*usage, *signals]


def test_sync_maps_logins_through_identities_reconciles_and_a_resync_changes_nothing(engine: Engine) -> None:
    with session_scope(engine) as s:
        s.add(Person(slack_user_id="U0ALICE", email="alice@example.com", name="Alice"))
    org = OrgConfig(timezone=TZ, identities={"alice-gh": "alice@example.com"})
    with FakeGitHub(data()) as fake:
        settings = Settings(
            openai_admin_key=None,
            anthropic_admin_key=None,
            github_token=fake.token,
            github_org="acme",
            github_api_url=fake.url,
        )
        sync_usage(engine, settings, org, provider="copilot", since=None, now=NOW)
        first = snapshot(engine)
        sync_usage(engine, settings, org, provider="copilot", since=D(2026, 8, 1), now=NOW)
        assert snapshot(engine) == first
    with Session(engine) as s:
        assert s.get(SyncCursor, "copilot").last_date == D(2026, 8, 20)
        alice = next(r for r in board(s, "2026-08", Weights(), by="person") if r.name == "Alice")
        assert alice.spend_usd == pytest.approx(2.0)
        rec = next(r for r in reconcile(s, "2026-08") if r["source"] == "copilot")
        assert (rec["provider_total_usd"], rec["attributed_usd"], rec["unattributed_usd"]) == (3.2, 2.0, 1.2)
        assert rec["unattributed_rows_usd"] == 0.2 and rec["gap_usd"] == 1.0  # bob unmapped; ghost not in reports
        unmapped = s.scalars(select(UsageRow).where(UsageRow.person_id.is_(None))).all()
        assert {r.identity for r in unmapped} == {"github:bob-gh"}
        assert UNATTRIBUTED not in {r.identity for r in unmapped}
        assert suggested_evidence(s, alice.person_id or 0, "2026-08")["copilot_code_acceptances"] == 4
