"""``jobs run NAME --dry-run``: who would receive what, with nothing sent and nothing marked.

Each job's preview builds the messages its real run would queue, from the same builders, without
writing: no check-in created, no reminder counted, no summary queued, no period frozen. The count
is printed and the Block Kit of the first few is written to a folder (one JSON file each).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.deps import Deps
from bot.slack import outbox

FIRST = 5  # messages whose Block Kit is written out


@dataclass
class Preview:
    """What a job would send."""

    job: str
    period: str | None
    total: int
    first: list[outbox.OutboxItem] = field(default_factory=list)
    recipients: int = 0


def preview(deps: Deps, name: str, *, now: dt.datetime, period: str | None = None) -> Preview:
    """The messages job ``name`` would queue now.

    Raises:
        KeyError: the job has no dry run.
    """
    engine, org = deps.engine, deps.org
    if name == "checkin":
        from bot.checkins import checkin, reminders

        chosen = period or reminders.default_checkin_period(now, org)
        total, first = checkin.preview_checkins(engine, org, chosen, now, keep=FIRST)
        return Preview(name, chosen, total, first, recipients=total)
    if name == "reminders":
        from bot.checkins import reminders

        items: list[outbox.OutboxItem] = []
        run = reminders.enqueue_reminders(engine, org, now, quiet_hours=False, preview=items)
        items = _not_queued(deps, items)
        periods = ",".join(sorted(run.queued)) or None
        return Preview(name, periods, len(items), items[:FIRST], len({i.channel for i in items}))
    if name == "weekly-summary":
        from bot.boards import summary

        res, items = summary.weekly_items(engine, org, now)
        items = _not_queued(deps, items)
        return Preview(name, res.period, len(items), items[:FIRST], len({i.channel for i in items}))
    if name == "close-period":
        from bot.checkins import closing
        from bot.periods import period_at, previous

        chosen = period or previous(period_at(now, org.tz))
        items = _not_queued(deps, closing.preview_close(engine, org, chosen))
        return Preview(name, chosen, len(items), items[:FIRST], len({i.channel for i in items}))
    raise KeyError(name)


def _not_queued(deps: Deps, items: list[outbox.OutboxItem]) -> list[outbox.OutboxItem]:
    """Leave out what is already in the outbox: the real run would queue it no second time."""
    from sqlalchemy import select

    from bot.db import session_scope
    from bot.models import OutboxMessage

    keys = [i.dedupe_key for i in items]
    seen: set[str] = set()
    with session_scope(deps.engine) as s:
        for i in range(0, len(keys), 500):
            seen |= set(
                s.scalars(select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(keys[i : i + 500]))).all()  # type: ignore[attr-defined]
            )
    return [i for i in items if i.dedupe_key not in seen]


def write(result: Preview, folder: Path) -> list[Path]:
    """Write the first messages' Block Kit to ``folder`` (``01-checkin-U0ALICE.json`` …)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for i, item in enumerate(result.first, 1):
        path = folder / f"{i:02d}-{item.kind}-{item.channel}.json"
        body: dict[str, Any] = {"channel": item.channel, "kind": item.kind, "text": item.text, "blocks": item.blocks}
        if item.thread_of:
            body["thread_of"] = item.thread_of  # a reply in that message's thread
        if item.file:
            body["file"] = {k: v for k, v in item.file.items() if "content" not in k}
        path.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n")
        written.append(path)
    return written
