"""Modal submissions: Add artifact, Edit artifact and Kill (with a reason)."""

from __future__ import annotations

import json
import re
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot import ids
from bot.artifacts import intake
from bot.artifacts.store import NewArtifact
from bot.boards import answers
from bot.errors import ArtifactBotError, InputError
from bot.people.directory import person_for_user
from bot.scoring import STATUSES
from bot.slack import blocks as bk
from bot.slack.words import KILL_OUT_OF_DATE, reviewed, updated
from handlers.errors import reported
from handlers.notify import queue_notices, redraw_queue

CONFIRMATION = "artifact_confirmation"  # context key: what the ack saved, for the message sent after it
KILL = "kill"  # under CONFIRMATION: the kill a Kill modal's ack checked, done after it
_SLACK_ID = re.compile(r"[A-Z0-9]{2,32}")
_TS = re.compile(r"\d{1,12}\.\d{1,8}")
FIELD_BLOCKS = {
    "title": ids.BLOCK_TITLE,
    "links": ids.BLOCK_LINKS,
    "kind": ids.BLOCK_KIND,
    "description": ids.BLOCK_DESCRIPTION,
}


def _field(values: dict[str, Any], block: str) -> Any:
    el = (values.get(block) or {}).get(ids.INPUT) or {}
    if el.get("type") == "static_select":
        return (el.get("selected_option") or {}).get("value")
    return el.get("value")


def _metadata(view: dict[str, Any]) -> dict[str, Any]:
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return {}
    return meta if isinstance(meta, dict) else {}


