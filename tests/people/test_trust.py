"""Data rights, the audit log and anti-gaming signals."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from bot.artifacts.flags import cross_team_claim
from bot.artifacts.store import NewArtifact, add_artifact, capture_reply, edit_artifact, review_once
from bot.boards.leaderboard import board
from bot.boards.reports import team_report
from bot.config import OrgConfig, parse_org_config
from bot.db import session_scope
from bot.errors import PermissionDenied
from bot.models import Artifact, ArtifactLink, AuditLog, HomeChartFile, Note, Person, UsageRow
from bot.people.privacy import export_person, forget_person
from bot.people.store import find_person
from bot.scoring import Weights
from tests import factories as f


@pytest.fixture
def org_data(engine):
    for uid in ("U1", "U2", "U3", "U4"):
        f.person(engine, uid, name=f"Name {uid}")
    f.teams(engine, {"A": ["U1", "U2"], "B": ["U3"]}, managers={"A": ["U2"], "B": ["U4"]})
    f.spend(engine, "U1", 25.0)
    return engine


def test_cannot_review_own_artifact_even_as_manager(org_data):
    aid = f.artifact(org_data, "U2", "https://x.example/mine")
    with session_scope(org_data) as s, pytest.raises(PermissionDenied, match="own artifact"):
        review_once(s, artifact_id=aid, status="kept", reviewer=find_person(s, "U2"), now=f.NOW, may_review=True)


def test_edit_after_keep_returns_to_submitted(org_data):
    aid = f.artifact(org_data, "U1", "https://x.example/a")
    with session_scope(org_data) as s:
        review_once(s, artifact_id=aid, status="kept", reviewer=find_person(s, "U2"), now=f.NOW, may_review=True)
    with session_scope(org_data) as s:
        edit_artifact(s, artifact_id=aid, editor=find_person(s, "U1"), now=f.NOW,
                      new=NewArtifact(title="changed", urls=["https://x.example/a2"]))
        assert s.get(Artifact, aid).status == "submitted"
        actions = s.scalars(select(AuditLog.action).order_by(AuditLog.id)).all()
    assert "artifact_kept" in actions and "artifact_edited" in actions


def test_same_link_in_two_teams_is_flagged_once_and_in_the_report(org_data):
    f.artifact(org_data, "U1", "https://github.com/acme/shared")
    aid = f.artifact(org_data, "U3", "https://github.com/acme/shared")
    with session_scope(org_data) as s:
        claim = cross_team_claim(s, s.get(Artifact, aid))
        again = cross_team_claim(s, s.get(Artifact, aid))
    assert claim is not None and claim.new and claim.teams == ["A", "B"] and set(claim.managers) == {"U2", "U4"}
    assert again is not None and not again.new
    with session_scope(org_data) as s:
        rep = team_report(s, team_name="A", period="2026-10", org=OrgConfig())
    flags = [fl for m in rep.members for a in m.items for fl in a.flags]
    assert "also claimed by another team" in flags


def test_burst_at_the_end_of_the_period_is_flagged(org_data):
    org = OrgConfig(timezone="UTC", burst_min_artifacts=3, burst_window_hours=6)
    late = dt.datetime(2026, 10, 31, 22, 0, tzinfo=dt.UTC)
    with session_scope(org_data) as s:
        me = find_person(s, "U1")
        for i in range(3):
            add_artifact(s, person=me, period="2026-10", source="test", source_key=None, now=late,
                         new=NewArtifact(title=f"late {i}", urls=[f"https://late.example/{i}"]))
        add_artifact(s, person=find_person(s, "U2"), period="2026-10", source="test", source_key=None, now=late,
                     new=NewArtifact(title="one", urls=["https://late.example/u2"]))
    with session_scope(org_data) as s:
        rep = team_report(s, team_name="A", period="2026-10", org=org)
    by_person = {m.slack_user_id: [fl for a in m.items for fl in a.flags] for m in rep.members}
    assert len(by_person["U1"]) == 3 and "last 6h" in by_person["U1"][0]
    assert by_person["U2"] == []


def test_export_and_forget_keep_the_board(org_data):
    f.artifact(org_data, "U1", "https://x.example/keep", status="kept")
    with session_scope(org_data) as s:
        capture_reply(s, person=find_person(s, "U1"), text="no link, just words", event_key="e1", now=f.NOW,
                      org=OrgConfig())
    with session_scope(org_data) as s:
        s.add(HomeChartFile(person_id=find_person(s, "U1").id, data_hash="h" * 64, file_id="F0CHART"))
    with session_scope(org_data) as s:
        before = [(r.name, r.artifacts, r.spend_usd) for r in board(s, "2026-10", Weights(), by="team")]
        data = export_person(s, "U1", actor="test")
    text = json.dumps(data)
    assert data["home_chart"][0]["file_id"] == "F0CHART"
    assert "u1@example.com" in text and "https://x.example/keep" in text and "no link, just words" in text
    with session_scope(org_data) as s:
        forget_person(s, "u1@example.com", actor="test")
    with session_scope(org_data) as s:
        p = s.scalars(select(Person).where(Person.name == "forgotten-1")).one()
        assert (p.email, p.slack_user_id, p.forgotten) == (None, None, True)
        assert s.scalar(select(func.count()).select_from(Note)) == 0
        assert s.scalar(select(func.count()).select_from(HomeChartFile)) == 0
        assert set(s.scalars(select(Artifact.title)).all()) == {"[removed]"}
        assert set(s.scalars(select(ArtifactLink.url)).all()) == {"[removed]"}
        assert all(i.startswith("forgotten:") for i in s.scalars(select(UsageRow.identity)).all())
        after = [(r.name, r.artifacts, r.spend_usd) for r in board(s, "2026-10", Weights(), by="team")]
        actions = set(s.scalars(select(AuditLog.action)).all())
    assert after == before  # anonymised aggregates: team history unchanged
    assert {"person_exported", "person_forgotten"} <= actions


def test_cli_export_forget_and_audit(tmp_path):
    url = f"sqlite:///{tmp_path / 'p.db'}"
    (tmp_path / "org.yaml").write_text("teams:\n  - name: A\n    members: [alice@example.com]\n    managers: [U0M]\n")
    env = {"DATABASE_URL": url, "PATH": "/usr/bin:/bin"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True, cwd=tmp_path,
                              env=env, timeout=60)

    assert run("teams", "import", "org.yaml").returncode == 0
    exported = run("people", "export", "alice@example.com")
    assert exported.returncode == 0 and json.loads(exported.stdout)["person"]["email"] == "alice@example.com"
    assert run("people", "forget", "alice@example.com", "--yes").returncode == 0
    missing = run("people", "export", "alice@example.com")
    assert missing.returncode == 2 and "no person" in missing.stderr
    audit = run("audit", "--format", "json")
    actions = [e["action"] for e in json.loads(audit.stdout)]
    assert {"managers_changed", "person_exported", "person_forgotten"} <= set(actions)


def test_config_reload_keeps_the_old_config_on_error(sqlite_engine, tmp_path, caplog):
    from bot.config import Settings
    from bot.deps import Deps
    from bot.runtime.reload import reload_config

    good = "timezone: UTC\nadmins: [U0A]\nteams:\n  - name: A\n    members: [U1]\n"
    path = tmp_path / "org.yaml"
    path.write_text(good)
    deps = Deps(settings=Settings(), org=parse_org_config(good), engine=sqlite_engine)
    path.write_text(good.replace("timezone: UTC", "timezone: Nowhere/City"))
    assert reload_config(deps, path) is False
    assert deps.org.timezone == "UTC"
    assert "org.yaml:1: timezone" in caplog.text
    path.write_text(good.replace("admins: [U0A]", "admins: [U0A, U0B]"))
    assert reload_config(deps, path) is True and deps.org.admins == ["U0A", "U0B"]
    with session_scope(sqlite_engine) as s:
        actions = s.scalars(select(AuditLog.action)).all()
    assert "config_reload_failed" in actions and "admins_set" in actions
