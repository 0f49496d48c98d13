"""Roll-ups per person and per team and period, so boards never scan the raw rows.

Two kinds of freshness:

* Spend (weights-independent) is recomputed from the raw usage rows for the touched
  (person, period) pairs in the same transaction that writes usage (``refresh_spend``).
* Counted artifacts depend on the scoring weights (trust, kind weights, cap). Writers only mark
  the person's period dirty, in their own transaction (an ORM event on ``Artifact`` and the usage
  writers do it); the next read refreshes the dirty people and their teams before answering
  (``ensure_fresh``). A period whose roll-ups were computed with other weights is recomputed whole.

A team's spend is its members' spend plus its team-level spend (usage rows of no person that the
config assigns to the team), kept per (team, period) in ``team_level_total`` by the same writers
(``bot.freshness.refresh_team_spend``); it is in no member's spend, so not in unmatched spend.

The formula itself is written once, in SQL, in ``_ctes``: roll-ups are that SQL restricted to
the people being refreshed, and ``check`` compares them with the same SQL over everything.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot import model_rollups
from bot.db import serialize, session_scope
from bot.freshness import (
    _SPEND_UPSERT,
    FULL_REFRESH_ABOVE,
    _ids,
    lock_team_level,
    store_team_level,
    team_level_raw,
)
from bot.scoring import Weights

log = logging.getLogger(__name__)

CHUNK = 500


def weights_key(w: Weights) -> str:
    """The weights that change counted artifacts (the spend floor does not)."""
    return json.dumps(
        [
            w.unreviewed_weight,
            w.max_artifacts_per_person,
            sorted((w.kind_weights or {}).items()),
            w.max_unreviewed_per_person,
        ]
    )


# --- the formula in SQL ---------------------------------------------------------------------------


def _value_sql(w: Weights, alias: str, params: dict[str, Any]) -> str:
    """``weight(kind) × trust(status)`` of the artifact row ``alias``, binding its parameters."""
    kinds = dict(w.kind_weights or {})
    if kinds:
        whens = []
        for i, (kind, weight) in enumerate(sorted(kinds.items())):
            params[f"k{i}"], params[f"kw{i}"] = kind, float(weight)
            whens.append(f"WHEN :k{i} THEN :kw{i}")
        kind_sql = f"(CASE {alias}.kind {' '.join(whens)} ELSE 1.0 END)"
    else:
        kind_sql = "1.0"
    trust_sql = f"(CASE {alias}.status WHEN 'kept' THEN 1.0 WHEN 'submitted' THEN :uw ELSE 0.0 END)"
    return f"{kind_sql} * {trust_sql}"


def _ctes(w: Weights, *, person_filter: str = "", raw_spend: bool = False) -> tuple[str, dict[str, Any]]:
    """CTEs ``counted`` (per person and URL after carry-over, dedup and both caps), ``pa`` (per person)
    and ``ps`` (spend): ``bot.scoring.person_counted`` in SQL.

    A URL somebody claimed with a value in an earlier period is carried over (counts 0 here). A person's
    URL counts once at its best claim, which is unreviewed unless a kept claim reaches that value; at
    most ``:ucap`` unreviewed ones count, then at most ``:cap`` in all, the highest first.
    """
    params: dict[str, Any] = {
        "uw": w.unreviewed_weight,
        "cap": w.max_artifacts_per_person,
        "ucap": w.max_unreviewed_per_person,
        "no": False,
    }
    value_a = _value_sql(w, "a", params)
    value_e = _value_sql(w, "e", params)
    if raw_spend:
        ps = f"""SELECT person_id, SUM(COALESCE(cost_usd, 0)) AS spend, SUM(input_tokens + output_tokens) AS tokens,
                   SUM(CASE WHEN priced THEN 0 ELSE 1 END) AS unpriced
            FROM usage_row WHERE period = :p AND person_id IS NOT NULL {person_filter.replace("a.", "")}
            GROUP BY person_id"""
    else:
        ps = f"""SELECT person_id, cost_usd AS spend, tokens, unpriced_rows AS unpriced
            FROM person_period_total WHERE period = :p {person_filter.replace("a.", "")}"""
    sql = f"""
    av AS (
        SELECT a.person_id, a.primary_url, MAX({value_a}) AS value,
               MAX(CASE WHEN a.status = 'kept' THEN {value_a} END) AS kept_value
        FROM artifact a
        WHERE a.period = :p AND a.removed = :no {person_filter}
          AND NOT EXISTS (
              SELECT 1 FROM artifact e
              WHERE e.primary_url = a.primary_url AND e.period < :p AND e.removed = :no AND {value_e} > 0
          )
        GROUP BY a.person_id, a.primary_url
    ),
    pv AS (
        SELECT person_id, primary_url, value,
               CASE WHEN kept_value IS NOT NULL AND kept_value >= value THEN 1 ELSE 0 END AS reviewed
        FROM av WHERE value > 0
    ),
    ur AS (
        SELECT person_id, primary_url, value, reviewed,
               ROW_NUMBER() OVER (PARTITION BY person_id, reviewed ORDER BY value DESC, primary_url) AS urn
        FROM pv
    ),
    ranked AS (
        SELECT person_id, primary_url, value,
               ROW_NUMBER() OVER (PARTITION BY person_id ORDER BY value DESC, primary_url) AS rn
        FROM ur WHERE reviewed = 1 OR urn <= :ucap
    ),
    counted AS (SELECT person_id, primary_url, value FROM ranked WHERE rn <= :cap),
    pa AS (SELECT person_id, SUM(value) AS arts, COUNT(*) AS n FROM counted GROUP BY person_id),
    ps AS ({ps})"""
    return sql, params


def raw_person_artifacts(
    session: Session, period: str, w: Weights, person_ids: list[int] | None = None
) -> dict[int, tuple[float, int]]:
    """(counted artifacts, count) per person from the raw artifacts."""
    filt = f"AND a.person_id IN ({_ids(person_ids)})" if person_ids is not None else ""
    if person_ids is not None and not person_ids:
        return {}
    ctes, params = _ctes(w, person_filter=filt)
    params["p"] = period
    return {
        pid: (float(a), int(n))
        for pid, a, n in session.execute(text(f"WITH {ctes} SELECT person_id, arts, n FROM pa"), params).all()
    }


def raw_team_rows(
    session: Session, period: str, w: Weights, team_ids: list[int] | None = None, *, raw_spend: bool = False
) -> dict[int, tuple[float, int, float, int, int, float, int]]:
    """Per team: (artifacts, count, spend, tokens, unpriced rows, unmatched spend, members) by the formula.

    Spend, tokens and unpriced rows are the members' plus the team's team-level usage; unmatched spend is
    the members' alone (team-level spend belongs to no member).
    """
    if team_ids is not None and not team_ids:
        return {}
    team_filter = f"AND tm0.team_id IN ({_ids(team_ids)})" if team_ids is not None else ""
    person_filter = (
        f"AND a.person_id IN (SELECT tm0.person_id FROM team_member tm0 WHERE 1 = 1 {team_filter})"
        if team_ids is not None
        else ""
    )
    ctes, params = _ctes(w, person_filter=person_filter, raw_spend=raw_spend)
    params["p"] = period
    where_t = f"WHERE t.id IN ({_ids(team_ids)})" if team_ids is not None else ""
    # Team-level spend (usage rows of no person assigned to the team) is the team's too, not a member's:
    # in its spend, tokens and unpriced rows, never in its unmatched spend.
    tl_filter = f"AND team_id IN ({_ids(team_ids)})" if team_ids is not None else ""
    if raw_spend:
        tl = f"""SELECT team_id, SUM(COALESCE(cost_usd, 0)) AS spend, SUM(input_tokens + output_tokens) AS tokens,
                   SUM(CASE WHEN priced THEN 0 ELSE 1 END) AS unpriced
            FROM usage_row WHERE period = :p AND person_id IS NULL AND team_id IS NOT NULL {tl_filter}
            GROUP BY team_id"""
    else:
        tl = f"""SELECT team_id, cost_usd AS spend, tokens, unpriced_rows AS unpriced
            FROM team_level_total WHERE period = :p {tl_filter}"""
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
    tn AS (SELECT team_id, COUNT(*) AS members FROM team_member GROUP BY team_id),
    tl AS ({tl})
    SELECT t.id, COALESCE(ta.arts, 0), COALESCE(ta.n, 0), COALESCE(tsp.spend, 0) + COALESCE(tl.spend, 0),
           COALESCE(tsp.tokens, 0) + COALESCE(tl.tokens, 0), COALESCE(tsp.unpriced, 0) + COALESCE(tl.unpriced, 0),
           COALESCE(tsp.unmatched, 0), COALESCE(tn.members, 0)
    FROM team t
    LEFT JOIN ta ON ta.team_id = t.id
    LEFT JOIN tsp ON tsp.team_id = t.id
    LEFT JOIN tn ON tn.team_id = t.id
    LEFT JOIN tl ON tl.team_id = t.id
    {where_t}
    """
    return {
        tid: (float(a), int(n), float(s), int(tk), int(u), float(um), int(m))
        for tid, a, n, s, tk, u, um, m in session.execute(text(sql), params).all()
    }


