"""Month-end fan-out benchmark: ``artifact-bot jobs run checkin`` to N people against a rate-limited Slack.

The Slack Web API emulator (testing/slack/) runs in this process on 127.0.0.1 and enforces a
chat.postMessage token bucket per workspace (``--rate`` per second, ``--burst``, default the
rate), answering 429 with ``Retry-After`` when exceeded, after ``--latency`` seconds per call
(Slack is not instant). The bot runs as real subprocesses (``python -m bot jobs run checkin``)
with its default outbox settings: the pace starts at OUTBOX_RATE_PER_SECOND (10) and finds the
limit by itself; ``--pace`` sets OUTBOX_RATE_PER_SECOND. ``--workspaces 2`` plays an Enterprise
Grid org with an org-wide install: people are spread over the workspaces, each with its own
limit. Reported:

* efficiency = (people ÷ (allowed rate × workspaces)) ÷ wall seconds, from starting the first
  process to the last one exiting (enqueueing, start-up and any kill included): 1.0 is the rate
  limit itself;
* missed (people never messaged), duplicates (messages beyond one per person), 429 answers;
* peak RSS of the bot process(es), read from /proc (VmHWM), which must not grow with people.

``--kill-at 0.4`` SIGKILLs the run when 40 % are sent and starts it again (kill-and-resume);
``--dispatchers 3`` starts three processes at once (they share the outbox).

    python benchmarks/fanout.py --people 10000
    python benchmarks/fanout.py --people 600 --rate 5      # a strict workspace: the pace comes down to 5/s
    python benchmarks/fanout.py --people 3000 --rate 50    # a generous one: the pace climbs to 50/s
    python benchmarks/fanout.py --people 2000 --rate 20 --workspaces 2
    python benchmarks/fanout.py --people 10000 --kill-at 0.4
    python benchmarks/fanout.py --people 100000 --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bot.db import make_engine, upgrade  # noqa: E402
from bot.models import Person, PersonWorkspace, Workspace  # noqa: E402
from testing.slack_emulator import Call, SlackEmulator, dm_channel_id  # noqa: E402

PERIOD = "2026-10"


class CountingEmulator(SlackEmulator):
    """The emulator, keeping counts instead of every call (100,000 recorded calls would dominate memory)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(validate_blocks=False, **kwargs)
        self.posts: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()
        self.first_post = 0.0
        self.last_post = 0.0
        self.wrong_team = 0
        self._count_lock = threading.Lock()
        self.register("chat.postMessage", self._post)

    def _post(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = str(params.get("channel") or "")
        now = time.time()
        if self.workspaces and params.get("team_id") != team_of(int(channel[1:]), len(self.workspaces)):
            self.wrong_team += 1  # an org-wide install must send each DM from the person's workspace
        with self._count_lock:
            self.posts[channel] += 1
            self.first_post = self.first_post or now
            self.last_post = now
        return {"channel": dm_channel_id(channel) if channel[:1] == "U" else channel, "ts": self._next_ts()}

    def _record(self, call: Call) -> None:
        with self._count_lock:
            self.statuses[call.status] += 1

    @property
    def sent(self) -> int:
        with self._count_lock:
            return sum(self.posts.values())


def _database(args: argparse.Namespace, workdir: Path) -> tuple[str, Any]:
    """A fresh database URL and a cleanup function."""
    if not args.database_url:
        path = workdir / "fanout.db"
        return f"sqlite:///{path}", lambda: None
    url = make_url(args.database_url).set(drivername="postgresql+psycopg")
    name = f"fanout_bench_{secrets.token_hex(4)}"
    admin = make_engine(url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url.set(database=name).render_as_string(hide_password=False), drop


ENTERPRISE = "E0BENCH"


def team_of(i: int, workspaces: int) -> str | None:
    """Person ``i``'s home workspace (None: a single-workspace install)."""
    return f"T{i % workspaces:08d}" if workspaces > 1 else None


def _people(url: str, n: int, workspaces: int = 1) -> None:
    engine = make_engine(url)
    upgrade(engine)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    chunk = 5000
    with engine.begin() as conn:
        if workspaces > 1:
            conn.execute(
                insert(Workspace),
                [
                    {"team_id": team_of(w, workspaces), "enterprise_id": ENTERPRISE, "name": f"ws{w}"}
                    for w in range(workspaces)
                ],
            )
        for start in range(0, n, chunk):
            conn.execute(
                insert(Person),
                [
                    {
                        "slack_user_id": f"U{i:09d}",
                        "email": f"person{i}@example.com",
                        "name": f"Person {i}",
                        "tz": "UTC",
                        "is_active": True,
                        "is_guest": False,
                        "forgotten": False,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for i in range(start, min(start + chunk, n))
                ],
            )
        if workspaces > 1:
            ids = conn.execute(text("SELECT id, slack_user_id FROM person")).all()
            conn.execute(
                insert(PersonWorkspace),
                [{"person_id": pid, "team_id": team_of(int(sid[1:]), workspaces), "home": True} for pid, sid in ids],
            )
    engine.dispose()


def _rss_peak_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def run(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="fanout-"))
    url, cleanup = _database(args, workdir)
    try:
        t_setup = time.monotonic()
        _people(url, args.people, args.workspaces)
        setup_s = time.monotonic() - t_setup
        grid: dict[str, Any] = {}
        if args.workspaces > 1:
            grid = {
                "enterprise_id": ENTERPRISE,
                "workspaces": {team_of(w, args.workspaces): f"ws{w}" for w in range(args.workspaces)},
            }
        with CountingEmulator(**grid) as emu:
            emu.set_rate("chat.postMessage", per_second=args.rate, burst=args.burst or args.rate)
            if args.latency:
                emu.set_latency(args.latency, "chat.postMessage")
            env = {
                k: v
                for k, v in os.environ.items()
                if not k.startswith(("OUTBOX_", "ARTIFACT_BOT", "OPENAI", "ANTHROPIC"))
            }
            env.update(
                emu.env(),
                DATABASE_URL=url,
                PYTHONPATH=str(ROOT),
            )
            if args.pace:
                env["OUTBOX_RATE_PER_SECOND"] = str(args.pace)
            if args.concurrency:
                env["OUTBOX_CONCURRENCY"] = str(args.concurrency)
            cmd = [sys.executable, "-m", "bot", "jobs", "run", "checkin", "--period", PERIOD]
            peak_kb = 0
            kills = 0
            started = time.monotonic()
            started_wall = time.time()

            logs = (workdir / "bot-stderr.log").open("ab")

            def spawn() -> subprocess.Popen[bytes]:
                return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=logs)

            procs = [spawn() for _ in range(args.dispatchers)]
            killed_once = False
            last_note = 0.0
            while procs:
                for p in list(procs):
                    peak_kb = max(peak_kb, _rss_peak_kb(p.pid))
                    if p.poll() is not None:
                        procs.remove(p)
                        if p.returncode not in (0, -signal.SIGKILL):
                            err = (workdir / "bot-stderr.log").read_text(errors="replace")
                            raise SystemExit(f"the bot exited {p.returncode}:\n{err[-3000:]}")
                if args.kill_at and not killed_once and emu.sent >= args.kill_at * args.people:
                    for p in procs:
                        p.send_signal(signal.SIGKILL)
                        p.wait()
                        kills += 1
                    killed_once = True
                    procs = [spawn() for _ in range(args.dispatchers)]
                if args.progress and time.monotonic() - last_note >= 10:
                    last_note = time.monotonic()
                    print(f"  {emu.sent:,} sent, {last_note - started:.0f} s", file=sys.stderr, flush=True)
                time.sleep(0.2)
            seconds = time.monotonic() - started
            posts = Counter(emu.posts)
            throttled = emu.throttled_count("chat.postMessage")
            send_window = emu.last_post - emu.first_post
            first_post_after = emu.first_post - started_wall
            wrong_team = emu.wrong_team
            logs.close()
        engine = make_engine(url)
        with engine.connect() as conn:
            learned = {n: round(r, 1) for n, r in conn.execute(text("SELECT name, rate_per_second FROM send_pace"))}
        engine.dispose()
        expected = {f"U{i:09d}" for i in range(args.people)}
        missed = len(expected - set(posts))
        duplicates = sum(n - 1 for n in posts.values() if n > 1)
        ideal = args.people / (args.rate * args.workspaces)
        sends = sum(posts.values()) + throttled
        return {
            "people": args.people,
            "database": make_url(url).get_backend_name(),
            "allowed_rate_per_s": args.rate,
            "burst": args.burst or args.rate,
            "workspaces": args.workspaces,
            "pace_per_s": args.pace or "default",
            "concurrency": args.concurrency or "default",
            "dispatchers": args.dispatchers,
            "latency_s": args.latency,
            "kills": kills,
            "seconds": round(seconds, 1),
            "ideal_seconds": round(ideal, 1),
            "efficiency": round(ideal / seconds, 3),
            "send_efficiency": round(ideal / send_window, 3) if send_window else None,
            "first_post_after_s": round(first_post_after, 1),
            "missed": missed,
            "duplicates": duplicates,
            "wrong_workspace": wrong_team,
            "http_429": throttled,
            "http_429_share": round(throttled / sends, 4) if sends else 0.0,
            "learned_rates": learned,
            "peak_rss_mb": round(peak_kb / 1024, 1),
            "setup_seconds": round(setup_s, 1),
        }
    finally:
        cleanup()
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--people", type=int, default=10_000)
    p.add_argument("--rate", type=float, default=50.0, help="chat.postMessage calls per second Slack allows")
    p.add_argument("--burst", type=float, default=None, help="token bucket size (default: --rate)")
    p.add_argument("--pace", type=float, default=None, help="the bot's OUTBOX_RATE_PER_SECOND (default: its own)")
    p.add_argument("--concurrency", type=int, default=None, help="the bot's OUTBOX_CONCURRENCY (default: its own)")
    p.add_argument("--workspaces", type=int, default=1, help="workspaces of a Grid org (org-wide install)")
    p.add_argument("--latency", type=float, default=0.05, help="seconds Slack takes to answer a post")
    p.add_argument("--dispatchers", type=int, default=1, help="bot processes started at once")
    p.add_argument("--kill-at", type=float, default=0.0, help="SIGKILL when this fraction is sent, then restart")
    p.add_argument("--database-url", default=None, help="PostgreSQL server to create a scratch database on")
    p.add_argument("--progress", action="store_true")
    args = p.parse_args()
    result = run(args)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
