"""The month-end DM suggests what every coding tool says a person made: Claude Code, Cursor, Copilot."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.engine import Engine

from bot.db import session_scope
from bot.models import OutputSignal
from jobs.runner import run_job
from testing.slack_emulator import SlackEmulator
from tests.jobs.conftest import make_deps, people, quiet_console


def test_cursor_and_copilot_output_is_suggested_beside_claude_codes(engine: Engine, emu: SlackEmulator) -> None:
    # Before: the DM read only Claude Code's pull requests and commits; Cursor's accepted lines and
    # Copilot's accepted suggestions (App Home showed them) never reached it.
    ids = people(engine, ["U0ALICE", "U0BOB"])
    with session_scope(engine) as s:
        for source, metric, value, who in (
            ("claude_code", "pull_requests", 2, "U0ALICE"),
            ("cursor", "lines_accepted", 1200, "U0ALICE"),
            ("copilot", "code_acceptances", 37, "U0BOB"),
        ):
            s.add(OutputSignal(source=source, date=dt.date(2026, 10, 20), period="2026-10", identity=who,
                               person_id=ids[who], metric=metric, value=value))
    deps = make_deps(engine, emu, clock=lambda: dt.datetime(2026, 10, 30, 20, tzinfo=dt.UTC))
    assert run_job(deps, "checkin", console=quiet_console()) == 0
    alice = str(emu.dm_messages("U0ALICE")[0]["blocks"])
    bob = str(emu.dm_messages("U0BOB")[0]["blocks"])
    assert "Claude Code says you opened 2 PRs this month (Cursor: 1,200 lines accepted)" in alice
    assert "Copilot: 37 suggestions accepted" in bob
