"""Run every benchmark on SQLite and PostgreSQL at one size and print the table of figures.

For each database: a fresh database, the synthetic organisation (``benchmarks.generate``), the
consistency check (``artifact-bot db check``: roll-ups equal the recomputation from raw rows),
then ``benchmarks.queries`` (1, 2, 5), ``benchmarks.serve_load`` (3, 5) and
``benchmarks.import_usage`` (4, 5), each in its own subprocess (its peak RSS comes from
``wait4``). The database is dropped at the end unless ``--keep``.

    python -m benchmarks.run_all --size headline     # make bench
    python -m benchmarks.run_all --size quick        # make bench-quick (under a minute)

Results: ``benchmarks/results/<size>/`` (JSON per benchmark and database, ``explain-<db>.txt``,
``summary.md`` with the table).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.common import (
    DEFAULT_PG_ADMIN,
    bench_database,
    database_version,
    machine_info,
    pg_available,
    run_measured,
    write_json,
)

SIZES: dict[str, dict[str, int]] = {
    "headline": {"people": 100_000, "teams": 1_000, "usage": 10_000_000, "artifacts": 200_000, "query_runs": 100,
                 "scan_runs": 5, "serve_requests": 1_000, "burst_requests": 500, "import_rows": 1_000_000,
                 "import_runs": 3},
    "quick": {"people": 2_000, "teams": 40, "usage": 100_000, "artifacts": 4_000, "query_runs": 20,
              "scan_runs": 5, "serve_requests": 200, "burst_requests": 100, "import_rows": 20_000, "import_runs": 1},
}
PERIOD = "2026-10"
IMPORT_PERIOD = "2026-12"


def _py(*args: str) -> list[str]:
    return [sys.executable, "-m", *args]


def _fresh(path: Path) -> Path:
    """The path a benchmark writes to, removed first: a file left by an earlier run is never read."""
    path.unlink(missing_ok=True)
    return path


def _result(path: Path, proc: dict[str, Any], name: str, out: dict[str, Any]) -> Any:
    """What this run's benchmark wrote, or None (and the benchmark recorded as failed)."""
    if proc.get("returncode") == 0 and path.exists():
        return json.loads(path.read_text())
    out.setdefault("failed", []).append(name)
    print(f"!!! {name} failed on {out['db']} (exit code {proc.get('returncode')}); see its output above",
          flush=True)
    return None


def run_db(kind: str, size: dict[str, int], *, workdir: Path, results: Path, pg_admin: str, keep: bool,
           size_name: str, only: set[str], serve_workers: int = 1) -> dict[str, Any]:
    """Every benchmark on one database; returns the collected results."""
    out: dict[str, Any] = {"db": kind}
    with bench_database(kind, workdir, tag=size_name, pg_admin=pg_admin, keep=keep) as url:
        out["version"] = database_version(url) if kind == "postgresql" else None
        print(f"\n=== {kind}: generate {size['people']:,} people, {size['teams']:,} teams, "
              f"{size['usage']:,} usage rows, {size['artifacts']:,} artifacts", flush=True)
        out["generate"] = run_measured(_py("benchmarks.generate", "--db", url, "--people", str(size["people"]),
                                           "--teams", str(size["teams"]), "--usage-rows", str(size["usage"]),
                                           "--artifacts", str(size["artifacts"]), "--period", PERIOD))
        if out["generate"]["returncode"]:
            raise SystemExit(f"generate failed on {kind}")
        if out["version"] is None:
            out["version"] = database_version(url)
        if "check" in only:
            print(f"=== {kind}: artifact-bot db check", flush=True)
            env = {k: v for k, v in os.environ.items() if not k.startswith("ARTIFACT_BOT_")}
            env["DATABASE_URL"] = url
            out["check"] = run_measured(_py("bot", "db", "check"), env=env)
            if out["check"].get("returncode"):
                out.setdefault("failed", []).append("check")
        if "queries" in only:
            print(f"=== {kind}: queries", flush=True)
            q = _fresh(results / f"queries-{kind}.json")
            out["queries_process"] = run_measured(_py(
                "benchmarks.queries", "--db", url, "--period", PERIOD, "--runs", str(size["query_runs"]),
                "--scan-runs", str(size["scan_runs"]), "--out", str(q),
                "--explain-out", str(results / f"explain-{kind}.txt")))
            out["queries"] = _result(q, out["queries_process"], "queries", out)
        if "serve" in only:
            print(f"=== {kind}: serve under load", flush=True)
            s = _fresh(results / f"serve-{kind}.json")
            plan = f"sustained:{size['serve_requests']},burst:{size['burst_requests']}"
            out["serve_process"] = run_measured(_py(
                "benchmarks.serve_load", "--db", url, "--period", PERIOD, "--pattern", plan, "--concurrency", "50",
                "--workers", str(serve_workers), "--out", str(s)), timeout=900)
            data = _result(s, out["serve_process"], "serve", out)
            if data is not None:
                for pattern, key in (("sustained", "serve"), ("burst", "serve_burst")):
                    out[key] = {**data["patterns"][pattern], "server_peak_rss_mb": data["server_peak_rss_mb"],
                                "server_log_tracebacks": data["server_log_tracebacks"],
                                "artifacts_stored": data["artifacts_stored"], "workers": data.get("workers", 1),
                                "artifacts_expected": data["artifacts_expected"]}
        if "import" in only:
            print(f"=== {kind}: usage import", flush=True)
            i = _fresh(results / f"import-{kind}.json")
            out["import_process"] = run_measured(_py(
                "benchmarks.import_usage", "--db", url, "--rows", str(size["import_rows"]), "--runs",
                str(size["import_runs"]), "--period", IMPORT_PERIOD, "--scratch", str(workdir), "--out", str(i)))
            out["import"] = _result(i, out["import_process"], "import", out)
    return out


