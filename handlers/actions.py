"""Buttons and menus: Add artifact, Nothing this month, Edit, Remove, Keep/Kill (work after the ack)."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt import App, BoltContext, Respond
from slack_sdk import WebClient

from bot import ids
from bot.artifacts import intake
from bot.boards import answers
from bot.checkins.answers import away_until, skip_month, snooze
from bot.errors import InputError
from bot.people.directory import person_for_user
from bot.slack import blocks as bk
from bot.slack.words import OUT_OF_DATE, REVIEW_OUT_OF_DATE, SNOOZED, away_noted, nothing_noted, removed, reviewed
from handlers.errors import ack_now, reported
from handlers.notify import queue_notices, redraw_queue


def artifact_id_of(value: str) -> int:
    """The artifact id a button carries.

    Raises:
        InputError: not an id (an old or forged button).
    """
    if not (value or "").isdigit():
        raise InputError(OUT_OF_DATE)
    return int(value)


def review_of(value: str) -> tuple[int, bool]:
    """``keep_artifact:ID[:STATUS]`` / ``kill_artifact:ID[:STATUS]`` as ``(artifact id, keep)``.

    Raises:
        InputError: anything else.
    """
    artifact_id, keep, _ = review_value(value)
    return artifact_id, keep


def review_value(value: str) -> tuple[int, bool, str | None]:
    """A Keep/Kill value as ``(artifact id, keep, status the button showed or None)``.

    The report's buttons carry the status they showed (``keep_artifact:12:submitted``), so the review is
    compare-and-set against it; the older overflow menu's ``keep_artifact:12`` carries none.

    Raises:
        InputError: anything else.
    """
    action, _, rest = (value or "").partition(":")
    raw_id, _, seen = rest.partition(":")
    if action not in (ids.ACTION_KEEP, ids.ACTION_KILL) or not raw_id.isdigit():
        raise InputError(REVIEW_OUT_OF_DATE)
    if seen and seen not in ("submitted", "kept", "killed"):
        raise InputError(REVIEW_OUT_OF_DATE)
    return int(raw_id), action == ids.ACTION_KEEP, seen or None


def _ephemeral(respond: Respond, text: str) -> None:
    respond(text=text, replace_original=False, response_type="ephemeral")


def handle_add(body: dict[str, Any], action: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    """*Add artifact*: open the modal."""
    deps = context["deps"]
    person = person_for_user(deps.engine, deps.slack, body["user"]["id"])
    period = intake.period_for(engine=deps.engine, org=deps.org, person=person, now=deps.clock())
    client.views_open(trigger_id=body["trigger_id"], view=bk.artifact_modal(period=period))


def handle_nothing(body: dict[str, Any], action: dict[str, Any], context: BoltContext, respond: Respond) -> None:
    """*Nothing this month*."""
    deps = context["deps"]
    person = person_for_user(deps.engine, deps.slack, body["user"]["id"])
    period = skip_month(
        engine=deps.engine, org=deps.org, person_id=person.id or 0, period=action.get("value"), now=deps.clock()
    )
    _ephemeral(respond, nothing_noted(period))


def handle_edit(
    body: dict[str, Any],
    action: dict[str, Any],
    context: BoltContext,
    client: WebClient,
    respond: Respond,
) -> None:
    """*Edit*: open the pre-filled modal."""
    deps = context["deps"]
    artifact_id = artifact_id_of(action.get("value") or "")
    person = person_for_user(deps.engine, deps.slack, body["user"]["id"])
    form = intake.edit_form(engine=deps.engine, person=person, artifact_id=artifact_id)
    modal = bk.artifact_modal(
        period=form.period,
        title=form.title,
        links="\n".join(form.urls),
        kind=form.kind,
        description=form.description,
        callback_id=ids.VIEW_EDIT_ARTIFACT,
        private_metadata=json.dumps({"artifact_id": form.artifact_id, "period": form.period}),
    )
    client.views_open(trigger_id=body["trigger_id"], view=modal)


def handle_remove(body: dict[str, Any], action: dict[str, Any], context: BoltContext, respond: Respond) -> None:
    """*Remove*."""
    deps = context["deps"]
    artifact_id = artifact_id_of(action.get("value") or "")
    person = person_for_user(deps.engine, deps.slack, body["user"]["id"])
    gone = intake.remove(engine=deps.engine, person=person, artifact_id=artifact_id, now=deps.clock())
    _ephemeral(respond, removed(gone.title))


def handle_snooze(body: dict[str, Any], action: dict[str, Any], context: BoltContext, respond: Respond) -> None:
    """*Remind me tomorrow* on the check-in DM."""
    deps = context["deps"]
    person = person_for_user(deps.engine, deps.slack, body["user"]["id"])
    assert person.id is not None
    snooze(engine=deps.engine, org=deps.org, person_id=person.id, period=action.get("value"), now=deps.clock())
    _ephemeral(respond, SNOOZED)


def handle_away(body: dict[str, Any], action: dict[str, Any], context: BoltContext, respond: Respond) -> None:
    """*I'm away until…* (a datepicker) on the check-in DM."""
    deps = context["deps"]
    person = person_for_user(deps.engine, deps.slack, body["user"]["id"])
    assert person.id is not None
    day = away_until(
        engine=deps.engine, org=deps.org, person_id=person.id, day=action.get("selected_date") or "", now=deps.clock()
    )
    _ephemeral(respond, away_noted(day))


