"""Leaderboards computed in SQL aggregates (never by loading every row into Python)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlmodel import Session

from bot.boards.rollups import _ctes, ensure_fresh
from bot.periods import previous
from bot.scoring import Weights, cleared, rank_key, score
from bot.slack.blocks import spend_text
from bot.spend.model_costs import unpriced_by_person


@dataclass
class BoardRow:
    """One line of a leaderboard (a team or a person)."""

    rank: int
    name: str
    artifacts: float
    spend_usd: float
    artifacts_per_100_usd: float
    unmatched_spend_usd: float
    bar: float | None
    cleared_bar: bool | None
    tokens: int = 0
    artifact_count: int = 0
    unpriced_rows: int = 0
    unpriced_tokens: int = 0
    team_id: int | None = None
    members: int | None = None
    monthly_budget_usd: float | None = None
    channel: str | None = None
    person_id: int | None = None
    slack_user_id: str | None = None
    email: str | None = None

    def as_json(self, *, by: str) -> dict[str, Any]:
        """The machine output of ``leaderboard --format json`` (and csv): the fields of :data:`FIELDS`."""
        return {f.key: f.value(self) for f in fields(by)}

    def cells(self, *, by: str) -> list[str]:
        """The row of ``leaderboard --format table``, one cell per :func:`table_columns` column."""
        return [f.cell(self) for f in fields(by) if f.label is not None]


def _r6(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def _usd(value: float) -> str:
    return f"${value:,.2f}"


@dataclass(frozen=True)
class Field:
    """One output field of the leaderboard.

    Attributes:
        key: its name in JSON and the CSV header (and the ``BoardRow`` attribute it reads).
        boards: the boards that carry it (``team``, ``person`` or both).
        label: its table column, or None when the table leaves it out.
        number: how its JSON value is written (rounded to 6 decimals when given).
        text: how its table cell is written.
        row_text: how its table cell is written when it needs the whole row (spend and unpriced usage).
    """

    key: str
    boards: tuple[str, ...] = ("team", "person")
    label: str | None = None
    number: Callable[[Any], Any] = lambda v: v
    text: Callable[[Any], str] = str
    row_text: Callable[[BoardRow], str] | None = None

    def value(self, row: BoardRow) -> Any:
        return self.number(getattr(row, self.key))

    def cell(self, row: BoardRow) -> str:
        if self.row_text is not None:
            return self.row_text(row)
        return self.text(getattr(row, self.key))


def _spend_cell(row: BoardRow) -> str:
    """Spend, with usage the price table could not price flagged, never shown as $0.00."""
    return spend_text(row.spend_usd, row.unpriced_rows, row.unpriced_tokens)


# The leaderboard's fields, once: ``leaderboard --format json|csv|table`` all write these, in this
# order. DESIGN.md's contract: rank, name, artifacts, spend_usd, artifacts_per_100_usd,
# unmatched_spend_usd, cleared_bar; with ``--by person`` also slack_user_id and email.
FIELDS: tuple[Field, ...] = (
    Field("rank", label="#"),
    Field("name", label="name"),
    Field("artifacts", label="artifacts", number=_r6, text=lambda v: f"{v:g}"),
    Field("spend_usd", label="spend", number=_r6, text=_usd, row_text=_spend_cell),
    Field("artifacts_per_100_usd", label="artifacts/$100", number=_r6, text=lambda v: f"{v:.2f}"),
    Field("unmatched_spend_usd", label="spend w/o artifact", number=_r6, text=_usd),
    Field("bar", label="bar", number=_r6, text=lambda v: "-" if v is None else f"{v:.2f}"),
    Field("cleared_bar", label="cleared", text=lambda v: {True: "yes", False: "no", None: "-"}[v]),
    Field("tokens"),
    Field("artifact_count"),
    Field("unpriced_rows"),  # usage rows with no cost of a model the price table does not know (not in spend)
    Field("unpriced_tokens"),
    Field("slack_user_id", boards=("person",)),
    Field("email", boards=("person",)),
    Field("members", boards=("team",)),
    Field("monthly_budget_usd", boards=("team",)),
)


def fields(by: str) -> tuple[Field, ...]:
    """The fields of the ``by`` board (``team`` or ``person``)."""
    return tuple(f for f in FIELDS if by in f.boards)


def field_names(by: str) -> list[str]:
    """JSON keys and CSV header of the ``by`` board, in order."""
    return [f.key for f in fields(by)]


def table_columns(by: str) -> list[str]:
    """Column titles of the ``by`` board's table."""
    return [f.label for f in fields(by) if f.label is not None]


