"""The DM answer names a link that was first claimed in an earlier month: recorded, counts 0, carried over."""

from __future__ import annotations

from testing.signing import event_body, message_event
from tests.handlers.conftest import synced_bot
from tests.handlers.helpers import import_artifacts


def test_the_dm_answer_says_a_reclaimed_link_is_carried_over(sqlite_template, tmp_path) -> None:
    with synced_bot(sqlite_template, tmp_path) as bot:
        import_artifacts(bot, "2026-10,alice@example.com,https://looker.example.com/d/7,Churn dashboard,kept")
        reply = message_event("U0ALICE", "Churn dashboard again https://looker.example.com/d/7/")
        assert bot.post(event_body(reply)).status == 200
        answer = bot.wait_for(lambda: bot.emu.dm_messages("U0ALICE"), timeout=15)[-1]
        text = answer.get("text", "")
        assert "Recorded 1 artifact" in text
        assert "Carried over:" in text and "first claimed by Alice Smith in October 2026" in text
        assert "counts 0" in text
