"""Slow-client drill: ``serve`` keeps acknowledging while many idle or slow sockets are held open.

Opens ``--idle`` TCP connections that send nothing and ``--slow`` connections that send a request's
headers one byte every second (slowloris), holds them for ``--hold`` seconds, and meanwhile sends
signed Slack requests (slash commands and DM events, plus ``GET /healthz``) one after another,
timing each answer. Every socket goes to 127.0.0.1 only; the loops are bounded in count and time.

    python -m benchmarks.slow_clients --idle 1000 --slow 100 --hold 60 [--workers 2] [--out r.json]

Prints the share of answers under 1 s and the latency percentiles; exits 1 when fewer than 99 % of
the answers came within 1 s (or the server could not be started).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
import urllib.request
from pathlib import Path

from testing.serve import DidNotStart, app_env, free_port, serving
from testing.signing import command_body, event_body, message_event, post_signed
from testing.slack_emulator import SlackEmulator, make_user
from testing.sockets import Holder, raise_nofile

SECRET = "drill-signing-secret"
ORG = """timezone: UTC
admins: [U0ADMIN]
teams:
  - name: Growth
    members: [U0ALICE]
    managers: [U0ADMIN]
"""


def _hold_and_probe(url: str, port: int, *, idle: int, slow: int, hold: float) -> tuple[Holder, list[float], int]:
    """Hold the idle and slow sockets for ``hold`` seconds while timing requests one after another.

    Returns the holder, each request's seconds (a failed one counts as at least 5 s) and the failures.
    """
    holder = Holder(port, idle, slow)
    holder.start()
    latencies: list[float] = []
    failures = 0
    end = time.monotonic() + hold
    i = 0
    while time.monotonic() < end and i < 10_000:
        i += 1
        t0 = time.perf_counter()
        try:
            if i % 3 == 0:
                with urllib.request.urlopen(f"{url}/healthz", timeout=5) as r:
                    ok = r.status == 200
            elif i % 3 == 1:
                body = command_body("/leaderboard", "", user_id="U0ALICE")
                ok = post_signed(f"{url}/slack/events", body, SECRET, timeout=5).status == 200
            else:
                body = event_body(message_event("U0ALICE", f"shipped https://example.com/a/{i}"))
                ok = post_signed(f"{url}/slack/events", body, SECRET, timeout=5).status == 200
        except OSError:
            ok = False
        took = time.perf_counter() - t0
        if not ok:
            failures += 1
            took = max(took, 5.0)
        latencies.append(took)
        time.sleep(0.05)
    holder.stop()
    return holder, latencies, failures


def drill(*, idle: int, slow: int, hold: float, workers: int, db: str | None = None) -> dict:
    raise_nofile(idle + slow + 2000)
    work = Path(tempfile.mkdtemp(prefix="slow-clients-"))
    (work / "org.yaml").write_text(ORG)
    users = [
        make_user("U0ALICE", "alice", email="alice@example.com"),
        make_user("U0ADMIN", "admin", email="admin@example.com"),
    ]
    with SlackEmulator(users=users) as emu:
        port = free_port()
        env = app_env(
            emu,
            signing_secret=SECRET,
            database_url=db or f"sqlite:///{work / 'bot.db'}",
            port=port,
            config=work / "org.yaml",
        )
        args = ["--no-scheduler"]
        if workers > 1:
            args += ["--workers", str(workers)]
        try:
            with serving(args, env=env, cwd=work, port=port, stop_timeout=15) as served:
                holder, latencies, failures = _hold_and_probe(served.url, port, idle=idle, slow=slow, hold=hold)
        except DidNotStart as exc:
            raise SystemExit(str(exc)) from None
    lat = sorted(latencies)
    under = sum(1 for x in lat if x < 1.0) / len(lat) if lat else 0.0
    q = statistics.quantiles(lat, n=100) if len(lat) >= 2 else [0.0] * 99
    return {
        "idle": idle,
        "slow": slow,
        "hold_s": hold,
        "workers": workers,
        "held_open": len(holder.socks),
        "refused_while_opening": holder.refused,
        "requests": len(lat),
        "failed": failures,
        "share_under_1s": round(under, 4),
        "p50_ms": round(q[49] * 1000, 1),
        "p99_ms": round(q[98] * 1000, 1),
        "max_ms": round(lat[-1] * 1000, 1) if lat else None,
        "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d"),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--idle", type=int, default=1000)
    ap.add_argument("--slow", type=int, default=100)
    ap.add_argument("--hold", type=float, default=60.0)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--db", default=None, help="DATABASE_URL (default: a fresh SQLite file)")
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    result = drill(idle=a.idle, slow=a.slow, hold=a.hold, workers=a.workers, db=a.db)
    print(json.dumps(result, indent=2))
    if a.out:
        Path(a.out).write_text(json.dumps(result, indent=2))
    return 0 if result["share_under_1s"] >= 0.99 else 1


if __name__ == "__main__":
    raise SystemExit(main())
