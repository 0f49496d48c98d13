"""``artifact-bot usage sync all`` as a process against every provider's loopback fake, twice."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select
from sqlmodel import Session

from bot.models import OutputSignal, Person, UsageRow
from bot.periods import period_of

from .fakes import (
    AnthropicData,
    CursorData,
    FakeAnthropic,
    FakeCursor,
    FakeGitHub,
    FakeOpenAI,
    GitHubData,
    OpenAIData,
    anthropic_user,
    claude_code_record,
    completion,
    copilot_user,
    cursor_day,
    cursor_spend,
    message_usage,
    openai_user,
    premium_item,
)
from .scenario import MINI, SONNET

# The command reads the real clock: the data sits a few days back, and every check spans all periods.
DAY = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=5)


def fakes() -> tuple[FakeOpenAI, FakeAnthropic, FakeCursor, FakeGitHub]:
    openai = OpenAIData(
        completions={DAY: [completion("user-alice", MINI, inp=100_000, out=10_000)]},
        costs={DAY: [0.05]},
        users=[openai_user("user-alice", "alice@example.com")],
    )
    anthropic = AnthropicData(
        messages={DAY: [message_usage(SONNET, account_id="user_01A", uncached=10_000, out=1_000)]},
        costs={DAY: ["4.5"]},
        claude_code={
            DAY: [
                claude_code_record(DAY, email="alice@example.com", prs=2, cents=250),
                claude_code_record(DAY, key_name="ci", prs=1, cents=999),  # api_actor: not spend
            ]
        },
        users=[anthropic_user("user_01A", "alice@example.com", "Alice", role="user")],
    )
    cursor = CursorData(
        cycle_start=DAY - dt.timedelta(days=3),
        spend=[cursor_spend("alice@example.com", 1000)],
        daily={DAY: [cursor_day("alice@example.com", usage_based=2, accepted=12)]},
    )
    github = GitHubData(
        metrics={DAY: [copilot_user("alice-gh", DAY, generations=3, acceptances=2, loc=9)]},
        premium={(DAY, "alice-gh"): [premium_item("gpt-5", 50, 2.0)]},
    )
    return FakeOpenAI(openai), FakeAnthropic(anthropic), FakeCursor(cursor), FakeGitHub(github)


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True, env=env, timeout=300)


def snapshot(url: str) -> list[tuple[Any, ...]]:
    engine = create_engine(url)
    try:
        with Session(engine) as s:
            usage = sorted(
                (r.source, r.date, r.identity, r.person_id, r.model, r.cost_usd) for r in s.scalars(select(UsageRow))
            )
            signals = sorted((x.source, x.date, x.identity, x.metric, x.value) for x in s.scalars(select(OutputSignal)))
            return [*usage, *signals]
    finally:
        engine.dispose()


def test_usage_sync_all_fills_every_source_and_a_second_sync_changes_nothing(tmp_path: Path) -> None:
    config = tmp_path / "org.yaml"
    config.write_text(
        "timezone: UTC\n"
        "identities: {alice-gh: alice@example.com}\n"
        "seats:\n  - {tool: claude_code, usd_per_month: 200, members: [alice@example.com]}\n"
        "teams:\n  - {name: Growth, members: [alice@example.com]}\n",
        encoding="utf-8",
    )
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    o, a, c, g = fakes()
    with o, a, c, g:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "ANTHROPIC", "CURSOR", "GITHUB"))}
        env.update(
            DATABASE_URL=url,
            ARTIFACT_BOT_CONFIG=str(config),
            OPENAI_ADMIN_KEY=o.key,
            OPENAI_BASE_URL=o.base_url,
            ANTHROPIC_ADMIN_KEY=a.key,
            ANTHROPIC_BASE_URL=a.url,
            CURSOR_ADMIN_KEY=c.key,
            CURSOR_API_URL=c.url,
            GITHUB_TOKEN=g.token,
            GITHUB_ORG=g.org,
            GITHUB_API_URL=g.url,
        )
        assert run("teams", "import", str(config), env=env).returncode == 0
        since = (DAY - dt.timedelta(days=1)).isoformat()
        first = run("usage", "sync", "all", "--since", since, env=env)
        assert first.returncode == 0, first.stderr
        for source in ("openai", "anthropic", "claude_code", "cursor", "copilot", "seats"):
            assert any(line.startswith(f"{source}:") for line in first.stdout.splitlines()), (source, first.stdout)
        once = snapshot(url)
        again = run("usage", "sync", "all", "--since", since, env=env)
        assert again.returncode == 0, again.stderr
        assert snapshot(url) == once
        board = run("leaderboard", "--by", "person", "--format", "json", "--period", period_of(DAY), env=env)
    assert board.returncode == 0, board.stderr

    engine = create_engine(url)
    with Session(engine) as s:
        alice = s.scalars(select(Person).where(Person.email == "alice@example.com")).one()
        rows = s.scalars(
            select(UsageRow).where(UsageRow.person_id == alice.id, UsageRow.period == period_of(DAY))
        ).all()
    engine.dispose()
    assert {r.source for r in rows} == {"openai", "anthropic", "claude_code", "cursor", "copilot", "seats"}
    by_source = {r.source: r.cost_usd for r in rows if r.source in ("claude_code", "cursor", "copilot", "seats")}
    assert by_source == {"claude_code": 2.5, "cursor": 10.0, "copilot": 2.0, "seats": 200.0}
    line = next(r for r in json.loads(board.stdout) if r["email"] == "alice@example.com")
    assert round(line["spend_usd"], 6) == round(sum(r.cost_usd or 0 for r in rows), 6)  # the board is the rows' sum
