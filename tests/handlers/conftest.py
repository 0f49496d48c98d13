"""A running ``artifact-bot serve`` talking to the Slack Web API emulator over real HTTP."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from testing.serve import app_env, free_port, serving
from testing.signing import post_signed
from testing.slack_emulator import SlackEmulator, make_user

SECRET = "test-signing-secret"
ORG = """\
timezone: UTC
admins: [U0ADMIN]
min_team_size: 2
teams:
  - name: Growth
    members: [alice@example.com, bob@example.com]
    managers: [U0CAROL]
    channel: C0GROWTH
    monthly_budget_usd: 1000
  - name: Infra
    members: [dave@example.com, erin@example.com]
    managers: [U0DAVE]
"""
USERS = [
    make_user("U0ALICE", "alice", email="alice@example.com", real_name="Alice Smith"),
    make_user("U0BOB", "bob", email="bob@example.com", real_name="Bob Jones"),
    make_user("U0CAROL", "carol", email="carol@example.com", real_name="Carol Manager"),
    make_user("U0DAVE", "dave", email="dave@example.com", real_name="Dave Infra"),
    make_user("U0ERIN", "erin", email="erin@example.com", real_name="Erin Infra"),
    make_user("U0ADMIN", "admin", email="admin@example.com", real_name="Ada Admin"),
    make_user("U0BOTX", "somebot", is_bot=True),
    make_user("U0GONE", "gone", email="gone@example.com", deleted=True),
]


def child_pids(pid: int) -> list[int]:
    """The direct children of a process (Linux ``/proc``)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    return out


@dataclass
class Bot:
    """The running app, its emulator and helpers to talk to it like Slack does."""

    url: str
    emu: SlackEmulator
    env: dict[str, str]
    cwd: Path
    pid: int = 0
    log_path: Path | None = None

    def post(self, body: bytes, **headers: str):
        return post_signed(f"{self.url}/slack/events", body, SECRET, headers=headers or None)

    def answer_text(self, body_for: Callable[[str], bytes], timeout: float = 10.0) -> str:
        """Post ``body_for(response_url)``; the last answer posted to that ``response_url``, as JSON text."""
        url = self.emu.response_url()
        assert self.post(body_for(url)).status == 200
        posts = self.wait_for(lambda: self.emu.responses_to(url), timeout=timeout)
        return json.dumps(posts[-1].body)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", *args],
            env=self.env,
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def leaderboard(self, period: str, by: str = "team") -> dict[str, dict]:
        res = self.cli("leaderboard", "--period", period, "--by", by, "--format", "json")
        assert res.returncode == 0, res.stderr
        return {r["name"]: r for r in json.loads(res.stdout)}

    def wait_for(self, predicate, timeout: float = 10.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            value = predicate()
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError("condition not met in time")


@contextmanager
def running_bot(
    db_url: str, tmp_path: Path, extra_env: dict[str, str] | None = None, serve_args: tuple[str, ...] = ()
) -> Iterator[Bot]:
    """Start ``artifact-bot serve`` against a fresh emulator; stop both afterwards."""
    (tmp_path / "org.yaml").write_text(ORG)
    with SlackEmulator(users=USERS) as emu:
        port = free_port()
        env = app_env(emu, signing_secret=SECRET, database_url=db_url, port=port, config=tmp_path / "org.yaml")
        env.update(extra_env or {})
        with serving(["--no-scheduler", *serve_args], env=env, cwd=tmp_path, port=port, timeout=30) as served:
            yield Bot(url=served.url, emu=emu, env=env, cwd=tmp_path, pid=served.proc.pid, log_path=served.log_path)


@contextmanager
def synced_bot(template: Path, tmp_path: Path, extra_env: dict[str, str] | None = None) -> Iterator[Bot]:
    """:func:`running_bot` on a copy of the migrated SQLite ``template``, after ``people sync``."""
    shutil.copy(template, tmp_path / "p.db")
    with running_bot(f"sqlite:///{tmp_path / 'p.db'}", tmp_path, extra_env) as bot:
        assert bot.cli("people", "sync").returncode == 0
        yield bot


@pytest.fixture
def bot(db_url: str, tmp_path: Path) -> Iterator[Bot]:
    with running_bot(db_url, tmp_path) as b:
        yield b
