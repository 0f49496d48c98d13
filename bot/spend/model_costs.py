"""Cost by model for a team: where the money went and where a cheaper model would have served."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, text
from sqlmodel import Session

from bot import model_rollups
from bot.periods import bounds
from bot.spend.prices import unit_prices

# A model counts as premium when its list price for output tokens is at least this (USD per million).
PREMIUM_OUTPUT_USD_PER_MTOK = 10.0


@dataclass
class ModelCost:
    """One model's share of a team's spend in a period."""

    provider: str
    model: str
    cost_usd: float
    tokens: int
    share: float
    cost_per_artifact: float | None
    premium: bool
    unpriced_rows: int = 0  # rows of this model with no cost that the price table could not price
    unpriced_tokens: int = 0  # their tokens (not in ``cost_usd``: never priced at zero)

    def as_json(self) -> dict[str, object]:
        return {
            "provider": self.provider,
            "model": self.model,
            "cost_usd": round(self.cost_usd, 6),
            "tokens": self.tokens,
            "share": round(self.share, 4),
            "cost_per_artifact": None if self.cost_per_artifact is None else round(self.cost_per_artifact, 4),
            "premium": self.premium,
            "unpriced_rows": self.unpriced_rows,
            "unpriced_tokens": self.unpriced_tokens,
        }


def is_premium(provider: str, model: str, day: dt.date) -> bool:
    """Premium by the maintained price table (output price per million tokens)."""
    prices = unit_prices(provider, model, day)
    return prices is not None and prices.output * 1_000_000 >= PREMIUM_OUTPUT_USD_PER_MTOK


def team_model_costs(session: Session, team_id: int, period: str, team_artifacts: float) -> list[ModelCost]:
    """Spend per model of a team's members, its share, the team's cost per artifact attributable to it."""
    model_rollups.ensure_fresh(session, period)  # per-model roll-ups: no raw usage rows read
    rows = session.execute(
        text(
            "SELECT m.provider, m.model, SUM(m.cost_usd), SUM(m.tokens) "
            "FROM person_model_total m JOIN team_member tm ON tm.person_id = m.person_id "
            "WHERE m.period = :p AND tm.team_id = :t GROUP BY m.provider, m.model"
        ),
        {"p": period, "t": team_id},
    ).all()
    return _costs(rows, period, team_artifacts, unpriced_by_model(session, period, team_id=team_id))


def model_costs(session: Session, period: str, artifacts: float, *, team_id: int | None = None) -> list[ModelCost]:
    """Spend per model in ``period``: of one team (:func:`team_model_costs`), or of the whole organisation.

    The organisation's reads every usage row, so unattributed spend counts in it; ``artifacts``
    are those the cost per artifact is of.
    """
    if team_id is not None:
        return team_model_costs(session, team_id, period, artifacts)
    rows = session.execute(
        text(
            "SELECT provider, model, SUM(COALESCE(cost_usd, 0)), SUM(input_tokens + output_tokens) FROM usage_row "
            "WHERE period = :p GROUP BY provider, model"
        ),
        {"p": period},
    ).all()
    return _costs(rows, period, artifacts, unpriced_by_model(session, period))


def _costs(
    rows: Sequence[Any], period: str, artifacts: float, unpriced: dict[tuple[str, str], tuple[int, int]]
) -> list[ModelCost]:
    """``(provider, model, cost, tokens)`` rows as :class:`ModelCost` lines, the most spent first."""
    total = sum(float(r[2]) for r in rows)
    day = bounds(period)[0]
    out = [
        ModelCost(
            provider=prov,
            model=model,
            cost_usd=float(cost),
            tokens=int(tokens),
            share=(float(cost) / total) if total else 0.0,
            cost_per_artifact=(float(cost) / artifacts) if artifacts else None,
            premium=is_premium(prov, model, day),
            unpriced_rows=unpriced.get((prov, model), (0, 0))[0],
            unpriced_tokens=unpriced.get((prov, model), (0, 0))[1],
        )
        for prov, model, cost, tokens in rows
    ]
    out.sort(key=lambda m: (-m.cost_usd, -m.unpriced_tokens))
    return out


def _unpriced_people(
    session: Session, period: str, team_id: int | None, person_ids: list[int] | None = None
) -> list[int]:
    """People with unpriced usage in ``period`` (of one team, or among some people), from their spend roll-ups."""
    sql = "SELECT r.person_id FROM person_period_total r WHERE r.period = :p AND r.unpriced_rows > 0"
    params: dict[str, object] = {"p": period}
    if team_id is not None:
        sql += " AND r.person_id IN (SELECT person_id FROM team_member WHERE team_id = :t)"
        params["t"] = team_id
    if person_ids is not None and len(person_ids) <= 500:
        if not person_ids:
            return []
        sql += f" AND r.person_id IN ({', '.join(str(int(p)) for p in person_ids)})"  # integers: safe to inline
    found = [int(pid) for (pid,) in session.execute(text(sql), params)]
    if person_ids is not None and len(person_ids) > 500:
        wanted = set(person_ids)
        found = [p for p in found if p in wanted]
    return found


def _unpriced_rows(session: Session, period: str, person_ids: list[int], by: str) -> list[tuple]:
    out: list[tuple] = []
    for i in range(0, len(person_ids), 500):
        ids = ", ".join(str(int(pid)) for pid in person_ids[i : i + 500])  # integers only: safe to inline
        out += session.execute(
            text(
                f"SELECT {by}, COUNT(*), SUM(input_tokens + output_tokens) FROM usage_row "
                f"WHERE period = :p AND person_id IN ({ids}) AND priced = :no GROUP BY {by}"
            ),
            {"p": period, "no": False},
        ).all()
    return out


def unpriced_by_person(
    session: Session, period: str, person_ids: list[int] | None = None
) -> dict[int, tuple[int, int]]:
    """Person id → (rows, tokens) of their usage the price table could not price (no cost of its own).

    Only people whose spend roll-up counts unpriced rows are read (from the covering usage index),
    so this costs nothing when every row is priced. ``person_ids`` limits it to those people.
    """
    people = _unpriced_people(session, period, None, person_ids)
    return {int(pid): (int(n), int(t or 0)) for pid, n, t in _unpriced_rows(session, period, people, "person_id")}


def unpriced_by_period(session: Session, person_id: int, periods: Sequence[str]) -> dict[str, tuple[int, int]]:
    """Period → (rows, tokens) of one person's unpriced usage in each of ``periods``, in one query
    (App Home's last six months; periods without any are left out)."""
    if not periods:
        return {}
    rows = session.execute(
        text(
            "SELECT period, COUNT(*), SUM(input_tokens + output_tokens) FROM usage_row "
            "WHERE period IN :ps AND person_id = :pid AND priced = :no GROUP BY period"
        ).bindparams(bindparam("ps", expanding=True)),
        {"ps": list(periods), "pid": person_id, "no": False},
    ).all()
    return {str(p): (int(n), int(t or 0)) for p, n, t in rows}


def unpriced_by_model(
    session: Session, period: str, *, team_id: int | None = None
) -> dict[tuple[str, str], tuple[int, int]]:
    """(provider, model) → (rows, tokens) of unpriced usage in ``period`` (of one team's people)."""
    people = _unpriced_people(session, period, team_id)
    out: dict[tuple[str, str], tuple[int, int]] = {}
    for i in range(0, len(people), 500):
        for prov, model, n, t in session.execute(
            text(
                "SELECT provider, model, COUNT(*), SUM(input_tokens + output_tokens) FROM usage_row "
                f"WHERE period = :p AND person_id IN ({', '.join(str(p) for p in people[i : i + 500])}) "
                "AND priced = :no GROUP BY provider, model"
            ),
            {"p": period, "no": False},
        ):
            rows, tokens = out.get((prov, model), (0, 0))
            out[(prov, model)] = (rows + int(n), tokens + int(t or 0))
    return out


def premium_share(models: list[ModelCost]) -> float:
    """Share of the spend that went to premium models."""
    return sum(m.share for m in models if m.premium)
