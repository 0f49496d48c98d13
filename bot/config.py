"""Settings from the environment and the organisation's YAML config.

Settings are built in the composition root (``bot.runtime.cli``), never at import time.
"""

from __future__ import annotations

import math
import os
import re
import zoneinfo
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import ConfigError
from bot.scoring import Weights

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_DATABASE_URL = "sqlite:///artifact-bot.db"
ARTIFACT_KINDS = ("agent", "workflow", "dashboard", "campaign", "feature", "document", "experiment", "other")
_SLACK_ID = re.compile(r"^[UW][A-Z0-9]+$")
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
TEAM_PREFIX = "team:"  # an ``identities:`` value naming a team instead of a person


class Settings(BaseSettings):
    """Process settings, read from the environment variables of the black-box contract."""

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore")

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    # The app's id (``A0…``): when set, a signed request whose ``api_app_id`` differs is refused.
    slack_app_id: str | None = None
    slack_api_url: str = DEFAULT_SLACK_API_URL
    database_url: str = DEFAULT_DATABASE_URL
    artifact_bot_config: Path | None = None
    port: int = 3000
    # Threads per ``serve`` process that do the work after Slack's ack (Bolt lazy listeners). Acks
    # run in the HTTP threads and share one interpreter lock with these: few work threads keep the
    # acks quick under load (measured in BENCHMARKS.md); more processes (``--workers``) add capacity.
    artifact_bot_work_threads: int = Field(default=2, ge=1, le=64)
    # Processes per ``serve`` process that do that work (``bot.runtime.work``), so that the acks never share
    # the interpreter lock with it; 0 runs the work on threads of the serving process itself.
    artifact_bot_work_processes: int = Field(default=1, ge=0, le=32)
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    openai_model: str = "gpt-4o-mini"
    openai_admin_key: SecretStr | None = None
    anthropic_admin_key: SecretStr | None = None
    anthropic_base_url: str = "https://api.anthropic.com"
    cursor_admin_key: SecretStr | None = None
    cursor_api_url: str = "https://api.cursor.com"
    github_token: SecretStr | None = None
    github_api_url: str = "https://api.github.com"
    github_org: str | None = None

    def require(self, *names: str) -> None:
        """Fail fast when a required variable is missing.

        Raises:
            ConfigError: naming every missing environment variable.
        """
        missing = [n.upper() for n in names if not getattr(self, n)]
        if missing:
            raise ConfigError(f"missing environment variable(s): {', '.join(missing)}")


