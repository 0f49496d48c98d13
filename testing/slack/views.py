"""views.open, views.push, views.publish (App Home) and views.update."""

from __future__ import annotations

import secrets
from typing import Any

from testing.slack.blockkit import slack_file_problems, view_problems
from testing.slack.files import image_files
from testing.slack.records import SlackError, _RealClock
from testing.slack.users import UsersAPI


class ViewsAPI(UsersAPI):
    """views.open, views.push, views.publish (App Home) and views.update."""

    API_METHODS = {
        "views.open": "_views_open",
        "views.push": "_views_open",
        "views.publish": "_views_publish",
        "views.update": "_views_update",
    }

    @property
    def home_views(self) -> dict[str, dict[str, Any]]:
        """The App Home view last published for each user id."""
        with self._lock:
            return dict(self._home_views)

    @property
    def views(self) -> dict[str, dict[str, Any]]:
        """Every view opened, published or updated, by view id."""
        with self._lock:
            return dict(self._views)

    def _view_object(self, view: dict[str, Any], view_id: str, *, root_view_id: str | None = None) -> dict[str, Any]:
        return {
            "id": view_id,
            "team_id": self.team_id,
            "type": view.get("type"),
            "blocks": view.get("blocks", []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": f"{int(_RealClock.time())}.{secrets.token_hex(4)}",
            "title": view.get("title"),
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "close": view.get("close"),
            "submit": view.get("submit"),
            "previous_view_id": None,
            "root_view_id": root_view_id or view_id,
            "app_id": self.app_id,
            "external_id": view.get("external_id", ""),
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }

    def _check_view(self, view: Any, surface: str) -> None:
        if not isinstance(view, dict):
            raise SlackError("invalid_arguments", messages=["[ERROR] must provide an object [json-pointer:/view]"])
        if self.validate_blocks:
            problems = view_problems(view, surface=surface)
            if problems:
                raise SlackError("invalid_arguments", messages=problems)
            with self._lock:
                images = image_files(
                    self._uploads.values(), origin=self.origin, team_id=self.team_id, bot_user_id=self.bot_user_id
                )
            # A slack_file naming no image the app may show (never uploaded, not completed, deleted):
            # Slack answers invalid_blocks, as chat.postMessage does.
            unknown = slack_file_problems(view.get("blocks"), images)
            if unknown:
                raise SlackError("invalid_blocks", errors=unknown, messages=[f"[ERROR] {m}" for m in unknown])

    def _views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("trigger_id") and not params.get("interactivity_pointer"):
            raise SlackError("invalid_arguments", messages=["[ERROR] missing required field: trigger_id"])
        view = params.get("view")
        self._check_view(view, "modal")
        assert isinstance(view, dict)
        view_id = self._next_id("V")
        stored = self._view_object(view, view_id)
        with self._lock:
            self._views[view_id] = stored
        return {"view": stored}

    def _views_publish(self, params: dict[str, Any]) -> dict[str, Any]:
        user_id = str(params.get("user_id") or "")
        if not user_id:
            raise SlackError("invalid_arguments", messages=["[ERROR] missing required field: user_id"])
        view = params.get("view")
        self._check_view(view, "home")
        assert isinstance(view, dict)
        with self._lock:
            if self._users and self._user(user_id) is None and self.strict:
                raise SlackError("user_not_found")
            previous = self._home_views.get(user_id)
            view_id = previous["id"] if previous else self._next_id("V")
            stored = self._view_object(view, view_id)
            self._views[view_id] = stored
            self._home_views[user_id] = stored
        return {"view": stored}

    def _views_update(self, params: dict[str, Any]) -> dict[str, Any]:
        view = params.get("view")
        surface = view.get("type", "modal") if isinstance(view, dict) else "modal"
        self._check_view(view, surface if surface in ("modal", "home") else "modal")
        assert isinstance(view, dict)
        view_id = str(params.get("view_id") or "")
        external_id = str(params.get("external_id") or "")
        if not view_id and not external_id:
            raise SlackError("invalid_arguments", messages=["[ERROR] view_id or external_id is required"])
        with self._lock:
            if not view_id:
                found = [v for v in self._views.values() if v.get("external_id") == external_id]
                view_id = found[0]["id"] if found else ""
            if (not view_id or view_id not in self._views) and self.strict:
                raise SlackError("not_found")
            view_id = view_id or self._next_id("V")
            stored = self._view_object(view, view_id)
            self._views[view_id] = stored
        return {"view": stored}