# --- refreshing ----------------------------------------------------------------------------------


def _store_people(session: Session, period: str, w: Weights, person_ids: list[int] | None) -> None:
    arts = raw_person_artifacts(session, period, w, person_ids)
    # Zero only what is not zero already: most people of a period have no artifacts, and rewriting all
    # their rows is most of a whole-period refresh on PostgreSQL.
    nonzero = "(artifacts <> 0 OR artifact_count <> 0)"
    if person_ids is None:
        session.execute(
            text(f"UPDATE person_period_total SET artifacts = 0, artifact_count = 0 WHERE period = :p AND {nonzero}"),
            {"p": period},
        )
    else:
        for i in range(0, len(person_ids), CHUNK):
            session.execute(
                text(
                    f"UPDATE person_period_total SET artifacts = 0, artifact_count = 0 "
                    f"WHERE period = :p AND person_id IN ({_ids(person_ids[i : i + CHUNK])}) AND {nonzero}"
                ),
                {"p": period},
            )
    rows = [{"pid": pid, "p": period, "a": a, "n": n} for pid, (a, n) in arts.items()]
    if rows:
        session.execute(
            text(
                "INSERT INTO person_period_total (person_id, period, cost_usd, tokens, usage_rows, unpriced_rows, "
                "artifacts, artifact_count) VALUES (:pid, :p, 0, 0, 0, 0, :a, :n) "
                "ON CONFLICT (person_id, period) DO UPDATE SET artifacts = excluded.artifacts, "
                "artifact_count = excluded.artifact_count"
            ),
            rows,
        )


