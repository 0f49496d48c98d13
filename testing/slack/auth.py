"""auth.test: the identity of the token."""

from __future__ import annotations

from typing import Any

from testing.slack.users import UsersAPI


class AuthAPI(UsersAPI):
    """auth.test: the identity of the token."""

    API_METHODS = {"auth.test": "_auth_test"}

    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "https://test.slack.com/",
            "team": self.team_name,
            "user": "artifact-bot",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }
