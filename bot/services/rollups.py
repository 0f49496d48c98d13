"""Roll-ups of usage per person and period, maintained in the same transaction as the raw rows.

The raw usage table can hold tens of millions of rows; every board and report reads the roll-up.
``refresh_spend`` recomputes the roll-up rows of the given (person, period) pairs from the raw rows
(an indexed aggregate), so it is exact after any kind of change: import, re-sync replacing days,
a person merged into another, a person forgotten.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.db import session_scope

CHUNK = 500

_UPSERT = """
INSERT INTO person_period_total (person_id, period, cost_usd, tokens, usage_rows, unpriced_rows)
SELECT person_id, period, SUM(COALESCE(cost_usd, 0)), SUM(input_tokens + output_tokens), COUNT(*),
       SUM(CASE WHEN priced THEN 0 ELSE 1 END)
FROM usage_row
WHERE period = :period AND person_id IS NOT NULL {person_filter}
GROUP BY person_id, period
ON CONFLICT (person_id, period) DO UPDATE SET
    cost_usd = excluded.cost_usd, tokens = excluded.tokens, usage_rows = excluded.usage_rows,
    unpriced_rows = excluded.unpriced_rows
"""


def refresh_spend(session: Session, pairs: Iterable[tuple[int | None, str]]) -> None:
    """Recompute the roll-up of these (person, period) pairs from the raw usage rows."""
    by_period: dict[str, set[int]] = {}
    for pid, period in pairs:
        if pid is not None:
            by_period.setdefault(period, set()).add(int(pid))
    for period, ids in by_period.items():
        ordered = sorted(ids)
        for i in range(0, len(ordered), CHUNK):
            chunk = ordered[i : i + CHUNK]
            in_list = ", ".join(str(pid) for pid in chunk)  # integers only: safe to inline
            session.execute(text(f"DELETE FROM person_period_total WHERE period = :period "
                                 f"AND person_id IN ({in_list})"), {"period": period})
            session.execute(text(_UPSERT.format(person_filter=f"AND person_id IN ({in_list})")),
                            {"period": period})


def refresh_period(session: Session, period: str) -> None:
    """Recompute the whole period's roll-up (used after bulk loads and by repairs)."""
    session.execute(text("DELETE FROM person_period_total WHERE period = :period"), {"period": period})
    session.execute(text(_UPSERT.format(person_filter="")), {"period": period})


def rebuild_all(engine: Engine) -> None:
    """Recompute every period's roll-up from the raw rows."""
    with session_scope(engine) as s:
        periods = [p for (p,) in s.execute(text("SELECT DISTINCT period FROM usage_row"))]
    for period in periods:
        with session_scope(engine) as s:
            refresh_period(s, period)


@dataclass
class Difference:
    """A roll-up row that does not match the raw rows."""

    person_id: int
    period: str
    rollup: tuple[float, int, int, int] | None
    raw: tuple[float, int, int, int] | None


def check(session: Session, *, period: str | None = None, tolerance: float = 1e-6) -> list[Difference]:
    """Compare the roll-up with a recomputation from the raw rows; returns every difference."""
    where = "WHERE period = :period" if period else ""
    params = {"period": period} if period else {}
    raw = {
        (pid, p): (float(c), int(t), int(n), int(u))
        for pid, p, c, t, n, u in session.execute(text(
            f"SELECT person_id, period, SUM(COALESCE(cost_usd, 0)), SUM(input_tokens + output_tokens), COUNT(*), "
            f"SUM(CASE WHEN priced THEN 0 ELSE 1 END) FROM usage_row {where} "
            f"{'AND' if where else 'WHERE'} person_id IS NOT NULL GROUP BY person_id, period"), params)
    }
    rolled = {
        (pid, p): (float(c), int(t), int(n), int(u))
        for pid, p, c, t, n, u in session.execute(text(
            f"SELECT person_id, period, cost_usd, tokens, usage_rows, unpriced_rows FROM person_period_total {where}"),
            params)
    }
    out = []
    for key in sorted(set(raw) | set(rolled), key=lambda k: (k[1], k[0])):
        a, b = rolled.get(key), raw.get(key)
        if a is None or b is None or abs(a[0] - b[0]) > tolerance or a[1:] != b[1:]:
            out.append(Difference(person_id=key[0], period=key[1], rollup=a, raw=b))
    return out
