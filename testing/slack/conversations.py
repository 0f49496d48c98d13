"""conversations.open: the DM (or group DM) channel with users."""

from __future__ import annotations

import base64
from typing import Any

from testing.slack.records import SlackError, _RealClock
from testing.slack.users import UsersAPI, dm_channel_id


class ConversationsAPI(UsersAPI):
    """conversations.open: the DM (or group DM) channel with users."""

    API_METHODS = {"conversations.open": "_conversations_open"}

    def _conversations_open(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("channel"):
            return {"channel": {"id": str(params["channel"])}}
        users = [u.strip() for u in str(params.get("users") or "").split(",") if u.strip()]
        if not users:
            raise SlackError("users_list_not_supplied")
        if len(users) > 8:
            raise SlackError("too_many_users")
        for user_id in users:
            self._check_dm_target(user_id, not_found="user_not_found")
        if len(users) == 1:
            channel_id = dm_channel_id(users[0])
        else:
            channel_id = "G" + base64.b32encode(",".join(sorted(users)).encode()).decode()[:10]
        body: dict[str, Any] = {"channel": {"id": channel_id}}
        if str(params.get("return_im", "")).lower() in ("1", "true"):
            body["channel"].update({"created": int(_RealClock.time()), "is_im": len(users) == 1})
            body["channel"]["user"] = users[0]
        return body
