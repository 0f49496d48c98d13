"""The use cases behind each Slack surface. Handlers parse the request and call these."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from bot import ids
from bot.artifacts import inbox
from bot.artifacts.links import LinkError, escape_mrkdwn, extract_links, validate_url
from bot.artifacts.store import (
    NewArtifact,
    add_artifact,
    capture_reply,
    edit_artifact,
    links_of,
    open_period,
    remove_artifact,
    review,
    validate_new,
)
from bot.boards.home import home_data
from bot.boards.leaderboard import board
from bot.boards.reports import TeamReport, report_csv, report_for_team
from bot.checkins.checkin import mark_skipped
from bot.config import ARTIFACT_KINDS, weights_of
from bot.db import session_scope
from bot.deps import Deps
from bot.errors import InputError, NotFound, PermissionDenied
from bot.models import Artifact
from bot.people import access
from bot.people.directory import person_for_user
from bot.people.teams import find_team
from bot.periods import is_period, period_at
from bot.scoring import KEPT, KILLED
from bot.slack import blocks as bk

log = logging.getLogger(__name__)

MAX_COMMAND_TEXT = 1000
REFUSAL = "Only managers and admins can run /artifact-report, and only for their own teams."


@dataclass
class Answer:
    """What to tell the person: text and optional blocks, or a modal to open, or a file to upload."""

    text: str
    blocks: list[dict[str, Any]] | None = None
    modal: dict[str, Any] | None = None
    csv: str | None = None
    filename: str | None = None
    public: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def _now(deps: Deps) -> dt.datetime:
    return deps.clock()


def _message_time(deps: Deps, ts: str) -> dt.datetime:
    """When the person sent the message (Slack's ts), so a reply processed late still counts for its period.

    A ts far from the clock (not a real Slack timestamp) falls back to the clock.
    """
    now = _now(deps)
    try:
        sent = dt.datetime.fromtimestamp(float(ts), dt.UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return now
    return sent if now - dt.timedelta(days=7) <= sent <= now + dt.timedelta(minutes=5) else now


def artifact_command(deps: Deps, user_id: str, text: str) -> Answer:
    """``/artifact`` (opens the modal) or ``/artifact URL [title]`` (logs it now)."""
    text = (text or "").strip()
    person = person_for_user(deps.engine, deps.slack, user_id)
    assert person.id is not None
    with session_scope(deps.engine) as s:
        period = open_period(s, person.id, _now(deps), deps.org)
    if not text:
        return Answer(text="", modal=bk.artifact_modal(period=period))
    if len(text) > MAX_COMMAND_TEXT:
        return Answer(text=f"That is too long: keep /artifact under {MAX_COMMAND_TEXT} characters.")
    links, rejected = extract_links(text)
    first = text.split()[0].strip("<>").split("|")[0]
    if not links or not text.lstrip("<").lower().startswith(("http://", "https://")):
        why = rejected[0] if rejected else f"{first[:60]!r} is not an http(s) link"
        return Answer(
            text=f"Usage: /artifact URL [title], e.g. /artifact https://github.com/acme/app/pull/42 "
            f"Churn agent. ({escape_mrkdwn(why)}) Nothing was saved."
        )
    link = links[0]
    title = text[link.end :].strip() if link.start == 0 else ""
    title = title or link.label or ""
    if not title:
        from bot.artifacts.links import title_for

        title = title_for(text, link, links)
    new = NewArtifact(title=title, urls=[link.url], kind="other")
    errors = validate_new(new)
    if errors:
        return Answer(text=" ".join(errors.values()) + " Nothing was saved.")
    with session_scope(deps.engine) as s:
        art, created = add_artifact(
            s, person=person, period=period, new=new, source="command", source_key=None, now=_now(deps)
        )
        art_id, art_title = art.id, art.title
    if not created:
        return Answer(text=f"You already logged that link for {period}: *{escape_mrkdwn(art_title)}*.")
    flag_claims(deps, [art_id or 0])
    t, b = bk.reply_ack(
        period=period,
        created=[(art_id or 0, art_title, [link.url])],
        duplicates=[],
        rejected=[],
        note_kept=False,
    )
    return Answer(text=t, blocks=b)


def dm_reply(deps: Deps, user_id: str, channel: str, ts: str, text: str) -> Answer | None:
    """A DM reply: links become artifacts of the open period; no link → a note and a request for one.

    The deterministic parser stores the artifacts first, so nothing depends on the language
    model; when one is configured it then refines titles and kinds of what was stored (links are
    never taken from it). Returns None for a replay of a message already handled (Slack retries).
    """
    person = person_for_user(deps.engine, deps.slack, user_id)
    key = inbox.message_key(channel, ts)
    with session_scope(deps.engine) as s:
        outcome = capture_reply(
            s, person=person, text=text or "", event_key=key, now=_message_time(deps, ts), org=deps.org
        )
    inbox.mark_processed(deps.journal, key)
    if outcome.replayed:
        return None
    if outcome.created and deps.llm is not None:
        refine_titles(deps, [a.id for a in outcome.created if a.id is not None], text)
    if outcome.created:
        flag_claims(deps, [a.id for a in outcome.created if a.id is not None])
    with session_scope(deps.engine) as s:
        ids_ = [a.id for a in outcome.created if a.id is not None]
        fresh = {a.id: a for a in (s.get(Artifact, i) for i in ids_) if a is not None}
        links = links_of(s, ids_)
        created = [(i, fresh[i].title, [link.url for link in links.get(i, [])]) for i in ids_ if i in fresh]
        dups = [a.title for a in outcome.duplicates]
    t, b = bk.reply_ack(
        period=outcome.period,
        created=created,
        duplicates=dups,
        rejected=outcome.rejected,
        note_kept=outcome.note is not None,
    )
    return Answer(text=t, blocks=b)


def flag_claims(deps: Deps, artifact_ids: list[int]) -> int:
    """Tell both teams' managers when a link is claimed by people of different teams (once per link)."""
    from bot.artifacts.flags import claim_message, cross_team_claim, slack_ids

    notes: list[tuple[list[str], str]] = []
    with session_scope(deps.engine) as s:
        for art_id in artifact_ids:
            art = s.get(Artifact, art_id)
            claim = cross_team_claim(s, art) if art is not None else None
            if claim is not None and claim.new:
                notes.append((slack_ids(claim.managers, s), claim_message(claim)))
    sent = 0
    for managers, text in notes:
        for manager in managers:
            if deps.slack is None:
                continue
            try:
                deps.slack.chat_postMessage(channel=manager, text=text)
                sent += 1
            except Exception:
                log.exception("could not notify a manager about a cross-team claim")
    return sent


def process_pending(deps: Deps, *, older_than: dt.timedelta = dt.timedelta(minutes=2)) -> int:
    """Finish DM replies that were stored but not processed (a crash between storing and answering)."""
    done = 0
    for row in inbox.pending(deps.journal, older_than=older_than, now=_now(deps)):
        try:
            answer = dm_reply(deps, row.user_id, row.channel, row.ts, row.text or "")
            if answer is not None and deps.slack is not None:
                deps.slack.chat_postMessage(
                    channel=row.channel, text=answer.text, blocks=answer.blocks, unfurl_links=False
                )
            done += 1
        except Exception:
            log.exception("could not process a stored DM reply; it stays pending")
    return done


def refine_titles(deps: Deps, artifact_ids: list[int], text: str) -> None:
    """Let the language model name and classify artifacts already stored from ``text``.

    Only title, kind and impact change, matched by link; any failure leaves the stored artifacts as they are.
    """
    from bot.artifacts.links import clean_title, normalize_url

    try:
        result = deps.llm.extract_artifacts(text)
    except Exception:
        log.exception("language model refinement failed; keeping the parsed artifacts")
        return
    if getattr(result, "path", None) != "model":
        return
    by_url = {normalize_url(u): e for e in result.artifacts for u in e.links}
    with session_scope(deps.engine) as s:
        for art_id in artifact_ids:
            art = s.get(Artifact, art_id)
            found = by_url.get(art.primary_url) if art is not None else None
            if art is None or found is None:
                continue
            if found.title:
                art.title = clean_title(found.title, 150)
            if found.kind in ARTIFACT_KINDS:
                art.kind = found.kind
            if found.impact and not art.description:
                art.description = found.impact[:1000]


def parse_report_args(text: str) -> tuple[str | None, str | None, bool]:
    """``[team] [YYYY-MM] [csv]`` in any order; the team name may contain spaces."""
    words = (text or "").split()
    period = next((w for w in words if is_period(w)), None)
    bad_period = next((w for w in words if re.fullmatch(r"\d{4}-\d{1,2}", w) and not is_period(w)), None)
    if bad_period:
        raise InputError(f"{bad_period!r} is not a month like 2026-10 (YYYY-MM).")
    csv_wanted = any(w.lower() == "csv" for w in words)
    team = " ".join(w for w in words if w != period and w.lower() != "csv") or None
    return team, period, csv_wanted


def report_command(deps: Deps, user_id: str, text: str) -> Answer:
    """``/artifact-report [team] [YYYY-MM] [csv]`` for managers of that team and admins."""
    if len(text or "") > MAX_COMMAND_TEXT:
        return Answer(text="That is too long. Usage: /artifact-report [team] [YYYY-MM] [csv]")
    try:
        team_name, period, want_csv = parse_report_args(text)
    except InputError as exc:
        return Answer(text=f"{exc} Usage: /artifact-report [team] [YYYY-MM] [csv]")
    now = _now(deps)
    with session_scope(deps.engine) as s:
        v = access.viewer(s, deps.org, user_id)
        if not v.is_admin and not v.managed_team_ids:
            return Answer(text=REFUSAL)
        if team_name:
            team = find_team(s, team_name)
            if team is None or not access.can_see_team(v, team):
                # The same answer whether the team exists or not: a refusal reveals nothing.
                return Answer(text=REFUSAL if not v.is_admin else f"No team named {escape_mrkdwn(team_name)!r}.")
        else:
            from bot.models import Team

            managed = [s.get(Team, tid) for tid in sorted(v.managed_team_ids)]
            if len(managed) != 1:
                return Answer(text="Which team? Usage: /artifact-report TEAM [YYYY-MM] [csv]")
            team = managed[0]
        assert team is not None
        period = period or period_at(now, deps.org.tz)
        report = report_for_team(s, team=team, period=period, org=deps.org)
    if want_csv:
        return Answer(
            text=f"Artifact report {report.team} {period} (CSV)",
            csv=report_csv(report),
            filename=f"artifact-report-{report.team.lower().replace(' ', '-')}-{period}.csv",
        )
    narrative = _narrative(deps, report)
    t, b = bk.report_message(report, narrative=narrative)
    return Answer(text=t, blocks=b)


def _narrative(deps: Deps, report: TeamReport) -> str | None:
    if deps.llm is None:
        return None
    try:
        return deps.llm.write_narrative(report.as_json())  # type: ignore[no-any-return]
    except Exception:
        log.exception("narrative failed; the report goes out without it")
        return None


def leaderboard_command(deps: Deps, text: str) -> Answer:
    """``/leaderboard [YYYY-MM]``: teams only (no personal spend), small teams hidden."""
    arg = (text or "").strip()
    if arg and not is_period(arg):
        return Answer(text=f"{escape_mrkdwn(arg[:40])!r} is not a month like 2026-10. Usage: /leaderboard [YYYY-MM]")
    period = arg or period_at(_now(deps), deps.org.tz)
    with session_scope(deps.engine) as s:
        rows = board(s, period, weights_of(deps.org), by="team")
    visible = [r for r in rows if (r.members or 0) >= deps.org.min_team_size]
    for i, r in enumerate(visible, 1):
        r.rank = i
    t, b = bk.leaderboard_message(period=period, rows=visible, hidden=len(rows) - len(visible))
    return Answer(text=t, blocks=b)


def review_action(deps: Deps, user_id: str, value: str) -> Answer:
    """Keep or kill from the report's overflow menu (value ``keep_artifact:ID`` / ``kill_artifact:ID``)."""
    action, _, raw_id = (value or "").partition(":")
    if action not in (ids.ACTION_KEEP, ids.ACTION_KILL) or not raw_id.isdigit():
        return Answer(text="That button is out of date; run /artifact-report again.")
    status = KEPT if action == ids.ACTION_KEEP else KILLED
    with session_scope(deps.engine) as s:
        art = s.get(Artifact, int(raw_id))
        if art is None:
            return Answer(text="That artifact no longer exists.")
        v = access.viewer(s, deps.org, user_id)
        from bot.people.store import find_person

        me = find_person(s, user_id)
        if me is None:
            return Answer(text="Only a manager of this person's team or an admin can review this artifact.")
        try:
            art = review(
                s,
                artifact_id=art.id or 0,
                status=status,
                reviewer=me,
                now=_now(deps),
                may_review=access.can_review_person(s, v, art.person_id),
            )
        except (PermissionDenied, NotFound) as exc:
            return Answer(text=str(exc))
        title, period = art.title, art.period
    return Answer(
        text=f"{'Kept' if status == KEPT else 'Killed'} *{escape_mrkdwn(title)}* ({period}). "
        "The leaderboard reflects it now."
    )


def skip_month(deps: Deps, user_id: str, period: str) -> Answer:
    """*Nothing this month*."""
    person = person_for_user(deps.engine, deps.slack, user_id)
    if not is_period(period or ""):
        with session_scope(deps.engine) as s:
            period = open_period(s, person.id or 0, _now(deps), deps.org)
    mark_skipped(deps.engine, person.id or 0, period, _now(deps))
    return Answer(
        text=f"Noted: nothing for {period}. If something ships, reply here with the link any time "
        "until the period closes."
    )


def remove_action(deps: Deps, user_id: str, raw_id: str) -> Answer:
    """*Remove* under a recorded artifact."""
    if not (raw_id or "").isdigit():
        return Answer(text="That button is out of date.")
    person = person_for_user(deps.engine, deps.slack, user_id)
    with session_scope(deps.engine) as s:
        try:
            art = remove_artifact(s, artifact_id=int(raw_id), actor=person, now=_now(deps))
        except (PermissionDenied, NotFound) as exc:
            return Answer(text=str(exc))
        return Answer(text=f"Removed *{escape_mrkdwn(art.title)}*.")


def edit_modal(deps: Deps, user_id: str, raw_id: str) -> Answer:
    """The *Edit* modal, pre-filled, for the artifact's owner only."""
    if not (raw_id or "").isdigit():
        return Answer(text="That button is out of date.")
    person = person_for_user(deps.engine, deps.slack, user_id)
    with session_scope(deps.engine) as s:
        art = s.get(Artifact, int(raw_id))
        if art is None or art.removed:
            return Answer(text="That artifact no longer exists.")
        if art.person_id != person.id:
            return Answer(text="Only the person who logged an artifact can edit it.")
        urls = [link.url for link in links_of(s, [art.id or 0]).get(art.id or 0, [])]
        modal = bk.artifact_modal(
            period=art.period,
            title=art.title,
            links="\n".join(urls),
            kind=art.kind,
            description=art.description or "",
            callback_id=ids.VIEW_EDIT_ARTIFACT,
            private_metadata=json.dumps({"artifact_id": art.id, "period": art.period}),
        )
    return Answer(text="", modal=modal)


def _field(values: dict[str, Any], block: str) -> Any:
    el = (values.get(block) or {}).get(ids.INPUT) or {}
    if el.get("type") == "static_select":
        return (el.get("selected_option") or {}).get("value")
    return el.get("value")


def submit_artifact_view(
    deps: Deps, user_id: str, view: dict[str, Any], *, editing: bool
) -> tuple[dict[str, str], Answer | None]:
    """Validate and save the modal; returns ``(field_errors, answer)``. Errors change nothing."""
    values = ((view or {}).get("state") or {}).get("values") or {}
    title = (_field(values, ids.BLOCK_TITLE) or "").strip()
    raw_links = _field(values, ids.BLOCK_LINKS) or ""
    kind = _field(values, ids.BLOCK_KIND) or "other"
    description = (_field(values, ids.BLOCK_DESCRIPTION) or "").strip() or None
    urls = [u.strip().strip("<>") for u in re.split(r"[\s,]+", raw_links) if u.strip()]
    errors: dict[str, str] = {}
    for u in urls:
        try:
            validate_url(u)
        except LinkError as exc:
            errors[ids.BLOCK_LINKS] = f"{u[:60]}: {exc}"
            break
    new = NewArtifact(
        title=title, urls=urls, kind=kind if kind in ARTIFACT_KINDS else "invalid", description=description
    )
    for key, msg in validate_new(new).items():
        block = {
            "title": ids.BLOCK_TITLE,
            "links": ids.BLOCK_LINKS,
            "kind": ids.BLOCK_KIND,
            "description": ids.BLOCK_DESCRIPTION,
        }[key]
        errors.setdefault(block, msg)
    if errors:
        return errors, None
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        meta = {}
    person = person_for_user(deps.engine, deps.slack, user_id)
    with session_scope(deps.engine) as s:
        if editing:
            try:
                art = edit_artifact(
                    s, artifact_id=int(meta.get("artifact_id") or 0), editor=person, new=new, now=_now(deps)
                )
            except (PermissionDenied, NotFound, InputError) as exc:
                return {ids.BLOCK_TITLE: str(exc)[:150]}, None
            return {}, Answer(text=f"Updated *{escape_mrkdwn(art.title)}* ({art.period}).")
        # The modal's period comes back from Slack; accept only a period the person may log for now.
        allowed = {open_period(s, person.id or 0, _now(deps), deps.org), period_at(_now(deps), deps.org.tz)}
        asked = str(meta.get("period") or "")
        period = asked if asked in allowed else open_period(s, person.id or 0, _now(deps), deps.org)
        art, created = add_artifact(
            s,
            person=person,
            period=period,
            new=new,
            source="modal",
            source_key=f"view:{view.get('id')}" if view.get("id") else None,
            now=_now(deps),
        )
        if not created and art.source_key != (f"view:{view.get('id')}" if view.get("id") else None):
            return {ids.BLOCK_LINKS: f"You already logged this link for {period} as “{art.title[:60]}”."}, None
        t, b = bk.reply_ack(
            period=period,
            created=[(art.id or 0, art.title, urls)],
            duplicates=[],
            rejected=[],
            note_kept=False,
        )
        new_id = art.id if created else None
    if new_id is not None:
        flag_claims(deps, [new_id])
    return {}, Answer(text=t, blocks=b)


def home_view(deps: Deps, user_id: str) -> dict[str, Any]:
    """App Home for a person."""
    person = person_for_user(deps.engine, deps.slack, user_id)
    from bot.spend.sync import suggested_evidence

    with session_scope(deps.engine) as s:
        data = home_data(s, person, deps.org, _now(deps))
        suggestion = suggested_evidence(s, person.id or 0, data.period)["text"]
    return bk.home_view(
        suggestion=suggestion,
        name=data.name,
        period=data.period,
        spend_usd=data.spend_usd,
        tokens=data.tokens,
        artifacts=data.artifacts,
        team_lines=data.team_lines,
    )