def _store_teams(session: Session, period: str, w: Weights, team_ids: list[int] | None) -> None:
    if team_ids is not None and not team_ids:
        return  # dirty people in no team (PostgreSQL refuses "IN ()")
    rows = raw_team_rows(session, period, w, team_ids)
    if team_ids is None:
        session.execute(text("DELETE FROM team_period_total WHERE period = :p"), {"p": period})
    else:
        session.execute(
            text(f"DELETE FROM team_period_total WHERE period = :p AND team_id IN ({_ids(team_ids)})"), {"p": period}
        )
    payload = [
        {"t": tid, "p": period, "a": a, "n": n, "s": s, "tk": tk, "u": u, "um": um, "m": m}
        for tid, (a, n, s, tk, u, um, m) in rows.items()
    ]
    if payload:
        session.execute(
            text(
                "INSERT INTO team_period_total (team_id, period, artifacts, artifact_count, cost_usd, tokens, "
                "unpriced_rows, unmatched_usd, members) VALUES (:t, :p, :a, :n, :s, :tk, :u, :um, :m)"
            ),
            payload,
        )


def refresh_period(session: Session, period: str, w: Weights, *, spend: bool = True) -> None:
    """Recompute a whole period (spend, people's artifacts, teams) and record the weights used.

    With ``spend=False`` the people's spend roll-ups are trusted (every usage writer refreshes them
    in its own transaction) and only artifacts and teams are recomputed: no scan of the raw usage
    rows, which at millions of rows is what would make a command slow.
    """
    # Here, not at the top: reading a board imports this module, and needs no table models (~0.1 s).
    from bot.models import utcnow

    _lock_period(session, period)
    # What this refresh answers for, read before computing: marks and stale flags that writers
    # commit while it runs are newer and survive it.
    generation = session.execute(
        text("SELECT generation FROM rollup_period WHERE period = :p"), {"p": period}
    ).scalar_one_or_none()
    seen = _marks(session, period)
    if spend:
        lock_team_level(session)  # before the people's rows, as the usage writers take it (no deadlock)
        session.execute(text("DELETE FROM person_period_total WHERE period = :period"), {"period": period})
        session.execute(text(_SPEND_UPSERT.format(person_filter="")), {"period": period})
        store_team_level(session, period)
        # Boards do not need the per-model rows: the report recomputes them on its first read.
        model_rollups.mark_stale(session, period)
    _store_people(session, period, w, None)
    _store_teams(session, period, w, None)
    _clear_marks(session, period, seen)
    if generation is None:
        # Another refresh of this never-computed period may have finished meanwhile (SQLite takes no
        # lock before reading): it computed the same rows, so either record will do.
        session.execute(
            text(
                "INSERT INTO rollup_period (period, weights_key, computed_at, generation) "
                "VALUES (:p, :k, :now, 0) ON CONFLICT (period) DO NOTHING"
            ),
            {"k": weights_key(w), "now": utcnow(), "p": period},
        )
    else:
        session.execute(
            text("UPDATE rollup_period SET weights_key = :k, computed_at = :now WHERE period = :p AND generation = :g"),
            {"k": weights_key(w), "now": utcnow(), "p": period, "g": generation},
        )


