"""The OpenAI and Anthropic connectors against loopback fakes, through the real SDK and httpx."""

from __future__ import annotations

import datetime as dt
import time
import zoneinfo
from decimal import Decimal

import pytest
from genai_prices import Usage, calc_price

from bot.errors import ConfigError
from bot.spend.connectors import anthropic_admin, openai_admin
from bot.spend.connectors.base import UNATTRIBUTED, ProviderError, bucket_date, query_window, retry_after_seconds

from .fakes import AnthropicData, FakeAnthropic, FakeOpenAI, OpenAIData, anthropic_error, completion, openai_error
from .scenario import HAIKU, MINI, NOW, SONNET, TZ, D, anthropic_data, openai_data

NY = zoneinfo.ZoneInfo(TZ)
WHEN = dt.datetime(2026, 8, 3, 12, tzinfo=dt.UTC)


def price(model: str, provider: str, **usage: int) -> float:
    return float(calc_price(Usage(**usage), model, provider_id=provider, genai_request_timestamp=WHEN).total_price)


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        ("UTC", D(2026, 8, 1)),
        ("America/New_York", D(2026, 8, 1)),
        ("Pacific/Honolulu", D(2026, 8, 1)),
        ("Asia/Tokyo", D(2026, 8, 1)),
        ("Pacific/Kiritimati", D(2026, 8, 2)),  # UTC+14: most of the UTC day is the next local day
    ],
)
def test_bucket_date_is_the_local_day_holding_most_of_the_utc_day(zone: str, expected: dt.date) -> None:
    start = dt.datetime(2026, 8, 1, tzinfo=dt.UTC)
    assert bucket_date(start, start + dt.timedelta(days=1), zoneinfo.ZoneInfo(zone)) == expected


def test_query_window_has_a_day_of_margin_and_stops_at_the_current_utc_day() -> None:
    start, end = query_window(D(2026, 8, 1), D(2026, 8, 20), NOW)
    assert start == dt.datetime(2026, 7, 31, tzinfo=dt.UTC)
    assert end == dt.datetime(2026, 8, 21, tzinfo=dt.UTC)


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    assert retry_after_seconds({"retry-after": "7"}) == 7.0
    assert retry_after_seconds({}) is None
    assert retry_after_seconds({"retry-after": "Wed, 21 Oct 2015 07:28:10 GMT"}, now=lambda: 1445412480.0) == 10.0


def openai_fetch(fake: FakeOpenAI, first: dt.date = D(2026, 8, 1), last: dt.date = D(2026, 8, 20)):
    client = openai_admin.make_client(fake.key, base_url=fake.base_url, max_retries=2)
    try:
        return openai_admin.fetch_openai(client, first=first, last=last, tz=NY, now=NOW)
    finally:
        client.close()


def test_openai_pages_prices_and_maps_users_through_the_sdk() -> None:
    with FakeOpenAI(openai_data(), page_buckets=4) as fake:
        fetch = openai_fetch(fake)
        completions = fake.calls("/v1/organization/usage/completions")
    # 21 daily buckets (Jul 31..Aug 20 UTC) at 4 a page: 6 pages, each asking for the next one.
    assert len(completions) == 6
    assert completions[0].one("page") is None
    assert all(c.one("page") for c in completions[1:])
    first = completions[0]
    assert first.headers["authorization"] == "Bearer sk-admin-test"
    assert first.one("bucket_width") == "1d"
    assert sorted(first.many("group_by")) == ["api_key_id", "batch", "model", "user_id"]
    assert first.one("start_time") == str(int(dt.datetime(2026, 7, 31, tzinfo=dt.UTC).timestamp()))

    rows = {(r.date, r.identity, r.model, r.cost_usd is not None and r.requests): r for r in fetch.rows}
    alice = [r for r in fetch.rows if r.identity == "alice@example.com" and r.model == MINI]
    assert len(alice) == 2  # batch and non-batch rows, merged later by the sync
    plain = next(r for r in alice if r.requests == 10)
    batch = next(r for r in alice if r.requests == 2)
    assert plain.email == "alice@example.com" and plain.aliases == ("user-alice",)
    assert plain.cached_tokens == 400_000 and plain.input_tokens == 1_000_000
    assert plain.cost_usd == pytest.approx(
        price(MINI, "openai", input_tokens=1_000_000, cache_read_tokens=400_000, output_tokens=100_000)
    )
    assert batch.cost_usd == pytest.approx(price(MINI, "openai", input_tokens=200_000, output_tokens=50_000) / 2)
    nobody = next(r for r in fetch.rows if r.date == D(2026, 8, 4) and r.model == "gpt-4.1")
    assert nobody.identity == UNATTRIBUTED and nobody.email is None
    unknown = next(r for r in fetch.rows if r.model == "gpt-unknown-9000")
    assert unknown.cost_usd is None and unknown.identity == "openai-key:key_ci"
    embed = next(r for r in fetch.rows if r.model == "text-embedding-3-small")
    assert embed.cost_usd == pytest.approx(price("text-embedding-3-small", "openai", input_tokens=1_000_000))
    assert any(r.model == "omni-moderation-latest" for r in fetch.rows)
    assert rows  # the whole set parsed
    assert len(fetch.totals) == 20  # every org day Aug 1..20 got a bucket, empty ones bill 0
    assert {d: v for d, v in fetch.totals.items() if v} == {
        D(2026, 8, 3): Decimal("0.52"),
        D(2026, 8, 4): Decimal("0.1"),
        D(2026, 8, 5): Decimal("2.0"),
        D(2026, 8, 6): Decimal("0.33"),
    }


