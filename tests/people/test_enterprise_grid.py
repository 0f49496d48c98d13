"""One org-wide install in a two-workspace Enterprise Grid organisation, end to end over real HTTP.

``people sync`` walks both workspaces, the month-end check-in reaches everyone from their home
workspace with each workspace paced on its own (a 429 storm in one leaves the other's pace as it
was), and a request signed for another enterprise is refused with nothing stored.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.db import make_engine, session_scope
from bot.models import Artifact, Note, Person, PersonWorkspace, SendPace, Workspace
from bot.slack.outbox import pace_name
from handlers.context import OTHER_WORKSPACE
from testing.serve import app_env, free_port, serving
from testing.signing import command_body, post_signed
from testing.slack_emulator import SlackEmulator, make_user

SECRET = "grid-signing-secret"
ENTERPRISE = "E0ACME"
ONE, TWO = "T0ONE", "T0TWO"
PERIOD = "2026-10"
PER_WORKSPACE = 12
ORG = """\
timezone: UTC
admins: [W0ADMIN]
min_team_size: 1
"""


def grid_users() -> list[dict]:
    users = [
        make_user(f"W1{i:04d}", f"one{i}", email=f"one{i}@acme.com", team_id=ONE, enterprise_id=ENTERPRISE)
        for i in range(PER_WORKSPACE)
    ]
    users += [
        make_user(f"W2{i:04d}", f"two{i}", email=f"two{i}@acme.com", team_id=TWO, enterprise_id=ENTERPRISE)
        for i in range(PER_WORKSPACE)
    ]
    users += [
        # Home in TWO, member of both: one person, whose DMs go out from TWO.
        make_user("W0BOTH", "both", email="both@acme.com", team_id=TWO, enterprise_id=ENTERPRISE, teams=[ONE, TWO]),
        make_user("W0ADMIN", "admin", email="admin@acme.com", team_id=ONE, enterprise_id=ENTERPRISE),
        make_user("W0BOT", "grid-bot", is_bot=True, team_id=ONE, enterprise_id=ENTERPRISE),
    ]
    return users


@contextmanager
def grid_bot(db_url: str, tmp_path: Path) -> Iterator[tuple[SlackEmulator, dict[str, str], str]]:
    """A Grid emulator with an org-level token and ``artifact-bot serve`` against it."""
    (tmp_path / "org.yaml").write_text(ORG)
    with SlackEmulator(
        users=grid_users(), enterprise_id=ENTERPRISE, workspaces={ONE: "Acme One", TWO: "Acme Two"}, team_id=ONE
    ) as emu:
        port = free_port()
        base = {k: v for k, v in os.environ.items() if not k.startswith(("OUTBOX_", "OPENAI", "ANTHROPIC"))}
        env = app_env(
            emu, signing_secret=SECRET, database_url=db_url, port=port, config=tmp_path / "org.yaml", base=base
        )
        env.update(OUTBOX_RATE_PER_SECOND="10", OUTBOX_CONCURRENCY="2")
        # a loaded machine starts slowly
        with serving(["--no-scheduler"], env=env, cwd=tmp_path, port=port, timeout=60) as served:
            yield emu, env, served.url


def cli(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )


@pytest.mark.serial
@pytest.mark.slow
def test_org_wide_install_syncs_both_workspaces_paces_each_and_refuses_another_enterprise(
    db_url: str, tmp_path: Path
) -> None:
    engine = make_engine(db_url)
    with grid_bot(db_url, tmp_path) as (emu, env, url):
        # people sync: auth.teams.list, then users.list per workspace; each person once.
        res = cli(env, tmp_path, "people", "sync")
        assert res.returncode == 0, res.stderr
        listed = [c.params.get("team_id") for c in emu.calls("users.list")]
        assert sorted(listed) == [ONE, TWO]
        assert emu.call_count("auth.teams.list") == 1
        humans = 2 * PER_WORKSPACE + 2
        with session_scope(engine) as s:
            assert s.scalar(select(func.count()).select_from(Person)) == humans
            assert {(w.team_id, w.enterprise_id, w.name) for w in s.scalars(select(Workspace))} == {
                (ONE, ENTERPRISE, "Acme One"),
                (TWO, ENTERPRISE, "Acme Two"),
            }
            both = s.scalars(select(Person).where(Person.slack_user_id == "W0BOTH")).one()
            rows = s.scalars(select(PersonWorkspace).where(PersonWorkspace.person_id == both.id)).all()
            assert {(r.team_id, r.home) for r in rows} == {(ONE, False), (TWO, True)}
            homes = dict(
                s.execute(
                    select(Person.slack_user_id, PersonWorkspace.team_id)
                    .join(PersonWorkspace, PersonWorkspace.person_id == Person.id)
                    .where(PersonWorkspace.home)
                ).all()
            )

        # Month end: a 429 storm in TWO (three answers of Retry-After: 1 s in a row).
        emu.rate_limit("chat.postMessage", retry_after=1, times=3, when=lambda p: p.get("team_id") == TWO)
        res = cli(env, tmp_path, "jobs", "run", "checkin", "--period", PERIOD)
        assert res.returncode == 0, res.stderr + res.stdout
        posts = emu.calls("chat.postMessage", ok=True)
        assert Counter(str(c.params["channel"]) for c in posts) == {sid: 1 for sid in homes}
        assert all(c.params.get("team_id") == homes[str(c.params["channel"])] for c in posts)
        assert emu.throttled_count("chat.postMessage", team_id=TWO) == 3
        assert emu.throttled_count("chat.postMessage", team_id=ONE) == 0

        # ONE was never paused: its sends ran back to back while TWO sat out its storm.
        one = sorted(c.time for c in posts if c.params["team_id"] == ONE)
        two = sorted(c.time for c in emu.calls("chat.postMessage") if c.params.get("team_id") == TWO)
        assert max(b - a for a, b in itertools.pairwise(one)) < 0.6
        assert one[-1] < two[-1] - 1.5
        with session_scope(engine) as s:
            paces = {p.name: p for p in s.scalars(select(SendPace))}
        assert paces[pace_name(ONE)].ceiling is None and paces[pace_name(ONE)].rate_per_second >= 10
        assert paces[pace_name(TWO)].ceiling is not None
        assert paces[pace_name(TWO)].rate_per_second < paces[pace_name(TWO)].ceiling

        # Requests from the enterprise's workspaces are served; another enterprise, or a stray
        # workspace outside any, is refused and nothing is stored.
        def artifact(team: str, enterprise: str | None, user: str, link: str) -> str:
            body = command_body(
                "/artifact",
                f"{link} Churn agent",
                user,
                team_id=team,
                enterprise_id=enterprise,
                response_url=emu.response_url(),
            )
            res = post_signed(f"{url}/slack/events", body, SECRET)
            assert res.status == 200
            return res.body.decode() if isinstance(res.body, bytes) else str(res.body)

        assert OTHER_WORKSPACE not in artifact(TWO, ENTERPRISE, "W20001", "https://github.com/acme/a/pull/1")
        for team, enterprise in (("T0EVIL", "E0EVIL"), (ONE, "E0EVIL"), ("T0STRAY", None)):
            assert OTHER_WORKSPACE in artifact(team, enterprise, "W0EVIL", "https://evil.example/x")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with session_scope(engine) as s:
                if s.scalar(select(func.count()).select_from(Artifact)):
                    break
            time.sleep(0.1)
        with session_scope(engine) as s:
            urls = [a.primary_url for a in s.scalars(select(Artifact))]
            assert urls == ["https://github.com/acme/a/pull/1"]
            assert s.scalar(select(func.count()).select_from(Note)) == 0
            assert s.scalars(select(Person).where(Person.slack_user_id == "W0EVIL")).first() is None
    engine.dispose()
