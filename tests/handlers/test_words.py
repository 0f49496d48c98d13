"""Issue 16, case 4: the words people read: months by name, the deadline, plurals, "unanswered", the floor."""

from __future__ import annotations

import json

from testing.signing import command_body
from tests.handlers.conftest import synced_bot
from tests.handlers.helpers import answer, import_artifacts


def test_the_dm_report_and_board_read_like_sentences(sqlite_template, tmp_path) -> None:
    with synced_bot(sqlite_template, tmp_path) as bot:
        res = bot.cli("jobs", "run", "checkin", "--period", "2026-11")
        assert res.returncode == 0, res.stderr
        dm = bot.emu.dm_messages("U0ALICE")[0]
        assert "artifact test for November 2026" in dm["text"] and "2026-11" not in dm["text"]
        assert "reply by Monday 7 December" in dm["text"]
        import_artifacts(bot, "2026-11,bob@example.com,https://github.com/acme/x/pull/1,X,kept")

        report = answer(bot, lambda u: command_body("/artifact-report", "Growth 2026-11", "U0CAROL", response_url=u))
        said = json.dumps(report)
        assert "check-in: unanswered" in said and "check-in: sent" not in said
        assert "1 artifact," in said and "1 artifacts" not in said and "0 artifacts" in said
        assert "November 2026" in said

        board = json.dumps(answer(bot, lambda u: command_body("/leaderboard", "2026-11", "U0ALICE", response_url=u)))
        assert "Leaderboard for November 2026" in board
        assert "The floor ($10)" in board and "spending nothing" in board
        assert "1 artifact," in board
