"""Slack users → people (``people sync``), the workspaces people belong to, and the person behind a request.

With an Enterprise Grid org-wide install (``auth.test`` answers ``is_enterprise_install``),
``people sync`` walks every workspace the app is in (``auth.teams.list``, then ``users.list``
with each ``team_id``): Grid user ids are org-wide, so each person is kept once, with the
workspaces they belong to and a home workspace (the user's own ``team_id``) where their DMs go.
A single-workspace install stores no workspaces and works as before.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import delete, exists, func, select
from sqlalchemy.engine import Engine

from bot.config import OrgConfig
from bot.db import session_scope
from bot.models import Person, PersonWorkspace, Team, TeamMember, Workspace, utcnow
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
    workspaces: list[str] = field(default_factory=list)

    def line(self) -> str:
        """The one line ``people sync`` and the ``people-sync`` job print."""
        return (
            f"people: {self.created} new, {self.updated} updated, {self.deactivated} marked inactive, "
            f"{self.skipped} skipped (bots, deleted, guests)"
        )


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
        status=" ".join(x for x in (profile.get("status_emoji"), profile.get("status_text")) if x)[:200] or None,
        updated=user["updated"] if type(user.get("updated")) is int else None,
    )


def is_person(user: dict[str, Any], *, include_guests: bool) -> bool:
    """A human member of the workspace: no bots, no deleted users, no Slackbot; guests when configured."""
    if user.get("id") == SLACKBOT_ID or user.get("is_bot") or user.get("is_app_user") or user.get("deleted"):
        return False
    return include_guests or not (user.get("is_restricted") or user.get("is_ultra_restricted"))


def sync_people(engine: Engine, client: WebClient, org: OrgConfig, *, page_size: int = 200) -> SyncResult:
    """Page through ``users.list`` into people; people who left are marked inactive (history kept).

    An org-wide install is walked workspace by workspace (see the module docstring). Team
    membership from the config is then re-applied so emails and ids resolve to people.
    """
    result = SyncResult()
    seen: dict[str, int | None] = {}  # Slack id -> person id, each person counted once
    auth = client.auth_test()
    if auth.get("is_enterprise_install"):
        teams = list_workspaces(client, page_size=page_size)
        result.workspaces = [t["id"] for t in teams]
        memberships: dict[str, list[str]] = {}
        homes: dict[str, str] = {}
        for team in teams:
            for user in _users(client, page_size, team_id=team["id"]):
                if _take(engine, user, org, result, seen):
                    memberships.setdefault(user["id"], []).append(team["id"])
                    if user.get("team_id"):
                        homes[user["id"]] = user["team_id"]
        with session_scope(engine) as s:
            _store_workspaces(s, teams, enterprise_id=auth.get("enterprise_id"), memberships=memberships, homes=homes)
    else:
        for user in _users(client, page_size):
            _take(engine, user, org, result, seen)
    with session_scope(engine) as s:
        result.deactivated = deactivate_missing(s, list(seen))
        if org.teams:
            sync_from_config(s, org, actor="people-sync")
    return result


def _users(client: WebClient, page_size: int, *, team_id: str | None = None) -> Iterable[dict[str, Any]]:
    """Every member ``users.list`` pages through (of one workspace when ``team_id`` is given)."""
    args: dict[str, Any] = {"limit": page_size}
    if team_id:
        args["team_id"] = team_id
    cursor: str | None = None
    while True:
        resp = client.users_list(cursor=cursor, **args) if cursor else client.users_list(**args)
        yield from resp.get("members") or []
        cursor = (resp.get("response_metadata") or {}).get("next_cursor") or None
        if not cursor:
            return


def _take(
    engine: Engine, user: dict[str, Any], org: OrgConfig, result: SyncResult, seen: dict[str, int | None]
) -> bool:
    """Store one Slack user as a person (once per sync); False when the user is not a person."""
    if not is_person(user, include_guests=org.include_guests):
        result.skipped += 1
        return False
    su = to_slack_user(user)
    if su.slack_user_id in seen:
        return True
    with session_scope(engine) as s:
        existing = find_person(s, su.slack_user_id) or (find_person(s, su.email) if su.email else None)
        person = upsert_slack_user(s, su)
        seen[su.slack_user_id] = person.id
    if existing is None:
        result.created += 1
    else:
        result.updated += 1
    return True


def list_workspaces(client: WebClient, *, page_size: int = 200) -> list[dict[str, Any]]:
    """The workspaces an org-wide app is in (``auth.teams.list``): ``[{"id", "name"}, ...]``."""
    teams: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        resp = (
            client.auth_teams_list(limit=page_size, cursor=cursor)
            if cursor
            else client.auth_teams_list(limit=page_size)
        )
        teams.extend({"id": t["id"], "name": t.get("name") or ""} for t in resp.get("teams") or [] if t.get("id"))
        cursor = (resp.get("response_metadata") or {}).get("next_cursor") or None
        if not cursor:
            return teams


def _store_workspaces(
    s: Any,
    teams: list[dict[str, Any]],
    *,
    enterprise_id: str | None,
    memberships: dict[str, list[str]],
    homes: dict[str, str],
) -> None:
    now = utcnow()
    for team in teams:
        ws = s.get(Workspace, team["id"])
        if ws is None:
            s.add(Workspace(team_id=team["id"], enterprise_id=enterprise_id, name=team["name"], synced_at=now))
        else:
            ws.enterprise_id, ws.name, ws.synced_at = enterprise_id, team["name"], now
    ids = dict(
        s.execute(select(Person.slack_user_id, Person.id).where(Person.slack_user_id.in_(list(memberships)))).all()
    )
    s.execute(delete(PersonWorkspace).where(PersonWorkspace.person_id.in_(list(ids.values()))))
    for slack_id, team_ids in memberships.items():
        person_id = ids.get(slack_id)
        if person_id is None:
            continue
        home = homes.get(slack_id) if homes.get(slack_id) in team_ids else team_ids[0]
        for team_id in dict.fromkeys(team_ids):
            s.add(PersonWorkspace(person_id=person_id, team_id=team_id, home=team_id == home))


def has_workspaces(engine: Engine) -> bool:
    """True once ``people sync`` stored the workspaces of an org-wide install."""
    with engine.connect() as conn:
        return bool(conn.execute(select(exists().where(Workspace.team_id.is_not(None)))).scalar())


def home_workspaces(engine: Engine, person_ids: Iterable[int]) -> dict[int, str]:
    """Each person's home workspace (where their DMs are sent), for those who have one."""
    ids = list(person_ids)
    if not ids:
        return {}
    with engine.connect() as conn:
        rows = conn.execute(
            select(PersonWorkspace.person_id, PersonWorkspace.team_id)
            .where(PersonWorkspace.person_id.in_(ids))
            .order_by(PersonWorkspace.home, PersonWorkspace.team_id.desc())
        ).all()
    return {pid: team for pid, team in rows}  # the home row (home = true) sorts last and wins


def channel_workspace(engine: Engine, channel: str) -> str | None:
    """The workspace to post in a channel: a team's channel goes to its members' usual home workspace,
    any other channel to the workspace most people call home (None without workspaces)."""
    with engine.connect() as conn:
        members = select(TeamMember.person_id).join(Team, Team.id == TeamMember.team_id).where(Team.channel == channel)
        homes = Counter(
            team
            for (team,) in conn.execute(
                select(PersonWorkspace.team_id).where(PersonWorkspace.home, PersonWorkspace.person_id.in_(members))
            )
        )
        if not homes:
            homes = Counter(
                dict(
                    conn.execute(
                        select(PersonWorkspace.team_id, func.count())
                        .where(PersonWorkspace.home)
                        .group_by(PersonWorkspace.team_id)
                    ).all()
                )
            )
    return min(homes, key=lambda t: (-homes[t], t)) if homes else None


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
