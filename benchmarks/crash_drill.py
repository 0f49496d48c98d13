"""Crash drill: SIGKILL ``serve`` (and its work processes) again and again while DM replies stream in.

A sender posts signed DM replies, one new link each, as Slack would; a reply counts as acknowledged
when ``serve`` answered it 200 (an unanswered one is retried, as Slack retries). Every 0.5–2 s the
whole serving process group is killed with SIGKILL and started again. After the last restart the
inbox's recovery pass runs (as ``serve`` runs it every minute) and the drill checks that every
acknowledged reply's link is stored, and that no artifact is left without a link.

    python -m benchmarks.crash_drill --kills 25 [--db URL] [--out r.json]

Only 127.0.0.1; the loops are bounded in count and time. Exits 1 when a reply was lost or an
artifact has no link.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from sqlalchemy import text

from testing.serve import DidNotStart, free_port, wait_healthy
from testing.signing import event_body, message_event, post_signed, retry_headers
from testing.slack_emulator import SlackEmulator, make_user

SECRET = "drill-signing-secret"
USERS = ["U0ALICE", "U0BOB", "U0CAROL", "U0DAVE"]
ORG = "timezone: UTC\nadmins: [U0ALICE]\n"


def drill(*, kills: int, db: str | None, seed: int = 7) -> dict:
    from bot.artifacts.links import canonical_url
    from bot.config import Settings, load_org_config
    from bot.db import journal_engine, make_engine
    from bot.deps import Deps
    from bot.slack.client import make_client
    from handlers.messages import process_pending

    rnd = random.Random(seed)
    work = Path(tempfile.mkdtemp(prefix="crash-drill-"))
    (work / "org.yaml").write_text(ORG)
    db_url = db or f"sqlite:///{work / 'bot.db'}"
    users = [make_user(u, u[3:].lower(), email=f"{u[3:].lower()}@example.com") for u in USERS]
    with SlackEmulator(users=users) as emu:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {**os.environ, "SLACK_API_URL": emu.base_url, "SLACK_BOT_TOKEN": "xoxb-drill",
               "SLACK_SIGNING_SECRET": SECRET, "DATABASE_URL": db_url, "ARTIFACT_BOT_CONFIG": str(work / "org.yaml"),
               "PORT": str(port)}
        for key in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ADMIN_KEY", "ANTHROPIC_ADMIN_KEY"):
            env.pop(key, None)
        subprocess.run([sys.executable, "-m", "bot", "people", "sync"], env=env, cwd=work, check=True,
                       capture_output=True)
        log = (work / "serve.log").open("a")

        def start() -> subprocess.Popen:
            proc = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--no-scheduler"], env=env, cwd=work,
                                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            try:
                wait_healthy(url, proc, log_path=work / "serve.log", interval=0.05)
            except DidNotStart as exc:
                raise SystemExit(str(exc)) from None
            return proc

        acked: dict[int, str] = {}  # message number -> link
        pending: list[tuple[int, bytes, str]] = []
        lock = threading.Lock()
        stop = threading.Event()
        sent = 0

        def sender() -> None:
            nonlocal sent
            n = 0
            while not stop.is_set() and n < 100_000:
                with lock:
                    retry = pending.pop(0) if pending else None
                if retry is None:
                    n += 1
                    link = f"https://github.com/acme/drill/pull/{n}"
                    body = event_body(message_event(USERS[n % len(USERS)], f"Shipped <{link}|drill {n}>"))
                    item, attempt = (n, body, link), 0
                else:
                    item, attempt = retry, 1
                headers = retry_headers(attempt) if attempt else None
                try:
                    status = post_signed(f"{url}/slack/events", item[1], SECRET, headers=headers, timeout=3).status
                except OSError:
                    status = 0
                sent += 1
                if status == 200:
                    acked[item[0]] = item[2]
                else:
                    with lock:
                        pending.append(item)
                    time.sleep(0.05)

        proc = start()
        thread = threading.Thread(target=sender, daemon=True)
        thread.start()
        t0 = time.monotonic()
        for _ in range(kills):
            time.sleep(rnd.uniform(0.5, 2.0))
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            proc = start()
        time.sleep(2.0)
        stop.set()
        thread.join(10)
        # Replies acknowledged just before a kill wait in the inbox: the recovery pass finishes them.
        engine = make_engine(db_url)
        deps = Deps(settings=Settings(slack_api_url=emu.base_url, slack_bot_token="xoxb-drill"),
                    org=load_org_config(work / "org.yaml"), engine=engine, inbox_engine=journal_engine(engine))
        deps.slack = make_client(deps.settings)
        recovered = 0
        while True:
            done, found = process_pending(deps, older_than=dt.timedelta(0))
            recovered += done
            if found == 0 or done == 0:
                break
        os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(15)
        log.close()
        with engine.connect() as conn:
            stored = {r[0] for r in conn.execute(text("SELECT normalized_url FROM artifact_link"))}
            no_link = conn.execute(text(
                "SELECT count(*) FROM artifact a WHERE NOT EXISTS "
                "(SELECT 1 FROM artifact_link l WHERE l.artifact_id = a.id)")).scalar_one()
            artifacts = conn.execute(text("SELECT count(*) FROM artifact")).scalar_one()
        engine.dispose()
    lost = sorted(n for n, link in acked.items() if canonical_url(link) not in stored)
    return {
        "kills": kills,
        "seconds": round(time.monotonic() - t0, 1),
        "requests_sent": sent,
        "replies_acknowledged": len(acked),
        "finished_by_recovery_pass": recovered,
        "artifacts": artifacts,
        "acknowledged_replies_lost": len(lost),
        "lost_examples": lost[:10],
        "artifacts_without_links": int(no_link),
        "database": db_url.split(":", 1)[0],
        "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
        "date": dt.date.today().isoformat(),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kills", type=int, default=25)
    ap.add_argument("--db", default=None, help="DATABASE_URL (default: a fresh SQLite file)")
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    result = drill(kills=a.kills, db=a.db)
    print(json.dumps(result, indent=2))
    if a.out:
        Path(a.out).write_text(json.dumps(result, indent=2))
    return 0 if result["acknowledged_replies_lost"] == 0 and result["artifacts_without_links"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
