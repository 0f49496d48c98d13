"""Synthetic organisation for benchmarks: people, teams, usage rows and artifacts, bulk-loaded.

The bulk path writes the same rows the import services write (same tables, same periods, same
priced costs); ``artifact-bot db check`` confirms the roll-ups agree with the raw rows afterwards.

    python -m benchmarks.generate --db sqlite:///bench.db --people 100000 --teams 1000 --usage-rows 10000000
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import time
from collections.abc import Iterator
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from bot.db import make_engine, upgrade
from bot.periods import bounds, previous

MODELS = [
    ("openai", "gpt-4o-mini", 0.15e-6, 0.6e-6),
    ("openai", "gpt-4.1", 2e-6, 8e-6),
    ("anthropic", "claude-sonnet-4-5", 3e-6, 15e-6),
    ("anthropic", "claude-haiku-4-5", 1e-6, 5e-6),
    ("google", "gemini-2.5-flash", 0.3e-6, 2.5e-6),
]
KINDS = ["agent", "workflow", "dashboard", "campaign", "feature", "document", "experiment", "other"]


def _copy_or_insert(engine: Engine, table: str, columns: list[str], rows: Iterator[tuple[Any, ...]],
                    batch: int = 50_000) -> int:
    """COPY on PostgreSQL, executemany on SQLite; returns the row count."""
    n = 0
    if engine.dialect.name == "postgresql":
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as cp:  # type: ignore[attr-defined]
                for row in rows:
                    cp.write_row(row)
                    n += 1
            raw.commit()
        finally:
            raw.close()
        return n
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        buf: list[tuple[Any, ...]] = []
        for row in rows:
            buf.append(row)
            if len(buf) >= batch:
                cur.executemany(sql, buf)
                n += len(buf)
                buf.clear()
        if buf:
            cur.executemany(sql, buf)
            n += len(buf)
        raw.commit()
    finally:
        raw.close()
    return n


def usage_rows(people: int, period: str, total: int, seed: int) -> Iterator[tuple[Any, ...]]:
    """``total`` usage rows spread over the people and days of ``period``, unique per key."""
    rng = random.Random(seed)
    first, last = bounds(period)
    days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    per_person = max(total // people, 1)
    now = dt.datetime(2026, 11, 1)
    produced = 0
    for pid in range(1, people + 1):
        heavy = 5.0 if pid % 97 == 0 else 1.0
        slots = [(d, m) for d in range(len(days)) for m in range(len(MODELS))]
        for d, m in rng.sample(slots, min(per_person, len(slots))):
            provider, model, pin, pout = MODELS[m]
            inp = int(rng.randint(5_000, 300_000) * heavy)
            out = inp // rng.randint(3, 12)
            cost = round(inp * pin + out * pout, 6)
            day = days[d]
            yield ("csv", day, period, f"person:{pid}", pid, provider, model, inp, out, 0, 1, cost, True, now)
            produced += 1
            if produced >= total:
                return


def generate(url: str, *, people: int, teams: int, usage: int, artifacts: int, period: str, seed: int = 7,
             quiet: bool = False) -> dict[str, float]:
    """Create the organisation in an empty, migrated database; returns timings in seconds."""
    engine = make_engine(url)
    upgrade(engine)
    rng = random.Random(seed)
    timings: dict[str, float] = {}
    now = dt.datetime(2026, 11, 1)

    def step(name: str, fn: Any) -> Any:
        t0 = time.perf_counter()
        result = fn()
        timings[name] = time.perf_counter() - t0
        if not quiet:
            print(f"  {name}: {timings[name]:.1f}s", flush=True)
        return result

    step("people", lambda: _copy_or_insert(engine, "person", [
        "id", "slack_user_id", "email", "name", "tz", "is_active", "is_guest", "forgotten", "created_at",
        "updated_at"], ((i, f"U{i:08d}", f"p{i}@bench.example", f"Person {i}", "America/New_York", True, False,
                         False, now, now) for i in range(1, people + 1))))
    step("teams", lambda: _copy_or_insert(engine, "team", ["id", "name", "channel", "monthly_budget_usd",
                                                           "created_at"],
                                          ((t, f"Team {t:04d}", f"C{t:08d}", 5000.0, now)
                                           for t in range(1, teams + 1))))
    step("members", lambda: _copy_or_insert(engine, "team_member", ["team_id", "person_id"],
                                            (((pid - 1) % teams + 1, pid) for pid in range(1, people + 1))))
    step("managers", lambda: _copy_or_insert(engine, "team_manager", ["team_id", "ident"],
                                             ((t, f"U{t:08d}") for t in range(1, teams + 1))))
    cols = ["source", "date", "period", "identity", "person_id", "provider", "model", "input_tokens",
            "output_tokens", "cached_tokens", "requests", "cost_usd", "priced", "imported_at"]
    step("usage", lambda: _copy_or_insert(engine, "usage_row", cols, usage_rows(people, period, usage, seed)))
    prev_rows = max(usage // 20, 1)
    step("usage_prev", lambda: _copy_or_insert(engine, "usage_row", cols,
                                               usage_rows(people, previous(period), prev_rows, seed + 1)))

    arts: list[tuple[Any, ...]] = []
    claimed: set[tuple[int, str]] = set()  # one live artifact per person, period and link (the unique index)
    for aid in range(1, artifacts + 1):
        pid = rng.randint(1, people)
        team = (pid - 1) % teams + 1
        # 10% are links shared inside the team, 5% are killed, 30% kept, the rest unreviewed
        url = (f"https://git.bench.example/team{team}/shared{rng.randint(1, 3)}" if rng.random() < 0.1
               else f"https://git.bench.example/p{pid}/a{aid}")
        if (pid, url) in claimed:
            url = f"https://git.bench.example/p{pid}/a{aid}"
        claimed.add((pid, url))
        r = rng.random()
        status = "killed" if r < 0.05 else ("kept" if r < 0.35 else "submitted")
        arts.append((aid, pid, period, f"Artifact {aid}", rng.choice(KINDS), status, "bench", None, url, None,
                     now, now, None, None, False))
    step("artifacts", lambda: _copy_or_insert(engine, "artifact", [
        "id", "person_id", "period", "title", "kind", "status", "source", "source_key", "primary_url",
        "description", "created_at", "updated_at", "reviewed_by", "reviewed_at", "removed"], iter(arts)))
    step("links", lambda: _copy_or_insert(engine, "artifact_link", ["artifact_id", "position", "url",
                                                                    "normalized_url"],
                                          ((a[0], 0, a[8], a[8]) for a in arts)))
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            for table in ("person", "team", "artifact", "artifact_link", "usage_row"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"))
        # What autovacuum would have done by now: statistics, and the visibility map that lets
        # index-only scans skip the table.
        def vacuum() -> None:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))

        step("vacuum", vacuum)
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    from bot.boards.rollups import rebuild_all

    step("rollups", lambda: rebuild_all(engine))
    engine.dispose()
    return timings


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", required=True)
    p.add_argument("--people", type=int, default=100_000)
    p.add_argument("--teams", type=int, default=1_000)
    p.add_argument("--usage-rows", type=int, default=10_000_000)
    p.add_argument("--artifacts", type=int, default=200_000)
    p.add_argument("--period", default="2026-10")
    a = p.parse_args()
    generate(a.db, people=a.people, teams=a.teams, usage=a.usage_rows, artifacts=a.artifacts, period=a.period)


if __name__ == "__main__":
    main()
