"""What keeps the roll-up tables honest: stale marks and the spend roll-up that writers keep current.

* Spend (weights-independent) is recomputed from the raw usage rows for the touched
  (person, period) pairs in the same transaction that writes usage (``refresh_spend``).
* Counted artifacts depend on the scoring weights, so writers only mark the person's period dirty,
  in their own transaction (an ORM event on ``Artifact`` and the usage writers do it); the board's
  next read refreshes them (``bot.boards.rollups.ensure_fresh``).

Core module: people, spend and artifacts write through it; boards read what it keeps.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import event, select, text
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col

from bot import model_rollups

SPEND_CHUNK = 5000  # people per spend-refresh statement (an import touches every person of a period)
FULL_REFRESH_ABOVE = 2000  # dirty people in a period beyond which one whole-period pass is cheaper
STALE = ""  # a rollup_period.weights_key no weights produce: artifacts and teams need recomputing

_SPEND_UPSERT = """
INSERT INTO person_period_total (person_id, period, cost_usd, tokens, usage_rows, unpriced_rows,
                                 artifacts, artifact_count)
SELECT person_id, period, SUM(COALESCE(cost_usd, 0)), SUM(input_tokens + output_tokens), COUNT(*),
       SUM(CASE WHEN priced THEN 0 ELSE 1 END), 0, 0
FROM usage_row
WHERE period = :period AND person_id IS NOT NULL {person_filter}
GROUP BY person_id, period
ON CONFLICT (person_id, period) DO UPDATE SET
    cost_usd = excluded.cost_usd, tokens = excluded.tokens, usage_rows = excluded.usage_rows,
    unpriced_rows = excluded.unpriced_rows
"""


def _ids(ids: Iterable[int]) -> str:
    return ", ".join(str(int(i)) for i in ids)  # integers only: safe to inline


def _mark_dirty(session: Session | OrmSession, pairs: Iterable[tuple[int, str]]) -> None:
    rows = [{"p": int(pid), "m": m} for pid, m in set(pairs)]
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    # An existing mark gets a new version, so a refresh running now (which saw the old one) keeps it.
    conflict = "ON CONFLICT (person_id, period) DO UPDATE SET version = rollup_dirty.version + 1"
    sql = f"INSERT INTO rollup_dirty (person_id, period) VALUES (:p, :m) {conflict}"
    if dialect not in ("sqlite", "postgresql"):  # pragma: no cover
        raise RuntimeError(f"unsupported database {dialect}")
    session.execute(text(sql), rows)


def mark_dirty(session: Session, pairs: Iterable[tuple[int | None, str]]) -> None:
    """Mark (person, period) roll-ups for recomputation before the next read."""
    _mark_dirty(session, [(p, m) for p, m in pairs if p is not None])


@event.listens_for(OrmSession, "before_flush")
def _artifact_changes(session: OrmSession, _ctx: Any, _instances: Any) -> None:
    """Any ORM change to an artifact or its links marks its person's period dirty, in the same flush."""
    # Imported here, not at the top: make_engine imports this module to register the event, and a
    # read-only command (leaderboard --format json) should not pay for the table models (~0.1 s).
    from bot.models import Artifact, ArtifactLink

    pairs: set[tuple[int, str]] = set()
    link_ids: set[int] = set()
    claims: dict[str, str] = {}  # URL → earliest period changed: later claims of it may be carried over or not
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        if isinstance(obj, Artifact) and obj.person_id is not None and obj.period:
            pairs.add((obj.person_id, obj.period))
            for url in {obj.primary_url, *_history(obj, "primary_url")} - {None}:
                periods = {obj.period, *_history(obj, "period")}
                claims[url] = min(claims.get(url, obj.period), *periods)
            hist = _history(obj, "person_id") | _history(obj, "period")
            if hist:
                old_pid = next(iter(_history(obj, "person_id")), obj.person_id)
                old_period = next(iter(_history(obj, "period")), obj.period)
                pairs.add((old_pid, old_period))
        elif isinstance(obj, ArtifactLink) and obj.artifact_id is not None:
            link_ids.add(obj.artifact_id)
    with session.no_autoflush:
        for aid in link_ids:
            art = session.get(Artifact, aid)
            if art is not None:
                pairs.add((art.person_id, art.period))
        if claims:
            pairs |= _later_claims(session, claims)
    if pairs:
        _mark_dirty(session, pairs)


