"""Messages beyond the answer to the person who acted: notices for others (an author told of a review, a manager
warned of a cross-team claim) queued in the outbox, and a manager's review-queue DM redrawn in place."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk import WebClient

from bot.artifacts.intake import NOTICE_KIND, Notice
from bot.checkins import review_queue
from bot.deps import Deps
from bot.slack import outbox


def queue_notices(deps: Deps, notices: Sequence[Notice]) -> int:
    """Store ``notices`` in the outbox (idempotent by key); the outbox sweep sends them. Returns rows added."""
    if not notices:
        return 0
    items = (
        outbox.OutboxItem(dedupe_key=n.key, kind=NOTICE_KIND, channel=n.channel, text=n.text, blocks=[])
        for n in notices
    )
    return outbox.enqueue(deps.engine, items, now=deps.clock())


def redraw_queue(deps: Deps, client: WebClient, *, manager_id: str, channel: str, ts: str, period: str) -> None:
    """The manager's review-queue DM (``channel``, ``ts``), redrawn in place without what was just reviewed."""
    drawn = review_queue.manager_queue_message(
        engine=deps.engine, org=deps.org, manager_id=manager_id, period=period, now=deps.clock()
    )
    if drawn is not None:
        client.chat_update(channel=channel, ts=ts, text=drawn[0], blocks=drawn[1])
