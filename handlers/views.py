"""Modal submissions: Add artifact and Edit artifact."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot import ids
from bot.artifacts import intake
from bot.artifacts.links import escape_mrkdwn
from bot.artifacts.store import NewArtifact
from bot.errors import ArtifactBotError
from bot.people.directory import person_for_user
from bot.slack import blocks as bk
from handlers.errors import reported
from handlers.notify import queue_notices

CONFIRMATION = "artifact_confirmation"  # context key: what the ack saved, for the message sent after it
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
        except ArtifactBotError as exc:
            ack(response_action="errors", errors={ids.BLOCK_TITLE: str(exc)[:150]})
            return
        context[CONFIRMATION] = {
            "text": f"Updated *{escape_mrkdwn(changed.title)}* ({changed.period}).",
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


def register(app: App) -> None:
    app.view(ids.VIEW_ADD_ARTIFACT)(ack=save_new, lazy=[reported(confirm)])
    app.view(ids.VIEW_EDIT_ARTIFACT)(ack=save_edit, lazy=[reported(confirm)])
