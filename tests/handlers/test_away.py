"""Issue 16, case 5: people on holiday (Slack status or "I'm away until…") get no check-in, show as away in
the report and count nowhere in the response rate; "Remind me tomorrow" is a button on the DM."""

from __future__ import annotations

import json
import shutil

from sqlalchemy import select

from bot import ids
from bot.db import make_engine, session_scope
from bot.models import Checkin, Person
from testing.signing import block_actions_payload, command_body, interaction_body
from tests.handlers.conftest import USERS, running_bot
from tests.handlers.helpers import answer


def test_away_status_datepicker_and_snooze(sqlite_template, tmp_path) -> None:
    shutil.copy(sqlite_template, tmp_path / "p.db")
    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    with running_bot(f"sqlite:///{tmp_path / 'p.db'}", tmp_path) as bot:
        users = json.loads(json.dumps(USERS))
        bob = next(u for u in users if u["id"] == "U0BOB")
        bob["profile"].update(status_text="Vacation", status_emoji=":palm_tree:")
        bot.emu.set_users(users)
        assert bot.cli("people", "sync").returncode == 0
        res = bot.cli("jobs", "run", "checkin", "--period", "2026-11")
        assert res.returncode == 0, res.stderr
        assert bot.emu.dm_messages("U0BOB") == []  # on holiday: not asked
        [dm] = bot.emu.dm_messages("U0ALICE")
        elements = [e for b in dm["blocks"] if b["type"] == "actions" for e in b["elements"]]
        assert {e["action_id"] for e in elements} >= {ids.ACTION_SNOOZE, ids.ACTION_AWAY}
        assert next(e for e in elements if e["action_id"] == ids.ACTION_AWAY)["type"] == "datepicker"

        report = json.dumps(
            answer(bot, lambda u: command_body("/artifact-report", "Growth 2026-11", "U0CAROL", response_url=u)),
            ensure_ascii=False,
        )
        assert "Bob Jones* — $0.00, 0 artifacts, 0.00/$100, check-in: away" in report
        assert "Alice Smith* — $0.00, 0 artifacts, 0.00/$100, check-in: unanswered" in report

        said = answer(
            bot,
            lambda u: interaction_body(block_actions_payload("U0ALICE", ids.ACTION_SNOOZE, "2026-11", response_url=u)),
        )
        assert "no reminder before this time tomorrow" in said["text"]

        def too_far(url: str) -> bytes:
            payload = block_actions_payload("U0ERIN", ids.ACTION_AWAY, None, action_type="datepicker", response_url=url)
            payload["actions"][0]["selected_date"] = "2099-01-01"  # too far: refused, nothing stored
            return interaction_body(payload)

        refused = answer(bot, too_far)["text"]
        assert "Pick a day from today to a year ahead" in refused
        with session_scope(engine) as s:
            alice = s.scalars(select(Person).where(Person.slack_user_id == "U0ALICE")).one()
            snoozed = s.scalars(select(Checkin).where(Checkin.person_id == alice.id)).one().snoozed_until
            erin = s.scalars(select(Person).where(Person.slack_user_id == "U0ERIN")).one()
        assert snoozed is not None and erin.away_until is None
    engine.dispose()