def _state(session: Session, period: str) -> tuple[str | None, bool]:
    """The weights a period was computed with (None: never) and whether anybody is marked dirty."""
    key, marked = session.execute(
        text(
            "SELECT (SELECT weights_key FROM rollup_period WHERE period = :p), "
            "EXISTS (SELECT 1 FROM rollup_dirty WHERE period = :p)"
        ),
        {"p": period},
    ).one()
    return key, bool(marked)


def _lock_period(session: Session, period: str) -> None:
    """Serialise refreshes of one period until this transaction ends (PostgreSQL).

    Two requests refreshing a period at once would each delete its team rows and insert them again;
    on PostgreSQL the second insert would hit the primary key, so the second waits for the first.
    SQLite needs no lock: a refresh reads before its first write, and its writes wait for the one
    write lock, so the second refresh replaces the first's rows (computed from the same data);
    taking the lock before the reads would only make every other writer wait longer.
    """
    if session.get_bind().dialect.name == "postgresql":
        serialize(session, f"rollup:{period}")


def _marks(session: Session, period: str) -> list[tuple[int, int]]:
    """The period's dirty marks as (person, version)."""
    rows = session.execute(text("SELECT person_id, version FROM rollup_dirty WHERE period = :p"), {"p": period})
    return [(int(pid), int(v)) for pid, v in rows]


def _clear_marks(session: Session, period: str, seen: list[tuple[int, int]]) -> None:
    """Delete the marks this refresh saw, unless a writer has marked the person again since."""
    for i in range(0, len(seen), CHUNK):
        pairs = ", ".join(f"({int(pid)}, {int(v)})" for pid, v in seen[i : i + CHUNK])  # integers only
        session.execute(
            text(f"DELETE FROM rollup_dirty WHERE period = :p AND (person_id, version) IN (VALUES {pairs})"),
            {"p": period},
        )


def ensure_fresh(session: Session, period: str, w: Weights) -> None:
    """Bring a period's roll-ups up to date before reading them (cheap when nothing changed)."""
    # One round trip in the common case: computed with these weights, nobody marked.
    key, marked = _state(session, period)
    if key == weights_key(w) and not marked:
        return
    _lock_period(session, period)
    key, marked = _state(session, period)  # again: another transaction may have done it meanwhile
    if key is None:
        refresh_period(session, period, w)  # never computed: everything from the raw rows
        return
    if key != weights_key(w):
        refresh_period(session, period, w, spend=False)  # other weights, or marked stale
        return
    if not marked:
        return
    seen = _marks(session, period)
    dirty = sorted({pid for pid, _ in seen})
    if not dirty:
        return
    if len(dirty) > FULL_REFRESH_ABOVE:
        refresh_period(session, period, w, spend=False)
        return
    _store_people(session, period, w, dirty)
    teams = [
        t
        for (t,) in session.execute(
            text(f"SELECT DISTINCT team_id FROM team_member WHERE person_id IN ({_ids(dirty)})")
        )
    ]
    _store_teams(session, period, w, teams)
    _clear_marks(session, period, seen)


