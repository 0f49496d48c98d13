"""The period-close post carries a narrative: the template's without a language model."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.engine import Engine

from jobs.runner import run_job
from testing.slack_emulator import SlackEmulator
from tests.jobs.conftest import artifact_at, daily_spend, days, make_deps, people, quiet_console, team


def test_the_final_post_tells_the_month_in_words(engine: Engine, emu: SlackEmulator) -> None:
    # Before: the final leaderboard was posted as a table alone.
    people(engine, ["U0ALICE", "U0BOB"])
    team(engine, "Growth", ["U0ALICE", "U0BOB"], managers=["U0CAROL"], channel="C0GROWTH")
    daily_spend(engine, "U0ALICE", days(dt.date(2026, 10, 1), dt.date(2026, 10, 10)), 5.0)
    artifact_at(engine, "U0ALICE", "https://github.com/acme/app/pull/7", period="2026-10", title="Agent",
                created=dt.datetime(2026, 10, 20, tzinfo=dt.UTC), status="kept")
    deps = make_deps(engine, emu, clock=lambda: dt.datetime(2026, 11, 9, 14, tzinfo=dt.UTC))
    assert deps.llm is None
    assert run_job(deps, "close-period", period="2026-10", console=quiet_console()) == 0
    [post] = emu.messages("C0GROWTH")
    words = str(post["blocks"])
    assert "AI spend was $50.00 for 1 counted artifact" in words
    assert "Top team: Growth at 2.00 artifacts per $100." in words
    assert "October 2026" in words
    # Before: the org-wide narrative opened "The organisation logged no artifact" above "for 1 counted artifact".
    assert "logged no artifact" not in words


def test_a_month_of_spend_without_artifacts_says_so(engine: Engine, emu: SlackEmulator) -> None:
    people(engine, ["U0ALICE", "U0BOB"])
    team(engine, "Growth", ["U0ALICE", "U0BOB"], managers=["U0CAROL"], channel="C0GROWTH")
    daily_spend(engine, "U0ALICE", days(dt.date(2026, 10, 1), dt.date(2026, 10, 10)), 5.0)
    deps = make_deps(engine, emu, clock=lambda: dt.datetime(2026, 11, 9, 14, tzinfo=dt.UTC))
    assert run_job(deps, "close-period", period="2026-10", console=quiet_console()) == 0
    [post] = emu.messages("C0GROWTH")
    words = str(post["blocks"])
    assert "The organisation logged no artifact in October 2026." in words
    assert "AI spend was $50.00 for 0 counted artifacts" in words
