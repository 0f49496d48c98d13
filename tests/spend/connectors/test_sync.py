"""``sync_usage`` end to end: loopback provider fakes → real SDK/httpx → a real database."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.config import OrgConfig, Settings
from bot.db import session_scope
from bot.errors import ConfigError, InputError
from bot.models import OutputSignal, Person, ProviderTotal, SyncCursor, UsageRow
from bot.people.store import SlackUser
from bot.spend.connectors.base import UNATTRIBUTED
from bot.spend.sync import reconcile, suggested_evidence, sync_usage

from .fakes import AnthropicData, FakeAnthropic, FakeOpenAI, OpenAIData, completion, message_usage
from .scenario import HAIKU, MINI, NOW, SONNET, TZ, D, anthropic_data, openai_data

IDENTITIES = {
    "key_ci": "U0DAVE",  # an OpenAI API key id → a Slack user not synced yet
    "eve-laptop": "erin@example.com",  # an Anthropic API key name → an email Slack knows
    "user-carol": "U0CARLA",  # an OpenAI user id → a known person whose email differs
}
SLACK = {
    "bob@example.com": SlackUser("U0BOB", "bob@example.com", "Bob", "America/Chicago"),
    "erin@example.com": SlackUser("U0ERIN", "erin@example.com", "Erin", None),
}


class Lookup:
    """A stand-in for Slack ``users.lookupByEmail`` that records what it was asked."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def __call__(self, email: str) -> SlackUser | None:
        self.asked.append(email)
        return SLACK.get(email)


def seed_people(engine: Engine) -> None:
    with session_scope(engine) as s:
        s.add(Person(slack_user_id="U0ALICE", email="alice@example.com", name="Alice"))
        s.add(Person(slack_user_id="U0CARLA", email="carla@corp.example", name="Carla"))


@contextmanager
def fakes(
    oa: OpenAIData | None = None, an: AnthropicData | None = None, *, anthropic_key: str = "sk-ant-admin-test"
) -> Iterator[tuple[FakeOpenAI, FakeAnthropic, Settings]]:
    with FakeOpenAI(oa or openai_data()) as o, FakeAnthropic(an or anthropic_data(), key=anthropic_key) as a:
        settings = Settings(
            openai_admin_key="sk-admin-test",
            openai_base_url=o.base_url,
            anthropic_admin_key="sk-ant-admin-test",
            anthropic_base_url=a.url,
        )
        yield o, a, settings


def org() -> OrgConfig:
    return OrgConfig(timezone=TZ, identities=dict(IDENTITIES))


def pid(session: Session, ident: str) -> int | None:
    col = Person.email if "@" in ident else Person.slack_user_id
    return session.scalars(select(Person.id).where(col == ident)).first()


def usage(session: Session) -> dict[tuple[str, dt.date, str, str], UsageRow]:
    return {(r.source, r.date, r.identity, r.model): r for r in session.scalars(select(UsageRow)).all()}


def snapshot(engine: Engine) -> dict[str, Any]:
    with Session(engine) as s:
        return {
            "usage": sorted(
                (
                    r.source,
                    r.date,
                    r.period,
                    r.identity,
                    r.person_id,
                    r.provider,
                    r.model,
                    r.input_tokens,
                    r.output_tokens,
                    r.cached_tokens,
                    r.requests,
                    round(r.cost_usd or -1, 9),
                    r.priced,
                )
                for r in s.scalars(select(UsageRow)).all()
            ),
            "totals": sorted(
                (t.source, t.date, t.period, t.cost_usd) for t in s.scalars(select(ProviderTotal))
            ),
            "signals": sorted(
                (x.source, x.date, x.identity, x.person_id, x.metric, x.value)
                for x in s.scalars(select(OutputSignal))
            ),
            "people": sorted((p.slack_user_id or "", p.email or "") for p in s.scalars(select(Person))),
        }


