"""What a person asks of the boards: a manager's team report, the team leaderboard, App Home, keep/kill.

Each function takes the asker's Slack id or person and plain arguments, decides what they may
see or do, and returns plain data; refusals are domain errors whose message is the answer.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.artifacts.intake import Notice
from bot.artifacts.links import escape_mrkdwn
from bot.artifacts.store import check_review, review_once
from bot.boards.home import HomeData, home_data
from bot.boards.leaderboard import BoardRow, board
from bot.boards.reports import TeamReport, report_for_team
from bot.config import OrgConfig, weights_of
from bot.db import session_scope
from bot.errors import InputError, NotFound, PermissionDenied
from bot.models import Artifact, Person, Team
from bot.people import access
from bot.people.store import find_person
from bot.people.teams import find_team
from bot.periods import collecting_period
from bot.scoring import KEPT, KILLED
from bot.slack.words import reason_too_long, review_notice

log = logging.getLogger(__name__)

REFUSAL = "Only managers and admins can run /artifact-report, and only for their own teams."
WHICH_TEAM = "Which team? Usage: /artifact-report TEAM [YYYY-MM] [csv]"
NOT_A_REVIEWER = "Only a manager of this person's team or an admin can review this artifact."
MAX_REASON = 500  # characters of a reviewer's reason, as the Kill modal's field allows


@dataclass
class TeamBoard:
    """The team leaderboard anyone may see: teams below the minimum size are left out."""

    period: str
    rows: list[BoardRow]
    hidden: int


@dataclass
class Home:
    """A person's App Home: their data and a line of suggested evidence (or None)."""

    data: HomeData
    suggestion: str | None


@dataclass
class Reviewed:
    """The artifact a manager kept or killed."""

    artifact_id: int
    title: str
    period: str
    status: str
    changed: bool = True
    notice: Notice | None = None  # the author's DM (through the outbox) when this review changed the status


@dataclass
class KillForm:
    """What the Kill modal shows and carries: the artifact and the status the button showed."""

    artifact_id: int
    title: str
    period: str
    seen: str
    author: str | None = None
    already: bool = False  # killed before the button was pressed: no modal, "It already was."


def team_report(
    *, engine: Engine, org: OrgConfig, user_id: str, team_name: str | None, period: str | None, now: dt.datetime
) -> TeamReport:
    """The report of ``team_name`` (default: the one team the asker manages) for ``period``
    (default: the period being collected).

    Raises:
        PermissionDenied: the asker is neither an admin nor a manager of that team. The same
            refusal whether the team exists or not, so it reveals nothing.
        NotFound: an admin named a team that does not exist.
        InputError: a manager of several teams (or none named) did not say which.
    """
    with session_scope(engine) as s:
        v = access.viewer(s, org, user_id)
        if not v.is_admin and not v.managed_team_ids:
            raise PermissionDenied(REFUSAL)
        team: Team | None
        if team_name:
            team = find_team(s, team_name)
            if team is None or not access.can_see_team(v, team):
                if not v.is_admin:
                    raise PermissionDenied(REFUSAL)
                raise NotFound(f"No team named {escape_mrkdwn(team_name)!r}.")
        else:
            managed = [s.get(Team, tid) for tid in sorted(v.managed_team_ids)]
            if len(managed) != 1:
                raise InputError(WHICH_TEAM)
            team = managed[0]
        if team is None:
            raise NotFound("That team no longer exists.")
        period = period or collecting_period(now, org.tz, org.checkin.reply_until_day)
        return report_for_team(s, team=team, period=period, org=org, now=now)


def narrative(*, llm: Any, report: TeamReport) -> str | None:
    """A short narrative of the report by the language model; None without one or when it fails."""
    if llm is None:
        return None
    try:
        text: str | None = llm.write_narrative(report.as_json())
    except Exception:
        log.exception("narrative failed; the report goes out without it")
        return None
    return text


