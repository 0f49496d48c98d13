"""DM replies to the check-in (``message.im``), and the recovery pass over replies left unprocessed."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot.artifacts import inbox, intake
from bot.deps import Deps
from bot.people.directory import person_for_user
from bot.slack import blocks as bk
from handlers.errors import ack_now, reported
from handlers.notify import queue_notices

log = logging.getLogger(__name__)

# Subtypes that carry a person's own new text; edits, deletions, joins and bot posts are ignored.
ACCEPTED_SUBTYPES = {None, "file_share", "thread_broadcast"}


def answer_dm(
    deps: Deps, client: Any, *, user_id: str, channel: str, ts: str, text: str, thread_ts: str | None = None
) -> bool:
    """Record a DM reply, queue any manager notices, and answer in the DM. False for a replay (nothing sent)."""
    person = person_for_user(deps.engine, deps.slack, user_id)
    logged = intake.capture_dm(
        engine=deps.engine,
        journal=deps.journal,
        org=deps.org,
        person=person,
        channel=channel,
        ts=ts,
        text=text,
        now=deps.clock(),
        llm=deps.llm,
    )
    if logged is None:  # a retry or replay of a message already handled
        return False
    queue_notices(deps, logged.notices)
    if client is None:
        return True
    t, b = bk.reply_ack(
        period=logged.period,
        created=logged.created,
        duplicates=logged.duplicates,
        rejected=logged.rejected,
        note_kept=logged.note_kept,
        carried=logged.carried,
    )
    client.chat_postMessage(channel=channel, text=t, blocks=b, thread_ts=thread_ts, unfurl_links=False)
    return True


def handle_dm(event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    """A person's DM to the bot: record links as artifacts, or keep a note and ask for a link."""
    if event.get("channel_type") != "im":
        return
    if event.get("subtype") not in ACCEPTED_SUBTYPES or event.get("bot_id") or not event.get("user"):
        return
    if event.get("user") == context.bot_user_id:
        return
    answer_dm(
        context["deps"],
        client,
        user_id=event["user"],
        channel=event["channel"],
        ts=event["ts"],
        text=event.get("text") or "",
        thread_ts=event.get("thread_ts"),
    )


RECOVERY_BATCH = 200
RECOVERY_THREADS = 4


def process_pending(
    deps: Deps, *, older_than: dt.timedelta = dt.timedelta(minutes=2), batch: int = RECOVERY_BATCH
) -> tuple[int, int]:
    """Finish one batch of DM replies stored but not processed (a crash between storing and answering).

    The batch's replies are answered several at a time (each is mostly waiting on the database and
    Slack). Returns (finished, found): a full batch means more may be waiting.
    """
    from concurrent.futures import ThreadPoolExecutor

    rows = inbox.pending(deps.journal, older_than=older_than, now=deps.clock(), limit=batch)

    def finish(row: Any) -> bool:
        try:
            answer_dm(deps, deps.slack, user_id=row.user_id, channel=row.channel, ts=row.ts, text=row.text or "")
            return True
        except Exception:
            log.exception("could not process a stored DM reply; it stays pending")
            return False

    if not rows:
        return 0, 0
    with ThreadPoolExecutor(max_workers=RECOVERY_THREADS, thread_name_prefix="inbox-recovery") as pool:
        done = sum(pool.map(finish, rows))
    return done, len(rows)


def register(app: App) -> None:
    # The reply is already stored (``store_dm_first``) when this acks; the work runs afterwards, and the
    # inbox recovery pass finishes it if this process dies first.
    app.event({"type": "message"})(ack=ack_now, lazy=[reported(handle_dm)])
