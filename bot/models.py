"""Database tables (SQLModel). Unique constraints make imports and Slack retries idempotent."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import NaiveDatetime
from sqlalchemy import JSON, Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel


def utcnow() -> dt.datetime:
    """Naive UTC now for defaults (stored naive, meaning UTC, on every database)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Person(SQLModel, table=True):
    """A person: a Slack user, or someone known only by email until ``people sync`` links them."""

    __tablename__ = "person"

    id: int | None = Field(default=None, primary_key=True)
    slack_user_id: str | None = Field(default=None, max_length=32, unique=True)
    email: str | None = Field(default=None, max_length=320, unique=True)
    name: str = Field(default="", max_length=200)
    tz: str | None = Field(default=None, max_length=64)
    is_active: bool = Field(default=True)
    is_guest: bool = Field(default=False)
    forgotten: bool = Field(default=False)
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    updated_at: NaiveDatetime = Field(default_factory=utcnow)
    status_text: str | None = Field(default=None, max_length=200)  # Slack status: emoji and text
    away_until: dt.date | None = None  # "I'm away until…" from the check-in DM (inclusive, org time)
    slack_updated: int | None = None  # the Slack profile's "updated" (epoch seconds) when last recorded


class Team(SQLModel, table=True):
    """A named group of people with managers, an optional channel and a monthly budget."""

    __tablename__ = "team"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=80, unique=True)
    channel: str | None = Field(default=None, max_length=32)
    monthly_budget_usd: float | None = None
    created_at: NaiveDatetime = Field(default_factory=utcnow)


class TeamMember(SQLModel, table=True):
    """Membership of a person in a team."""

    __tablename__ = "team_member"

    team_id: int = Field(foreign_key="team.id", primary_key=True, ondelete="CASCADE")
    person_id: int = Field(foreign_key="person.id", primary_key=True, index=True)


class TeamManager(SQLModel, table=True):
    """A manager of a team, by Slack user id or email (the person may not be synced yet)."""

    __tablename__ = "team_manager"

    team_id: int = Field(foreign_key="team.id", primary_key=True, ondelete="CASCADE")
    ident: str = Field(primary_key=True, max_length=320, index=True)


