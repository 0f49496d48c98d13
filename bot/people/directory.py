"""Slack users → people (``people sync``), and the person behind a Slack request."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.engine import Engine

from bot.config import OrgConfig
from bot.db import session_scope
from bot.models import Person
from bot.people.store import SlackUser, deactivate_missing, find_person, upsert_slack_user
from bot.people.teams import sync_from_config

log = logging.getLogger(__name__)

SLACKBOT_ID = "USLACKBOT"


@dataclass
class SyncResult:
    """What ``people sync`` changed."""

    created: int = 0
    updated: int = 0
    deactivated: int = 0
    skipped: int = 0


def to_slack_user(user: dict[str, Any]) -> SlackUser:
    """The fields the bot keeps from a Slack user object."""
    profile = user.get("profile") or {}
    name = user.get("real_name") or profile.get("real_name") or profile.get("display_name") or user.get("name") or ""
    return SlackUser(
        slack_user_id=user["id"],
        email=(profile.get("email") or None),
        name=name,
        tz=user.get("tz"),
        is_guest=bool(user.get("is_restricted") or user.get("is_ultra_restricted")),
    )


def is_person(user: dict[str, Any], *, include_guests: bool) -> bool:
    """A human member of the workspace: no bots, no deleted users, no Slackbot; guests when configured."""
    if user.get("id") == SLACKBOT_ID or user.get("is_bot") or user.get("is_app_user") or user.get("deleted"):
        return False
    return include_guests or not (user.get("is_restricted") or user.get("is_ultra_restricted"))


def sync_people(engine: Engine, client: WebClient, org: OrgConfig, *, page_size: int = 200) -> SyncResult:
    """Page through ``users.list`` into people; people who left are marked inactive (history kept).

    Team membership from the config is then re-applied so emails and ids resolve to people.
    """
    result = SyncResult()
    seen: list[str] = []
    cursor: str | None = None
    while True:
        resp = client.users_list(limit=page_size, cursor=cursor) if cursor else client.users_list(limit=page_size)
        members = resp.get("members") or []
        with session_scope(engine) as s:
            for user in members:
                if not is_person(user, include_guests=org.include_guests):
                    result.skipped += 1
                    continue
                su = to_slack_user(user)
                existing = find_person(s, su.slack_user_id) or (find_person(s, su.email) if su.email else None)
                upsert_slack_user(s, su)
                seen.append(su.slack_user_id)
                if existing is None:
                    result.created += 1
                else:
                    result.updated += 1
        cursor = (resp.get("response_metadata") or {}).get("next_cursor") or None
        if not cursor:
            break
    with session_scope(engine) as s:
        result.deactivated = deactivate_missing(s, seen)
        if org.teams:
            sync_from_config(s, org, actor="people-sync")
    return result


def lookup_by_email(client: WebClient, email: str) -> SlackUser | None:
    """``users.lookupByEmail``; None when Slack knows no such user."""
    try:
        resp = client.users_lookupByEmail(email=email)
    except SlackApiError as exc:
        if exc.response.get("error") in ("users_not_found", "user_not_found"):
            return None
        raise
    user = resp.get("user")
    return to_slack_user(user) if user else None


def person_for_user(engine: Engine, client: WebClient | None, slack_user_id: str) -> Person:
    """The person behind a Slack user id; someone not synced yet is fetched with ``users.info``."""
    with session_scope(engine) as s:
        person = find_person(s, slack_user_id)
        if person is not None:
            return person
    su = SlackUser(slack_user_id=slack_user_id, email=None, name=slack_user_id, tz=None)
    if client is not None:
        try:
            info = client.users_info(user=slack_user_id).get("user")
            if info:
                su = to_slack_user(info)
        except SlackApiError:
            log.warning("users.info failed for a new user; storing the id only")
    with session_scope(engine) as s:
        return upsert_slack_user(s, su)
