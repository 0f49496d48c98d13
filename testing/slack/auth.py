"""auth.test (the identity of the token) and auth.teams.list (the workspaces an org-wide app is in).

An emulator given an ``enterprise_id`` and ``workspaces`` plays an Enterprise Grid organisation
with an org-level token: auth.test answers ``is_enterprise_install: true`` with the enterprise id
as ``team_id`` (as Slack does), and auth.teams.list pages through the workspaces.
"""

from __future__ import annotations

import base64
from typing import Any

from testing.slack.records import SlackError
from testing.slack.server import int_param
from testing.slack.users import UsersAPI


class AuthAPI(UsersAPI):
    """auth.test and auth.teams.list."""

    API_METHODS = {"auth.test": "_auth_test", "auth.teams.list": "_auth_teams_list"}

    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        if self.org_wide:
            return {
                "url": "https://grid.enterprise.slack.com/",
                "team": self.team_name,
                "user": "artifact-bot",
                "team_id": self.enterprise_id,
                "user_id": self.bot_user_id,
                "bot_id": self.bot_id,
                "enterprise_id": self.enterprise_id,
                "is_enterprise_install": True,
            }
        return {
            "url": "https://test.slack.com/",
            "team": self.team_name,
            "user": "artifact-bot",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _auth_teams_list(self, params: dict[str, Any]) -> dict[str, Any]:
        teams = sorted(self.workspaces.items()) if self.org_wide else [(self.team_id, self.team_name)]
        limit = int_param(params, "limit", 0) or len(teams) or 1
        start = 0
        cursor = str(params.get("cursor") or "")
        if cursor:
            try:
                start = int(base64.b64decode(cursor, validate=True).decode().removeprefix("team:"))
            except ValueError as exc:
                raise SlackError("invalid_cursor") from exc
        page = teams[start : start + limit]
        more = start + limit < len(teams)
        icon = {"image_default": True, "image_34": "https://a.slack-edge.com/team_34.png"}
        return {
            "teams": [{"id": team_id, "name": name, "icon": icon} for team_id, name in page],
            "response_metadata": {
                "next_cursor": base64.b64encode(f"team:{start + limit}".encode()).decode() if more else ""
            },
        }
