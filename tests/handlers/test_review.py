"""Issue 16, case 7 (and issue 18 #4): Keep and Kill are buttons; a review is compare-and-set (one winner,
one audit entry, the loser told who decided), and the author hears of it through the outbox."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select
from sqlmodel import col

from bot import ids
from bot.db import make_engine, session_scope
from bot.models import Artifact, AuditLog, OutboxMessage
from bot.slack import outbox
from testing.signing import block_actions_payload, command_body, interaction_body
from tests.handlers.conftest import Bot, synced_bot
from tests.handlers.helpers import answer, button, import_artifacts, review_queue

SUBMITTED = (
    "2026-11,alice@example.com,https://github.com/acme/a/pull/1,Churn agent,submitted",
    "2026-11,bob@example.com,https://github.com/acme/b/pull/2,Bob's dashboard,submitted",
)


def _click(bot: Bot, user: str, action_id: str, value: str) -> str:
    return answer(
        bot,
        lambda u: interaction_body(block_actions_payload(user, action_id, value, response_url=u)),
    )["text"]


def _buttons(report: dict) -> dict[tuple[str, int], str]:
    """(action_id, artifact id) -> value of every Keep/Kill button in the report."""
    out = {}
    for b in report["blocks"]:
        for e in b.get("elements", []) if b["type"] == "actions" else []:
            if e["action_id"] in (ids.ACTION_KEEP, ids.ACTION_KILL):
                out[(e["action_id"], int(e["value"].split(":")[1]))] = e["value"]
    return out


def test_keep_and_kill_are_buttons_compare_and_set_and_the_author_is_told(sqlite_template, tmp_path) -> None:
    with synced_bot(sqlite_template, tmp_path) as bot:
        engine = make_engine(bot.env["DATABASE_URL"])
        import_artifacts(bot, *SUBMITTED)
        with session_scope(engine) as s:
            arts = {a.title: a.id for a in s.scalars(select(Artifact))}
        churn, dash = arts["Churn agent"], arts["Bob's dashboard"]

        report = answer(bot, lambda u: command_body("/artifact-report", "Growth 2026-11", "U0CAROL", response_url=u))
        assert "overflow" not in json.dumps(report["blocks"])
        buttons = _buttons(report)
        assert set(buttons) == {(a, i) for a in (ids.ACTION_KEEP, ids.ACTION_KILL) for i in (churn, dash)}

        # Carol keeps Alice's artifact; the admin, looking at the same report, presses Keep too: one winner.
        # (Kill opens a modal for a reason first: tests/handlers/test_kill_reason.py.)
        said = _click(bot, "U0CAROL", ids.ACTION_KEEP, buttons[(ids.ACTION_KEEP, churn)])
        assert said.startswith("Kept *Churn agent*") and "author has been told" in said
        late = _click(bot, "U0ADMIN", ids.ACTION_KEEP, buttons[(ids.ACTION_KEEP, churn)])
        assert "Already kept by Carol Manager" in late
        again = _click(bot, "U0CAROL", ids.ACTION_KEEP, buttons[(ids.ACTION_KEEP, churn)])  # a double click
        assert "Already kept by Carol Manager" in again

        # Two managers at once on Bob's artifact: exactly one change.
        with ThreadPoolExecutor(2) as pool:
            answers = list(
                pool.map(
                    lambda who: _click(bot, who, ids.ACTION_KEEP, buttons[(ids.ACTION_KEEP, dash)]),
                    ["U0CAROL", "U0ADMIN"],
                )
            )
        assert sum(a.startswith("Already") for a in answers) == 1, answers

        with session_scope(engine) as s:
            audits = s.scalars(select(AuditLog).where(col(AuditLog.target_type) == "artifact")).all()
            changes = [(a.target_id, a.action) for a in audits if a.action in ("artifact_kept", "artifact_killed")]
            notices = s.scalars(select(OutboxMessage).where(col(OutboxMessage.channel).in_(["U0ALICE", "U0BOB"]))).all()
        assert sorted(t for t, _ in changes) == sorted([str(churn), str(dash)])  # one audit entry per real change
        assert len(notices) == 2
        send, upload = outbox.slack_sender(bot.emu.client())
        outbox.dispatch(engine, send, upload=upload, rate_per_second=0)
        [told] = bot.emu.dm_messages("U0ALICE")
        assert "Carol Manager kept your artifact *Churn agent* (November 2026): it now counts fully" in told["text"]
        assert len(bot.emu.dm_messages("U0BOB")) == 1
    engine.dispose()


def test_the_review_queue_dm_is_redrawn_in_place_as_items_are_reviewed(sqlite_template, tmp_path) -> None:
    with synced_bot(sqlite_template, tmp_path) as bot:
        import_artifacts(bot, *SUBMITTED)
        queue, channel, ts = review_queue(bot, "2026-11")
        assert "2 artifacts waiting" in queue["text"]
        keep = button(queue, lambda e: e["text"]["text"] == "Keep")
        url = bot.emu.response_url()
        payload = block_actions_payload(
            "U0CAROL", ids.ACTION_KEEP, keep[1], block_id=keep[0], channel_id=channel, message_ts=ts, response_url=url
        )
        assert bot.post(interaction_body(payload)).status == 200
        update = bot.wait_for(lambda: bot.emu.calls("chat.update"), timeout=15)[-1]
        assert update.params["ts"] == ts and update.params["channel"] == channel
        assert "1 artifact waiting" in update.params["text"]
        assert keep[1] not in json.dumps(update.params.get("blocks"))
