"""Benchmark 4: usage import throughput through the project's path against a bare bulk insert.

In the same database (made by ``benchmarks.generate``: its people and its millions of usage rows
stay in place, so both paths maintain the same indexes on the same big table) and the same run:

* ``bare``   — the final rows, already built in memory, written with ``executemany`` (SQLite) or
  ``COPY`` (PostgreSQL) into ``usage_row`` in one transaction: the floor;
* ``import`` — ``import_usage_csv(engine, path, refresh=...)``, what ``artifact-bot usage import FILE``
  runs: read the CSV, validate every line, resolve people, price rows without a cost, upsert, refresh
  the spend and per-model roll-ups, commit, then bring the team totals of the periods it touched up
  to date (``refresh_boards_s``) before it returns.

Both write exactly the same rows (same seed; 2 % of the CSV rows have a blank cost that both paths
price with genai-prices). Each path runs in its own subprocess so that its peak RSS is its own;
the order alternates between runs and the rows are deleted after each (untimed). The first team
board read after the import is timed too (``first_board_after_s``: it pays whatever roll-up work
the import left for later; the target is under a second).

    python -m benchmarks.import_usage --db sqlite:///bench.db --rows 1000000 --runs 3 --out i.json
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import gc
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import text

from benchmarks.common import dialect_of, peak_rss_mb, percentile, run_measured, write_json
from benchmarks.generate import _copy_or_insert, usage_rows
from bot.db import make_engine, session_scope
from bot.spend.prices import price_tokens

TARGET_RATIO = 0.5
BLANK_EVERY = 50  # one CSV row in 50 has no cost_usd: priced from tokens by both paths
COLUMNS = ["source", "date", "period", "identity", "person_id", "provider", "model", "input_tokens",
           "output_tokens", "cached_tokens", "requests", "cost_usd", "priced", "imported_at"]


def final_rows(people: int, period: str, rows: int, seed: int, *, sqlite: bool = False) -> Iterator[tuple[Any, ...]]:
    """The rows as the import stores them (requests 0, blank costs priced), as plain Python values.

    On SQLite ``imported_at`` is given as the text SQLAlchemy stores (the driver's own datetime
    adapter would drop the microseconds), so both paths store identical rows.
    """
    now: Any = dt.datetime(2026, 11, 23)
    if sqlite:
        now = now.strftime("%Y-%m-%d %H:%M:%S.%f")
    for i, r in enumerate(usage_rows(people, period, rows, seed)):
        day, pid, provider, model, inp, out, cost = r[1], r[4], r[5], r[6], r[7], r[8], r[11]
        if i % BLANK_EVERY == BLANK_EVERY - 1:
            cost = price_tokens(provider, model, day, input_tokens=inp, output_tokens=out)
        yield ("csv", day, period, f"person:{pid}", pid, provider, model, inp, out, 0, 0, cost, True, now)


def write_csv(path: Path, people: int, period: str, rows: int, seed: int) -> None:
    """The CSV that ``usage import`` reads: people by email, one row in ``BLANK_EVERY`` without a cost."""
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["date", "email", "provider", "model", "input_tokens", "output_tokens", "cost_usd"])
        for i, r in enumerate(usage_rows(people, period, rows, seed)):
            blank = i % BLANK_EVERY == BLANK_EVERY - 1
            w.writerow([r[1].isoformat(), f"p{r[4]}@bench.example", r[5], r[6], r[7], r[8],
                        "" if blank else repr(r[11])])


def fingerprint(url: str, period: str) -> list[Any]:
    """What both paths must have stored identically (imported_at aside)."""
    engine = make_engine(url)
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT count(*), count(DISTINCT identity), min(date), max(date), sum(input_tokens), "
                "sum(output_tokens), sum(cached_tokens), sum(requests), round(CAST(sum(cost_usd) AS NUMERIC), 4), "
                "sum(CASE WHEN priced THEN 1 ELSE 0 END), count(DISTINCT person_id), "
                "count(DISTINCT provider || '/' || model) FROM usage_row WHERE period = :p"
            ),
            {"p": period},
        ).one()
    engine.dispose()
    return [str(v) for v in row]


def _cleanup(url: str, period: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        for table in ("usage_row", "person_period_total", "team_period_total", "rollup_dirty", "rollup_period",
                      "person_model_total", "model_rollup_period"):
            conn.execute(text(f"DELETE FROM {table} WHERE period = :p"), {"p": period})
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE usage_row"))
            conn.execute(text("VACUUM ANALYZE person_period_total"))
    engine.dispose()


# --------------------------------------------------------------------------- one phase (subprocess)


def phase_bare(url: str, people: int, period: str, rows: int, seed: int) -> dict[str, Any]:
    """Build the rows in memory (untimed), then time the bulk write alone."""
    engine = make_engine(url)
    data = list(final_rows(people, period, rows, seed, sqlite=engine.dialect.name == "sqlite"))
    gc.disable()  # the floor: no collector pauses either
    t0 = time.perf_counter()
    n = _copy_or_insert(engine, "usage_row", COLUMNS, iter(data))
    seconds = time.perf_counter() - t0
    gc.enable()
    engine.dispose()
    return {"rows": n, "seconds": seconds, "fingerprint": fingerprint(url, period)}


def phase_import(url: str, path: str, *, sequential: bool = False) -> dict[str, Any]:
    """``import_usage_csv`` end to end, with a breakdown of where its time went.

    ``sequential``: parse the whole file first even when it is big (the path before the parser ran
    in a second process), to compare both in one run.
    """
    import bot.spend.usage as usage

    if sequential:
        usage.PIPELINE_ABOVE = 2**62
    spent = {"parse": 0.0, "refresh_spend": 0.0, "refresh_boards": 0.0}
    parse, refresh = usage._parse_lines, usage.refresh_spend

    def timed(fn: Callable[..., Any], phase: str) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[phase] += time.perf_counter() - t

        return run

    usage._parse_lines = timed(parse, "parse")  # type: ignore[assignment]
    usage.refresh_spend = timed(refresh, "refresh_spend")  # type: ignore[assignment]
    from bot.boards.leaderboard import board
    from bot.boards.rollups import ensure_fresh
    from bot.config import OrgConfig, weights_of

    w = weights_of(OrgConfig())

    def refresh_boards(session: Any, period: str) -> None:  # what the CLI passes (bot/runtime/cli.py)
        ensure_fresh(session, period, w)

    engine = make_engine(url)
    t0 = time.perf_counter()
    result = usage.import_usage_csv(engine, path, refresh=timed(refresh_boards, "refresh_boards"))
    seconds = time.perf_counter() - t0
    # The first board read after the import pays for any roll-up work the import left for later (the
    # fingerprint is taken after it: the board never changes usage rows).

    t1 = time.perf_counter()
    with session_scope(engine) as s:
        board(s, period_of_file(path), weights_of(OrgConfig()), by="team")
    first_board = time.perf_counter() - t1
    t2 = time.perf_counter()
    with session_scope(engine) as s:
        board(s, period_of_file(path), weights_of(OrgConfig()), by="team")
    second_board = time.perf_counter() - t2
    engine.dispose()
    import resource

    return {
        "fingerprint": fingerprint(url, period_of_file(path)),
        "rows": result.rows,
        # A big plain CSV is parsed in a forked process while this one writes: its parse time is not
        # in ``parse_s`` (it overlaps the writes), and its peak RSS (shared pages included) is its own.
        "parsed_alongside": result.parsed_alongside,
        "parser_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0, 1),
        "own_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1),
        "seconds": seconds,
        "parse_s": spent["parse"],
        "refresh_spend_s": spent["refresh_spend"],
        "refresh_boards_s": spent["refresh_boards"],
        "upsert_and_commit_s": seconds - spent["parse"] - spent["refresh_spend"] - spent["refresh_boards"],
        "first_board_after_s": first_board,
        "second_board_after_s": second_board,
    }


def period_of_file(path: str) -> str:
    with open(path) as f:
        f.readline()
        return f.readline()[:7]


# --------------------------------------------------------------------------- orchestration


def run(url: str, *, rows: int, runs: int, period: str, seed: int = 23, scratch: Path | None = None,
        sequential: bool = False) -> dict[str, Any]:
    """Alternate ``bare`` and ``import`` subprocesses ``runs`` times; medians and the ratio."""
    engine = make_engine(url)
    with engine.connect() as conn:
        people = int(conn.execute(text("SELECT max(id) FROM person")).scalar() or 0)
        existing = int(conn.execute(text("SELECT count(*) FROM usage_row WHERE period = :p"), {"p": period}).scalar()
                       or 0)
    engine.dispose()
    if existing:
        raise SystemExit(f"period {period} already has {existing} usage rows; pick an empty one")
    workdir = Path(tempfile.mkdtemp(prefix="bench-import-", dir=scratch))
    csv_path = workdir / f"usage-{period}.csv"
    write_csv(csv_path, people, period, rows, seed)
    results: dict[str, list[dict[str, Any]]] = {"bare": [], "import": []}
    for r in range(runs):
        order = ["bare", "import"] if r % 2 == 0 else ["import", "bare"]
        for phase in order:
            result_file = workdir / f"{phase}-{r}.json"
            cmd = [sys.executable, "-m", "benchmarks.import_usage", "--db", url, "--phase", phase, "--rows",
                   str(rows), "--period", period, "--seed", str(seed), "--csv", str(csv_path), "--people",
                   str(people), "--out", str(result_file), *(["--sequential-parse"] if sequential else [])]
            measured = run_measured(cmd)
            if measured["returncode"] != 0:
                raise SystemExit(f"{phase} failed: {measured}")
            data = json.loads(result_file.read_text())
            data["peak_rss_mb"] = measured["peak_rss_mb"]
            results[phase].append(data)
            print(f"  run {r} {phase}: {data['rows']} rows in {data['seconds']:.2f} s "
                  f"({data['rows'] / data['seconds']:,.0f} rows/s), peak RSS {data['peak_rss_mb']} MiB", flush=True)
            _cleanup(url, period)
    out: dict[str, Any] = {"db": dialect_of(url), "rows": rows, "runs": runs, "period": period,
                           "csv_mb": round(csv_path.stat().st_size / 2**20, 1)}
    for phase, items in results.items():
        secs = [i["seconds"] for i in items]
        med = percentile(secs, 50)
        summary: dict[str, Any] = {
            "median_s": round(med, 3),
            "rows_per_s": round(rows / med),
            "all_s": [round(s, 3) for s in secs],
            "peak_rss_mb": max(i["peak_rss_mb"] for i in items),
        }
        if "parsed_alongside" in items[0]:
            summary["parsed_alongside"] = all(i["parsed_alongside"] for i in items)
        for key in ("parse_s", "refresh_spend_s", "refresh_boards_s", "upsert_and_commit_s", "first_board_after_s",
                    "second_board_after_s", "parser_peak_rss_mb", "own_peak_rss_mb"):
            if key in items[0]:
                summary[key] = round(percentile([i[key] for i in items], 50), 3)
        out[phase] = summary
    prints = {json.dumps(i["fingerprint"]) for items in results.values() for i in items}
    out["same_rows"] = len(prints) == 1  # every run of both paths stored the same rows
    if not out["same_rows"]:
        out["fingerprints"] = sorted(prints)
    out["ratio"] = round(out["import"]["rows_per_s"] / out["bare"]["rows_per_s"], 3)
    out["meets_ratio"] = out["ratio"] >= TARGET_RATIO
    out["orchestrator_peak_rss_mb"] = peak_rss_mb()
    shutil.rmtree(workdir, ignore_errors=True)
    return out


def print_summary(r: dict[str, Any]) -> None:
    b, i = r["bare"], r["import"]
    print(f"import on {r['db']}: {r['rows']:,} rows ({r['csv_mb']} MiB CSV), median of {r['runs']}")
    print(f"  bare   {b['median_s']:.2f} s  {b['rows_per_s']:>10,} rows/s  peak RSS {b['peak_rss_mb']} MiB")
    if i.get("parsed_alongside"):
        parse = (f"parsed by a second process alongside, peak RSS {i['parser_peak_rss_mb']} MiB; this one "
                 f"{i['own_peak_rss_mb']} MiB; upsert+commit incl. waiting for chunks")
    else:
        parse = f"parse {i['parse_s']:.2f} s, upsert+commit"
    print(f"  import {i['median_s']:.2f} s  {i['rows_per_s']:>10,} rows/s  peak RSS {i['peak_rss_mb']} MiB  "
          f"({parse} {i['upsert_and_commit_s']:.2f} s, "
          f"refresh spend {i['refresh_spend_s']:.2f} s, boards {i.get('refresh_boards_s', 0.0):.2f} s; "
          f"first board after {i['first_board_after_s'] * 1000:.0f} ms)")
    print(f"  ratio import/bare = {r['ratio']}; same rows stored by both paths: {r['same_rows']}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", required=True)
    p.add_argument("--rows", type=int, default=100_000)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--period", default="2026-12")
    p.add_argument("--seed", type=int, default=23)
    p.add_argument("--out")
    p.add_argument("--scratch", help="directory for the CSV (default: the system temp directory)")
    p.add_argument("--sequential-parse", action="store_true",
                   help="parse the whole CSV first, in the importing process (no second process), for comparison")
    p.add_argument("--phase", choices=["bare", "import"], help=argparse.SUPPRESS)
    p.add_argument("--csv", help=argparse.SUPPRESS)
    p.add_argument("--people", type=int, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.phase == "bare":
        write_json(a.out, phase_bare(a.db, a.people, a.period, a.rows, a.seed))
        return
    if a.phase == "import":
        write_json(a.out, phase_import(a.db, a.csv, sequential=a.sequential_parse))
        return
    result = run(a.db, rows=a.rows, runs=a.runs, period=a.period, seed=a.seed,
                 scratch=Path(a.scratch) if a.scratch else None, sequential=a.sequential_parse)
    result["sequential_parse"] = a.sequential_parse
    print_summary(result)
    write_json(a.out, result)


if __name__ == "__main__":
    main()