def rebuild_all(engine: Engine, w: Weights | None = None) -> None:
    """Recompute every period's roll-ups from the raw rows."""
    w = w or Weights()
    with session_scope(engine) as s:
        periods = sorted(
            {
                p
                for (p,) in s.execute(
                    text("SELECT DISTINCT period FROM usage_row UNION SELECT DISTINCT period FROM artifact")
                )
            }
        )
    for period in periods:
        with session_scope(engine) as s:
            refresh_period(s, period, w)
            model_rollups.refresh_period(s, period)


@dataclass
class Difference:
    """A roll-up value that does not match the raw rows."""

    what: str
    key: str
    period: str
    rollup: Any
    raw: Any


def check(session: Session, w: Weights, *, period: str | None = None, tolerance: float = 1e-6) -> list[Difference]:
    """Recompute from the raw rows and compare with the stored roll-ups (after applying pending marks)."""
    periods = (
        [period]
        if period
        else sorted(
            {
                p
                for (p,) in session.execute(
                    text(
                        "SELECT DISTINCT period FROM usage_row UNION SELECT DISTINCT period FROM artifact "
                        "UNION SELECT DISTINCT period FROM person_period_total"
                    )
                )
            }
        )
    )
    out: list[Difference] = []
    for p in periods:
        ensure_fresh(session, p, w)
        raw_spend = {
            pid: (float(c), int(t), int(n), int(u))
            for pid, c, t, n, u in session.execute(
                text(
                    "SELECT person_id, SUM(COALESCE(cost_usd, 0)), SUM(input_tokens + output_tokens), COUNT(*), "
                    "SUM(CASE WHEN priced THEN 0 ELSE 1 END) FROM usage_row "
                    "WHERE period = :p AND person_id IS NOT NULL GROUP BY person_id"
                ),
                {"p": p},
            )
        }
        raw_arts = raw_person_artifacts(session, p, w)
        stored = {
            pid: (float(c), int(t), int(n), int(u), float(a), int(k))
            for pid, c, t, n, u, a, k in session.execute(
                text(
                    "SELECT person_id, cost_usd, tokens, usage_rows, unpriced_rows, artifacts, artifact_count "
                    "FROM person_period_total WHERE period = :p"
                ),
                {"p": p},
            )
        }
        for pid in sorted(set(raw_spend) | set(raw_arts) | set(stored)):
            expected = (*raw_spend.get(pid, (0.0, 0, 0, 0)), *raw_arts.get(pid, (0.0, 0)))
            got = stored.get(pid, (0.0, 0, 0, 0, 0.0, 0))
            if (
                abs(got[0] - expected[0]) > tolerance
                or abs(got[4] - expected[4]) > tolerance
                or got[1:4] != expected[1:4]
                or got[5] != expected[5]
            ):
                out.append(Difference("person", str(pid), p, got, expected))
        raw_teams = raw_team_rows(session, p, w, raw_spend=True)
        stored_teams = {
            tid: (float(a), int(n), float(s), int(tk), int(u), float(um), int(m))
            for tid, a, n, s, tk, u, um, m in session.execute(
                text(
                    "SELECT team_id, artifacts, artifact_count, cost_usd, tokens, unpriced_rows, "
                    "unmatched_usd, members FROM team_period_total WHERE period = :p"
                ),
                {"p": p},
            )
        }
        raw_level = team_level_raw(session, p)
        stored_level = {
            int(t): (float(c), int(tk), int(n), int(u))
            for t, c, tk, n, u in session.execute(
                text(
                    "SELECT team_id, cost_usd, tokens, usage_rows, unpriced_rows FROM team_level_total "
                    "WHERE period = :p"
                ),
                {"p": p},
            )
        }
        for tid in sorted(set(raw_level) | set(stored_level)):
            got_l, exp_l = stored_level.get(tid, (0.0, 0, 0, 0)), raw_level.get(tid, (0.0, 0, 0, 0))
            if abs(got_l[0] - exp_l[0]) > tolerance or got_l[1:] != exp_l[1:]:
                out.append(Difference("team-level", str(tid), p, got_l, exp_l))
        for tid in sorted(set(raw_teams) | set(stored_teams)):
            e, g = raw_teams.get(tid), stored_teams.get(tid)
            if e is None or g is None or any(abs(float(x) - float(y)) > tolerance for x, y in zip(e, g, strict=True)):
                out.append(Difference("team", str(tid), p, g, e))
        for key, got, expected in model_rollups.differences(session, p, tolerance=tolerance):
            out.append(Difference("model", key, p, got, expected))
    return out
