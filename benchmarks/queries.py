"""Benchmarks 1, 2 and 5 (queries): boards, App Home and a manager's report against a full scan.

Times, through the services the Slack handlers call, each in its own session (commit included):

* ``team_board``    — ``board(by="team")`` for the period (every team, with last month's bar);
* ``person_board``  — ``board(by="person", team_id=T)`` for a random team;
* ``home``          — ``home_data`` of a random person (App Home);
* ``report``        — ``team_report`` of a random team (``/artifact-report``);
* ``board_after_change`` — a team board right after someone logged an artifact (the roll-up
  refresh of that person and team is inside the timed read);

and the baseline ``scan``: ``SELECT sum(cost_usd) FROM usage_row WHERE period = :p``. Rounds are
interleaved in random order, after warm-up rounds; each operation then runs once more under
``tracemalloc`` (peak Python allocation) and once with its SQL captured for ``EXPLAIN``.

    python -m benchmarks.queries --db sqlite:///bench.db --period 2026-10 --runs 30 --out q.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import re
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from benchmarks.common import dialect_of, peak_rss_mb, percentile, summarize_ms, write_json
from bot.artifacts.store import NewArtifact, add_artifact
from bot.boards.home import home_data
from bot.boards.leaderboard import board
from bot.boards.reports import team_report
from bot.config import OrgConfig, weights_of
from bot.db import make_engine, session_scope
from bot.models import Person
from bot.scoring import Weights

SCAN_SQL = "SELECT sum(cost_usd) FROM usage_row WHERE period = :p"
OPS = ("team_board", "person_board", "home", "report", "board_after_change")
TARGET_P95_MS = 100.0
TARGET_RATIO = 0.1


@dataclass
class Ctx:
    """What the operations need: the engine, period, org, and random picks of teams and people."""

    engine: Engine
    period: str
    org: OrgConfig
    w: Weights
    now: dt.datetime
    teams: list[tuple[int, str]]
    people: list[int]
    rng: random.Random
    changes: int = 0
    captured: list[tuple[str, Any]] = field(default_factory=list)


def _team_board(ctx: Ctx) -> None:
    with session_scope(ctx.engine) as s:
        board(s, ctx.period, ctx.w, by="team")


def _person_board(ctx: Ctx) -> None:
    team_id, _ = ctx.rng.choice(ctx.teams)
    with session_scope(ctx.engine) as s:
        board(s, ctx.period, ctx.w, by="person", team_id=team_id)


def _home(ctx: Ctx) -> None:
    pid = ctx.rng.choice(ctx.people)
    with session_scope(ctx.engine) as s:
        person = s.get(Person, pid)
        assert person is not None
        home_data(s, person, ctx.org, ctx.now)


def _report(ctx: Ctx) -> None:
    _, name = ctx.rng.choice(ctx.teams)
    with session_scope(ctx.engine) as s:
        team_report(s, team_name=name, period=ctx.period, org=ctx.org)


def _log_artifact(ctx: Ctx) -> None:
    """Untimed: one person logs an artifact (marks their roll-up dirty)."""
    pid = ctx.rng.choice(ctx.people)
    ctx.changes += 1
    with session_scope(ctx.engine) as s:
        person = s.get(Person, pid)
        assert person is not None
        add_artifact(
            s,
            person=person,
            period=ctx.period,
            new=NewArtifact(title=f"Bench change {ctx.changes}", urls=[f"https://bench.example/c/{pid}/{ctx.changes}"]),
            source="command",
            source_key=None,
            now=ctx.now,
        )


def _scan(ctx: Ctx) -> None:
    with session_scope(ctx.engine) as s:
        s.execute(text(SCAN_SQL), {"p": ctx.period}).scalar()


TIMED: dict[str, Callable[[Ctx], None]] = {
    "team_board": _team_board,
    "person_board": _person_board,
    "home": _home,
    "report": _report,
    "board_after_change": _team_board,
    "scan": _scan,
}
SETUP: dict[str, Callable[[Ctx], None]] = {"board_after_change": _log_artifact}


def _timed(ctx: Ctx, name: str) -> float:
    if name in SETUP:
        SETUP[name](ctx)
    t0 = time.perf_counter()
    TIMED[name](ctx)
    return time.perf_counter() - t0


# --------------------------------------------------------------------------- EXPLAIN


def _format_sqlite_plan(rows: list[tuple[Any, ...]]) -> list[str]:
    depth: dict[int, int] = {0: -1}
    lines = []
    for node_id, parent, _unused, detail in rows:
        depth[node_id] = depth.get(parent, -1) + 1
        lines.append("  " * depth[node_id] + str(detail))
    return lines


def explain(engine: Engine, statement: str, params: Any) -> list[str]:
    """The plan of one captured statement: ``EXPLAIN QUERY PLAN`` on SQLite, ``EXPLAIN (ANALYZE, BUFFERS)``
    on PostgreSQL (read-only statements only)."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params).fetchall()
            return _format_sqlite_plan([tuple(r) for r in rows])
        rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS, TIMING OFF) " + statement, params).fetchall()
        conn.rollback()
        return [str(r[0]) for r in rows]


