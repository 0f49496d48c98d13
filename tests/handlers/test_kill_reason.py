"""Issue 16: Kill opens a modal for an optional reason; the kill is compare-and-set on the status the button
showed, the reason is audited and reaches the author's DM (through the outbox), the review-queue DM is redrawn in
place, and a reason too long, a forged modal or a stale button changes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import col

from bot import ids
from bot.artifacts.store import kill_reasons
from bot.db import make_engine, session_scope
from bot.models import Artifact, AuditLog
from bot.slack import outbox
from bot.slack.words import killed_by
from testing.signing import block_actions_payload, command_body, interaction_body, view_submission_payload
from tests.handlers.conftest import Bot, synced_bot
from tests.handlers.helpers import answer, button, import_artifacts, review_queue

SUBMITTED = (
    "2026-11,alice@example.com,https://github.com/acme/a/pull/1,Churn agent,submitted",
    "2026-11,alice@example.com,https://github.com/acme/a/pull/2,Lead scorer,submitted",
    "2026-11,bob@example.com,https://github.com/acme/b/pull/3,Bob's dashboard,submitted",
)


@pytest.fixture
def bot(sqlite_template: Path, tmp_path: Path) -> Iterator[Bot]:
    """A running bot with Growth's three submitted artifacts of November 2026 (Alice two, Bob one)."""
    with synced_bot(sqlite_template, tmp_path) as b:
        import_artifacts(b, *SUBMITTED)
        yield b


def _engine(bot: Bot):
    return make_engine(bot.env["DATABASE_URL"])


def _arts(bot: Bot) -> dict[str, tuple[int, str]]:
    """Title -> (id, status)."""
    engine = _engine(bot)
    with session_scope(engine) as s:
        out = {a.title: (a.id or 0, a.status) for a in s.scalars(select(Artifact))}
    engine.dispose()
    return out


def _reviews(bot: Bot) -> list[tuple[str, str, dict]]:
    """(target id, action, detail) of every keep/kill audit entry."""
    engine = _engine(bot)
    with session_scope(engine) as s:
        rows = s.scalars(
            select(AuditLog)
            .where(col(AuditLog.action).in_(["artifact_kept", "artifact_killed"]))
            .order_by(col(AuditLog.id))
        ).all()
        out = [(a.target_id, a.action, dict(a.detail)) for a in rows]
    engine.dispose()
    return out


