"""manifest.yml is a valid Slack app manifest and declares what the app listens to."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from bot import ids

REPO = Path(__file__).resolve().parents[2]
MANIFEST = REPO / "manifest.yml"
# Slack's schema, vendored with its licence (tests/data/slack-manifest-schema/README.md).
SCHEMA = REPO / "tests" / "data" / "slack-manifest-schema" / "manifest.schema.1.0.0.json"

COMMANDS = {"/artifact", "/artifact-report", "/leaderboard"}
BOT_EVENTS = {"message.im", "app_home_opened", "team_join", "user_change"}
BOT_SCOPES = {
    "chat:write",
    "commands",
    "im:history",
    "im:write",
    "users:read",
    "users:read.email",
    "files:write",
}
REQUEST_URL = "https://example.com/slack/events"


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    with MANIFEST.open(encoding="utf-8") as handle:
        loaded = yaml.safe_load(handle)
    assert isinstance(loaded, dict)
    return loaded


def test_manifest_validates_against_slacks_schema(manifest: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    errors = sorted(validator_class(schema).iter_errors(manifest), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_manifest_is_major_version_1(manifest: dict[str, Any]) -> None:
    assert manifest["_metadata"]["major_version"] == 1


def test_commands_are_declared(manifest: dict[str, Any]) -> None:
    commands = {c["command"]: c for c in manifest["features"]["slash_commands"]}
    assert set(commands) == COMMANDS
    for command in commands.values():
        assert command["url"] == REQUEST_URL
        assert command["should_escape"] is False
        assert command["description"]


def test_events_and_interactivity_are_declared(manifest: dict[str, Any]) -> None:
    settings = manifest["settings"]
    assert set(settings["event_subscriptions"]["bot_events"]) == BOT_EVENTS
    assert settings["event_subscriptions"]["request_url"] == REQUEST_URL
    assert settings["interactivity"] == {"is_enabled": True, "request_url": REQUEST_URL}
    assert settings["socket_mode_enabled"] is False


def test_app_home_accepts_messages(manifest: dict[str, Any]) -> None:
    app_home = manifest["features"]["app_home"]
    assert app_home["home_tab_enabled"] is True
    assert app_home["messages_tab_enabled"] is True
    assert app_home.get("messages_tab_read_only_enabled", False) is False
    assert manifest["features"]["bot_user"]["display_name"]


def test_bot_scopes_are_exactly_what_the_app_uses(manifest: dict[str, Any]) -> None:
    scopes = manifest["oauth_config"]["scopes"]["bot"]
    assert len(scopes) == len(set(scopes))
    assert set(scopes) == BOT_SCOPES


def test_every_command_and_event_in_code_is_in_the_manifest(manifest: dict[str, Any]) -> None:
    declared = {c["command"] for c in manifest["features"]["slash_commands"]}
    assert set(ids.COMMANDS) == declared  # and vice versa: nothing declared that the code does not handle
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    # Bolt listens to "message"; the manifest subscribes to its DM flavour, "message.im".
    assert {"message.im" if e == "message" else e for e in ids.EVENTS} == events