def _id(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _block_errors(errors: dict[str, str]) -> dict[str, str]:
    return {FIELD_BLOCKS.get(key, ids.BLOCK_TITLE): msg for key, msg in errors.items()}


def _save(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext, *, editing: bool) -> None:
    """Validate before the ack (field errors go back in the ack itself, as Slack requires); a new artifact is
    checked by reads alone and saved after the ack."""
    deps = context["deps"]
    values = ((view or {}).get("state") or {}).get("values") or {}
    try:
        new = intake.read_form(
            title=_field(values, ids.BLOCK_TITLE) or "",
            links=_field(values, ids.BLOCK_LINKS) or "",
            kind=_field(values, ids.BLOCK_KIND),
            description=_field(values, ids.BLOCK_DESCRIPTION),
        )
    except intake.FieldErrors as exc:
        ack(response_action="errors", errors=_block_errors(exc.errors))
        return
    meta = _metadata(view)
    person = person_for_user(deps.engine, deps.slack, body["user"]["id"])
    if editing:
        try:
            changed = intake.save_edit(
                engine=deps.engine, person=person, artifact_id=_id(meta.get("artifact_id")), new=new, now=deps.clock()
            )
        except intake.FieldErrors as exc:
            ack(response_action="errors", errors=_block_errors(exc.errors))
            return
        except ArtifactBotError as exc:
            ack(response_action="errors", errors={ids.BLOCK_TITLE: str(exc)[:150]})
            return
        context[CONFIRMATION] = {
            "text": updated(changed.title, changed.period),
            "blocks": None,
        }
        ack()
        return
    try:
        period = intake.check_new(
            engine=deps.engine, org=deps.org, person=person, new=new, asked_period=str(meta.get("period") or ""),
            now=deps.clock(),
        )
    except intake.FieldErrors as exc:
        ack(response_action="errors", errors=_block_errors(exc.errors))
        return
    # Saved after the ack: the write may wait for the database's write lock (an import running), and
    # Slack closes a modal whose ack takes more than 3 seconds with an error.
    context[CONFIRMATION] = {
        "save": {
            "title": new.title,
            "urls": list(new.urls),
            "kind": new.kind,
            "description": new.description,
            "period": period,
            # The view id alone is no key: Slack scopes it to the user who opened it, a forged payload need not.
            "source_key": f"view:{body['user']['id']}:{view.get('id')}" if view.get("id") else None,
        }
    }
    ack()


def _save_after_ack(body: dict[str, Any], context: BoltContext, pending: dict[str, Any]) -> dict[str, Any]:
    deps = context["deps"]
    person = person_for_user(deps.engine, deps.slack, body["user"]["id"])
    new = NewArtifact(
        title=pending["title"], urls=pending["urls"], kind=pending["kind"], description=pending["description"]
    )
    try:
        logged = intake.save_new(
            engine=deps.engine,
            org=deps.org,
            person=person,
            new=new,
            asked_period=pending["period"],
            source_key=pending["source_key"],
            now=deps.clock(),
        )
    except intake.FieldErrors as exc:
        return {"text": next(iter(exc.errors.values())), "blocks": None}
    queue_notices(deps, logged.notices)
    t, b = bk.reply_ack(period=logged.period, created=logged.created, duplicates=[], rejected=[], note_kept=False)
    return {"text": t, "blocks": b}


def save_new(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext) -> None:
    """Save a new artifact, or show field errors."""
    _save(ack, body, view, context, editing=False)


def save_edit(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext) -> None:
    """Save an edited artifact, or show field errors."""
    _save(ack, body, view, context, editing=True)


def confirm(body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    """Save a new artifact (after the modal closed) and DM the person what was saved."""
    saved = context.get(CONFIRMATION)
    if saved and "save" in saved:
        saved = _save_after_ack(body, context, saved["save"])
    if saved:
        client.chat_postMessage(
            channel=body["user"]["id"], text=saved["text"], blocks=saved["blocks"], unfurl_links=False
        )


def kill_target(view: dict[str, Any]) -> dict[str, Any]:
    """What a Kill modal carries: the artifact, the status its button showed, and the queue DM to redraw (if any).

    Raises:
        InputError: anything else (an old or forged modal).
    """
    meta = _metadata(view)
    artifact_id, seen = meta.get("artifact_id"), meta.get("seen")
    if type(artifact_id) is not int or artifact_id <= 0 or seen not in STATUSES:
        raise InputError(KILL_OUT_OF_DATE)
    target: dict[str, Any] = {"artifact_id": artifact_id, "seen": seen, "channel": None, "ts": None}
    channel, ts = meta.get("channel"), meta.get("ts")
    if channel is not None or ts is not None:
        if not (
            isinstance(channel, str) and _SLACK_ID.fullmatch(channel) and isinstance(ts, str) and _TS.fullmatch(ts)
        ):
            raise InputError(KILL_OUT_OF_DATE)
        target.update(channel=channel, ts=ts)
    return target


def check_kill(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext) -> None:
    """Check the Kill modal (an out-of-date form or a reason too long: a field error, nothing changed) and ack at once;
    the kill itself runs after the ack."""
    values = ((view or {}).get("state") or {}).get("values") or {}
    try:
        target = kill_target(view or {})
        reason = answers.clean_reason(_field(values, ids.BLOCK_REASON))
    except InputError as exc:
        ack(response_action="errors", errors={ids.BLOCK_REASON: str(exc)[:150]})
        return
    context[CONFIRMATION] = {KILL: {**target, "reason": reason}}
    ack()


def kill(body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    """Kill the artifact (compare-and-set on the status the button showed), tell its author with the reason, redraw
    the queue DM, and DM the reviewer what happened."""
    pending = (context.get(CONFIRMATION) or {}).get(KILL)
    if not pending:
        return
    deps = context["deps"]
    user_id = body["user"]["id"]
    try:
        done = answers.review_artifact(
            engine=deps.engine,
            org=deps.org,
            user_id=user_id,
            artifact_id=pending["artifact_id"],
            keep=False,
            now=deps.clock(),
            seen=pending["seen"],
            reason=pending["reason"],
        )
    except ArtifactBotError as exc:  # someone decided first, or the artifact is gone: the modal has closed already
        client.chat_postMessage(channel=user_id, text=str(exc))
        return
    if done.notice is not None:
        queue_notices(deps, [done.notice])
    if pending["channel"] and pending["ts"]:
        redraw_queue(deps, client, manager_id=user_id, channel=pending["channel"], ts=pending["ts"], period=done.period)
    client.chat_postMessage(
        channel=user_id, text=reviewed(keep=False, title=done.title, period=done.period, changed=done.changed)
    )


def register(app: App) -> None:
    app.view(ids.VIEW_ADD_ARTIFACT)(ack=save_new, lazy=[reported(confirm)])
    app.view(ids.VIEW_EDIT_ARTIFACT)(ack=save_edit, lazy=[reported(confirm)])
    app.view(ids.VIEW_KILL_ARTIFACT)(ack=check_kill, lazy=[reported(kill)])
