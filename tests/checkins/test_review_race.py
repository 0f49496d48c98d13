"""Keep/kill is compare-and-set on both databases: one winner among racing reviewers, one audit entry."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import col

from bot.boards import answers
from bot.config import OrgConfig
from bot.db import session_scope
from bot.errors import InputError
from bot.models import Artifact, AuditLog
from tests import factories as f

NOW = f.NOW
ORG = OrgConfig(timezone="UTC", admins=["UADMIN"])


@pytest.fixture
def art(engine: Engine) -> int:
    for uid in ("U1", "UM", "UADMIN"):
        f.person(engine, uid, name=f"Name {uid}")
    f.teams(engine, {"A": ["U1"]}, managers={"A": ["UM"]})
    return f.artifact(engine, "U1", "https://x.example/a", title="Agent A")


def _audits(engine: Engine, art: int) -> list[str]:
    with session_scope(engine) as s:
        q = select(AuditLog).where(col(AuditLog.target_type) == "artifact", col(AuditLog.target_id) == str(art))
        return [a.action for a in s.scalars(q)]


def test_racing_reviewers_one_winner_one_audit_entry(engine: Engine, art: int) -> None:
    def review(who_keep: tuple[str, bool]) -> str:
        who, keep = who_keep
        try:
            done = answers.review_artifact(
                engine=engine, org=ORG, user_id=who, artifact_id=art, keep=keep, now=NOW, seen="submitted"
            )
        except InputError as exc:
            return f"lost: {exc}"
        return f"won: {done.status}"

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(review, [("UM", False), ("UADMIN", True), ("UM", False), ("UADMIN", True)]))
    won = [r for r in results if r.startswith("won")]
    assert len(won) == 1, results
    with session_scope(engine) as s:
        final = s.get(Artifact, art)
        assert final is not None
        assert won[0] == f"won: {final.status}"
        winner = "Name UM" if final.status == "killed" else "Name UADMIN"
    assert all(f"Already {final.status} by {winner}" in r for r in results if r.startswith("lost")), results
    assert len(_audits(engine, art)) == 1


def test_a_double_click_is_audited_once_and_the_author_told_once(engine: Engine, art: int) -> None:
    first = answers.review_artifact(engine=engine, org=ORG, user_id="UM", artifact_id=art, keep=True, now=NOW,
                                    seen="submitted", reason="Used by sales every week")
    assert first.changed and first.notice is not None and first.notice.channel == "U1"
    assert "Reason: Used by sales every week" in first.notice.text and "it now counts fully" in first.notice.text
    with pytest.raises(InputError, match="Already kept by Name UM"):
        answers.review_artifact(engine=engine, org=ORG, user_id="UM", artifact_id=art, keep=True, now=NOW,
                                seen="submitted")
    assert _audits(engine, art) == ["artifact_kept"]
