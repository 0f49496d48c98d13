"""Issue 16, case 8: a DM reply with two links in one sentence names each from the words next to it."""

from __future__ import annotations

import json
import shutil

from testing.signing import event_body, message_event
from tests.handlers.conftest import running_bot


def test_each_link_of_a_sentence_takes_its_own_title(sqlite_template, tmp_path) -> None:
    shutil.copy(sqlite_template, tmp_path / "p.db")
    with running_bot(f"sqlite:///{tmp_path / 'p.db'}", tmp_path) as bot:
        assert bot.cli("people", "sync").returncode == 0
        text = "Shipped https://github.com/acme/new-thing and a dashboard https://looker.acme.example/d/7"
        assert bot.post(event_body(message_event("U0ALICE", text))).status == 200
        answer = bot.wait_for(lambda: bot.emu.dm_messages("U0ALICE"), timeout=15)[-1]
        assert answer["text"].startswith("Recorded 2 artifacts")
        blocks = json.dumps(answer["blocks"])
        assert "*New thing*" in blocks and "*Dashboard*" in blocks
        assert "looker.acme.example/7" not in blocks
