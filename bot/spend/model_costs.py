"""Cost by model for a team: where the money went and where a cheaper model would have served."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import text
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

    def as_json(self) -> dict[str, object]:
        return {
            "provider": self.provider,
            "model": self.model,
            "cost_usd": round(self.cost_usd, 6),
            "tokens": self.tokens,
            "share": round(self.share, 4),
            "cost_per_artifact": None if self.cost_per_artifact is None else round(self.cost_per_artifact, 4),
            "premium": self.premium,
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
    total = sum(float(r[2]) for r in rows) or 0.0
    day = bounds(period)[0]
    out = [
        ModelCost(
            provider=prov,
            model=model,
            cost_usd=float(cost),
            tokens=int(tokens),
            share=(float(cost) / total) if total else 0.0,
            cost_per_artifact=(float(cost) / team_artifacts) if team_artifacts else None,
            premium=is_premium(prov, model, day),
        )
        for prov, model, cost, tokens in rows
    ]
    out.sort(key=lambda m: -m.cost_usd)
    return out


def premium_share(models: list[ModelCost]) -> float:
    """Share of the spend that went to premium models."""
    return sum(m.share for m in models if m.premium)