def _report_buttons(bot: Bot, user: str = "U0CAROL") -> dict[tuple[str, int], str]:
    """(action id, artifact id) -> the value of every Keep/Kill button in /artifact-report Growth 2026-11."""
    report = answer(bot, lambda u: command_body("/artifact-report", "Growth 2026-11", user, response_url=u))
    return {
        (e["action_id"], int(e["value"].split(":")[1])): e["value"]
        for b in report["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    }


def _press(bot: Bot, user: str, action_id: str, value: str, **where) -> tuple[dict | None, str | None]:
    """Press a button: ``(the modal it opened, None)`` or ``(None, the ephemeral answer)``."""
    opened = bot.emu.call_count("views.open")
    url = bot.emu.response_url()
    payload = block_actions_payload(user, action_id, value, response_url=url, **where)
    assert bot.post(interaction_body(payload)).status == 200
    bot.wait_for(lambda: bot.emu.call_count("views.open") > opened or bot.emu.responses_to(url), timeout=15)
    if bot.emu.call_count("views.open") > opened:
        return bot.emu.calls("views.open")[-1].params["view"], None
    return None, bot.emu.responses_to(url)[-1].body["text"]


def _submit(bot: Bot, user: str, view: dict, reason: str | None, *, private_metadata: str | None = None) -> dict:
    """Submit the Kill modal; the ack's JSON (``{}`` when it simply closes)."""
    values = {ids.BLOCK_REASON: {ids.INPUT: {"type": "plain_text_input", "value": reason}}}
    meta = view["private_metadata"] if private_metadata is None else private_metadata
    payload = view_submission_payload(user, view["callback_id"], values, private_metadata=meta, view_id="V0KILL")
    res = bot.post(interaction_body(payload))
    assert res.status == 200
    return json.loads(res.body) if res.body else {}


def _dms(bot: Bot, user: str) -> list[str]:
    return [m["text"] for m in bot.emu.dm_messages(user)]


def _send_outbox(bot: Bot) -> None:
    engine = _engine(bot)
    send, upload = outbox.slack_sender(bot.emu.client())
    outbox.dispatch(engine, send, upload=upload, rate_per_second=0)
    engine.dispose()


def test_kill_opens_a_modal_and_the_reason_reaches_the_author(bot: Bot) -> None:
    arts = _arts(bot)
    churn, scorer = arts["Churn agent"][0], arts["Lead scorer"][0]
    buttons = _report_buttons(bot)

    view, said = _press(bot, "U0CAROL", ids.ACTION_KILL, buttons[(ids.ACTION_KILL, churn)])
    assert said is None and view is not None
    assert view["callback_id"] == ids.VIEW_KILL_ARTIFACT
    assert view["title"]["text"] == "Kill Churn agent?" and view["submit"]["text"] == "Kill"
    [reason_block] = [b for b in view["blocks"] if b["type"] == "input"]
    assert reason_block["block_id"] == ids.BLOCK_REASON and reason_block["optional"] is True
    assert reason_block["element"]["multiline"] is True
    assert json.loads(view["private_metadata"]) == {"artifact_id": churn, "seen": "submitted"}
    assert _arts(bot)["Churn agent"][1] == "submitted"  # opening the modal changes nothing

    # With a reason: killed, audited with it, the author told it; the manager hears back in their DM.
    assert _submit(bot, "U0CAROL", view, "  Duplicate of the Q3 churn dashboard\nsee #data  ") == {}
    bot.wait_for(lambda: any(t.startswith("Killed *Churn agent*") for t in _dms(bot, "U0CAROL")), timeout=15)
    assert _arts(bot)["Churn agent"][1] == "killed"
    [(target, action, detail)] = _reviews(bot)
    assert (target, action) == (str(churn), "artifact_killed")
    assert detail["reason"] == "Duplicate of the Q3 churn dashboard\nsee #data"

    # Without a reason: killed, and the author's DM has no reason in it.
    view, _ = _press(bot, "U0CAROL", ids.ACTION_KILL, buttons[(ids.ACTION_KILL, scorer)])
    assert view is not None and view["title"]["text"] == "Kill Lead scorer?"
    assert _submit(bot, "U0CAROL", view, None) == {}
    bot.wait_for(lambda: any(t.startswith("Killed *Lead scorer*") for t in _dms(bot, "U0CAROL")), timeout=15)
    assert _arts(bot)["Lead scorer"][1] == "killed"
    assert "reason" not in _reviews(bot)[-1][2]

    # The reason as the report would show it beside the killed artifact; none for the one killed without.
    engine = _engine(bot)
    with session_scope(engine) as s:
        reasons = kill_reasons(s, [churn, scorer, arts["Bob's dashboard"][0]])
    engine.dispose()
    assert reasons == {churn: "Duplicate of the Q3 churn dashboard\nsee #data"}
    assert killed_by("Carol Manager", reasons[churn]) == (
        "killed by Carol Manager: Duplicate of the Q3 churn dashboard see #data"
    )
    assert killed_by("Carol Manager", reasons.get(scorer)) == "killed by Carol Manager"

    _send_outbox(bot)
    told = _dms(bot, "U0ALICE")
    [with_reason] = [t for t in told if "*Churn agent*" in t]
    [without] = [t for t in told if "*Lead scorer*" in t]
    assert "Carol Manager killed your artifact *Churn agent* (November 2026): it counts 0." in with_reason
    assert "Reason: Duplicate of the Q3 churn dashboard\nsee #data" in with_reason
    assert "Carol Manager killed your artifact *Lead scorer* (November 2026): it counts 0." in without
    assert "Reason" not in without

    # Keep stays one click.
    _, said = _press(bot, "U0CAROL", ids.ACTION_KEEP, buttons[(ids.ACTION_KEEP, arts["Bob's dashboard"][0])])
    assert said is not None and said.startswith("Kept *Bob's dashboard*")
    assert _arts(bot)["Bob's dashboard"][1] == "kept"


def test_a_reason_too_long_or_a_forged_modal_changes_nothing(bot: Bot) -> None:
    churn = _arts(bot)["Churn agent"][0]
    view, _ = _press(bot, "U0CAROL", ids.ACTION_KILL, f"{ids.ACTION_KILL}:{churn}:submitted")
    assert view is not None

    long = _submit(bot, "U0CAROL", view, "x" * 600)
    assert long == {
        "response_action": "errors",
        "errors": {ids.BLOCK_REASON: "At most 500 characters, please: this reason has 600."},
    }
    forged_metadata = (
        "not json",
        json.dumps({"artifact_id": "1; DROP TABLE artifact", "seen": "submitted"}),
        json.dumps({"artifact_id": churn, "seen": "deleted"}),
        json.dumps({"artifact_id": churn, "seen": "submitted", "channel": "U0CAROL", "ts": "<!channel>"}),
        "",
    )
    for meta in forged_metadata:
        answer = _submit(bot, "U0CAROL", view, "fine", private_metadata=meta)
        assert answer["response_action"] == "errors", meta
        assert answer["errors"][ids.BLOCK_REASON].startswith("This form is out of date; nothing was changed.")

    assert _arts(bot)["Churn agent"][1] == "submitted"
    assert _reviews(bot) == []
    _send_outbox(bot)
    assert _dms(bot, "U0ALICE") == [] and _dms(bot, "U0CAROL") == []

    # 500 characters exactly are fine.
    assert _submit(bot, "U0CAROL", view, "y" * 500) == {}
    bot.wait_for(lambda: _arts(bot)["Churn agent"][1] == "killed", timeout=15)
    assert _reviews(bot)[-1][2]["reason"] == "y" * 500


def test_kill_from_the_review_queue_dm_redraws_it_in_place(bot: Bot) -> None:
    queue, channel, ts = review_queue(bot, "2026-11")
    assert "3 artifacts waiting" in queue["text"]
    churn = _arts(bot)["Churn agent"][0]
    block_id, value = button(queue, lambda e: e["action_id"] == ids.ACTION_KILL and f":{churn}:" in e["value"])

    view, _ = _press(bot, "U0CAROL", ids.ACTION_KILL, value, block_id=block_id, channel_id=channel, message_ts=ts)
    assert view is not None
    assert json.loads(view["private_metadata"]) == {
        "artifact_id": churn,
        "seen": "submitted",
        "channel": channel,
        "ts": ts,
    }
    assert bot.emu.call_count("chat.update") == 0
    assert _submit(bot, "U0CAROL", view, "Never used") == {}
    update = bot.wait_for(lambda: bot.emu.calls("chat.update"), timeout=15)[-1]
    assert update.params["ts"] == ts and update.params["channel"] == channel
    assert "2 artifacts waiting" in update.params["text"]
    assert value not in json.dumps(update.params.get("blocks"))
    [redrawn] = [m for m in bot.emu.dm_messages("U0CAROL") if m["ts"] == ts]  # the same message, edited
    assert "2 artifacts waiting" in redrawn["text"] and "edited" in redrawn
    assert _arts(bot)["Churn agent"][1] == "killed"


def test_a_stale_kill_is_refused_and_changes_nothing(bot: Bot) -> None:
    arts = _arts(bot)
    churn, scorer, dash = arts["Churn agent"][0], arts["Lead scorer"][0], arts["Bob's dashboard"][0]
    buttons = _report_buttons(bot)  # Carol's report, every button showing "submitted"

    # The admin keeps Churn agent; Carol's Kill button, still showing "submitted", opens no modal.
    _, said = _press(bot, "U0ADMIN", ids.ACTION_KEEP, buttons[(ids.ACTION_KEEP, churn)])
    assert said is not None and said.startswith("Kept")
    view, said = _press(bot, "U0CAROL", ids.ACTION_KILL, buttons[(ids.ACTION_KILL, churn)])
    assert view is None and said == "Already kept by Ada Admin: nothing was changed."
    assert _arts(bot)["Churn agent"][1] == "kept"

    # Carol opens the modal for Lead scorer; the admin keeps it meanwhile; Carol's submit is refused in her DM.
    view, _ = _press(bot, "U0CAROL", ids.ACTION_KILL, buttons[(ids.ACTION_KILL, scorer)])
    assert view is not None
    _press(bot, "U0ADMIN", ids.ACTION_KEEP, buttons[(ids.ACTION_KEEP, scorer)])
    assert _submit(bot, "U0CAROL", view, "Too late") == {}
    bot.wait_for(lambda: "Already kept by Ada Admin: nothing was changed." in _dms(bot, "U0CAROL"), timeout=15)
    assert _arts(bot)["Lead scorer"][1] == "kept"

    # Carol kills Bob's dashboard; the admin's Kill on the same old report is told who decided.
    view, _ = _press(bot, "U0CAROL", ids.ACTION_KILL, buttons[(ids.ACTION_KILL, dash)])
    assert view is not None and _submit(bot, "U0CAROL", view, "Duplicate") == {}
    bot.wait_for(lambda: _arts(bot)["Bob's dashboard"][1] == "killed", timeout=15)
    _, said = _press(bot, "U0ADMIN", ids.ACTION_KILL, buttons[(ids.ACTION_KILL, dash)])
    assert said == "Already killed by Carol Manager: nothing was changed."

    # One audit entry per real change, none for the refusals; the authors are told once each.
    assert [(t, a) for t, a, _ in _reviews(bot)] == [
        (str(churn), "artifact_kept"),
        (str(scorer), "artifact_kept"),
        (str(dash), "artifact_killed"),
    ]
    _send_outbox(bot)
    assert len(_dms(bot, "U0ALICE")) == 2 and len(_dms(bot, "U0BOB")) == 1
    assert "Reason: Duplicate" in _dms(bot, "U0BOB")[0]
