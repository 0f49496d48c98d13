"""Helpers shared by the benchmark scripts: statistics, databases, memory, machine description."""

from __future__ import annotations

import json
import os
import platform
import re
import resource
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.db import make_engine, normalise_url

# Where PostgreSQL benchmark databases are created from (any database the user may connect to).
DEFAULT_PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
REPO = Path(__file__).resolve().parents[1]


def repo_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a subprocess that must import this checkout's ``bot`` and ``benchmarks``
    (not another installed copy), whatever its working directory."""
    out = dict(os.environ if env is None else env)
    out["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), out.get("PYTHONPATH", "")) if p)
    return out


# --------------------------------------------------------------------------- statistics


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) with linear interpolation between closest ranks."""
    if not values:
        return float("nan")
    xs = sorted(values)
    if len(xs) == 1:
        return xs[0]
    pos = (len(xs) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def summarize_ms(seconds: Sequence[float]) -> dict[str, float]:
    """n, median, p95, p99, min and max of durations given in seconds, reported in milliseconds."""
    ms = [s * 1000.0 for s in seconds]
    return {
        "n": len(ms),
        "median_ms": round(percentile(ms, 50), 3),
        "p95_ms": round(percentile(ms, 95), 3),
        "p99_ms": round(percentile(ms, 99), 3),
        "min_ms": round(min(ms), 3) if ms else float("nan"),
        "max_ms": round(max(ms), 3) if ms else float("nan"),
    }


# --------------------------------------------------------------------------- memory


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)


def vm_hwm_mb(pid: int) -> float | None:
    """Peak resident set size of a running process (``VmHWM``), in MiB; None when unknown."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024.0, 1)
    except OSError:
        return None
    return None


def run_measured(cmd: list[str], *, env: dict[str, str] | None = None, timeout: float | None = None,
                 cwd: str | None = None) -> dict[str, Any]:
    """Run a subprocess to completion; returns its exit code, wall time and own peak RSS (via ``wait4``).

    Output goes to this process's stdout/stderr, so progress stays visible.
    """
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=repo_env(env), cwd=cwd or REPO)
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if deadline is not None and time.monotonic() > deadline:
            proc.kill()
            pid, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.05)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {
        "returncode": proc.returncode,
        "wall_s": round(time.perf_counter() - t0, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024.0, 1),
    }


# --------------------------------------------------------------------------- databases


def dialect_of(url: str) -> str:
    """``sqlite`` or ``postgresql``."""
    return make_url(normalise_url(url)).get_backend_name()


@contextmanager
def bench_database(kind: str, workdir: Path, *, tag: str, pg_admin: str = DEFAULT_PG_ADMIN,
                   keep: bool = False) -> Iterator[str]:
    """A fresh, empty database for one benchmark run (a SQLite file or a ``bench_*`` PostgreSQL
    database), removed afterwards unless ``keep``."""
    if kind == "sqlite":
        path = workdir / f"bench_{tag}.db"
        files = [Path(f"{base}{suffix}") for base in (path, workdir / f"bench_{tag}.inbox.db")  # + DM journal
                 for suffix in ("", "-wal", "-shm")]
        for f in files:
            f.unlink(missing_ok=True)
        try:
            yield f"sqlite:///{path}"
        finally:
            if not keep:
                for f in files:
                    f.unlink(missing_ok=True)
        return
    name = f"bench_{tag}_{uuid.uuid4().hex[:6]}"
    admin_url = make_url(normalise_url(pg_admin))
    admin = make_engine(admin_url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        if not keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def pg_available(pg_admin: str = DEFAULT_PG_ADMIN) -> str | None:
    """None when PostgreSQL answers at ``pg_admin``, else the reason it does not."""
    try:
        engine = make_engine(normalise_url(pg_admin))
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # any failure means "skip PostgreSQL"
        return str(exc).splitlines()[0]


def database_version(url: str) -> str:
    """The server version string (SQLite library version for SQLite)."""
    if dialect_of(url) == "sqlite":
        return f"SQLite {sqlite3.sqlite_version}"
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            version = str(conn.execute(text("SELECT version()")).scalar())
            settings = {
                name: str(conn.execute(text(f"SHOW {name}")).scalar())
                for name in ("shared_buffers", "work_mem", "max_parallel_workers_per_gather", "jit")
            }
    finally:
        engine.dispose()
    return version.split(" on ")[0] + " (" + ", ".join(f"{k}={v}" for k, v in settings.items()) + ")"


# --------------------------------------------------------------------------- machine


def machine_info() -> dict[str, str]:
    """nproc, memory (``free -h``), CPU model, kernel and Python version."""
    cpu = "unknown"
    try:
        m = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
        cpu = m.group(1).strip() if m else cpu
    except OSError:
        pass
    try:
        free = subprocess.run(["free", "-h"], capture_output=True, text=True, check=False).stdout
        mem_line = next((ln for ln in free.splitlines() if ln.startswith("Mem:")), "")
        mem = " ".join(mem_line.split()[1:2]) + " total"
    except OSError:
        mem = "unknown"
    return {
        "loadavg": " ".join(f"{x:.2f}" for x in os.getloadavg()),  # other work on the shared machine
        "nproc": str(os.cpu_count()),
        "memory": mem,
        "cpu": cpu,
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "sqlite": sqlite3.sqlite_version,
    }


def write_json(path: str | Path | None, data: Any) -> None:
    """Write ``data`` as JSON to ``path`` (stdout when None)."""
    payload = json.dumps(data, indent=2, default=str)
    if path is None:
        print(payload)
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(payload + "\n")
