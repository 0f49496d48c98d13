"""Notices for people other than the one who acted (a manager warned of a cross-team claim): queued in the outbox."""

from __future__ import annotations

from collections.abc import Sequence

from bot.artifacts.intake import NOTICE_KIND, Notice
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