# --------------------------------------------------------------------------- the table


def _f(x: Any, fmt: str = "{:.1f}") -> str:
    if x is None:
        return "—"
    try:
        return fmt.format(x)
    except (ValueError, TypeError):
        return str(x)


def table(all_results: dict[str, Any]) -> str:
    """The markdown table of figures, one column per database."""
    dbs = [d for d in ("sqlite", "postgresql") if d in all_results["databases"]]
    res = {d: all_results["databases"][d] for d in dbs}
    head = "| # | figure | target | " + " | ".join({"sqlite": "SQLite", "postgresql": "PostgreSQL"}[d] for d in dbs)
    lines = [head + " |", "|---|---|---|" + "---|" * len(dbs)]

    needs = {"1": "queries", "2": "queries", "3": "serve", "4": "import"}

    def row(num: str, label: str, target: str, fn: Any) -> None:
        cells = []
        for d in dbs:
            if needs.get(num) in res[d].get("failed", ()):
                cells.append("**failed**")
                continue
            try:
                cells.append(fn(res[d]))
            except (KeyError, TypeError):
                cells.append("—")
        lines.append(f"| {num} | {label} | {target} | " + " | ".join(cells) + " |")

    def op(name: str, key: str, fmt: str = "{:.1f}") -> Any:
        return lambda r: _f(r["queries"]["ops"][name][key], fmt)

    labels = {
        "team_board": "team leaderboard (all teams + last month's bar)",
        "person_board": "person leaderboard of one team",
        "home": "one person's App Home data",
        "report": "a manager's team report",
        "board_after_change": "team leaderboard right after an artifact was logged",
    }
    for name, label in labels.items():
        row("1", f"{label}: median / p95 / p99 ms", "p95 ≤ 100",
            lambda r, n=name: "{} / **{}** / {}".format(*(_f(r["queries"]["ops"][n][k]) for k in
                                                          ("median_ms", "p95_ms", "p99_ms"))))
    row("2", "full scan `SELECT sum(cost_usd) … WHERE period = …`: median ms", "baseline", op("scan", "median_ms"))
    for name in labels:
        row("2", f"ratio {name} p95 ÷ scan median", "≤ 0.1", op(name, "p95_over_scan_median", "{:.4f}"))
    for key, label in (("serve", "sustained: 50 always in flight"), ("serve_burst", "bursts of 50 at once")):
        row("3", f"serve, {label}: HTTP 200 median / p95 / p99 ms", "p99 ≤ 300",
            lambda r, k=key: "{} / {} / **{}**".format(*(_f(r[k]["http_200"][q]) for q in
                                                       ("median_ms", "p95_ms", "p99_ms"))))
        row("3", f"serve, {label}: requests, errors, unanswered", "0 errors",
            lambda r, k=key: f"{r[k]['requests']}, **{r[k]['errors']}**, {r[k]['unanswered']}")
        row("3", f"serve, {label}: time to the answer (response_url / DM / App Home) median / p99 ms", "< 3000",
            lambda r, k=key: "{} / {}".format(*(_f(r[k]["answer"][q]) for q in ("median_ms", "p99_ms"))))
    row("3", "serve: `serve --workers` (HTTP processes)", "—", lambda r: str(r["serve"]["workers"]))
    row("3", "serve, sustained: throughput req/s; server CPU ms per request", "—",
        lambda r: f"{_f(r['serve']['throughput_rps'])}; {_f(r['serve']['server_cpu_ms_per_request'])}")
    row("4", "bare executemany / COPY: rows/s", "baseline", lambda r: f"{r['import']['bare']['rows_per_s']:,}")
    row("4", "`import_usage_csv`: rows/s", "—", lambda r: f"{r['import']['import']['rows_per_s']:,}")
    row("4", "ratio import ÷ bare", "≥ 0.5", lambda r: f"**{r['import']['ratio']}**")
    row("4", "first team board after the import ms", "—",
        lambda r: _f(r["import"]["import"]["first_board_after_s"] * 1000))
    row("5", "peak RSS: generator MiB", "—", lambda r: _f(r["generate"]["peak_rss_mb"]))
    row("5", "peak RSS: queries process MiB", "—", lambda r: _f(r["queries"]["peak_rss_mb"]))
    row("5", "peak Python allocation per call (tracemalloc) MiB: team / person / home / report", "—",
        lambda r: " / ".join(_f(r["queries"]["ops"][n]["tracemalloc_peak_mb"], "{:.2f}")
                             for n in ("team_board", "person_board", "home", "report")))
    row("5", "peak RSS: `serve` processes under load (sum) MiB", "—", lambda r: _f(r["serve"]["server_peak_rss_mb"]))
    row("5", "peak RSS: import process (writer / forked parser) / bare process MiB", "—",
        lambda r: f"{_f(r['import']['import'].get('own_peak_rss_mb', r['import']['import']['peak_rss_mb']))} / "
                  f"{_f(r['import']['import'].get('parser_peak_rss_mb'))} / {_f(r['import']['bare']['peak_rss_mb'])}")
    row("—", "`artifact-bot db check` after the bulk load (exit code, seconds)", "0",
        lambda r: f"{r['check']['returncode']}, {r['check']['wall_s']}")
    row("—", "generator wall time s", "—", lambda r: _f(r["generate"]["wall_s"]))
    row("—", "serve: artifacts stored / expected, server tracebacks", "all, 0",
        lambda r: f"{r['serve']['artifacts_stored']} / {r['serve']['artifacts_expected']}, "
                  f"{r['serve']['server_log_tracebacks']}")
    row("—", "import: both paths stored identical rows", "yes", lambda r: "yes" if r["import"]["same_rows"] else "NO")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", choices=sorted(SIZES), default="quick")
    p.add_argument("--db", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    p.add_argument("--only", default="check,queries,serve,import", help="comma-separated benchmarks to run")
    p.add_argument("--pg-admin", default=os.environ.get("BENCH_PG_ADMIN", DEFAULT_PG_ADMIN),
                   help="PostgreSQL URL used to create and drop the bench_* databases")
    p.add_argument("--workdir", default=os.environ.get("BENCH_DIR", "/tmp/artifact-bot-bench"),
                   help="where the SQLite databases and scratch files go")
    p.add_argument("--results", default=None, help="default: benchmarks/results/<size>")
    p.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    p.add_argument("--serve-workers", type=int, default=int(os.environ.get("SERVE_WORKERS", "1")),
                   help="``serve --workers N`` for the serve benchmark (HTTP processes)")
    a = p.parse_args()
    size = SIZES[a.size]
    workdir = Path(a.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    results = Path(a.results or Path(__file__).parent / "results" / a.size)
    results.mkdir(parents=True, exist_ok=True)
    only = set(a.only.split(","))
    all_results: dict[str, Any] = {
        "size": a.size,
        "parameters": size,
        "date": dt.date.today().isoformat(),
        "machine": machine_info(),
        "databases": {},
    }
    t0 = time.perf_counter()
    failed: list[str] = []
    for kind in a.db.split(","):
        if kind == "postgresql":
            why = pg_available(a.pg_admin)
            if why:
                print(f"!!! PostgreSQL could not run: {why}", flush=True)
                all_results["databases"]["postgresql"] = {"skipped": why}
                failed.append(f"postgresql ({why})")
                continue
        all_results["databases"][kind] = run_db(kind, size, workdir=workdir, results=results,
                                                pg_admin=a.pg_admin, keep=a.keep, size_name=a.size, only=only,
                                                serve_workers=a.serve_workers)
        write_json(results / "all.json", all_results)
    all_results["wall_s"] = round(time.perf_counter() - t0, 1)
    all_results["loadavg_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    all_results["databases"] = {k: v for k, v in all_results["databases"].items() if "skipped" not in v}
    for kind, r in all_results["databases"].items():
        failed.extend(f"{name} on {kind}" for name in r.get("failed", ()))
    all_results["failed"] = failed
    write_json(results / "all.json", all_results)
    md = table(all_results)
    m = all_results["machine"]
    header = (f"Size {a.size}: {size['people']:,} people, {size['teams']:,} teams, {size['usage']:,} usage rows, "
              f"{size['artifacts']:,} artifacts. Machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory']}, "
              f"Python {m['python']}, SQLite {m['sqlite']}; {all_results['date']}; total {all_results['wall_s']} s; "
              f"load average at start {m['loadavg']}, at end {all_results['loadavg_end']} (shared machine).")
    versions = "; ".join(f"{k}: {v.get('version')}" for k, v in all_results["databases"].items())
    header += f" Databases: {versions}."
    (results / "summary.md").write_text(header + "\n\n" + md + "\n")
    print("\n" + header + "\n\n" + md)
    if failed:
        print("\nFAILED: " + ", ".join(failed) + " (their rows say so; no earlier figure was read)", file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