_TEAM_SQL = """
SELECT t.id, t.name, t.channel, t.monthly_budget_usd,
       COALESCE(r.artifacts, 0), COALESCE(r.artifact_count, 0), COALESCE(r.cost_usd, 0), COALESCE(r.tokens, 0),
       COALESCE(r.unpriced_rows, 0), COALESCE(r.unmatched_usd, 0), COALESCE(r.members, 0),
       b.artifacts, b.artifact_count, b.cost_usd
FROM team t
LEFT JOIN team_period_total r ON r.team_id = t.id AND r.period = :p
LEFT JOIN team_period_total b ON b.team_id = t.id AND b.period = :prev
"""


def _team_rows(session: Session, period: str, w: Weights, prev: str | None) -> list[BoardRow]:
    """Every team's line of ``period`` and, when ``prev`` is given, its bar (its score in ``prev`` when it
    had artifacts there), in one query over the roll-ups."""
    floor = w.spend_floor_usd
    rows = []
    for (
        tid,
        name,
        channel,
        budget,
        arts,
        n,
        spend,
        tokens,
        unpriced,
        unmatched,
        members,
        b_arts,
        _b_n,
        b_spend,
    ) in session.execute(text(_TEAM_SQL), {"p": period, "prev": prev or ""}).all():
        arts, spend = float(arts), float(spend)
        value = score(arts, spend, floor)
        bar = None
        if prev is not None and b_arts is not None and float(b_arts) > 0:  # no artifacts then: no bar yet
            bar = score(float(b_arts), float(b_spend), floor)
        rows.append(
            BoardRow(
                rank=0,
                name=name,
                artifacts=arts,
                spend_usd=spend,
                artifacts_per_100_usd=value,
                unmatched_spend_usd=float(unmatched),
                bar=bar,
                cleared_bar=cleared(value, bar),
                tokens=int(tokens),
                artifact_count=int(n),
                unpriced_rows=int(unpriced),
                team_id=tid,
                members=int(members),
                monthly_budget_usd=budget,
                channel=channel,
            )
        )
    return rows


def _person_rows(session: Session, period: str, w: Weights, team_id: int | None) -> list[BoardRow]:
    params: dict[str, Any] = {"p": period, "yes": True}
    where = "(p.is_active = :yes OR r.person_id IS NOT NULL)"
    if team_id is not None:
        where += " AND p.id IN (SELECT person_id FROM team_member WHERE team_id = :team)"
        params["team"] = team_id
    sql = f"""
    SELECT p.id, p.slack_user_id, p.email, p.name,
           COALESCE(r.artifacts, 0), COALESCE(r.artifact_count, 0), COALESCE(r.cost_usd, 0), COALESCE(r.tokens, 0),
           COALESCE(r.unpriced_rows, 0)
    FROM person p LEFT JOIN person_period_total r ON r.person_id = p.id AND r.period = :p
    WHERE {where}
    """
    rows = []
    for pid, slack, email, name, arts, n, spend, tokens, unpriced in session.execute(text(sql), params).all():
        arts, spend = float(arts), float(spend)
        rows.append(
            BoardRow(
                rank=0,
                name=name or email or slack or str(pid),
                artifacts=arts,
                spend_usd=spend,
                artifacts_per_100_usd=score(arts, spend, w.spend_floor_usd),
                unmatched_spend_usd=spend if arts == 0 else 0.0,
                bar=None,
                cleared_bar=None,
                tokens=int(tokens),
                artifact_count=int(n),
                unpriced_rows=int(unpriced),
                person_id=pid,
                slack_user_id=slack,
                email=email,
            )
        )
    return rows


def _rank(rows: list[BoardRow]) -> list[BoardRow]:
    rows.sort(key=lambda r: rank_key(r.artifacts_per_100_usd, r.artifacts, r.spend_usd, r.name))
    for i, r in enumerate(rows, 1):
        r.rank = i
    return rows


