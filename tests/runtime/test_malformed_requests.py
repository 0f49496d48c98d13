"""Malformed requests get 400 (unsigned: 401), one log line each, no traceback; nothing is stored."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import text

from bot import ids
from bot.db import make_engine
from testing.signing import (
    block_actions_payload,
    event_body,
    interaction_body,
    message_event,
    post_signed,
    view_submission_payload,
)
from tests.handlers.conftest import SECRET, running_bot

pytestmark = pytest.mark.slow


def _post_raw(url: str, body: bytes, headers: dict[str, str]) -> int:
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return int(r.status)
    except urllib.error.HTTPError as e:
        return int(e.code)


def _count(db_url: str, table: str) -> int:
    eng = make_engine(db_url)
    try:
        with eng.connect() as conn:
            return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
    finally:
        eng.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """For the checks that are about HTTP and Slack payloads, not the database: SQLite only."""
    return f"sqlite:///{tmp_path / 'bot.db'}"


def test_unsigned_requests_with_unparseable_timestamps_are_refused_quietly(sqlite_url: str, tmp_path: Path) -> None:
    db_url = sqlite_url
    # Before: a non-numeric X-Slack-Request-Timestamp without a signature raised inside Bolt's
    # verification: HTTP 500 and a traceback per request (300 requests, half a megabyte of log).
    with running_bot(db_url, tmp_path) as bot:
        body = event_body(message_event("U0ALICE", "https://example.com/x"))
        bad = ["abc", "", "1_700_000_000", "+1700000000", " 1700000000", "9" * 40]
        statuses = [
            _post_raw(f"{bot.url}/slack/events", body,
                      {"Content-Type": "application/json", "X-Slack-Request-Timestamp": ts,
                       "X-Slack-Signature": "v0=deadbeef"})
            for ts in bad * 10
        ]
        assert set(statuses) == {401}
        assert bot.log_path is not None
        log = bot.log_path.read_text()
        assert "Traceback" not in log
        assert len(log.encode()) < 20_000
    assert _count(db_url, "inbound_message") == 0


def _interaction(payload: dict) -> bytes:
    return interaction_body(payload)


WRONG_TYPES = {
    "event-null": json.dumps({"type": "event_callback", "team_id": "T0TEST", "event": None,
                              "event_id": "Ev-null"}).encode(),
    "text-a-list": json.dumps({"type": "event_callback", "team_id": "T0TEST", "event_id": "Ev-list",
                               "event": {"type": "message", "channel_type": "im", "user": "U0ALICE",
                                         "channel": "D0ALICE", "ts": "1.2", "text": ["a", "list"]}}).encode(),
}


def test_signed_payloads_of_the_wrong_types_get_a_clear_answer_and_no_traceback(
    sqlite_url: str, tmp_path: Path
) -> None:
    # Before: each of these answered 500 with a traceback (a listener read a field of the wrong type).
    actions_empty = block_actions_payload("U0ALICE", ids.ACTION_ADD_ARTIFACT)
    actions_empty["actions"] = []
    bodies = {
        **WRONG_TYPES,
        "actions-empty": _interaction(actions_empty),
        "private-metadata-not-an-integer": _interaction(
            view_submission_payload("U0ALICE", ids.VIEW_EDIT_ARTIFACT, {}, private_metadata="not-a-number")
        ),
    }
    with running_bot(sqlite_url, tmp_path) as bot:
        for name, body in bodies.items():
            res = post_signed(f"{bot.url}/slack/events", body, SECRET)
            assert res.status in (200, 400), (name, res.status)
        time.sleep(1.0)  # the work after an ack, if any, has run
        assert bot.log_path is not None
        assert "Traceback" not in bot.log_path.read_text()


def test_a_reply_with_nul_and_control_characters_is_stored_and_recorded(db_url: str, tmp_path: Path) -> None:
    # Before: on PostgreSQL a NUL in the text failed the journal insert, so every retry of the event
    # failed too and the reply was lost.
    with running_bot(db_url, tmp_path) as bot:
        assert bot.cli("people", "sync").returncode == 0
        text_ = "Shipped\x00 the agent\x07 https://github.com/acme/agent/pull/9 \x1b[31m"
        res = bot.post(event_body(message_event("U0ALICE", text_)))
        assert res.status == 200
        bot.wait_for(lambda: _count(db_url, "artifact_link") == 1, timeout=20)
        assert "Traceback" not in (bot.log_path.read_text() if bot.log_path else "")


def test_a_forged_dm_event_with_an_overlong_ts_is_refused_and_nothing_is_stored(db_url: str, tmp_path: Path) -> None:
    # Before: a 100-character ts failed the journal insert on PostgreSQL (500, Slack retries forever).
    with running_bot(db_url, tmp_path) as bot:
        res = bot.post(event_body(message_event("U0ALICE", "https://example.com/a", ts="1" * 100)))
        assert res.status == 400
    assert _count(db_url, "inbound_message") == 0
    assert _count(db_url, "artifact") == 0