def test_sync_all_attributes_prices_and_reconciles_to_the_cent(engine: Engine) -> None:
    seed_people(engine)
    lookup = Lookup()
    with fakes() as (_o, _a, settings):
        report = sync_usage(engine, settings, org(), provider="all", since=None, now=NOW, lookup_email=lookup)

    assert sorted(lookup.asked) == ["bob@example.com", "erin@example.com", "nobody@example.com"]
    by_source = {s.source: s for s in report.sources}
    assert set(by_source) == {"openai", "anthropic", "claude_code"}
    assert by_source["openai"].first == D(2026, 8, 1) and by_source["openai"].last == D(2026, 8, 20)
    assert by_source["openai"].unpriced_models == ["openai/gpt-unknown-9000"]
    assert by_source["anthropic"].unpriced_models == ["anthropic/claude-mystery-1"]
    assert by_source["claude_code"].signals > 0
    assert report.lines() and all(not line.startswith(("openai", "anthropic")) for line in report.skipped)

    with Session(engine) as s:
        alice, bob, carla = pid(s, "U0ALICE"), pid(s, "U0BOB"), pid(s, "U0CARLA")
        dave, erin = pid(s, "U0DAVE"), pid(s, "U0ERIN")
        assert None not in (alice, bob, carla, dave, erin)
        assert s.get(Person, bob).email == "bob@example.com"  # created from the Slack lookup
        rows = usage(s)
        assert {(k[0], k[1], k[2], k[3]): r.person_id for k, r in rows.items()} == {
            ("openai", D(2026, 8, 3), "alice@example.com", MINI): alice,
            ("openai", D(2026, 8, 3), "alice@example.com", "text-embedding-3-small"): alice,
            ("openai", D(2026, 8, 4), "alice@example.com", "omni-moderation-latest"): alice,
            ("openai", D(2026, 8, 4), UNATTRIBUTED, "gpt-4.1"): None,
            ("openai", D(2026, 8, 5), "bob@example.com", "gpt-4.1"): bob,
            ("openai", D(2026, 8, 5), "user-carol", "gpt-4.1"): carla,  # override beats the email
            ("openai", D(2026, 8, 6), "key_ci", "gpt-unknown-9000"): dave,
            ("anthropic", D(2026, 8, 3), "alice@example.com", SONNET): alice,
            ("anthropic", D(2026, 8, 3), "eve-laptop", HAIKU): erin,
            ("anthropic", D(2026, 8, 4), UNATTRIBUTED, SONNET): None,
            ("anthropic", D(2026, 8, 5), "alice@example.com", "claude-mystery-1"): alice,
            # Claude Code: user actors' estimated cost is spend; the api_actor (eve-laptop) is not
            ("claude_code", D(2026, 8, 3), "alice@example.com", SONNET): alice,
            ("claude_code", D(2026, 8, 4), "alice@example.com", SONNET): alice,
            ("claude_code", D(2026, 8, 4), "nobody@example.com", SONNET): None,
        }
        assert rows[("claude_code", D(2026, 8, 3), "alice@example.com", SONNET)].cost_usd == pytest.approx(1.86)
        mini = rows[("openai", D(2026, 8, 3), "alice@example.com", MINI)]
        assert (mini.input_tokens, mini.cached_tokens, mini.output_tokens, mini.requests) == (
            1_200_000,
            400_000,
            150_000,
            12,
        )
        assert mini.period == "2026-08" and mini.priced
        unknown = rows[("openai", D(2026, 8, 6), "key_ci", "gpt-unknown-9000")]
        assert unknown.cost_usd is None and not unknown.priced

        rec = {r["source"]: r for r in reconcile(s, "2026-08")}
        assert rec["openai"]["provider_total_usd"] == 2.95
        assert rec["anthropic"]["provider_total_usd"] == 3.84
        assert rec["claude_code"]["provider_total_usd"] is None  # estimates, no bill
        assert rec["claude_code"]["attributed_usd"] == 2.28  # $1.86 + $0.425, to the cent (half-even)
        for r in (rec["openai"], rec["anthropic"]):
            total = Decimal(str(r["provider_total_usd"]))
            assert Decimal(str(r["attributed_usd"])) + Decimal(str(r["unattributed_usd"])) == total
            assert Decimal(str(r["unattributed_rows_usd"])) + Decimal(str(r["gap_usd"])) == Decimal(
                str(r["unattributed_usd"])
            )
            assert r["unpriced_rows"] == 1
        attributed = sum((r.cost_usd or 0) for r in rows.values() if r.source == "openai" and r.person_id)
        assert rec["openai"]["attributed_usd"] == pytest.approx(round(attributed, 2))
        nobody = rows[("openai", D(2026, 8, 4), UNATTRIBUTED, "gpt-4.1")]
        assert rec["openai"]["unattributed_rows_usd"] == round(nobody.cost_usd or 0, 2)

        evidence = suggested_evidence(s, alice, "2026-08")
        assert (evidence["pull_requests"], evidence["commits"], evidence["sessions"]) == (3, 5, 6)
        assert evidence["text"] == "Claude Code says you opened 3 PRs this month: add them as artifacts?"
        assert evidence["estimated_cost_usd"] == 2.29
        assert suggested_evidence(s, erin, "2026-08")["text"] == (
            "Claude Code says you opened 1 PR this month: add them as artifacts?"
        )
        assert suggested_evidence(s, bob, "2026-08")["text"] is None
        orphan = s.scalars(select(OutputSignal).where(OutputSignal.identity == "nobody@example.com")).all()
        assert orphan and all(o.person_id is None for o in orphan)
        cursor = s.get(SyncCursor, "openai")
        assert cursor is not None and cursor.last_date == D(2026, 8, 20)

    # The synced spend is what the leaderboard scores: each person's board spend is their rows' sum.
    from bot.boards.leaderboard import board
    from bot.scoring import Weights

    with Session(engine) as s:
        people = {r.person_id: r for r in board(s, "2026-08", Weights(), by="person")}
        expected: dict[int, float] = {}
        for r in rows.values():
            if r.person_id is not None:
                expected[r.person_id] = expected.get(r.person_id, 0.0) + (r.cost_usd or 0.0)
        for person_id, cost in expected.items():
            assert people[person_id].spend_usd == pytest.approx(cost)
            assert people[person_id].artifacts_per_100_usd == 0  # spend without an artifact scores nothing


