"""Leaderboards computed in SQL aggregates (never by loading every row into Python)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import text
from sqlmodel import Session

from bot.periods import previous
from bot.scoring import Weights, cleared, rank_key, score


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
    team_id: int | None = None
    members: int | None = None
    monthly_budget_usd: float | None = None
    channel: str | None = None
    person_id: int | None = None
    slack_user_id: str | None = None
    email: str | None = None

    def as_json(self, *, by: str) -> dict[str, Any]:
        """The machine output of ``leaderboard --format json``."""
        d = asdict(self)
        out = {
            "rank": self.rank,
            "name": self.name,
            "artifacts": round(self.artifacts, 6),
            "spend_usd": round(self.spend_usd, 6),
            "artifacts_per_100_usd": round(self.artifacts_per_100_usd, 6),
            "unmatched_spend_usd": round(self.unmatched_spend_usd, 6),
            "bar": None if self.bar is None else round(self.bar, 6),
            "cleared_bar": self.cleared_bar,
            "tokens": self.tokens,
            "artifact_count": self.artifact_count,
            "unpriced_rows": self.unpriced_rows,
        }
        if by == "person":
            out.update(slack_user_id=d["slack_user_id"], email=d["email"])
        else:
            out.update(members=self.members, monthly_budget_usd=self.monthly_budget_usd)
        return out


def _counted_ctes(w: Weights) -> tuple[str, dict[str, Any]]:
    """CTEs ``counted`` (per person and URL, after dedup and cap), ``pa`` and ``ps``."""
    params: dict[str, Any] = {"uw": w.unreviewed_weight, "cap": w.max_artifacts_per_person, "no": False}
    kinds = dict(w.kind_weights or {})
    if kinds:
        whens = []
        for i, (kind, weight) in enumerate(sorted(kinds.items())):
            params[f"k{i}"], params[f"kw{i}"] = kind, float(weight)
            whens.append(f"WHEN :k{i} THEN :kw{i}")
        kind_sql = f"(CASE a.kind {' '.join(whens)} ELSE 1.0 END)"
    else:
        kind_sql = "1.0"
    trust_sql = "(CASE a.status WHEN 'kept' THEN 1.0 WHEN 'submitted' THEN :uw ELSE 0.0 END)"
    sql = f"""
    av AS (
        SELECT a.person_id, a.primary_url, MAX({kind_sql} * {trust_sql}) AS value
        FROM artifact a
        WHERE a.period = :p AND a.removed = :no
        GROUP BY a.person_id, a.primary_url
    ),
    ranked AS (
        SELECT person_id, primary_url, value,
               ROW_NUMBER() OVER (PARTITION BY person_id ORDER BY value DESC, primary_url) AS rn
        FROM av WHERE value > 0
    ),
    counted AS (SELECT person_id, primary_url, value FROM ranked WHERE rn <= :cap),
    pa AS (SELECT person_id, SUM(value) AS arts, COUNT(*) AS n FROM counted GROUP BY person_id),
    ps AS (
        SELECT person_id, cost_usd AS spend, tokens, unpriced_rows AS unpriced
        FROM person_period_total WHERE period = :p
    )"""
    return sql, params


def _team_rows(session: Session, period: str, w: Weights) -> list[BoardRow]:
    ctes, params = _counted_ctes(w)
    params["p"] = period
    sql = f"""
    WITH {ctes},
    tu AS (
        SELECT tm.team_id, c.primary_url, MAX(c.value) AS v
        FROM counted c JOIN team_member tm ON tm.person_id = c.person_id
        GROUP BY tm.team_id, c.primary_url
    ),
    ta AS (SELECT team_id, SUM(v) AS arts, COUNT(*) AS n FROM tu GROUP BY team_id),
    tsp AS (
        SELECT tm.team_id, SUM(ps.spend) AS spend, SUM(ps.tokens) AS tokens, SUM(ps.unpriced) AS unpriced,
               SUM(CASE WHEN COALESCE(pa.arts, 0) = 0 THEN ps.spend ELSE 0 END) AS unmatched
        FROM team_member tm
        JOIN ps ON ps.person_id = tm.person_id
        LEFT JOIN pa ON pa.person_id = tm.person_id
        GROUP BY tm.team_id
    ),
    tn AS (SELECT team_id, COUNT(*) AS members FROM team_member GROUP BY team_id)
    SELECT t.id, t.name, t.channel, t.monthly_budget_usd,
           COALESCE(ta.arts, 0), COALESCE(ta.n, 0), COALESCE(tsp.spend, 0), COALESCE(tsp.tokens, 0),
           COALESCE(tsp.unpriced, 0), COALESCE(tsp.unmatched, 0), COALESCE(tn.members, 0)
    FROM team t
    LEFT JOIN ta ON ta.team_id = t.id
    LEFT JOIN tsp ON tsp.team_id = t.id
    LEFT JOIN tn ON tn.team_id = t.id
    """
    rows = []
    for tid, name, channel, budget, arts, n, spend, tokens, unpriced, unmatched, members in session.execute(
        text(sql), params
    ):
        arts, spend = float(arts), float(spend)
        rows.append(
            BoardRow(
                rank=0,
                name=name,
                artifacts=arts,
                spend_usd=spend,
                artifacts_per_100_usd=score(arts, spend, w.spend_floor_usd),
                unmatched_spend_usd=float(unmatched),
                bar=None,
                cleared_bar=None,
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
    ctes, params = _counted_ctes(w)
    params["p"] = period
    where = "(p.is_active = :yes OR pa.person_id IS NOT NULL OR ps.person_id IS NOT NULL)"
    params["yes"] = True
    if team_id is not None:
        where += " AND p.id IN (SELECT person_id FROM team_member WHERE team_id = :team)"
        params["team"] = team_id
    sql = f"""
    WITH {ctes}
    SELECT p.id, p.slack_user_id, p.email, p.name,
           COALESCE(pa.arts, 0), COALESCE(pa.n, 0), COALESCE(ps.spend, 0), COALESCE(ps.tokens, 0),
           COALESCE(ps.unpriced, 0)
    FROM person p
    LEFT JOIN pa ON pa.person_id = p.id
    LEFT JOIN ps ON ps.person_id = p.id
    WHERE {where}
    """
    rows = []
    for pid, slack, email, name, arts, n, spend, tokens, unpriced in session.execute(text(sql), params):
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

    The bar of each row is its own score in the previous period, when it had any spend or
    artifacts there (none in a first month).
    """

    def compute(p: str) -> list[BoardRow]:
        return _team_rows(session, p, w) if by == "team" else _person_rows(session, p, w, team_id)

    rows = compute(period)
    if with_bar:
        prev = {_key(r): r for r in compute(previous(period)) if r.spend_usd > 0 or r.artifact_count > 0}
        for r in rows:
            before = prev.get(_key(r))
            r.bar = before.artifacts_per_100_usd if before else None
            r.cleared_bar = cleared(r.artifacts_per_100_usd, r.bar)
    return _rank(rows)


def counted_artifact_values(
    session: Session, period: str, w: Weights, person_ids: list[int]
) -> dict[int, dict[str, float]]:
    """For some people, URL → counted value (after dedup and cap): which artifacts count."""
    if not person_ids:
        return {}
    ctes, params = _counted_ctes(w)
    params["p"] = period
    out: dict[int, dict[str, float]] = {}
    chunk = 500
    for i in range(0, len(person_ids), chunk):
        ids = person_ids[i : i + chunk]
        names = ", ".join(f":id{j}" for j in range(len(ids)))
        params.update({f"id{j}": pid for j, pid in enumerate(ids)})
        sql = f"WITH {ctes} SELECT person_id, primary_url, value FROM counted WHERE person_id IN ({names})"
        for pid, url, value in session.execute(text(sql), params):
            out.setdefault(pid, {})[url] = float(value)
    return out