def _key(row: BoardRow) -> Any:
    return row.team_id if row.team_id is not None else row.person_id


def frozen_rows(session: Session, period: str, by: str) -> list[BoardRow]:
    """The board frozen when ``period`` was closed (empty when it is still open)."""
    closed = session.execute(text("SELECT status FROM period WHERE period = :p"), {"p": period}).scalar()
    if closed != "closed":
        return []
    rows = []
    for (data,) in session.execute(
        text('SELECT row FROM board_snapshot WHERE period = :p AND "by" = :by'), {"p": period, "by": by}
    ):
        d = json.loads(data) if isinstance(data, str) else data
        rows.append(BoardRow(**{f.name: d.get(f.name) for f in dataclasses.fields(BoardRow)}))
    rows.sort(key=lambda r: r.rank)
    return rows


def board(
    session: Session,
    period: str,
    w: Weights,
    *,
    by: str = "team",
    team_id: int | None = None,
    with_bar: bool = True,
) -> list[BoardRow]:
    """The ranked leaderboard of ``period``, by team or by person (optionally one team's people).

    The bar of each row is its own score in the previous period, when it had artifacts
    there (else none: "no bar yet"). A closed period answers with the board frozen at its
    close, so late reviews or edits do not move final scores.
    """
    if team_id is None:
        frozen = frozen_rows(session, period, by)
        if frozen:
            return frozen

    if by == "team":
        # One query reads both periods' team roll-ups (the bar is last month's score).
        ensure_fresh(session, period, w)
        prev_period = previous(period) if with_bar else None
        if prev_period is not None:
            ensure_fresh(session, prev_period, w)
        return _rank(_with_unpriced_tokens(session, period, _team_rows(session, period, w, prev_period)))

    def compute(p: str) -> list[BoardRow]:
        ensure_fresh(session, p, w)
        return _person_rows(session, p, w, team_id)

    rows = _with_unpriced_tokens(session, period, compute(period))
    if with_bar:
        prev = {_key(r): r for r in compute(previous(period)) if r.artifacts > 0}  # no artifacts then: no bar yet
        for r in rows:
            before = prev.get(_key(r))
            r.bar = before.artifacts_per_100_usd if before else None
            r.cleared_bar = cleared(r.artifacts_per_100_usd, r.bar)
    return _rank(rows)


def _with_unpriced_tokens(session: Session, period: str, rows: list[BoardRow]) -> list[BoardRow]:
    """Fill the tokens of the rows' unpriced usage (only read for rows whose roll-up counts any)."""
    flagged = [r for r in rows if r.unpriced_rows]
    if not flagged:
        return rows
    if flagged[0].team_id is None:
        tokens = unpriced_by_person(session, period, [r.person_id for r in flagged if r.person_id is not None])
        for r in flagged:
            r.unpriced_tokens = tokens.get(r.person_id or 0, (0, 0))[1]
        return rows
    by_person = unpriced_by_person(session, period)
    teams = {r.team_id: r for r in flagged}
    if by_person:
        ids = ", ".join(str(int(pid)) for pid in by_person)  # integers only: safe to inline
        for tid, pid in session.execute(
            text(f"SELECT team_id, person_id FROM team_member WHERE person_id IN ({ids})")
        ).all():
            if tid in teams:
                teams[tid].unpriced_tokens += by_person[pid][1]
    return rows


def counted_artifact_values(
    session: Session, period: str, w: Weights, person_ids: list[int]
) -> dict[int, dict[str, float]]:
    """For some people, URL → counted value (after dedup and cap): which artifacts count."""
    out: dict[int, dict[str, float]] = {}
    for i in range(0, len(person_ids), 500):
        ids = ", ".join(str(int(pid)) for pid in person_ids[i : i + 500])
        ctes, params = _ctes(w, person_filter=f"AND a.person_id IN ({ids})")
        params["p"] = period
        for pid, url, value in session.execute(
            text(f"WITH {ctes} SELECT person_id, primary_url, value FROM counted"), params
        ).all():
            out.setdefault(pid, {})[url] = float(value)
    return out