def test_openai_retries_429_honouring_retry_after() -> None:
    with FakeOpenAI(openai_data()) as fake:
        fake.fail(
            "/v1/organization/usage/completions",
            openai_error(429, "slow down", "rate_limit", headers={"Retry-After": "1"}),
        )
        started = time.monotonic()
        fetch = openai_fetch(fake, D(2026, 8, 3), D(2026, 8, 3))
        waited = time.monotonic() - started
        calls = fake.calls("/v1/organization/usage/completions")
    assert len(calls) == 2 and calls[0].query == calls[1].query
    assert waited >= 1.0
    assert {r.model for r in fetch.rows} >= {MINI}


def test_openai_refused_key_names_the_variable() -> None:
    with FakeOpenAI(openai_data(), key="the-real-key") as fake:
        client = openai_admin.make_client("wrong-key", base_url=fake.base_url, max_retries=0)
        with pytest.raises(ConfigError, match="OPENAI_ADMIN_KEY"):
            openai_admin.fetch_openai(client, first=D(2026, 8, 1), last=D(2026, 8, 2), tz=NY, now=NOW)


def test_openai_server_errors_after_retries_are_provider_errors() -> None:
    with FakeOpenAI(OpenAIData()) as fake:
        for _ in range(3):
            fake.fail(
                "/v1/organization/usage/completions",
                openai_error(500, "boom", "server_error", headers={"retry-after-ms": "1"}),
            )
        with pytest.raises(ProviderError):
            openai_fetch(fake, D(2026, 8, 3), D(2026, 8, 3))


def test_openai_user_without_email_keeps_its_provider_id() -> None:
    data = OpenAIData(
        completions={D(2026, 8, 3): [completion("user-zed", MINI, inp=10, out=1)]}, users=openai_data().users
    )
    with FakeOpenAI(data) as fake:
        fetch = openai_fetch(fake, D(2026, 8, 3), D(2026, 8, 3))
        users = fake.calls("/v1/organization/users")
    assert [r.identity for r in fetch.rows] == ["openai-user:user-zed"]
    assert len(users) == 2  # 4 users, 2 a page: the SDK followed ``after=last_id``
    assert users[1].one("after") == "user-bob"


def anthropic_fetch(fake: FakeAnthropic, *, sleep=time.sleep, first=D(2026, 8, 1), last=D(2026, 8, 20)):
    with anthropic_admin.AnthropicAdmin(fake.key, base_url=fake.url, sleep=sleep, max_retries=3) as client:
        return anthropic_admin.fetch_anthropic(client, first=first, last=last, tz=NY, now=NOW)


