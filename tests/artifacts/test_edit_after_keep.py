"""An edit that read the artifact before a manager's keep landed does not stay kept with new links."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session

from bot.artifacts.store import NewArtifact, edit_artifact, review_once
from bot.db import session_scope
from bot.models import Artifact, Person
from bot.scoring import KEPT, SUBMITTED
from tests import factories as f

NOW = dt.datetime(2026, 10, 20, 12, tzinfo=dt.UTC)


def test_an_edit_landing_after_a_keep_sends_the_artifact_back_to_review(engine) -> None:
    # Before: the edit's session had read "submitted", the keep committed "kept", and the edit wrote
    # only the columns it changed: the artifact stayed kept, with links the manager never saw.
    f.person(engine, "U0ANN")
    f.person(engine, "U0MGR")
    aid = f.artifact(engine, "U0ANN", "https://github.com/acme/a/pull/1", title="Agent")
    with Session(engine, expire_on_commit=False) as editing:
        art = editing.get(Artifact, aid)  # the edit has read the artifact: submitted
        assert art is not None and art.status == SUBMITTED
        with session_scope(engine) as s:  # meanwhile the manager keeps it
            mgr = s.get(Person, f.person(engine, "U0MGR"))
            assert mgr is not None
            _, changed = review_once(s, artifact_id=aid, status=KEPT, reviewer=mgr, now=NOW, may_review=True)
            assert changed
        ann = editing.get(Person, art.person_id)
        assert ann is not None
        edit_artifact(editing, artifact_id=aid, editor=ann,
                      new=NewArtifact(title="Agent v2", urls=["https://github.com/acme/other/pull/9"]), now=NOW)
        editing.commit()
    with session_scope(engine) as s:
        stored = s.get(Artifact, aid)
        assert stored is not None
        assert (stored.status, stored.primary_url) == (SUBMITTED, "https://github.com/acme/other/pull/9")
