"""Artifacts coming in (``bot.artifacts.intake``) on a real database: command, DM reply, modal, edit, remove."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import col

from bot.artifacts import inbox, intake
from bot.artifacts.extraction import ExtractedArtifact
from bot.artifacts.store import NewArtifact
from bot.config import OrgConfig
from bot.db import session_scope
from bot.errors import InputError, NotFound, PermissionDenied
from bot.models import Artifact, AuditLog, Note, Person
from bot.people.store import find_person
from tests import factories as f

ORG = OrgConfig(timezone="UTC")
NOW = f.NOW  # 2026-10-30 20:00 UTC: the open period is 2026-10
TS = f"{NOW.timestamp():.6f}"


def _person(engine: Engine, slack_id: str) -> Person:
    with session_scope(engine) as s:
        p = find_person(s, slack_id)
        assert p is not None
        return p


def _dm(engine: Engine, text: str, *, user: str = "U1", llm: Any = None) -> intake.Logged | None:
    """``capture_dm`` of ``text``, sent by ``user`` in their DM channel (``D`` + their number) at ``TS``."""
    return intake.capture_dm(
        engine=engine,
        journal=engine,
        org=ORG,
        person=_person(engine, user),
        channel=f"D{user[1:]}",
        ts=TS,
        text=text,
        now=NOW,
        llm=llm,
    )


def _count(engine: Engine, model: type) -> int:
    with session_scope(engine) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
def org(engine: Engine) -> Engine:
    for uid in ("U1", "U2", "U3", "U4", "U5"):
        f.person(engine, uid, name=f"Name {uid}")
    # U1 in A (managed by U2), U3 in B (managed by U4); U5 is in no team.
    f.teams(engine, {"A": ["U1", "U2"], "B": ["U3"]}, managers={"A": ["U2"], "B": ["U4"]})
    return engine


def test_sent_at_uses_slacks_timestamp_only_when_plausible():
    assert intake.sent_at(TS, NOW) == NOW
    hour_ago = NOW - dt.timedelta(hours=1)
    assert intake.sent_at(f"{hour_ago.timestamp():.6f}", NOW) == hour_ago
    month_ago = NOW - dt.timedelta(days=30)
    assert intake.sent_at(f"{month_ago.timestamp():.6f}", NOW) == NOW  # not a real recent message
    assert intake.sent_at("not-a-ts", NOW) == NOW
    assert intake.sent_at("1e400", NOW) == NOW


def test_command_logs_one_link_with_its_title(org: Engine):
    logged = intake.log_from_command(
        engine=org, org=ORG, person=_person(org, "U1"), text="https://github.com/acme/app/pull/42 Churn agent", now=NOW
    )
    assert logged.period == "2026-10"
    assert [(title, urls) for _, title, urls in logged.created] == [
        ("Churn agent", ["https://github.com/acme/app/pull/42"])
    ]
    assert logged.duplicates == [] and logged.notices == []
    with session_scope(org) as s:
        art = s.get(Artifact, logged.created[0][0])
        assert art is not None and art.source == "command" and art.status == "submitted"


def test_command_with_a_slack_formatted_link_takes_its_label(org: Engine):
    logged = intake.log_from_command(
        engine=org, org=ORG, person=_person(org, "U1"), text="<https://docs.example.com/x|The runbook>", now=NOW
    )
    assert logged.created[0][1] == "The runbook"


def test_command_twice_with_the_same_link_is_a_duplicate(org: Engine):
    me = _person(org, "U1")
    intake.log_from_command(engine=org, org=ORG, person=me, text="https://x.example/a First", now=NOW)
    again = intake.log_from_command(engine=org, org=ORG, person=me, text="https://x.example/a Second", now=NOW)
    assert again.created == [] and again.duplicates == ["First"]
    assert _count(org, Artifact) == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("just words", "is not an http(s) link"),
        ("ftp://x.example/a title", "Usage: /artifact URL [title]"),
        ("see https://x.example/a", "Usage: /artifact URL [title]"),  # the link must come first
        ("https://x.example/" + "a" * 1200, "keep /artifact under 1000 characters"),
        ("https://x.example/a " + "t" * 200, "Keep the title under 150 characters"),
    ],
)
def test_bad_command_text_saves_nothing(org: Engine, text: str, message: str):
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        intake.log_from_command(engine=org, org=ORG, person=_person(org, "U1"), text=text, now=NOW)
    assert _count(org, Artifact) == 0


def test_a_link_claimed_by_two_teams_notifies_both_managers_once(org: Engine):
    intake.log_from_command(engine=org, org=ORG, person=_person(org, "U1"), text="https://x.example/shared", now=NOW)
    second = intake.log_from_command(
        engine=org, org=ORG, person=_person(org, "U3"), text="https://x.example/shared Mine", now=NOW
    )
    assert sorted(n.channel for n in second.notices) == ["U2", "U4"]
    assert all("different teams (A, B)" in n.text and "x.example/shared" in n.text for n in second.notices)
    assert len({n.key for n in second.notices}) == 2 and all(n.key.startswith("claim:2026-10:") for n in second.notices)
    # A third claimant: the link was already flagged, nobody is told again.
    f.teams(org, {"C": ["U5"]}, managers={"C": ["U4"]})
    third = intake.log_from_command(
        engine=org, org=ORG, person=_person(org, "U5"), text="https://x.example/shared", now=NOW
    )
    assert third.created and third.notices == []
    with session_scope(org) as s:
        assert s.scalar(select(func.count()).where(col(AuditLog.action) == "cross_team_claim")) == 1


def test_same_team_claims_notify_nobody(org: Engine):
    intake.log_from_command(engine=org, org=ORG, person=_person(org, "U1"), text="https://x.example/ours", now=NOW)
    other = intake.log_from_command(
        engine=org, org=ORG, person=_person(org, "U2"), text="https://x.example/ours", now=NOW
    )
    assert other.created and other.notices == []


def test_dm_reply_records_links_and_marks_the_journal(org: Engine):
    inbox.store(org, user_id="U1", channel="D1", ts=TS, text="Shipped <https://github.com/acme/app/pull/9|billing>")
    logged = _dm(org, "Shipped <https://github.com/acme/app/pull/9|billing> and https://docs.example.com/runbook")
    assert logged is not None and logged.period == "2026-10" and not logged.note_kept
    assert sorted(urls[0] for _, _, urls in logged.created) == [
        "https://docs.example.com/runbook",
        "https://github.com/acme/app/pull/9",
    ]
    assert inbox.pending(org, older_than=dt.timedelta(0), now=NOW + dt.timedelta(days=1)) == []
    # Slack retries the same message: nothing new, no answer.
    again = _dm(org, "whatever")
    assert again is None
    assert _count(org, Artifact) == 2


def test_dm_reply_without_a_link_is_kept_as_a_note(org: Engine):
    logged = _dm(org, "I did stuff")
    assert logged is not None and logged.note_kept and logged.created == []
    assert _count(org, Note) == 1 and _count(org, Artifact) == 0


def test_dm_reply_of_an_already_logged_link_is_a_duplicate(org: Engine):
    f.artifact(org, "U1", "https://x.example/a", title="Old name")
    logged = _dm(org, "https://x.example/a again")
    assert logged is not None and logged.created == [] and logged.duplicates == ["Old name"]


@dataclass
class _Extraction:
    path: str
    artifacts: list[ExtractedArtifact] = field(default_factory=list)


class _Model:
    """A language model that names what it is shown (the interface ``capture_dm`` calls)."""

    def __init__(self, result: _Extraction | Exception) -> None:
        self.result = result
        self.seen: list[str] = []

    def extract_artifacts(self, text: str) -> _Extraction:
        self.seen.append(text)
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


def test_dm_reply_titles_are_refined_by_the_model_but_links_are_not_taken_from_it(org: Engine):
    model = _Model(
        _Extraction(
            path="model",
            artifacts=[
                ExtractedArtifact(
                    title="Billing agent", kind="agent", links=["https://github.com/acme/app/pull/9"], impact="Saves 2h"
                ),
                ExtractedArtifact(title="Invented", kind="agent", links=["https://evil.example.com/x"]),
            ],
        )
    )
    text = "done https://github.com/acme/app/pull/9"
    logged = _dm(org, text, llm=model)
    assert model.seen == [text]
    assert logged is not None and [(t, u) for _, t, u in logged.created] == [
        ("Billing agent", ["https://github.com/acme/app/pull/9"])
    ]
    with session_scope(org) as s:
        arts = s.scalars(select(Artifact)).all()
    assert [(a.title, a.kind, a.description) for a in arts] == [("Billing agent", "agent", "Saves 2h")]


def test_a_failing_model_leaves_the_parsed_artifacts(org: Engine):
    text = "done https://github.com/acme/app/pull/9"
    before = _dm(org, text, user="U3")
    assert before is not None
    logged = _dm(org, text, llm=_Model(RuntimeError("model down")))
    assert logged is not None and len(logged.created) == 1
    assert logged.created[0][1] == before.created[0][1]  # the deterministic title, as without a model


def test_read_form_reports_every_bad_field():
    with pytest.raises(intake.FieldErrors) as caught:
        intake.read_form(title="", links="ftp://x.example nope", kind="weird", description="d" * 1001)
    assert set(caught.value.errors) == {"title", "links", "kind", "description"}
    assert caught.value.errors["links"].startswith("ftp://x.example:")
    new = intake.read_form(title=" T ", links="<https://a.example/1>, https://b.example/2", kind=None, description=" ")
    assert new == NewArtifact(title="T", urls=["https://a.example/1", "https://b.example/2"], kind="other")


def test_modal_saves_for_an_allowed_period_only(org: Engine):
    me = _person(org, "U1")
    new = NewArtifact(title="Agent", urls=["https://x.example/a"], kind="agent")
    logged = intake.save_new(
        engine=org, org=ORG, person=me, new=new, asked_period="2019-01", source_key="view:V1", now=NOW
    )
    assert logged.period == "2026-10" and logged.created[0][1:] == ("Agent", ["https://x.example/a"])
    # Slack resubmits the same view: the same answer, nothing new.
    again = intake.save_new(
        engine=org, org=ORG, person=me, new=new, asked_period="2026-10", source_key="view:V1", now=NOW
    )
    assert again.created[0][0] == logged.created[0][0] and _count(org, Artifact) == 1
    # Another view with the same link is a field error.
    with pytest.raises(intake.FieldErrors) as caught:
        intake.save_new(engine=org, org=ORG, person=me, new=new, asked_period=None, source_key="view:V2", now=NOW)
    assert "already logged this link for October 2026" in caught.value.errors["links"]  # was "2026-10"


def test_edit_and_remove_are_for_the_owner_only(org: Engine):
    aid = f.artifact(org, "U1", "https://x.example/a", title="First")
    owner, other = _person(org, "U1"), _person(org, "U2")
    form = intake.edit_form(engine=org, person=owner, artifact_id=aid)
    assert (form.title, form.urls, form.period) == ("First", ["https://x.example/a"], "2026-10")
    with pytest.raises(PermissionDenied, match="Only the person who logged"):
        intake.edit_form(engine=org, person=other, artifact_id=aid)
    with pytest.raises(PermissionDenied):
        intake.save_edit(
            engine=org, person=other, artifact_id=aid, new=NewArtifact("X", ["https://x.example/b"]), now=NOW
        )
    changed = intake.save_edit(
        engine=org, person=owner, artifact_id=aid, new=NewArtifact("Second", ["https://x.example/b"]), now=NOW
    )
    assert (changed.title, changed.period) == ("Second", "2026-10")
    with pytest.raises(PermissionDenied):
        intake.remove(engine=org, person=other, artifact_id=aid, now=NOW)
    assert intake.remove(engine=org, person=owner, artifact_id=aid, now=NOW).title == "Second"
    with pytest.raises(NotFound):
        intake.edit_form(engine=org, person=owner, artifact_id=aid)
    with pytest.raises(NotFound):
        intake.remove(engine=org, person=owner, artifact_id=aid + 100, now=NOW)
    with session_scope(org) as s:
        art = s.get(Artifact, aid)
        assert art is not None and art.removed and art.title == "Second"


def test_period_for_a_new_artifact(org: Engine):
    assert intake.period_for(engine=org, org=ORG, person=_person(org, "U1"), now=NOW) == "2026-10"