def _later_claims(session: OrmSession, claims: dict[str, str]) -> set[tuple[int, str]]:
    """(person, period) of the claims of these URLs in periods after the one that changed."""
    from bot.models import Artifact  # see _artifact_changes

    out: set[tuple[int, str]] = set()
    urls = sorted(claims)
    for i in range(0, len(urls), 500):
        rows = session.execute(
            select(col(Artifact.person_id), col(Artifact.period), col(Artifact.primary_url)).where(
                col(Artifact.primary_url).in_(urls[i : i + 500]),
                col(Artifact.period) > min(claims[u] for u in urls[i : i + 500]),
            )
        )
        out |= {(pid, period) for pid, period, url in rows if period > claims[url]}
    return out


def _history(obj: Any, attr: str) -> set[Any]:
    from sqlalchemy import inspect as sa_inspect

    h = sa_inspect(obj).attrs[attr].history
    return set(h.deleted or ())


def refresh_spend(session: Session, pairs: Iterable[tuple[int | None, str]]) -> None:
    """Recompute the spend of these (person, period) pairs from the raw usage rows, and mark them dirty
    so their teams' totals follow."""
    by_period: dict[str, set[int]] = {}
    for pid, period in pairs:
        if pid is not None:
            by_period.setdefault(period, set()).add(int(pid))
    for period, ids in by_period.items():
        ordered = sorted(ids)
        for i in range(0, len(ordered), SPEND_CHUNK):
            chunk = ordered[i : i + SPEND_CHUNK]
            # The BETWEEN is implied by the IN list; it keeps the index range tight even when the planner
            # has no statistics yet for a period that was just imported (PostgreSQL then filtered the IN
            # list over the whole period, once per chunk).
            people = f"person_id BETWEEN {chunk[0]} AND {chunk[-1]} AND person_id IN ({_ids(chunk)})"
            session.execute(
                text(
                    f"UPDATE person_period_total SET cost_usd = 0, tokens = 0, usage_rows = 0, unpriced_rows = 0 "
                    f"WHERE period = :period AND {people} "
                    f"AND (cost_usd <> 0 OR tokens <> 0 OR usage_rows <> 0 OR unpriced_rows <> 0)"
                ),
                {"period": period},
            )
            session.execute(text(_SPEND_UPSERT.format(person_filter=f"AND {people}")), {"period": period})
        if len(ordered) > FULL_REFRESH_ABOVE:
            model_rollups.mark_stale(session, period)
            # Many people changed: recompute the period's artifacts and teams on the next read instead of
            # marking each person (their spend is already current).
            session.execute(
                text(
                    "UPDATE rollup_period SET weights_key = :stale, generation = generation + 1 "
                    "WHERE period = :period"
                ),
                {"stale": STALE, "period": period},
            )
        else:
            model_rollups.refresh_people(session, period, ordered)
            mark_dirty(session, [(pid, period) for pid in ordered])


_Level = tuple[float, int, int, int]  # cost, tokens, usage rows, unpriced rows

# Team-level spend: usage rows of no person that the config assigns to a team (``usage_row.team_id``) of a
# team that still exists. A team's board spend is its members' spend plus this.
TEAM_LEVEL_RAW = """
SELECT u.team_id, SUM(COALESCE(u.cost_usd, 0)), SUM(u.input_tokens + u.output_tokens), COUNT(*),
       SUM(CASE WHEN u.priced THEN 0 ELSE 1 END)
FROM usage_row u JOIN team t ON t.id = u.team_id
WHERE u.period = :period AND u.person_id IS NULL {team_filter}
GROUP BY u.team_id
"""


