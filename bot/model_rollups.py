"""Per-person, per-model roll-ups of spend, so the report's cost per model reads no raw usage rows.

Freshness, like the spend roll-ups (``bot.boards.rollups``):

* A usage write touching a few people recomputes their rows in its own transaction
  (``refresh_people``) and bumps the period's ``generation``.
* A big write (an import touching thousands of people) only marks the period not current
  (``mark_stale``); the next read recomputes the period once from the raw rows
  (``ensure_fresh``), and records it as current only if no write bumped the generation meanwhile.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlmodel import Session

from bot.db import serialize

_RAW = """
SELECT person_id, period, provider, model, SUM(COALESCE(cost_usd, 0)), SUM(input_tokens + output_tokens)
FROM usage_row
WHERE period = :p AND person_id IS NOT NULL {people}
GROUP BY person_id, period, provider, model
"""
_AGGREGATE = (
    "INSERT INTO person_model_total (person_id, period, provider, model, cost_usd, tokens)"
    + _RAW
    + "ON CONFLICT (person_id, period, provider, model) DO UPDATE SET "
    "cost_usd = excluded.cost_usd, tokens = excluded.tokens"
)


def _bump(session: Session, period: str, *, stale: bool) -> None:
    flag = "current = FALSE, " if stale else ""
    session.execute(
        text(
            "INSERT INTO model_rollup_period (period, current, generation) VALUES (:p, FALSE, 1) "
            f"ON CONFLICT (period) DO UPDATE SET {flag}generation = model_rollup_period.generation + 1"
        ),
        {"p": period},
    )


def refresh_people(session: Session, period: str, person_ids: Sequence[int]) -> None:
    """Recompute these people's rows of ``period`` from the raw rows (in the writing transaction)."""
    if not person_ids:
        return
    ids = ", ".join(str(int(i)) for i in sorted(set(person_ids)))  # integers only: safe to inline
    people = f"AND person_id IN ({ids})"
    session.execute(text(f"DELETE FROM person_model_total WHERE period = :p {people}"), {"p": period})
    session.execute(text(_AGGREGATE.format(people=people)), {"p": period})
    _bump(session, period, stale=False)  # after the rows, in the same order as a full refresh


def mark_stale(session: Session, period: str) -> None:
    """Too many people changed to refresh each: recompute the period on its next read."""
    _bump(session, period, stale=True)


def ensure_fresh(session: Session, period: str) -> None:
    """Bring a period's per-model rows up to date before reading them (cheap when current)."""
    state = "SELECT current, generation FROM model_rollup_period WHERE period = :p"
    row = session.execute(text(state), {"p": period}).one_or_none()
    if row is not None and row[0]:
        return
    serialize(session, f"models:{period}")
    row = session.execute(text(state), {"p": period}).one_or_none()
    if row is not None and row[0]:
        return
    refresh_period(session, period, generation=None if row is None else int(row[1]))


def refresh_period(session: Session, period: str, *, generation: int | None = None) -> None:
    """Recompute a whole period from the raw rows; record it current unless a write came meanwhile."""
    if generation is None:
        found = session.execute(
            text("SELECT generation FROM model_rollup_period WHERE period = :p"), {"p": period}
        ).scalar_one_or_none()
        generation = None if found is None else int(found)
    session.execute(text("DELETE FROM person_model_total WHERE period = :p"), {"p": period})
    session.execute(text(_AGGREGATE.format(people="")), {"p": period})
    if generation is None:
        session.execute(
            text(
                "INSERT INTO model_rollup_period (period, current, generation) VALUES (:p, TRUE, 0) "
                "ON CONFLICT (period) DO NOTHING"
            ),
            {"p": period},
        )
    else:
        session.execute(
            text("UPDATE model_rollup_period SET current = TRUE WHERE period = :p AND generation = :g"),
            {"p": period, "g": generation},
        )


def differences(session: Session, period: str, *, tolerance: float = 1e-6) -> list[tuple[str, tuple, tuple]]:
    """Stored rows that differ from the raw rows: ``(person:provider/model, stored, expected)``."""
    ensure_fresh(session, period)
    raw = {
        (int(pid), prov, model): (float(c), int(t))
        for pid, _, prov, model, c, t in session.execute(text(_RAW.format(people="")), {"p": period})
    }
    stored = {
        (int(pid), prov, model): (float(c), int(t))
        for pid, prov, model, c, t in session.execute(
            text("SELECT person_id, provider, model, cost_usd, tokens FROM person_model_total WHERE period = :p"),
            {"p": period},
        )
    }
    out = []
    for key in sorted(set(raw) | set(stored)):
        got, expected = stored.get(key, (0.0, 0)), raw.get(key, (0.0, 0))
        if abs(got[0] - expected[0]) > tolerance or got[1] != expected[1]:
            out.append((f"{key[0]}:{key[1]}/{key[2]}", got, expected))
    return out
