"""Benchmark 3: slash commands and ``message.im`` through ``artifact-bot serve`` under concurrent load.

Starts the real server (``python -m bot serve --no-scheduler``) on 127.0.0.1 against the given
database, with the Slack Web API emulator (``tests/slack_emulator.py``) in a separate process so
that its work does not slow the client. Then sends ``--requests`` signed requests, either keeping
``--concurrency`` of them in flight all the time (``--pattern sustained``, a closed loop: the
server's capacity decides the latency) or in waves of ``--concurrency`` released at the same
instant, each wave answered before the next (``--pattern burst``). The mix cycles through:

* ``/leaderboard PERIOD`` from anyone;
* ``/artifact-report TEAM PERIOD`` from that team's manager;
* ``/artifact URL title`` from anyone (stores an artifact);
* a DM reply with a link (``message`` event, ``channel_type: im``; stores an artifact);
* ``app_home_opened`` (publishes App Home).

Reported: time to HTTP 200 (what Slack's 3-second limit applies to) median/p95/p99, errors, and
time until the answer reached the emulator (``response_url`` post, ``chat.postMessage`` or
``views.publish``); the server's CPU time per request and peak RSS (``VmHWM``). ``--mix floor``
measures the framework alone (a command answered without the database); ``--profile FILE``
samples the server with py-spy. Loopback only; bounded request count and time. Requires a
database made by ``benchmarks.generate`` (people ``U%08d``, ``U%08d`` of team t its manager).

    python -m benchmarks.serve_load --db sqlite:///bench.db --requests 500 --concurrency 50
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing as mp
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text

from benchmarks.common import dialect_of, peak_rss_mb, repo_env, summarize_ms, vm_hwm_mb, write_json
from bot.db import make_engine
from testing.serve import free_port, wait_healthy
from testing.signing import app_home_opened_event, command_body, event_body, message_event, post_signed

SECRET = "bench-signing-secret"
TOKEN = "xoxb-bench-token"
MIX = ["leaderboard", "dm", "report", "artifact", "leaderboard", "dm", "home", "report", "artifact", "dm"]
# ``floor``: ``/leaderboard`` with a bad argument, answered without touching the database; the cost of
# Bolt, waitress, signing and response_url alone (use ``--mix floor`` to measure the framework floor).
KINDS = (*sorted(set(MIX)), "floor")
TARGET_P99_MS = 300.0


# --------------------------------------------------------------------------- the emulator process


def _emulator_main(conn: Any, response_urls: int) -> None:
    """Run the Slack emulator until told to stop; then send back what it received."""
    from testing.slack_emulator import SlackEmulator

    with SlackEmulator() as emu:
        urls = [emu.response_url() for _ in range(response_urls)]
        conn.send({"base_url": emu.base_url, "urls": urls})
        while conn.recv() == "count":
            conn.send(len(emu.responses) + emu.call_count("chat.postMessage") + emu.call_count("views.publish"))
        calls = [
            {"method": c.method, "time": c.time, "status": c.status, "ok": c.ok,
             "channel": c.params.get("channel"), "user_id": c.params.get("user_id")}
            for c in emu.calls()
            if c.method in ("chat.postMessage", "views.publish", "views.open")
        ]
        responses = [{"index": r.index, "time": r.time, "status": r.status} for r in emu.responses]
        conn.send({"calls": calls, "responses": responses, "internal_errors": len(emu.internal_errors)})


class Emulator:
    """The emulator in a child process (spawned, so it shares nothing with this one)."""

    def __init__(self, response_urls: int) -> None:
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_emulator_main, args=(child, response_urls), daemon=True)
        self.proc.start()
        if not self.conn.poll(60):
            raise RuntimeError("Slack emulator did not start")
        hello = self.conn.recv()
        self.base_url: str = hello["base_url"]
        self.urls: list[str] = hello["urls"]

    def answers(self) -> int:
        """How many answers (response_url posts, DM replies, App Home publishes) arrived so far."""
        self.conn.send("count")
        return int(self.conn.recv())

    def finish(self) -> dict[str, Any]:
        self.conn.send("stop")
        data: dict[str, Any] = self.conn.recv() if self.conn.poll(60) else {"calls": [], "responses": []}
        self.proc.join(timeout=10)
        return data


# --------------------------------------------------------------------------- requests


@dataclass
class Request:
    """One request to send and how to recognise its answer at the emulator."""

    kind: str
    body: bytes
    answer_key: tuple[str, Any]
    sent_at: float = 0.0
    status: int = 0
    http_s: float = 0.0
    error: str | None = None


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux ``/proc``)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def _children(pid: int) -> list[int]:
    """Direct children of a process (Linux ``/proc``)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(stat.parent.name))
    return out