def handle_review(
    body: dict[str, Any], action: dict[str, Any], context: BoltContext, respond: Respond, client: WebClient
) -> None:
    """*Keep* (at once) / *Kill* (a modal for the reason) from the report, the queue DM or App Home."""
    deps = context["deps"]
    value = (action.get("selected_option") or {}).get("value") or action.get("value") or ""
    artifact_id, keep, seen = review_value(value)
    if not keep:
        _open_kill(body, action, context, respond, client, artifact_id=artifact_id, seen=seen)
        return
    done = answers.review_artifact(
        engine=deps.engine,
        org=deps.org,
        user_id=body["user"]["id"],
        artifact_id=artifact_id,
        keep=keep,
        now=deps.clock(),
        seen=seen,
    )
    if done.notice is not None:
        queue_notices(deps, [done.notice])
    where = queue_message_of(body, action)
    if where is not None:
        redraw_queue(deps, client, manager_id=body["user"]["id"], channel=where[0], ts=where[1], period=done.period)
    _ephemeral(respond, reviewed(keep=keep, title=done.title, period=done.period, changed=done.changed))


def _open_kill(
    body: dict[str, Any],
    action: dict[str, Any],
    context: BoltContext,
    respond: Respond,
    client: WebClient,
    *,
    artifact_id: int,
    seen: str | None,
) -> None:
    """Open the Kill modal, checked first as the kill will be (a stale button is refused here)."""
    deps = context["deps"]
    form = answers.kill_form(
        engine=deps.engine, org=deps.org, user_id=body["user"]["id"], artifact_id=artifact_id, seen=seen
    )
    if form.already:
        _ephemeral(respond, reviewed(keep=False, title=form.title, period=form.period, changed=False))
        return
    where = queue_message_of(body, action)
    meta = {"artifact_id": form.artifact_id, "seen": form.seen}
    if where is not None:
        meta.update(channel=where[0], ts=where[1])
    view = bk.kill_modal(title=form.title, period=form.period, author=form.author, private_metadata=json.dumps(meta))
    client.views_open(trigger_id=body["trigger_id"], view=view)


def queue_message_of(body: dict[str, Any], action: dict[str, Any]) -> tuple[str, str] | None:
    """``(channel, ts)`` of the manager's review-queue DM a button was pressed in; None elsewhere."""
    if not str(action.get("block_id") or "").startswith("queue_"):
        return None
    container = body.get("container") or {}
    channel = (body.get("channel") or container).get("id") or container.get("channel_id")
    ts = (body.get("message") or {}).get("ts") or container.get("message_ts")
    return (str(channel), str(ts)) if channel and ts else None


def register(app: App) -> None:
    # Each button is acknowledged in the request thread; its work runs afterwards (a lazy listener).
    # A trigger_id stays valid for 3 seconds, so opening a modal after the ack is in time.
    for action_id, work in (
        (ids.ACTION_ADD_ARTIFACT, handle_add),
        (ids.ACTION_NOTHING, handle_nothing),
        (ids.ACTION_EDIT, handle_edit),
        (ids.ACTION_REMOVE, handle_remove),
        (ids.ACTION_REVIEW, handle_review),
        (ids.ACTION_KEEP, handle_review),
        (ids.ACTION_KILL, handle_review),
        (ids.ACTION_SNOOZE, handle_snooze),
        (ids.ACTION_AWAY, handle_away),
    ):
        app.action(action_id)(ack=ack_now, lazy=[reported(work)])
