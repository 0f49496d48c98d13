"""Store-first handling of DM replies: the raw reply is written before Slack gets its 200.

If the write fails (database down), the app answers Slack with an error and Slack retries the
event; once stored, the reply is processed, and anything a crash left unprocessed is picked up
by ``pending``.
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from bot.db import session_scope, upsert_insert
from bot.errors import InputError
from bot.models import InboundMessage, utcnow

MAX_TEXT = 40000
_SLACK_ID = re.compile(r"[A-Z0-9]{1,32}")
_SLACK_TS = re.compile(r"[0-9]{1,12}\.[0-9]{1,8}")
# NUL and the other C0/C1 controls but tab and newlines: PostgreSQL refuses NUL in text, and none of
# them means anything in a reply.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def clean_text(text: str, limit: int = MAX_TEXT) -> str:
    """Text safe for every database: controls removed, cut to the column's size."""
    return _CONTROL.sub("", text)[:limit]


def forget(engine: Engine, user_ids: list[str]) -> None:
    """Delete every stored reply of these Slack users (``people forget``)."""
    from sqlalchemy import delete

    with session_scope(engine) as s:
        s.execute(delete(InboundMessage).where(InboundMessage.user_id.in_(user_ids)))  # type: ignore[attr-defined]


def message_key(channel: str, ts: str) -> str:
    """The idempotency key of a Slack message (stable across Slack's retries)."""
    return f"msg:{channel}:{ts}"


def store(engine: Engine, *, user_id: str, channel: str, ts: str, text: str) -> str:
    """Write the reply durably (idempotent); raises when the database is unavailable.

    Raises:
        InputError: the user, channel or ts is not of Slack's shape (a forged event): nothing stored.
    """
    ids_ok = _SLACK_ID.fullmatch(user_id or "") and _SLACK_ID.fullmatch(channel or "")
    if not (ids_ok and _SLACK_TS.fullmatch(ts or "")):
        raise InputError("not a Slack message: user, channel or ts malformed")
    key = message_key(channel, ts)
    ins = upsert_insert(engine.dialect.name, InboundMessage.__table__)  # type: ignore[attr-defined]
    with engine.begin() as conn:
        conn.execute(
            ins.values(
                key=key,
                user_id=user_id,
                channel=channel,
                ts=ts,
                text=clean_text(text or ""),
                received_at=utcnow(),
                attempts=0,
            ).on_conflict_do_nothing(index_elements=["key"])
        )
    return key


def mark_processed(engine: Engine, key: str) -> None:
    """The reply is recorded: forget its raw text."""
    with session_scope(engine) as s:
        s.execute(update(InboundMessage).where(InboundMessage.key == key).values(processed_at=utcnow(), text=None))


def pending(engine: Engine, *, older_than: dt.timedelta, now: dt.datetime, limit: int = 200) -> list[InboundMessage]:
    """Stored replies not processed after ``older_than`` (a crash between store and processing)."""
    cutoff = now.astimezone(dt.UTC).replace(tzinfo=None) - older_than
    with session_scope(engine) as s:
        rows = s.scalars(
            select(InboundMessage)
            .where(InboundMessage.processed_at.is_(None), InboundMessage.received_at < cutoff)
            .order_by(InboundMessage.received_at)
            .limit(limit)
        ).all()
        for r in rows:
            r.attempts += 1
        return list(rows)