def _tree(pid: int) -> list[int]:
    """A server and every process under it (gunicorn's workers, the work processes of each)."""
    return [pid, *(p for child in _children(pid) for p in _tree(child))]


def _tree_cpu_seconds(pid: int) -> float:
    return sum(_cpu_seconds(p) for p in _tree(pid))


def build_requests(n: int, *, people: int, teams: int, period: str, urls: list[str], tag: str,
                   seed: int, mix: list[str]) -> list[Request]:
    """``n`` requests cycling through ``mix``; DMs and homes from distinct people so answers can be matched."""
    rng = random.Random(seed)
    distinct = iter(rng.sample(range(1, people + 1), min(people, n)))
    reqs = []
    for i in range(n):
        kind = mix[i % len(mix)]
        url_index = i + 1
        if kind == "floor":
            body = command_body("/leaderboard", "not-a-month", f"U{rng.randint(1, people):08d}", response_url=urls[i])
            key: tuple[str, Any] = ("response", url_index)
        elif kind == "leaderboard":
            user = f"U{rng.randint(1, people):08d}"
            body = command_body("/leaderboard", period, user, response_url=urls[i])
            key = ("response", url_index)
        elif kind == "report":
            team = rng.randint(1, teams)
            body = command_body("/artifact-report", f"Team {team:04d} {period}", f"U{team:08d}", response_url=urls[i])
            key = ("response", url_index)
        elif kind == "artifact":
            user = f"U{rng.randint(1, people):08d}"
            body = command_body("/artifact", f"https://bench.example/{tag}/cmd/{i} Bench artifact {i}", user,
                                response_url=urls[i])
            key = ("response", url_index)
        elif kind == "dm":
            user = f"U{next(distinct):08d}"
            event = message_event(user, f"Shipped <https://bench.example/{tag}/dm/{i}|the churn dashboard> this month")
            body = event_body(event)
            key = ("chat.postMessage", event["channel"])
        else:
            user = f"U{next(distinct):08d}"
            body = event_body(app_home_opened_event(user))
            key = ("views.publish", user)
        reqs.append(Request(kind=kind, body=body, answer_key=key))
    return reqs


def _send(url: str, req: Request) -> None:
    req.sent_at = time.time()
    try:
        res = post_signed(url, req.body, SECRET, timeout=30)
        req.status, req.http_s = res.status, res.elapsed
        if res.status != 200:
            req.error = f"HTTP {res.status}"
    except Exception as exc:  # every failure is counted as an error
        req.http_s = time.time() - req.sent_at
        req.error = f"{type(exc).__name__}: {exc}"


def _answers(reqs: list[Request], emu_data: dict[str, Any]) -> dict[int, float]:
    """Request position → seconds from send to the first answer the emulator received for it."""
    first: dict[tuple[str, Any], float] = {}
    for r in emu_data["responses"]:
        first.setdefault(("response", r["index"]), r["time"])
    for c in sorted(emu_data["calls"], key=lambda c: c["time"]):
        if c["method"] == "chat.postMessage":
            first.setdefault(("chat.postMessage", c["channel"]), c["time"])
        elif c["method"] == "views.publish":
            first.setdefault(("views.publish", c["user_id"]), c["time"])
    return {i: first[r.answer_key] - r.sent_at for i, r in enumerate(reqs) if r.answer_key in first}


# --------------------------------------------------------------------------- main


def _drive(events: str, reqs: list[Request], load: list[Request], *, pattern: str, concurrency: int,
           done_before: int, emu: Emulator, drain_s: float, stop_at: float) -> float:
    """Send ``load`` in the given pattern and wait (bounded) for its answers; returns the seconds taken."""

    def task(req: Request) -> None:
        if time.monotonic() > stop_at:
            req.error = "not sent: time limit"
            return
        _send(events, req)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        if pattern == "sustained":  # closed loop: always `concurrency` requests in flight
            list(pool.map(task, load))
        else:  # waves of `concurrency` requests released together; each wave's answers awaited
            for start in range(0, len(load), concurrency):
                wave = load[start : start + concurrency]
                barrier = threading.Barrier(len(wave))

                def together(req: Request, barrier: threading.Barrier = barrier) -> None:
                    barrier.wait()
                    task(req)

                list(pool.map(together, wave))
                want = done_before + sum(1 for r in load[: start + len(wave)] if r.error is None)
                wave_deadline = time.monotonic() + drain_s
                while time.monotonic() < wave_deadline and emu.answers() < want:
                    time.sleep(0.05)
    load_s = time.perf_counter() - t0
    # Wait (bounded) until every request that got its 200 has been answered at the emulator.
    want = done_before + sum(1 for r in load if r.error is None)
    drain_deadline = time.monotonic() + drain_s
    while time.monotonic() < drain_deadline and emu.answers() < want:
        time.sleep(0.1)
    return load_s


