"""Editing an artifact to a link its author already logged for the month (in another artifact) is refused in the
form, under the links field, and changes nothing.

Before: the edit ran into the database's one-live-artifact-per-link constraint and the modal failed with
"Sorry, something went wrong".
"""

from __future__ import annotations

import json

from bot import ids
from testing.signing import interaction_body, view_submission_payload
from tests.handlers.conftest import synced_bot
from tests.handlers.helpers import import_artifacts, rows


def _text(value: str | None) -> dict:
    return {ids.INPUT: {"type": "plain_text_input", "value": value}}


def test_an_edit_to_a_link_logged_in_another_artifact_is_refused_in_the_form(sqlite_template, tmp_path) -> None:
    with synced_bot(sqlite_template, tmp_path) as bot:
        import_artifacts(
            bot,
            "2026-11,alice@example.com,https://github.com/acme/a/pull/1,Churn agent,submitted",
            "2026-11,alice@example.com,https://github.com/acme/a/pull/2,Lead scorer,submitted",
        )
        db = bot.env["DATABASE_URL"]
        [(churn,)] = rows(db, "SELECT id FROM artifact WHERE title = 'Churn agent'")
        values = {
            ids.BLOCK_TITLE: _text("Churn agent v2"),
            ids.BLOCK_LINKS: _text("https://github.com/acme/a/pull/2"),
            ids.BLOCK_KIND: {ids.INPUT: {"type": "static_select", "selected_option": {"value": "agent"}}},
            ids.BLOCK_DESCRIPTION: _text(None),
        }
        meta = json.dumps({"artifact_id": churn, "period": "2026-11"})
        payload = view_submission_payload("U0ALICE", ids.VIEW_EDIT_ARTIFACT, values, private_metadata=meta)
        res = bot.post(interaction_body(payload))
        assert res.status == 200
        assert json.loads(res.body) == {
            "response_action": "errors",
            "errors": {ids.BLOCK_LINKS: "You already logged this link for November 2026 as “Lead scorer”."},
        }
        got = rows(db, "SELECT a.title, l.url FROM artifact a JOIN artifact_link l ON l.artifact_id = a.id "
                       "WHERE a.id = :i", i=churn)
        assert got == [("Churn agent", "https://github.com/acme/a/pull/1")]  # nothing changed
        assert "Traceback" not in bot.log_path.read_text()