def full_scans(plan: list[str], dialect: str) -> list[str]:
    """Tables a plan reads in full (SQLite ``SCAN t`` without an index, PostgreSQL ``Seq Scan on t``)."""
    found = []
    for line in plan:
        s = line.strip()
        if dialect == "sqlite" and s.startswith("SCAN ") and " USING " not in s and s != "SCAN CONSTANT ROW":
            found.append(s.split()[1])
        elif dialect == "postgresql" and "Seq Scan on " in s:
            found.append(s.split("Seq Scan on ")[1].split()[0])
    return found


def capture_plans(ctx: Ctx, names: list[str]) -> list[dict[str, Any]]:
    """Run each operation once with its SQL captured, and explain every distinct read statement."""
    dialect = ctx.engine.dialect.name
    out: list[dict[str, Any]] = []

    def listener(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, executemany: bool) -> None:
        head = statement.lstrip().upper()
        if not executemany and (head.startswith("SELECT") or head.startswith("WITH")):
            ctx.captured.append((statement, parameters))

    for name in names:
        if name in SETUP:
            SETUP[name](ctx)
        ctx.captured.clear()
        event.listen(ctx.engine, "before_cursor_execute", listener)
        try:
            TIMED[name](ctx)
        finally:
            event.remove(ctx.engine, "before_cursor_execute", listener)
        seen: set[str] = set()
        for statement, params in list(ctx.captured):
            key = " ".join(statement.split())
            if key in seen:
                continue
            seen.add(key)
            plan = explain(ctx.engine, statement, params)
            out.append(
                {
                    "op": name,
                    "sql": key,
                    "plan": plan,
                    "full_scans": full_scans(plan, dialect),
                    "reads_usage_row": "usage_row" in key,
                }
            )
    return out


# --------------------------------------------------------------------------- main