def run(url: str, *, plan: list[tuple[str, int]], concurrency: int, period: str, warmup: int, drain_s: float,
        max_s: float, seed: int = 5, profile: str | None = None, mix: list[str] | None = None,
        workers: int = 1, work_processes: int | None = None) -> dict[str, Any]:
    """Start the server and the emulator, send the warm-up, then each (pattern, requests) of ``plan``."""
    engine = make_engine(url)
    with engine.connect() as conn:
        people = int(conn.execute(text("SELECT max(id) FROM person")).scalar() or 0)
        teams = int(conn.execute(text("SELECT max(id) FROM team")).scalar() or 0)
    tag = f"run{os.getpid()}"
    mix = mix or MIX
    total = warmup + sum(n for _, n in plan)
    emu = Emulator(total)
    port = free_port()
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ANTHROPIC_", "ARTIFACT_BOT_"))}
    env = repo_env(keep)  # no language model, no org config: the defaults
    env.update(SLACK_API_URL=emu.base_url, SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET=SECRET, DATABASE_URL=url,
               PORT=str(port))
    if work_processes is not None:  # else the product's default
        env["ARTIFACT_BOT_WORK_PROCESSES"] = str(work_processes)
    workdir = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    log_path = workdir / "serve.log"
    log_file = log_path.open("w")
    cmd = [sys.executable, "-m", "bot", "serve", "--port", str(port), "--no-scheduler", "--workers", str(workers)]
    if profile:  # sample the server with py-spy (collapsed stacks, for flame graphs or grep)
        py_spy = str(Path(sys.executable).with_name("py-spy"))
        cmd = [py_spy, "record", "--format", "raw", "--rate", "100", "--threads", "-o", str(Path(profile).resolve()),
               "--", *cmd]
    server = subprocess.Popen(cmd, env=env, cwd=workdir, stdout=log_file, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    result: dict[str, Any] = {"db": dialect_of(url), "concurrency": concurrency, "mix": mix, "workers": workers,
                              "work_processes": "default" if work_processes is None else work_processes,
                              "patterns": {}}
    slices: dict[str, tuple[int, int]] = {}
    try:
        wait_healthy(base, server, log_path=log_path, request_timeout=2)
        reqs = build_requests(total, people=people, teams=teams, period=period, urls=emu.urls, tag=tag, seed=seed,
                              mix=mix)
        events = f"{base}/slack/events"
        for req in reqs[:warmup]:  # sequential warm-up, one of each kind first
            _send(events, req)
        time.sleep(1.0)
        stop_at = time.monotonic() + max_s
        offset = warmup
        for pattern, n in plan:
            load = reqs[offset : offset + n]
            slices[pattern] = (offset, offset + n)
            cpu0, own0 = _tree_cpu_seconds(server.pid), time.process_time()
            done_before = sum(1 for r in reqs[:offset] if r.error is None)
            load_s = _drive(events, reqs, load, pattern=pattern, concurrency=concurrency, done_before=done_before,
                            emu=emu, drain_s=drain_s, stop_at=stop_at)
            result["patterns"][pattern] = {
                "pattern": pattern,
                "requests": n,
                "load_seconds": round(load_s, 2),
                "throughput_rps": round(n / load_s, 1),
                # CPU the server (and this client) used for the load and its answers, per request.
                "server_cpu_ms_per_request": round((_tree_cpu_seconds(server.pid) - cpu0) / n * 1000, 2),
                "client_cpu_ms_per_request": round((time.process_time() - own0) / n * 1000, 2),
            }
            offset += n
        with engine.connect() as conn:
            stored = int(
                conn.execute(text("SELECT count(*) FROM artifact WHERE primary_url LIKE :u"),
                             {"u": f"https://bench.example/{tag}/%"}).scalar() or 0
            )
        if profile:
            result["server_peak_rss_mb"] = None
        else:  # every serving process (with --workers, the gunicorn master and its workers)
            hwm = [vm_hwm_mb(p) for p in _tree(server.pid)]
            result["server_peak_rss_mb"] = round(sum(h for h in hwm if h), 1)
            result["server_peak_rss_mb_per_process"] = hwm
    finally:
        children = _children(server.pid) if profile else []
        if profile:
            server.send_signal(signal.SIGINT)  # py-spy writes its profile on SIGINT
        else:
            server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        for pid in children:  # the server py-spy started (py-spy leaves it running)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        log_file.close()
        emu_data = emu.finish()
        engine.dispose()
    answers = _answers(reqs, emu_data)
    log_text = log_path.read_text(errors="replace")
    shutil.rmtree(workdir, ignore_errors=True)
    result.update(
        artifacts_stored=stored,
        artifacts_expected=sum(1 for r in reqs if r.kind in ("artifact", "dm") and r.error is None),
        server_log_tracebacks=log_text.count("Traceback"),
        emulator_internal_errors=emu_data.get("internal_errors", 0),
        client_peak_rss_mb=peak_rss_mb(),
    )
    for pattern, (lo, hi) in slices.items():
        load = reqs[lo:hi]
        got = {i - lo: answers[i] for i in range(lo, hi) if i in answers}
        errors = [r.error for r in load if r.error is not None]
        res = result["patterns"][pattern]
        res.update(
            http_200=summarize_ms([r.http_s for r in load if r.error is None]),
            errors=len(errors),
            error_samples=sorted(Counter(errors).items(), key=lambda kv: -kv[1])[:5],
            answered=len(got),
            unanswered=len(load) - len(got),
            answer=summarize_ms(list(got.values())),
            by_kind={},
        )
        for kind in sorted(set(mix)):
            idx = [i for i, r in enumerate(load) if r.kind == kind]
            res["by_kind"][kind] = {
                "n": len(idx),
                "http_200": summarize_ms([load[i].http_s for i in idx if load[i].error is None]),
                "answer": summarize_ms([got[i] for i in idx if i in got]),
                "errors": sum(1 for i in idx if load[i].error is not None),
            }
        res["meets_p99"] = res["http_200"]["p99_ms"] <= TARGET_P99_MS and not errors
    if result["server_log_tracebacks"]:
        result["server_log_tail"] = [ln for ln in log_text.splitlines() if ln.strip()][-30:]
    return result


def print_summary(r: dict[str, Any]) -> None:
    for p in r["patterns"].values():
        h, a = p["http_200"], p["answer"]
        print(f"serve on {r['db']} ({p['pattern']}): {p['requests']} requests, {r['concurrency']} concurrent, "
              f"{p['load_seconds']} s ({p['throughput_rps']} req/s)")
        print(f"  HTTP 200: median {h['median_ms']:.1f} ms, p95 {h['p95_ms']:.1f}, p99 {h['p99_ms']:.1f}, "
              f"max {h['max_ms']:.1f}; errors {p['errors']}")
        print(f"  answer:   median {a['median_ms']:.1f} ms, p95 {a['p95_ms']:.1f}, p99 {a['p99_ms']:.1f}, "
              f"max {a['max_ms']:.1f}; unanswered {p['unanswered']}")
        print(f"  CPU per request: server {p['server_cpu_ms_per_request']} ms, "
              f"client {p['client_cpu_ms_per_request']} ms")
        for kind, k in p["by_kind"].items():
            print(f"    {kind:<12} n={k['n']:<5} http p99 {k['http_200']['p99_ms']:.1f} ms, "
                  f"answer median {k['answer']['median_ms']:.1f} p99 {k['answer']['p99_ms']:.1f} ms")
    print(f"  artifacts stored {r['artifacts_stored']}/{r['artifacts_expected']}, server tracebacks "
          f"{r['server_log_tracebacks']}, server peak RSS {r['server_peak_rss_mb']} MiB "
          f"({r['workers']} worker process(es), work processes: {r.get('work_processes', 'default')})")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", required=True)
    p.add_argument("--period", default="2026-10")
    p.add_argument("--requests", type=int, default=500, help="requests per pattern")
    p.add_argument("--concurrency", type=int, default=50)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--drain", type=float, default=60.0, help="seconds to wait for answers after the load")
    p.add_argument("--max-seconds", type=float, default=300.0, help="stop sending after this long")
    p.add_argument("--pattern", default="sustained",
                   help="comma-separated, run in order on the same server: sustained (a closed loop keeping "
                   "--concurrency requests in flight), burst (waves of --concurrency requests sent at the same "
                   "instant, each wave answered before the next); NAME:N sets that pattern's request count")
    p.add_argument("--mix", default=",".join(MIX), help=f"comma-separated request kinds, cycled: {', '.join(KINDS)}")
    p.add_argument("--workers", type=int, default=1, help="serve --workers N (HTTP processes)")
    p.add_argument("--work-processes", type=int, default=None,
                   help="ARTIFACT_BOT_WORK_PROCESSES for the server (default: the product's; 0: work on threads)")
    p.add_argument("--profile", help="record the server with py-spy into this file (collapsed stacks)")
    p.add_argument("--out")
    a = p.parse_args()
    plan = []
    for item in a.pattern.split(","):
        name, _, n = item.partition(":")
        if name not in ("sustained", "burst"):
            p.error(f"unknown pattern {name!r}")
        plan.append((name, int(n) if n else a.requests))
    result = run(a.db, plan=plan, concurrency=a.concurrency, period=a.period, warmup=a.warmup, drain_s=a.drain,
                 max_s=a.max_seconds, profile=a.profile, mix=a.mix.split(","), workers=a.workers,
                 work_processes=a.work_processes)
    print_summary(result)
    if a.out:
        write_json(a.out, result)
    else:
        print(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