def team_board(*, engine: Engine, org: OrgConfig, period: str | None, now: dt.datetime) -> TeamBoard:
    """The team leaderboard of ``period`` (default: the period being collected): teams only, no personal
    spend, small teams hidden."""
    period = period or collecting_period(now, org.tz, org.checkin.reply_until_day)
    with session_scope(engine) as s:
        rows = board(s, period, weights_of(org), by="team")
    visible = [r for r in rows if (r.members or 0) >= org.min_team_size]
    for i, r in enumerate(visible, 1):
        r.rank = i
    return TeamBoard(period=period, rows=visible, hidden=len(rows) - len(visible))


def home(*, engine: Engine, org: OrgConfig, person: Person, now: dt.datetime) -> Home:
    """What a person's App Home shows now."""
    from bot.spend.sync import suggested_evidence  # loads the provider connectors: only when a home is opened

    with session_scope(engine) as s:
        data = home_data(s, person, org, now)
        suggestion = suggested_evidence(s, person.id or 0, data.period)["text"]
    return Home(data=data, suggestion=suggestion)


def clean_reason(text: str | None) -> str | None:
    """A reviewer's reason, trimmed; None when blank.

    Raises:
        InputError: longer than :data:`MAX_REASON` characters.
    """
    reason = (text or "").strip()
    if len(reason) > MAX_REASON:
        raise InputError(reason_too_long(len(reason), MAX_REASON))
    return reason or None


def _reviewer(s: Session, org: OrgConfig, user_id: str, artifact_id: int) -> tuple[Person, bool]:
    """The asker as the reviewer of an artifact, and whether they may review its maker.

    Raises:
        NotFound: no such artifact.
        PermissionDenied: the asker is nobody the bot knows.
    """
    art = s.get(Artifact, artifact_id)
    if art is None:
        raise NotFound("That artifact no longer exists.")
    v = access.viewer(s, org, user_id)
    me = find_person(s, user_id)
    if me is None:
        raise PermissionDenied(NOT_A_REVIEWER)
    return me, access.can_review_person(s, v, art.person_id)


def kill_form(*, engine: Engine, org: OrgConfig, user_id: str, artifact_id: int, seen: str | None = None) -> KillForm:
    """The Kill modal of an artifact, checked as the kill itself will be before the modal opens.

    Raises:
        NotFound: no such artifact (or removed).
        PermissionDenied: the asker may not review it.
        InputError: its status is no longer ``seen`` ("Already kept by Grace").
    """
    with session_scope(engine) as s:
        me, may_review = _reviewer(s, org, user_id, artifact_id)
        art = check_review(s, artifact_id=artifact_id, status=KILLED, reviewer=me, may_review=may_review, seen=seen)
        author = s.get(Person, art.person_id)
        return KillForm(
            artifact_id=artifact_id,
            title=art.title,
            period=art.period,
            seen=art.status,
            author=author.name if author is not None else None,
            already=art.status == KILLED,
        )


def review_artifact(
    *,
    engine: Engine,
    org: OrgConfig,
    user_id: str,
    artifact_id: int,
    keep: bool,
    now: dt.datetime,
    seen: str | None = None,
    reason: str | None = None,
) -> Reviewed:
    """Keep or kill an artifact from the report: admins and managers of the maker's team, never the maker.

    Compare-and-set against ``seen`` (the status the button showed): one winner; the author hears of a
    real change (with ``reason`` when one was given).

    Raises:
        NotFound: no such artifact (or removed).
        PermissionDenied: the asker may not review it.
        InputError: someone reviewed it first ("Already killed by Grace"), or the reason is too long.
    """
    status = KEPT if keep else KILLED
    reason = clean_reason(reason)
    with session_scope(engine) as s:
        me, may_review = _reviewer(s, org, user_id, artifact_id)
        art, changed = review_once(
            s,
            artifact_id=artifact_id,
            status=status,
            reviewer=me,
            now=now,
            may_review=may_review,
            seen=seen,
            reason=reason,
        )
        author = s.get(Person, art.person_id)
        notice = None
        if changed and author is not None and author.slack_user_id:
            notice = Notice(
                channel=author.slack_user_id,
                text=review_notice(
                    reviewer=me.name or "A manager", title=art.title, period=art.period, status=status, reason=reason
                ),
                key=f"review:{artifact_id}:{status}:{now.isoformat()}",
            )
        return Reviewed(
            artifact_id=artifact_id, title=art.title, period=art.period, status=status, changed=changed, notice=notice
        )