class TeamConfig(BaseModel):
    """One team of the organisation config."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: str = Field(min_length=1, max_length=80)
    members: list[str] = Field(default_factory=list)
    managers: list[str] = Field(default_factory=list)
    channel: str | None = None
    monthly_budget_usd: float | None = Field(default=None, ge=0)

    @field_validator("name")
    @classmethod
    def _strip_name(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("team name must not be blank")
        return value

    @field_validator("members", "managers")
    @classmethod
    def _people(cls, value: list[str], info: ValidationInfo) -> list[str]:
        """Each member or manager is a Slack user id or an email (kept lower-case)."""
        what = "member" if info.field_name == "members" else "manager"
        out = []
        for item in value:
            item = str(item).strip()
            if not (_SLACK_ID.match(item) or ("@" in item and "." in item.split("@")[-1])):
                raise ValueError(f"{what} {item!r} is neither an email nor a Slack user id")
            out.append(item.lower() if "@" in item else item)
        return out

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str | None) -> str | None:
        if value is not None and not _CHANNEL_ID.match(value):
            raise ValueError(f"channel {value!r} is not a Slack channel id (like C0123ABC)")
        return value


class SeatConfig(BaseModel):
    """A licence that counts as spend: one row per member per month (``seats:``)."""

    model_config = ConfigDict(extra="forbid")

    tool: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_.-]+$")
    usd_per_month: float = Field(ge=0, allow_inf_nan=False)
    members: list[str] | Literal["all"] = "all"
    usage: Literal["billed", "included"] = "billed"


class FocusConfig(BaseModel):
    """Which tags of a FOCUS billing CSV name the person and the team a charge belongs to (``focus:``)."""

    model_config = ConfigDict(extra="forbid")

    person_tag: str | None = Field(default=None, min_length=1)
    team_tag: str | None = Field(default=None, min_length=1)


class CheckinConfig(BaseModel):
    """When the month-end artifact test runs and how long replies are accepted."""

    model_config = ConfigDict(extra="forbid")

    hour: int = Field(default=15, ge=0, le=23)
    reply_until_day: int = Field(default=7, ge=1, le=28)
    reminder_after_days: int = Field(default=2, ge=1, le=14)
    max_reminders: int = Field(default=2, ge=0, le=5)
    # A Slack status (emoji or text) containing one of these, case-insensitive, means "away": no check-in
    # and no reminder until it changes (the DM goes out when they are back, if the window is still open).
    away_statuses: list[str] = Field(
        default_factory=lambda: [
            "vacation", "holiday", "ooo", "out of office", "sick", "leave", ":palm_tree:", ":face_with_thermometer:"
        ]
    )


class OrgConfig(BaseModel):
    """The organisation config (``ARTIFACT_BOT_CONFIG``), validated strictly."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    timezone: str = "UTC"
    summary_channel: str | None = None
    admins: list[str] = Field(default_factory=list)
    spend_floor_usd: float = Field(default=10.0, gt=0)
    max_artifacts_per_person: int = Field(default=10, ge=1, le=1000)
    max_unreviewed_per_person: int = Field(default=3, ge=0, le=1000)
    unreviewed_weight: float = Field(default=0.5, ge=0, le=1)
    kind_weights: dict[str, float] = Field(default_factory=dict)
    min_team_size: int = Field(default=3, ge=1)
    burst_window_hours: int = Field(default=24, ge=1, le=24 * 14)
    burst_min_artifacts: int = Field(default=3, ge=1)
    include_guests: bool = False
    checkin: CheckinConfig = Field(default_factory=CheckinConfig)
    identities: dict[str, str] = Field(default_factory=dict)
    bot_identity: str = "artifact-bot"
    teams: list[TeamConfig] = Field(default_factory=list)
    seats: list[SeatConfig] = Field(default_factory=list)
    focus: FocusConfig = Field(default_factory=FocusConfig)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r} (use an IANA name like America/New_York)") from exc
        return value

    @field_validator("kind_weights")
    @classmethod
    def _kinds(cls, value: dict[str, float]) -> dict[str, float]:
        for kind, weight in value.items():
            if kind not in ARTIFACT_KINDS:
                raise ValueError(f"unknown artifact kind {kind!r}; kinds are {', '.join(ARTIFACT_KINDS)}")
            if not math.isfinite(weight) or weight < 0:
                raise ValueError(f"weight of {kind!r} must be a finite number, not negative")
        return value

    @field_validator("teams")
    @classmethod
    def _unique_teams(cls, value: list[TeamConfig]) -> list[TeamConfig]:
        seen: set[str] = set()
        for team in value:
            key = team.name.casefold()
            if key in seen:
                raise ValueError(f"team {team.name!r} is listed twice")
            seen.add(key)
        return value

    def team_identities(self) -> dict[str, str]:
        """Provider identities the config assigns to a team (``identities: {key: team:NAME}``), casefolded
        key → the team's name as ``teams:`` spells it (an unknown name maps to itself)."""
        names = {t.name.casefold(): t.name for t in self.teams}
        out = {}
        for key, value in self.identities.items():
            if key.strip() and value.strip().casefold().startswith(TEAM_PREFIX):
                team = value.strip()[len(TEAM_PREFIX) :].strip()
                out[key.strip().casefold()] = names.get(team.casefold(), team)
        return out

    def unknown_team_identities(self) -> list[tuple[str, str]]:
        """``(key, problem)`` of each identity assigned to a team that ``teams:`` does not list."""
        names = {t.name.casefold() for t in self.teams}
        out = []
        for key, value in self.identities.items():
            if value.strip().casefold().startswith(TEAM_PREFIX):
                team = value.strip()[len(TEAM_PREFIX) :].strip()
                if team.casefold() not in names:
                    listed = ", ".join(t.name for t in self.teams) or "none"
                    out.append((key, f"unknown team {team!r} (teams: {listed})"))
        return out

    def kind_weight(self, kind: str) -> float:
        """Weight of an artifact kind (1.0 unless configured)."""
        return self.kind_weights.get(kind, 1.0)

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        """The organisation's timezone."""
        return zoneinfo.ZoneInfo(self.timezone)


def _node_line(root: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """Line (1-based) of the YAML node at a pydantic error location, as deep as it resolves."""
    node = root
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key, val in node.value:
                if key.value == part:
                    node, line = val, key.start_mark.line + 1
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def parse_org_config(text: str, *, source: str = "config") -> OrgConfig:
    """Parse and validate the organisation YAML.

    Raises:
        ConfigError: with ``source:line: field: problem`` for every error.
    """
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark else source
        raise ConfigError(f"{where}: invalid YAML: {getattr(exc, 'problem', exc)}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}:1: the config must be a mapping of keys (timezone, teams, ...)")
    try:
        org = OrgConfig.model_validate(data)
        unknown = org.unknown_team_identities()
        if unknown:
            raise ConfigError(
                "\n".join(f"{source}:{_node_line(root, ('identities', k))}: identities.{k}: {p}" for k, p in unknown)
            )
        return org
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            field = ".".join(str(p) for p in loc) or "(root)"
            line = _node_line(root, loc)
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown key"
            problems.append(f"{source}:{line}: {field}: {msg}")
        raise ConfigError("\n".join(problems)) from None


def load_org_config(path: str | os.PathLike[str] | None) -> OrgConfig:
    """Load the organisation config from ``path``; defaults when no path is given.

    Raises:
        ConfigError: when the file is missing or invalid.
    """
    if path is None:
        return OrgConfig()
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config {p}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        line = p.read_bytes()[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{p}:{line}: the config is not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    return parse_org_config(text, source=str(p))


def weights_of(org: OrgConfig) -> Weights:
    """The scoring parameters of an organisation config."""
    return Weights(
        unreviewed_weight=org.unreviewed_weight,
        spend_floor_usd=org.spend_floor_usd,
        max_artifacts_per_person=org.max_artifacts_per_person,
        max_unreviewed_per_person=org.max_unreviewed_per_person,
        kind_weights=dict(org.kind_weights),
    )
