"""users.* methods, the users the emulator knows, and user objects in Slack's shape."""

from __future__ import annotations

import base64
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from testing.slack.records import SlackError, _RealClock
from testing.slack.server import EmulatorCore, int_param


def dm_channel_id(user_id: str) -> str:
    """The DM (IM) channel id the emulator uses for a user: ``U0ALICE`` -> ``D0ALICE``."""
    return "D" + user_id[1:]


def _tz_fields(tz: str) -> dict[str, Any]:
    now = datetime.now(ZoneInfo(tz))
    offset = now.utcoffset()
    return {
        "tz": tz,
        "tz_label": now.tzname() or tz,
        "tz_offset": int(offset.total_seconds()) if offset else 0,
    }


def make_user(
    user_id: str,
    name: str | None = None,
    *,
    email: str | None = None,
    real_name: str | None = None,
    display_name: str | None = None,
    tz: str = "America/New_York",
    team_id: str = "T0TEST",
    deleted: bool = False,
    is_bot: bool = False,
    is_app_user: bool = False,
    is_admin: bool = False,
    is_owner: bool = False,
    is_restricted: bool = False,
    is_ultra_restricted: bool = False,
    enterprise_id: str | None = None,
    teams: Iterable[str] | None = None,
) -> dict[str, Any]:
    """A user object in Slack's shape (as users.list / users.info return it).

    Like Slack: bots carry ``profile.bot_id`` and no email; deactivated users
    (``deleted=True``) have no ``tz``/``tz_label``/``tz_offset`` nor admin/guest flags.
    With ``enterprise_id`` (Enterprise Grid) the user carries ``enterprise_user`` with the
    workspaces they belong to (``teams``, default their home ``team_id``).
    """
    name = name or user_id.lower()
    real_name = real_name if real_name is not None else name.replace(".", " ").title()
    profile: dict[str, Any] = {
        "real_name": real_name,
        "display_name": display_name if display_name is not None else name,
        "real_name_normalized": real_name,
        "display_name_normalized": display_name if display_name is not None else name,
        "first_name": real_name.split(" ")[0] if real_name else "",
        "last_name": " ".join(real_name.split(" ")[1:]) if real_name else "",
        "title": "",
        "phone": "",
        "status_text": "",
        "status_emoji": "",
        "avatar_hash": "g" + user_id.lower()[-11:],
        "image_48": f"https://secure.gravatar.com/avatar/{user_id}.jpg?s=48",
        "team": team_id,
    }
    if is_bot:
        profile["bot_id"] = "B" + user_id[1:]
        profile["always_active"] = False
    elif email is not None:
        profile["email"] = email
    user: dict[str, Any] = {
        "id": user_id,
        "team_id": team_id,
        "name": name,
        "deleted": deleted,
        "color": "9f69e7",
        "real_name": real_name,
        "profile": profile,
        "is_bot": is_bot,
        "is_app_user": is_app_user,
        "updated": 1_700_000_000,
        "is_email_confirmed": email is not None and not is_bot,
        "who_can_share_contact_card": "EVERYONE",
    }
    if enterprise_id is not None:
        user["enterprise_user"] = {
            "id": user_id,
            "enterprise_id": enterprise_id,
            "enterprise_name": "",
            "is_admin": is_admin,
            "is_owner": is_owner,
            "is_primary_owner": False,
            "teams": list(teams) if teams is not None else [team_id],
        }
    if not deleted:
        user.update(_tz_fields(tz))
        user.update(
            {
                "is_admin": is_admin,
                "is_owner": is_owner,
                "is_primary_owner": False,
                "is_restricted": is_restricted or is_ultra_restricted,
                "is_ultra_restricted": is_ultra_restricted,
            }
        )
    return user


def make_users(
    count: int, *, domain: str = "example.com", tz: str = "America/New_York", team_id: str = "T0TEST"
) -> list[dict[str, Any]]:
    """``count`` active human users ``U00000001``.., emails ``user1@<domain>``.. (for bulk tests)."""
    return [
        make_user(f"U{i:08d}", f"user{i}", email=f"user{i}@{domain}", tz=tz, team_id=team_id)
        for i in range(1, count + 1)
    ]


