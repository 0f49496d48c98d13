"""Directory changes Slack pushes: ``user_change`` (profile, status, deactivation) and ``team_join``.

``people sync`` walks the whole directory; these events keep one person fresh between syncs, so a
status set this morning (":palm_tree: Vacation") stops today's check-in and reminders, and a new
member is known before the next sync. The same user object as ``users.list`` gives, through the same
rules (:func:`bot.people.directory.is_person`, :func:`bot.people.directory.to_slack_user`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from bot.config import OrgConfig
from bot.db import session_scope
from bot.models import utcnow
from bot.people.directory import is_person, to_slack_user
from bot.people.store import find_person, upsert_slack_user


def apply_user_event(*, engine: Engine, org: OrgConfig, user: dict[str, Any]) -> str:
    """Record a Slack user object from an event; returns what happened.

    ``"updated"`` or ``"created"`` for a person; ``"deactivated"`` when a known person was removed
    from Slack (history kept); ``"ignored"`` for bots, guests the org leaves out, and unknown
    removed users; ``"stale"`` for a profile older (Slack's ``updated``) than the one recorded, as
    when events arrive out of order. Idempotent: the same event twice changes nothing more.
    """
    uid = str(user.get("id") or "")
    if not uid:
        return "ignored"
    with session_scope(engine) as s:
        known = find_person(s, uid)
        if user.get("deleted"):
            if known is None or not known.is_active:
                return "ignored"
            known.is_active = False
            known.updated_at = utcnow()
            s.add(known)
            return "deactivated"
        if not is_person(user, include_guests=org.include_guests):
            return "ignored"
        got = to_slack_user(user)
        if known is not None and known.slack_updated and got.updated is not None and got.updated < known.slack_updated:
            return "stale"  # an older profile than the one recorded (events may arrive out of order)
        upsert_slack_user(s, got)
    return "updated" if known is not None else "created"