def test_anthropic_usage_and_costs() -> None:
    with FakeAnthropic(anthropic_data()) as fake:
        fetch = anthropic_fetch(fake)
        messages = fake.calls("/v1/organizations/usage_report/messages")
        code_days = {c.one("starting_at") for c in fake.calls("/v1/organizations/usage_report/claude_code")}
    assert len(messages) == 7  # 21 buckets at 3 a page
    first = messages[0]
    assert first.headers["x-api-key"] == "sk-ant-admin-test"
    assert first.headers["anthropic-version"] == "2023-06-01"
    assert first.one("starting_at") == "2026-07-31T00:00:00Z"
    assert first.one("ending_at") == "2026-08-21T00:00:00Z"
    assert sorted(first.query["group_by[]"]) == ["account_id", "api_key_id", "model", "service_tier"]
    assert code_days == set()  # Claude Code is a source of its own (test_claude_code.py)

    alice = next(r for r in fetch.rows if r.model == SONNET and r.date == D(2026, 8, 3))
    assert alice.identity == "alice@example.com" and alice.aliases == ("user_01A",)
    assert alice.input_tokens == 165_000 and alice.cached_tokens == 50_000
    assert alice.cost_usd == pytest.approx(
        price(
            SONNET,
            "anthropic",
            input_tokens=165_000,
            cache_read_tokens=50_000,
            cache_write_tokens=15_000,
            cache_write_5m_tokens=10_000,
            cache_write_1h_tokens=5_000,
            output_tokens=20_000,
            web_searches=3,
        )
    )
    key = next(r for r in fetch.rows if r.model == HAIKU)
    assert key.identity == "anthropic-key-name:eve-laptop" and key.aliases == ("apikey_01X", "eve-laptop")
    assert key.cost_usd == pytest.approx(price(HAIKU, "anthropic", input_tokens=1_000_000, output_tokens=100_000) / 2)
    console = next(r for r in fetch.rows if r.date == D(2026, 8, 4))
    assert console.identity == UNATTRIBUTED and console.cost_usd is not None
    mystery = next(r for r in fetch.rows if r.model == "claude-mystery-1")
    assert mystery.cost_usd is None
    # a result whose counts are all null carries nothing and is dropped
    assert not [r for r in fetch.rows if r.date == D(2026, 8, 5) and r.model == SONNET]

    assert {d: v for d, v in fetch.totals.items() if v} == {
        D(2026, 8, 3): Decimal("1.33455"),
        D(2026, 8, 4): Decimal("0.005"),
        D(2026, 8, 5): Decimal("2.5"),
    }
    assert fetch.signals == [] and fetch.signal_source is None


def test_anthropic_retries_429_and_5xx_with_retry_after_and_backoff() -> None:
    waits: list[float] = []
    with FakeAnthropic(anthropic_data()) as fake:
        fake.fail(
            "/v1/organizations/cost_report",
            anthropic_error(429, "rate_limit_error", "slow down", {"retry-after": "2"}),
            anthropic_error(529, "overloaded_error", "Overloaded"),
        )
        fetch = anthropic_fetch(fake, sleep=waits.append, first=D(2026, 8, 3), last=D(2026, 8, 5))
    assert waits[0] == 2.0 and 0 < waits[1] <= 1.0
    assert sum(fetch.totals.values()) == Decimal("3.83955")


def test_anthropic_gives_up_after_the_retries() -> None:
    with FakeAnthropic(AnthropicData()) as fake:
        for _ in range(4):
            fake.fail(
                "/v1/organizations/usage_report/messages",
                anthropic_error(500, "api_error", "Internal server error"),
            )
        with pytest.raises(ProviderError, match="Internal server error"):
            anthropic_fetch(fake, sleep=lambda _s: None)


@pytest.mark.parametrize("status", [401, 403])
def test_anthropic_refused_key_names_the_variable(status: int) -> None:
    with FakeAnthropic(anthropic_data()) as fake:
        fake.fail(
            "/v1/organizations/usage_report/messages",
            anthropic_error(status, "permission_error", "not an admin key"),
        )
        with pytest.raises(ConfigError, match="ANTHROPIC_ADMIN_KEY") as info:
            anthropic_fetch(fake)
    assert fake.key not in str(info.value)


def test_anthropic_cents_strings() -> None:
    assert anthropic_admin.cents_to_usd("123.45") == Decimal("1.2345")
    assert anthropic_admin.cents_to_usd(186) == Decimal("1.86")
    assert anthropic_admin.cents_to_usd(None) == 0
    with pytest.raises(ProviderError):
        anthropic_admin.cents_to_usd("12,5")