def run(url: str, *, period: str, runs: int, scan_runs: int, warmup: int, seed: int = 11) -> dict[str, Any]:
    """Time every operation ``runs`` times (and the scan ``scan_runs`` times); plans and memory too."""
    engine = make_engine(url)
    org = OrgConfig()
    rng = random.Random(seed)
    with session_scope(engine) as s:
        teams = [(int(t), str(n)) for t, n in s.execute(text("SELECT id, name FROM team ORDER BY id"))]
        people = [int(p) for (p,) in s.execute(text("SELECT id FROM person ORDER BY id"))]
        sizes = {
            t: int(s.execute(text(f"SELECT count(*) FROM {t}")).scalar() or 0)
            for t in ("person", "team", "usage_row", "artifact")
        }
        sizes["usage_row_in_period"] = int(
            s.execute(text("SELECT count(*) FROM usage_row WHERE period = :p"), {"p": period}).scalar() or 0
        )
    year, month = (int(x) for x in period.split("-"))
    ctx = Ctx(
        engine=engine,
        period=period,
        org=org,
        w=weights_of(org),
        now=dt.datetime(year, month, 20, 12, tzinfo=dt.UTC),
        teams=teams,
        people=people,
        rng=rng,
    )
    first = {name: _timed(ctx, name) for name in (*OPS, "scan")}  # cold: the first call in a fresh process
    for _ in range(warmup):
        for name in OPS:
            _timed(ctx, name)
    samples: dict[str, list[float]] = {name: [] for name in (*OPS, "scan")}
    scan_rounds = {round(i * runs / max(scan_runs, 1)) for i in range(scan_runs)}
    for r in range(runs):
        order = list(OPS) + (["scan"] if r in scan_rounds else [])
        rng.shuffle(order)
        for name in order:
            samples[name].append(_timed(ctx, name))
    result: dict[str, Any] = {"db": dialect_of(url), "period": period, "sizes": sizes, "ops": {}}
    scan_median_ms = percentile(samples["scan"], 50) * 1000
    for name in (*OPS, "scan"):
        stats: dict[str, Any] = summarize_ms(samples[name])
        stats["first_ms"] = round(first[name] * 1000, 3)
        if name != "scan":
            stats["p95_over_scan_median"] = round(stats["p95_ms"] / scan_median_ms, 4)
            stats["median_over_scan_median"] = round(stats["median_ms"] / scan_median_ms, 4)
            stats["meets_p95"] = stats["p95_ms"] <= TARGET_P95_MS
            stats["meets_ratio"] = stats["p95_over_scan_median"] <= TARGET_RATIO
        result["ops"][name] = stats
    for name in (*OPS, "scan"):
        tracemalloc.start()
        _timed(ctx, name)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        result["ops"][name]["tracemalloc_peak_mb"] = round(peak / 2**20, 2)
    result["explain"] = capture_plans(ctx, [*OPS, "scan"])
    result["peak_rss_mb"] = peak_rss_mb()
    engine.dispose()
    return result


def print_summary(result: dict[str, Any]) -> None:
    """A short human-readable table on stdout."""
    print(f"queries on {result['db']}: {result['sizes']}")
    print(f"{'operation':<20}{'median':>10}{'p95':>10}{'p99':>10}{'first':>10}{'p95/scan':>10}{'py peak':>10}")
    for name, st in result["ops"].items():
        ratio = st.get("p95_over_scan_median", "")
        print(
            f"{name:<20}{st['median_ms']:>10.1f}{st['p95_ms']:>10.1f}{st['p99_ms']:>10.1f}{st['first_ms']:>10.1f}"
            f"{ratio!s:>10}{st['tracemalloc_peak_mb']:>9.1f}M"
        )
    print(f"peak RSS {result['peak_rss_mb']} MiB")
    for plan in result["explain"]:
        if plan["reads_usage_row"] and plan["op"] != "scan":
            print(f"  note: {plan['op']} reads usage_row: {plan['sql'][:100]}")


def _short(text_: str, limit: int = 400) -> str:
    """Long IN lists and ARRAY literals collapsed, so plans stay readable."""
    text_ = re.sub(r"\(([^()]{120,})\)", lambda m: f"(…{m.group(1).count(',') + 1} values…)", text_)
    text_ = re.sub(r"'\{[^}]{120,}\}'", lambda m: f"'{{…{m.group(0).count(',') + 1} values…}}'", text_)
    return text_ if len(text_) <= limit else text_[:limit] + " …"


def explain_text(result: dict[str, Any]) -> str:
    """Every captured statement with its plan, as plain text."""
    lines = [f"# EXPLAIN on {result['db']} ({result['sizes']})", ""]
    for plan in result["explain"]:
        lines.append(f"## {plan['op']}  full scans: {', '.join(plan['full_scans']) or 'none'}")
        lines.append(_short(plan["sql"], 2000))
        lines.extend("    " + _short(p) for p in plan["plan"])
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", required=True)
    p.add_argument("--period", default="2026-10")
    p.add_argument("--runs", type=int, default=30)
    p.add_argument("--scan-runs", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--out", help="JSON results (stdout when omitted)")
    p.add_argument("--explain-out", help="plain-text EXPLAIN of every statement")
    a = p.parse_args()
    result = run(a.db, period=a.period, runs=a.runs, scan_runs=a.scan_runs, warmup=a.warmup)
    print_summary(result)
    if a.explain_out:
        from pathlib import Path

        Path(a.explain_out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.explain_out).write_text(explain_text(result))
    if a.out:
        write_json(a.out, result)


if __name__ == "__main__":
    main()
