"""Start-up: how long whole CLI processes take next to the ORM's own import.

Each command runs as a whole process, in turn with the floor ``python -c "import sqlmodel"`` in
the same virtualenv (floor, command, floor, command, ...), after one warm-up run of each that is
not counted. The figure is the median of the runs; the ratio is the command's median over the
floor's median, with the median of the pair-by-pair ratios beside it (pairing keeps the ratio
meaningful when the shared machine's speed drifts during the run).

    python -m benchmarks.startup              # make bench-startup
    python -m benchmarks.startup --runs 15 --json results.json

Commands and targets (issue 13):

* ``artifact-bot leaderboard --format json`` on an empty, migrated SQLite database: at most
  1.6 times the floor;
* ``artifact-bot --help``: at most 1.2 times the floor.

Exit code 0 when every target is met, 1 when one is missed or a run fails.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.common import machine_info, write_json

FLOOR = "import sqlmodel"


@dataclass
class Case:
    """One command, its target ratio and how to tell its output is right."""

    name: str
    args: list[str]
    target: float
    check: Any = None  # stdout -> error text or None
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    floor_wall: list[float] = field(default_factory=list)
    floor_cpu: list[float] = field(default_factory=list)


@dataclass
class Run:
    """One finished process: wall seconds, user + system seconds, exit code, output."""

    wall: float
    cpu: float
    code: int
    stdout: str
    stderr: str


def run_once(argv: list[str], *, env: dict[str, str], cwd: Path) -> Run:
    """Start ``argv`` and wait for it; times from just before the start to just after it is reaped."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env, cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Run(wall, usage.ru_utime + usage.ru_stime, proc.returncode, out.read().decode(), err.read().decode())


def cli_argv() -> list[str]:
    """The ``artifact-bot`` console script of this interpreter's virtualenv (else ``python -m bot``)."""
    script = Path(sys.executable).parent / "artifact-bot"
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot"]


def _json_list(stdout: str) -> str | None:
    try:
        value = json.loads(stdout)
    except ValueError:
        return f"not JSON: {stdout[:200]!r}"
    return None if value == [] else f"expected an empty board, got {stdout[:200]!r}"


def _usage(stdout: str) -> str | None:
    return None if "usage: artifact-bot" in stdout else f"no usage text: {stdout[:200]!r}"


def measure(cases: list[Case], *, runs: int, env: dict[str, str], cwd: Path) -> list[str]:
    """Alternate floor and command ``runs`` times per case; returns the failures."""
    floor = [sys.executable, "-c", FLOOR]
    failures: list[str] = []
    for case in cases:
        argv = [*cli_argv(), *case.args]
        for i in range(runs + 1):  # the first pair warms the page cache and is not counted
            f = run_once(floor, env=env, cwd=cwd)
            c = run_once(argv, env=env, cwd=cwd)
            if f.code != 0:
                failures.append(f"floor exited {f.code}: {f.stderr.strip()[-500:]}")
            if c.code != 0:
                failures.append(f"{case.name} exited {c.code}: {c.stderr.strip()[-500:]}")
            elif case.check and (problem := case.check(c.stdout)):
                failures.append(f"{case.name}: {problem}")
            if failures:
                return failures
            if i:
                case.wall.append(c.wall)
                case.cpu.append(c.cpu)
                case.floor_wall.append(f.wall)
                case.floor_cpu.append(f.cpu)
    return failures


def summary(case: Case) -> dict[str, Any]:
    """Medians, ratios and the verdict of one case."""
    med = statistics.median
    wall_ratio = med(case.wall) / med(case.floor_wall)
    return {
        "command": "artifact-bot " + " ".join(case.args),
        "runs": len(case.wall),
        "wall_s": med(case.wall),
        "floor_wall_s": med(case.floor_wall),
        "wall_ratio": wall_ratio,
        "paired_wall_ratio": med(c / f for c, f in zip(case.wall, case.floor_wall, strict=True)),
        "cpu_s": med(case.cpu),
        "floor_cpu_s": med(case.floor_cpu),
        "cpu_ratio": med(case.cpu) / med(case.floor_cpu),
        "target": case.target,
        "met": wall_ratio <= case.target,
    }


def print_table(rows: list[dict[str, Any]]) -> None:
    """The results as a plain-text table (stdout)."""
    head = ("command", "median s", "floor s", "ratio", "paired", "cpu ratio", "target", "")
    body = [
        (
            r["command"],
            f"{r['wall_s']:.3f}",
            f"{r['floor_wall_s']:.3f}",
            f"{r['wall_ratio']:.2f}",
            f"{r['paired_wall_ratio']:.2f}",
            f"{r['cpu_ratio']:.2f}",
            f"<= {r['target']:.1f}",
            "met" if r["met"] else "MISSED",
        )
        for r in rows
    ]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body, strict=True)]
    for line in (head, *body):
        cells = zip(line, widths, strict=True)
        print("  ".join(str(x).ljust(w) if i == 0 else str(x).rjust(w) for i, (x, w) in enumerate(cells)))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=7, help="counted runs of each command and of the floor")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="artifact-bot-startup-") as tmp:
        workdir = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ARTIFACT_BOT_", "PYTHON"))}
        env["DATABASE_URL"] = f"sqlite:///{workdir / 'bot.db'}"
        migrated = run_once([*cli_argv(), "db", "upgrade"], env=env, cwd=workdir)
        if migrated.code != 0:
            print(f"db upgrade failed ({migrated.code}): {migrated.stderr.strip()[-1000:]}", file=sys.stderr)
            return 1
        cases = [
            Case("leaderboard", ["leaderboard", "--format", "json"], 1.6, _json_list),
            Case("help", ["--help"], 1.2, _usage),
        ]
        info = machine_info()
        print(f"start-up, median of {args.runs} alternating with `python -c \"{FLOOR}\"`; "
              f"{info['nproc']} CPUs ({info['cpu']}), Python {info['python']}, load {info['loadavg']}", flush=True)
        failures = measure(cases, runs=args.runs, env=env, cwd=workdir)
    if failures:
        for problem in failures:
            print(f"error: {problem}", file=sys.stderr)
        return 1
    rows = [summary(c) for c in cases]
    print_table(rows)
    if args.json:
        write_json(args.json, {"machine": info, "results": rows})
    return 0 if all(r["met"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