def test_resync_of_the_same_days_changes_nothing(engine: Engine) -> None:
    seed_people(engine)
    with fakes() as (_o, _a, settings):
        sync_usage(
            engine, settings, org(), provider="all", since=D(2026, 8, 1), now=NOW, lookup_email=Lookup()
        )
        first = snapshot(engine)
        with Session(engine) as s:
            before = reconcile(s, "2026-08")
        sync_usage(
            engine, settings, org(), provider="all", since=D(2026, 8, 1), now=NOW, lookup_email=Lookup()
        )
    assert snapshot(engine) == first
    with Session(engine) as s:
        assert reconcile(s, "2026-08") == before


def test_incremental_sync_rereads_the_last_days_and_takes_late_corrections(engine: Engine) -> None:
    seed_people(engine)
    oa = openai_data()
    oa.completions[D(2026, 8, 18)] = [
        completion("user-alice", MINI, inp=1_000, out=100),
        completion("user-bob", MINI, inp=2_000, out=200),
    ]
    oa.costs[D(2026, 8, 18)] = [0.01]
    with fakes(oa) as (o, _a, settings):
        sync_usage(engine, settings, org(), provider="openai", since=None, now=NOW, lookup_email=Lookup())
        assert o.calls("/v1/organization/usage/completions")[0].one("start_time") == str(
            int(dt.datetime(2026, 7, 31, tzinfo=dt.UTC).timestamp())
        )  # no cursor: from the 1st
        # The provider corrects Aug 18 afterwards: Bob's line goes, Alice's grows.
        oa.completions[D(2026, 8, 18)] = [completion("user-alice", MINI, inp=5_000, out=500)]
        oa.costs[D(2026, 8, 18)] = [0.02]
        o.requests.clear()
        later = NOW + dt.timedelta(days=2)
        report = sync_usage(
            engine, settings, org(), provider="openai", since=None, now=later, lookup_email=Lookup()
        )
        assert report.sources[0].first == D(2026, 8, 17)  # cursor (Aug 20) minus 3 days
        assert o.calls("/v1/organization/usage/completions")[0].one("start_time") == str(
            int(dt.datetime(2026, 8, 16, tzinfo=dt.UTC).timestamp())
        )
    with Session(engine) as s:
        day18 = [r for r in s.scalars(select(UsageRow).where(UsageRow.date == D(2026, 8, 18))).all()]
        assert [(r.identity, r.input_tokens) for r in day18] == [("alice@example.com", 5_000)]
        assert (
            s.scalars(select(ProviderTotal.cost_usd).where(ProviderTotal.date == D(2026, 8, 18))).one()
            == 0.02
        )
        # days before the re-read window are left as they were
        assert (
            s.scalars(select(func.count()).select_from(UsageRow).where(UsageRow.date == D(2026, 8, 5))).one()
            == 2
        )
        assert s.get(SyncCursor, "openai").last_date == D(2026, 8, 22)


