"""A modal save is acknowledged before the write: a held database write lock never delays Slack's ack."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from bot import ids
from testing.signing import interaction_body, view_submission_payload
from tests.handlers.conftest import running_bot
from tests.handlers.test_scenarios import dm_texts, setup_org

pytestmark = [pytest.mark.slow, pytest.mark.serial]


def _modal(user: str, link: str) -> bytes:
    values = {
        ids.BLOCK_TITLE: {ids.INPUT: {"type": "plain_text_input", "value": "Release notes agent"}},
        ids.BLOCK_LINKS: {ids.INPUT: {"type": "plain_text_input", "value": link}},
        ids.BLOCK_KIND: {ids.INPUT: {"type": "static_select", "selected_option": {"value": "agent"}}},
        ids.BLOCK_DESCRIPTION: {ids.INPUT: {"type": "plain_text_input", "value": ""}},
    }
    return interaction_body(view_submission_payload(user, ids.VIEW_ADD_ARTIFACT, values, view_id="V0MODAL1"))


def test_the_add_modal_is_acknowledged_while_another_writer_holds_the_lock(tmp_path: Path) -> None:
    # Before: the modal saved before its ack, so during an import (SQLite's one write lock held) the
    # ack waited for the lock: 4.2 s, past Slack's 3 seconds.
    db = tmp_path / "bot.db"
    with running_bot(f"sqlite:///{db}", tmp_path) as bot:
        setup_org(bot)
        held, release = threading.Event(), threading.Event()

        def hold_write_lock() -> None:
            conn = sqlite3.connect(db, timeout=30, isolation_level=None)
            conn.execute("BEGIN IMMEDIATE")
            held.set()
            release.wait(10)
            conn.execute("COMMIT")
            conn.close()

        holder = threading.Thread(target=hold_write_lock)
        holder.start()
        assert held.wait(5)
        t0 = time.perf_counter()
        res = bot.post(_modal("U0ALICE", "https://github.com/acme/notes/pull/12"))
        took = time.perf_counter() - t0
        time.sleep(0.5)
        release.set()
        holder.join()
        assert res.status == 200 and took < 1.5, took
        said = bot.wait_for(lambda: [t for t in dm_texts(bot, "U0ALICE") if "Recorded" in t], timeout=30)
        assert "Release notes agent" in said[0] or "1 artifact" in said[0]
        # The same link again: a field error in the ack itself (checked by reads), nothing closed.
        res = bot.post(_modal("U0ALICE", "https://github.com/acme/notes/pull/12/files"))
        assert res.status == 200 and b"already logged" in res.body