class UsageRow(SQLModel, table=True):
    """Spend of one identity on one day for one provider and model, from one source.

    ``identity`` is what the source called the spender (email, Slack id, provider user id);
    ``person_id`` is who that maps to, or None for unattributed spend, which is kept.
    """

    __tablename__ = "usage_row"
    __table_args__ = (
        UniqueConstraint("source", "date", "identity", "provider", "model", name="uq_usage_key"),
        # Covers what the remaining raw-usage reads need (spend refresh after a write, check-in spend,
        # cost per model), so they read this index alone instead of the table.
        Index(
            "ix_usage_period_person",
            "period",
            "person_id",
            "provider",
            "model",
            "cost_usd",
            "input_tokens",
            "output_tokens",
            "priced",
        ),
        # Team-level spend (rows of nobody that the config assigns to a team) and its roll-up's refresh.
        Index("ix_usage_team_period", "team_id", "period"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=32)
    date: dt.date
    period: str = Field(max_length=7)
    identity: str = Field(max_length=320)
    person_id: int | None = Field(default=None, foreign_key="person.id")
    # The team the config assigns this identity to (``identities: {key: team:NAME}``, a FOCUS team tag),
    # set at import/sync when no person is: spend of that team, not of a member ("team-level spend").
    team_id: int | None = None
    provider: str = Field(max_length=40)
    model: str = Field(max_length=120)
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    requests: int = 0
    cost_usd: float | None = None
    priced: bool = Field(default=True)
    imported_at: NaiveDatetime = Field(default_factory=utcnow)


class Period(SQLModel, table=True):
    """A calendar month; closed periods have frozen scores."""

    __tablename__ = "period"

    period: str = Field(primary_key=True, max_length=7)
    status: str = Field(default="open", max_length=16)
    closed_at: NaiveDatetime | None = None


class Checkin(SQLModel, table=True):
    """One person's month-end artifact test for one period."""

    __tablename__ = "checkin"
    __table_args__ = (UniqueConstraint("person_id", "period", name="uq_checkin_person_period"),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    period: str = Field(max_length=7, index=True)
    status: str = Field(default="pending", max_length=16)
    channel_id: str | None = Field(default=None, max_length=32)
    message_ts: str | None = Field(default=None, max_length=32)
    error: str | None = Field(default=None, max_length=200)
    reminders_sent: int = 0
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    sent_at: NaiveDatetime | None = None
    answered_at: NaiveDatetime | None = None
    snoozed_until: NaiveDatetime | None = None  # "Remind me tomorrow": no reminder before this (UTC)


class Artifact(SQLModel, table=True):
    """Something a person built, with at least one http(s) link as evidence.

    ``primary_url`` is the normalised first link: the identity used for de-duplication.
    ``source_key`` makes creation idempotent (a Slack event id, a view id...).
    """

    __tablename__ = "artifact"
    __table_args__ = (
        Index("ix_artifact_period_person", "period", "person_id"),
        Index("ix_artifact_period_url", "period", "primary_url"),
        Index("ix_artifact_url_period", "primary_url", "period"),  # carry-over: claimed in an earlier period?
        # One live artifact per person, period and canonical link, whatever races (migration 0006).
        Index(
            "uq_artifact_person_period_url",
            "person_id",
            "period",
            "primary_url",
            unique=True,
            sqlite_where=text("removed = 0"),
            postgresql_where=text("NOT removed"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    period: str = Field(max_length=7)
    title: str = Field(max_length=200)
    kind: str = Field(default="other", max_length=20)
    status: str = Field(default="submitted", max_length=16)
    source: str = Field(default="command", max_length=16)
    source_key: str | None = Field(default=None, max_length=200, unique=True)
    primary_url: str = Field(max_length=2048)
    description: str | None = Field(default=None, max_length=2000)
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    updated_at: NaiveDatetime = Field(default_factory=utcnow)
    reviewed_by: str | None = Field(default=None, max_length=32)
    reviewed_at: NaiveDatetime | None = None
    removed: bool = Field(default=False)


class ArtifactLink(SQLModel, table=True):
    """A link given as evidence of an artifact."""

    __tablename__ = "artifact_link"
    __table_args__ = (UniqueConstraint("artifact_id", "normalized_url", name="uq_artifact_link"),)

    id: int | None = Field(default=None, primary_key=True)
    artifact_id: int = Field(foreign_key="artifact.id", index=True, ondelete="CASCADE")
    position: int = 0
    url: str = Field(max_length=2048)
    normalized_url: str = Field(max_length=2048)
    label: str | None = Field(default=None, max_length=200)


class Note(SQLModel, table=True):
    """A check-in reply without a link: kept, not counted."""

    __tablename__ = "note"

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    period: str = Field(max_length=7)
    text: str = Field(max_length=4000)
    source_key: str | None = Field(default=None, max_length=200, unique=True)
    created_at: NaiveDatetime = Field(default_factory=utcnow)


class AuditLog(SQLModel, table=True):
    """Who changed what: artifact reviews, edits, removals, exports, config changes."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: NaiveDatetime = Field(default_factory=utcnow, index=True)
    actor: str = Field(max_length=64)
    action: str = Field(max_length=40)
    target_type: str = Field(max_length=32)
    target_id: str = Field(max_length=64)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class ProcessedEvent(SQLModel, table=True):
    """Slack event ids already handled, so a replayed event changes nothing."""

    __tablename__ = "processed_event"

    event_id: str = Field(primary_key=True, max_length=64)
    at: NaiveDatetime = Field(default_factory=utcnow)


class SyncCursor(SQLModel, table=True):
    """How far a usage connector has read (one row per source, e.g. ``openai``)."""

    __tablename__ = "sync_cursor"

    source: str = Field(primary_key=True, max_length=32)
    last_date: dt.date | None = None
    updated_at: NaiveDatetime = Field(default_factory=utcnow)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class ProviderTotal(SQLModel, table=True):
    """A provider's own bill for one day (Costs API / cost report), to reconcile attributed spend."""

    __tablename__ = "provider_total"
    __table_args__ = (UniqueConstraint("source", "date", name="uq_provider_total"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=32)
    date: dt.date
    period: str = Field(max_length=7, index=True)
    cost_usd: float = 0.0
    fetched_at: NaiveDatetime = Field(default_factory=utcnow)


class OutputSignal(SQLModel, table=True):
    """Output a provider reports for a person on a day (Claude Code commits, pull requests...).

    Suggestions only: they never count until the person confirms them with links.
    """

    __tablename__ = "output_signal"
    __table_args__ = (UniqueConstraint("source", "date", "identity", "metric", name="uq_output_signal"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=32)
    date: dt.date
    period: str = Field(max_length=7)
    identity: str = Field(max_length=320)
    person_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    metric: str = Field(max_length=40)
    value: float = 0.0


class OutboxMessage(SQLModel, table=True):
    """A message the bot sends in bulk, stored before it is sent.

    ``dedupe_key`` (e.g. ``checkin:2026-10:42``) makes enqueueing idempotent; ``state`` moves
    pending → sending → sent | failed. A row left in ``sending`` past ``lease_until`` (a crash)
    is sent again by the next dispatcher.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "state", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(max_length=200, unique=True)
    kind: str = Field(max_length=32)
    period: str | None = Field(default=None, max_length=7)
    person_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    channel: str = Field(max_length=32)
    team_id: str | None = Field(default=None, max_length=32)  # the workspace to send in (org-wide install)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    state: str = Field(default="pending", max_length=16)
    attempts: int = 0
    next_attempt_at: NaiveDatetime = Field(default_factory=utcnow)
    lease_until: NaiveDatetime | None = None
    claimed_by: str | None = Field(default=None, max_length=64)
    slack_ts: str | None = Field(default=None, max_length=32)
    slack_channel: str | None = Field(default=None, max_length=32)
    last_error: str | None = Field(default=None, max_length=200)
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    sent_at: NaiveDatetime | None = None


class Workspace(SQLModel, table=True):
    """A Slack workspace the app is in: one, or every workspace of an Enterprise Grid org-wide install."""

    __tablename__ = "workspace"

    team_id: str = Field(primary_key=True, max_length=32)
    enterprise_id: str | None = Field(default=None, max_length=32)
    name: str = Field(default="", max_length=200)
    synced_at: NaiveDatetime | None = None


class PersonWorkspace(SQLModel, table=True):
    """A person's membership of a workspace (Grid user ids are org-wide); ``home`` is where DMs go."""

    __tablename__ = "person_workspace"

    person_id: int = Field(foreign_key="person.id", primary_key=True)
    team_id: str = Field(primary_key=True, max_length=32, index=True)
    home: bool = Field(default=False)


class SendPace(SQLModel, table=True):
    """A workspace's send pace, shared by every dispatcher and remembered between runs.

    ``next_slot`` is the next free send time; ``rate_per_second`` the pace found so far;
    ``ceiling`` the rate at the last 429 (None until Slack first refused); ``cut_at`` when the
    pace was last cut, so one 429 storm cuts it once.
    """

    __tablename__ = "send_pace"

    name: str = Field(primary_key=True, max_length=64)
    rate_per_second: float
    ceiling: float | None = None
    next_slot: NaiveDatetime
    cut_at: NaiveDatetime | None = None
    updated_at: NaiveDatetime = Field(default_factory=utcnow)


class JobLease(SQLModel, table=True):
    """A lease that decides which worker runs a scheduled job (works on SQLite and PostgreSQL)."""

    __tablename__ = "job_lease"

    name: str = Field(primary_key=True, max_length=64)
    holder: str = Field(max_length=128)
    until: NaiveDatetime
    run_key: str | None = Field(default=None, max_length=64)


class BoardSnapshot(SQLModel, table=True):
    """A closed period's frozen leaderboard line (scores no longer move after the close)."""

    __tablename__ = "board_snapshot"
    __table_args__ = (UniqueConstraint("period", "by", "key", name="uq_board_snapshot"),)

    id: int | None = Field(default=None, primary_key=True)
    period: str = Field(max_length=7, index=True)
    by: str = Field(max_length=8)
    key: str = Field(max_length=64)
    row: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    frozen_at: NaiveDatetime = Field(default_factory=utcnow)


class PersonPeriodTotal(SQLModel, table=True):
    """Roll-up of a person's period: spend (kept current in the transaction that changes usage) and
    counted artifacts (after weights, dedup and cap; refreshed from ``rollup_dirty`` marks).

    Boards and reports read this instead of scanning the raw rows; ``artifact-bot db check``
    recomputes everything from the raw rows and reports any difference.
    """

    __tablename__ = "person_period_total"

    person_id: int = Field(foreign_key="person.id", primary_key=True)
    period: str = Field(max_length=7, primary_key=True, index=True)
    cost_usd: float = 0.0
    tokens: int = 0
    usage_rows: int = 0
    unpriced_rows: int = 0
    artifacts: float = 0.0
    artifact_count: int = 0


class TeamPeriodTotal(SQLModel, table=True):
    """Roll-up of a team's period: its board line before ranking."""

    __tablename__ = "team_period_total"

    team_id: int = Field(foreign_key="team.id", primary_key=True, ondelete="CASCADE")
    period: str = Field(max_length=7, primary_key=True, index=True)
    artifacts: float = 0.0
    artifact_count: int = 0
    cost_usd: float = 0.0
    tokens: int = 0
    unpriced_rows: int = 0
    unmatched_usd: float = 0.0
    members: int = 0


class TeamLevelTotal(SQLModel, table=True):
    """Roll-up of a team's team-level spend in a period: its usage rows with no person (kept current in
    the transaction that changes them); a team's board spend is its members' spend plus this."""

    __tablename__ = "team_level_total"

    team_id: int = Field(foreign_key="team.id", primary_key=True, ondelete="CASCADE")
    period: str = Field(max_length=7, primary_key=True)
    cost_usd: float = 0.0
    tokens: int = 0
    usage_rows: int = 0
    unpriced_rows: int = 0


class RollupPeriod(SQLModel, table=True):
    """Which scoring weights a period's artifact roll-ups were computed with."""

    __tablename__ = "rollup_period"

    period: str = Field(primary_key=True, max_length=7)
    weights_key: str = Field(max_length=400)
    computed_at: NaiveDatetime = Field(default_factory=utcnow)
    # Bumped whenever the period is marked stale; a refresh that started before a bump does not
    # record itself as current (the next read recomputes).
    generation: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class PersonModelTotal(SQLModel, table=True):
    """Roll-up of a person's period per provider and model (the report's cost per model).

    Kept current in the transaction that changes usage for a few people; a big import marks the
    period instead (``ModelRollupPeriod``) and the next read recomputes it once.
    """

    __tablename__ = "person_model_total"

    person_id: int = Field(foreign_key="person.id", primary_key=True)
    period: str = Field(max_length=7, primary_key=True)
    provider: str = Field(max_length=40, primary_key=True)
    model: str = Field(max_length=120, primary_key=True)
    cost_usd: float = 0.0
    tokens: int = 0


class ModelRollupPeriod(SQLModel, table=True):
    """Whether a period's per-model roll-ups are complete; ``generation`` is bumped by every usage write."""

    __tablename__ = "model_rollup_period"

    period: str = Field(primary_key=True, max_length=7)
    current: bool = False
    generation: int = 0


class RollupDirty(SQLModel, table=True):
    """A person whose period roll-up must be recomputed before the next read (set in the writing transaction)."""

    __tablename__ = "rollup_dirty"

    person_id: int = Field(primary_key=True)
    period: str = Field(primary_key=True, max_length=7)
    # Bumped by every new mark: a refresh clears only the marks it saw, so a change committed while
    # it ran stays marked.
    version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class InboundMessage(SQLModel, table=True):
    """A DM reply stored before Slack is acknowledged, so a crash or a database outage loses no reply.

    ``key`` is ``msg:{channel}:{ts}`` (the same for Slack's retries). The text is cleared once the
    reply has been processed.
    """

    __tablename__ = "inbound_message"

    key: str = Field(primary_key=True, max_length=80)
    user_id: str = Field(max_length=32)
    channel: str = Field(max_length=32)
    ts: str = Field(max_length=32)
    text: str | None = Field(default=None, max_length=40000)
    received_at: NaiveDatetime = Field(default_factory=utcnow)
    processed_at: NaiveDatetime | None = Field(default=None, index=True)
    attempts: int = 0


class HomeChartFile(SQLModel, table=True):
    """The App Home trend chart last uploaded for a person: Slack's file id and the hash of its data.

    The same data shows the same file again (no upload on every App Home open); new data replaces the row.
    ``file_id`` is empty once Slack refused to show the file (``updated_at``: when it was uploaded or refused).
    """

    __tablename__ = "home_chart_file"

    person_id: int = Field(foreign_key="person.id", primary_key=True, ondelete="CASCADE")
    data_hash: str = Field(max_length=64)
    file_id: str = Field(max_length=32)
    updated_at: NaiveDatetime = Field(default_factory=utcnow)