def test_refused_key_raises_config_error_and_writes_nothing(engine: Engine) -> None:
    lookup = Lookup()
    with fakes(anthropic_key="another-key") as (_o, _a, settings), pytest.raises(ConfigError) as info:
        sync_usage(engine, settings, org(), provider="all", since=None, now=NOW, lookup_email=lookup)
    assert "ANTHROPIC_ADMIN_KEY" in str(info.value)
    assert lookup.asked == []
    with Session(engine) as s:
        for table in (UsageRow, ProviderTotal, OutputSignal, SyncCursor, Person):
            assert s.scalars(select(func.count()).select_from(table)).one() == 0, table.__name__


def test_openai_refused_key_names_openai_variable(engine: Engine) -> None:
    with FakeOpenAI(openai_data(), key="right") as o:
        settings = Settings(openai_admin_key="wrong", openai_base_url=o.base_url, anthropic_admin_key=None)
        with pytest.raises(ConfigError, match="OPENAI_ADMIN_KEY"):
            sync_usage(engine, settings, org(), provider="openai", since=None, now=NOW)
    with Session(engine) as s:
        assert s.scalars(select(func.count()).select_from(UsageRow)).one() == 0


def test_missing_keys(engine: Engine) -> None:
    none = Settings(openai_admin_key=None, anthropic_admin_key=None)
    with pytest.raises(ConfigError, match="OPENAI_ADMIN_KEY"):
        sync_usage(engine, none, org(), provider="openai", since=None, now=NOW)
    with pytest.raises(ConfigError, match="ANTHROPIC_ADMIN_KEY"):
        sync_usage(engine, none, org(), provider="all", since=None, now=NOW)
    with pytest.raises(InputError):
        sync_usage(engine, none, org(), provider="gemini", since=None, now=NOW)
    with FakeAnthropic(
        AnthropicData(messages={D(2026, 8, 19): [message_usage(SONNET, uncached=10, out=1)]})
    ) as a:
        only = Settings(openai_admin_key=None, anthropic_admin_key=a.key, anthropic_base_url=a.url)
        report = sync_usage(engine, only, org(), provider="all", since=D(2026, 8, 19), now=NOW)
        with pytest.raises(InputError, match="after today"):
            sync_usage(engine, only, org(), provider="all", since=D(2026, 8, 21), now=NOW)
    assert [s.source for s in report.sources] == ["anthropic", "claude_code"]
    assert report.skipped[0] == "openai: OPENAI_ADMIN_KEY is not set"
    assert not [line for line in report.skipped if line.startswith(("anthropic", "claude_code"))]


def test_identity_mapping_without_slack_lookup_keeps_unknown_spend_unattributed(engine: Engine) -> None:
    seed_people(engine)
    with fakes() as (_o, _a, settings):
        sync_usage(engine, settings, OrgConfig(timezone=TZ), provider="all", since=None, now=NOW)
    with Session(engine) as s:
        rows = usage(s)
        alice = pid(s, "U0ALICE")
        assert rows[("openai", D(2026, 8, 3), "alice@example.com", MINI)].person_id == alice
        for key in [
            ("openai", D(2026, 8, 5), "bob@example.com", "gpt-4.1"),
            ("openai", D(2026, 8, 5), "carol@example.com", "gpt-4.1"),
            ("openai", D(2026, 8, 6), "openai-key:key_ci", "gpt-unknown-9000"),
            ("anthropic", D(2026, 8, 3), "anthropic-key-name:eve-laptop", HAIKU),
        ]:
            assert rows[key].person_id is None, key
        assert s.scalars(select(func.count()).select_from(Person)).one() == 2  # nobody invented
        rec = {r["source"]: r for r in reconcile(s, "2026-08")}
        assert rec["openai"]["unattributed_rows_usd"] > 0