class UsersAPI(EmulatorCore):
    """users.list, users.info, users.lookupByEmail; DM targets resolve through these users."""

    API_METHODS = {
        "users.list": "_users_list",
        "users.info": "_users_info",
        "users.lookupByEmail": "_users_lookup_by_email",
    }

    # ----------------------------------------------------------------- users

    def set_users(self, users: Iterable[dict[str, Any]]) -> None:
        """Replace the workspace's users (Slack-shaped dicts, see ``make_user``)."""
        with self._lock:
            self._users = [dict(u) for u in users]
            self._reindex_users()

    def add_user(self, user: dict[str, Any]) -> None:
        with self._lock:
            self._users.append(dict(user))
            self._reindex_users()

    @property
    def users(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._users)

    def _reindex_users(self) -> None:
        self._user_index = {u["id"]: i for i, u in enumerate(self._users)}
        self._email_index = {}
        for u in self._users:
            address = (u.get("profile") or {}).get("email")
            if address:
                self._email_index[address.lower()] = u

    def _user(self, user_id: str) -> dict[str, Any] | None:
        index = self._user_index.get(user_id)
        return None if index is None else self._users[index]

    def _resolve_channel(self, channel: str) -> str:
        """Slack accepts a user id as chat.postMessage's channel and posts to the app's DM with them."""
        if channel[:1] in ("U", "W"):
            self._check_dm_target(channel, not_found="channel_not_found")
            return dm_channel_id(channel)
        return channel

    def _check_dm_target(self, user_id: str, *, not_found: str) -> None:
        with self._lock:
            user = self._user(user_id)
        if user is None:
            if self.strict and self._users:
                raise SlackError(not_found)
            return
        if user.get("is_bot"):
            raise SlackError("cannot_dm_bot")
        if user.get("deleted"):
            raise SlackError("user_disabled")

    def _home_team(self, user_id: str) -> str | None:
        with self._lock:
            user = self._user(user_id) if user_id[:1] in ("U", "W") else None
        return str(user["team_id"]) if user and user.get("team_id") else None

    def _team_members(self, team_id: str) -> list[dict[str, Any]]:
        """The users of one workspace of the Grid org (home workspace or listed in ``enterprise_user.teams``)."""
        return [
            u
            for u in self._users
            if u.get("team_id") == team_id or team_id in ((u.get("enterprise_user") or {}).get("teams") or [])
        ]

    def _users_list(self, params: dict[str, Any]) -> dict[str, Any]:
        limit = int_param(params, "limit", 0)
        cursor = str(params.get("cursor") or "")
        team_id = str(params.get("team_id") or "")
        if self.org_wide and not team_id:
            raise SlackError("missing_argument", messages=["[ERROR] team_id is required with an org-level token"])
        if self.org_wide and team_id not in self.workspaces:
            raise SlackError("team_access_not_granted")
        with self._lock:
            users = self._team_members(team_id) if self.org_wide else self._users
            index = {u["id"]: i for i, u in enumerate(users)}
            start = 0
            if cursor:
                try:
                    kind, _, user_id = base64.b64decode(cursor, validate=True).decode().partition(":")
                except ValueError as exc:
                    raise SlackError("invalid_cursor") from exc
                if kind != "user" or user_id not in index:
                    raise SlackError("invalid_cursor")
                start = index[user_id]
            end = len(users) if limit <= 0 else min(len(users), start + limit)
            members = [dict(u) for u in users[start:end]]
            next_cursor = ""
            if end < len(users):
                next_cursor = base64.b64encode(f"user:{users[end]['id']}".encode()).decode()
        return {
            "members": members,
            "cache_ts": int(_RealClock.time()),
            "response_metadata": {"next_cursor": next_cursor},
        }

    def _users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            user = self._user(str(params.get("user") or ""))
        if user is None:
            raise SlackError("user_not_found")
        return {"user": dict(user)}

    def _users_lookup_by_email(self, params: dict[str, Any]) -> dict[str, Any]:
        address = str(params.get("email") or "").strip().lower()
        with self._lock:
            user = self._email_index.get(address) if address else None
        if user is None:
            raise SlackError("users_not_found")
        return {"user": dict(user)}