def team_level_raw(session: Session, period: str, team_ids: Iterable[int] | None = None) -> dict[int, _Level]:
    """Per team: (cost, tokens, rows, unpriced rows) of its team-level usage rows in ``period``."""
    filt = ""
    if team_ids is not None:
        ids = sorted({int(t) for t in team_ids})
        if not ids:
            return {}
        filt = f"AND u.team_id IN ({_ids(ids)})"
    rows = session.execute(text(TEAM_LEVEL_RAW.format(team_filter=filt)), {"period": period})
    return {int(t): (float(c or 0), int(tk or 0), int(n), int(u or 0)) for t, c, tk, n, u in rows}


def _team_level_stored(session: Session, period: str, team_ids: list[int] | None) -> dict[int, _Level]:
    filt = f"AND team_id IN ({_ids(team_ids)})" if team_ids is not None else ""
    rows = session.execute(
        text(
            "SELECT team_id, cost_usd, tokens, usage_rows, unpriced_rows FROM team_level_total "
            f"WHERE period = :p {filt}"
        ),
        {"p": period},
    )
    return {int(t): (float(c), int(tk), int(n), int(u)) for t, c, tk, n, u in rows}


def lock_team_level(session: Session) -> None:
    """Hold the team-level roll-up's lock until this transaction ends.

    Two syncs of different sources may write one team's rows at once: the second waits for the first
    to commit, then reads its rows too (PostgreSQL reads each statement's latest committed data).
    Writers take it before they write usage rows, and a whole-period refresh before it rewrites the
    people's roll-ups, so both take their locks in the same order.
    """
    from bot.db import serialize  # here: bot.db imports this module

    serialize(session, "team-level")


def store_team_level(session: Session, period: str, team_ids: list[int] | None = None) -> bool:
    """Recompute the team-level roll-up of these teams (all when None) in ``period`` from the raw rows.

    Returns:
        True when a stored value changed.
    """
    if team_ids is not None and not team_ids:
        return False
    lock_team_level(session)
    before = _team_level_stored(session, period, team_ids)
    after = team_level_raw(session, period, team_ids)
    if before == after:
        return False
    filt = f"AND team_id IN ({_ids(team_ids)})" if team_ids is not None else ""
    session.execute(text(f"DELETE FROM team_level_total WHERE period = :p {filt}"), {"p": period})
    payload = [
        {"t": t, "p": period, "c": c, "tk": tk, "n": n, "u": u} for t, (c, tk, n, u) in sorted(after.items())
    ]
    if payload:
        session.execute(
            text(
                "INSERT INTO team_level_total (team_id, period, cost_usd, tokens, usage_rows, unpriced_rows) "
                "VALUES (:t, :p, :c, :tk, :n, :u)"
            ),
            payload,
        )
    return True


def refresh_team_spend(session: Session, pairs: Iterable[tuple[int | None, str]]) -> None:
    """Recompute the team-level spend of these (team, period) pairs from the raw usage rows, in the writing
    transaction (as ``refresh_spend`` does for people); a period whose team-level spend changed has its
    team totals recomputed on the next read (they add it to the members' spend)."""
    by_period: dict[str, set[int]] = {}
    for tid, period in pairs:
        if tid is not None:
            by_period.setdefault(period, set()).add(int(tid))
    for period, ids in sorted(by_period.items()):
        if store_team_level(session, period, sorted(ids)):
            # Rare (an import or sync of rows assigned to a team): the next read recomputes the period's
            # artifacts and teams from the people's roll-ups, which are current.
            session.execute(
                text(
                    "UPDATE rollup_period SET weights_key = :stale, generation = generation + 1 "
                    "WHERE period = :period"
                ),
                {"stale": STALE, "period": period},
            )


def invalidate_all(session: Session) -> None:
    """Mark every period's artifact and team roll-ups stale (after membership changes): recomputed on the
    next read, from the people's spend roll-ups (which membership does not change)."""
    session.execute(
        text("UPDATE rollup_period SET weights_key = :stale, generation = generation + 1"), {"stale": STALE}
    )
