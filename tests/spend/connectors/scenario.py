"""One month of provider data shared by the usage tests (org in America/New_York, August 2026).

Also :func:`assert_key_refused`, every connector's check that a refused key is named, never echoed.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from types import ModuleType

import pytest

from bot.config import Settings
from bot.errors import ConfigError

from .fakes import (
    AnthropicData,
    OpenAIData,
    anthropic_api_key,
    anthropic_user,
    claude_code_record,
    completion,
    embedding,
    message_usage,
    openai_user,
)

D = dt.date
NOW = dt.datetime(2026, 8, 20, 15, 0, tzinfo=dt.UTC)  # 11:00 in New York
TZ = "America/New_York"


def assert_key_refused(connector: ModuleType, settings: Settings, *, variable: str, key: str) -> None:
    """``connector.fetch`` with a key its provider refuses: a ConfigError naming ``variable``, without ``key``."""
    with pytest.raises(ConfigError, match=variable) as info:
        connector.fetch(settings, first=D(2026, 8, 1), last=D(2026, 8, 2), tz=zoneinfo.ZoneInfo(TZ), now=NOW)
    assert key not in str(info.value)


MINI = "gpt-4o-mini-2024-07-18"
SONNET = "claude-sonnet-4-20250514"
HAIKU = "claude-3-5-haiku-20241022"

OPENAI_COSTS = {D(2026, 8, 3): [0.5, 0.02], D(2026, 8, 4): [0.1], D(2026, 8, 5): [2.0], D(2026, 8, 6): [0.33]}
ANTHROPIC_CENTS = {D(2026, 8, 3): ["123.45", "10.005"], D(2026, 8, 4): ["0.5"], D(2026, 8, 5): ["250"]}


def openai_data() -> OpenAIData:
    return OpenAIData(
        completions={
            D(2026, 8, 3): [
                completion(
                    "user-alice",
                    MINI,
                    inp=1_000_000,
                    cached=400_000,
                    out=100_000,
                    requests=10,
                    api_key_id="key_ci",
                ),
                completion("user-alice", MINI, inp=200_000, out=50_000, requests=2, batch=True),
            ],
            D(2026, 8, 4): [completion(None, "gpt-4.1", inp=10_000, out=1_000, batch=None)],
            D(2026, 8, 5): [
                completion("user-bob", "gpt-4.1", inp=500_000, out=20_000, requests=4),
                completion("user-carol", "gpt-4.1", inp=40_000, out=2_000),
            ],
            D(2026, 8, 6): [completion(None, "gpt-unknown-9000", inp=7_000, out=700, api_key_id="key_ci")],
        },
        embeddings={D(2026, 8, 3): [embedding("user-alice", "text-embedding-3-small", inp=1_000_000)]},
        moderations={D(2026, 8, 4): [embedding("user-alice", "omni-moderation-latest", inp=5_000, kind="moderations")]},
        costs=dict(OPENAI_COSTS),
        users=[
            openai_user("user-alice", "Alice@Example.com"),
            openai_user("user-bob", "bob@example.com"),
            openai_user("user-carol", "carol@example.com"),
            openai_user("user-zed", None),
        ],
    )


def anthropic_data() -> AnthropicData:
    return AnthropicData(
        messages={
            D(2026, 8, 3): [
                message_usage(
                    SONNET,
                    account_id="user_01A",
                    uncached=100_000,
                    cache_read=50_000,
                    write_5m=10_000,
                    write_1h=5_000,
                    out=20_000,
                    searches=3,
                ),
                message_usage(HAIKU, api_key_id="apikey_01X", uncached=1_000_000, out=100_000, tier="batch"),
            ],
            D(2026, 8, 4): [message_usage(SONNET, uncached=1_000, out=100, nulls=True)],
            D(2026, 8, 5): [
                message_usage("claude-mystery-1", account_id="user_01A", uncached=5_000, out=500),
                message_usage(SONNET, account_id="user_01A", uncached=None, cache_read=None, out=None, nulls=True),
            ],
        },
        costs=dict(ANTHROPIC_CENTS),
        claude_code={
            D(2026, 8, 3): [
                claude_code_record(
                    D(2026, 8, 3),
                    email="alice@example.com",
                    sessions=5,
                    added=100,
                    removed=20,
                    commits=4,
                    prs=2,
                    cents=186,
                )
            ],
            D(2026, 8, 4): [
                claude_code_record(D(2026, 8, 4), email="alice@example.com", prs=1, commits=1, cents=42.5),
                claude_code_record(D(2026, 8, 4), key_name="eve-laptop", prs=1),
                claude_code_record(D(2026, 8, 4), email="nobody@example.com", prs=3),
            ],
        },
        users=[
            anthropic_user("user_01A", "alice@example.com", "Alice"),
            anthropic_user("user_01B", "bob@example.com", "Bob", role="user"),
        ],
        api_keys=[anthropic_api_key("apikey_01X", "eve-laptop", created_by="user_01B", hint="sk-ant-api03-R2D...igAA")],
    )
