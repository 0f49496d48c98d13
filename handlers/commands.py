"""Slash commands: /artifact, /artifact-report, /leaderboard."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from slack_bolt import App, BoltContext, Respond
from slack_sdk import WebClient

from bot import ids
from bot.artifacts import intake
from bot.boards import answers
from bot.boards.reports import record_export, report_csv
from bot.errors import InputError
from bot.people.directory import person_for_user
from bot.periods import is_period
from bot.slack import blocks as bk
from bot.slack.words import (
    REPORT_TOO_LONG,
    already_logged,
    not_a_board_month,
    not_a_report_month,
    report_csv_filename,
    report_csv_sent,
    report_csv_title,
)
from handlers.errors import ack_now, reported
from handlers.notify import queue_notices

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReportArgs:
    """``/artifact-report``'s arguments."""

    team: str | None
    period: str | None
    csv: bool


def parse_report_args(text: str) -> ReportArgs:
    """``[team] [YYYY-MM] [csv]`` in any order; the team name may contain spaces.

    Raises:
        InputError: the text is too long or names a month that does not exist (the message says how to ask).
    """
    if len(text or "") > intake.MAX_COMMAND_TEXT:
        raise InputError(REPORT_TOO_LONG)
    words = (text or "").split()
    period = next((w for w in words if is_period(w)), None)
    bad_period = next((w for w in words if re.fullmatch(r"\d{4}-\d{1,2}", w) and not is_period(w)), None)
    if bad_period:
        raise InputError(not_a_report_month(bad_period))
    want_csv = any(w.lower() == "csv" for w in words)
    team = " ".join(w for w in words if w != period and w.lower() != "csv") or None
    return ReportArgs(team=team, period=period, csv=want_csv)


def parse_leaderboard_args(text: str) -> str | None:
    """``[YYYY-MM]``: the period asked for, or None for the current one.

    Raises:
        InputError: anything but a month.
    """
    arg = (text or "").strip()
    if arg and not is_period(arg):
        raise InputError(not_a_board_month(arg))
    return arg or None


def handle_artifact(command: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond) -> None:
    """/artifact: open the modal, or log /artifact URL [title] (runs after the ack)."""
    deps = context["deps"]
    text = command.get("text") or ""
    person = person_for_user(deps.engine, deps.slack, command["user_id"])
    if not text.strip():
        period = intake.period_for(engine=deps.engine, org=deps.org, person=person, now=deps.clock())
        client.views_open(trigger_id=command["trigger_id"], view=bk.artifact_modal(period=period))
        return
    logged = intake.log_from_command(engine=deps.engine, org=deps.org, person=person, text=text, now=deps.clock())
    if not logged.created:
        title = logged.duplicates[0] if logged.duplicates else ""
        respond(text=already_logged(title, logged.period), response_type="ephemeral")
        return
    queue_notices(deps, logged.notices)
    t, b = bk.reply_ack(period=logged.period, created=logged.created, duplicates=[], rejected=[], note_kept=False)
    respond(text=t, blocks=b, response_type="ephemeral")


def handle_report(command: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond) -> None:
    """/artifact-report [team] [YYYY-MM] [csv]: answered through response_url after the ack."""
    deps = context["deps"]
    args = parse_report_args(command.get("text") or "")
    report = answers.team_report(
        engine=deps.engine,
        org=deps.org,
        user_id=command["user_id"],
        team_name=args.team,
        period=args.period,
        now=deps.clock(),
    )
    if args.csv:
        title = report_csv_title(report.team, report.period)
        dm = client.conversations_open(users=command["user_id"])["channel"]["id"]
        client.files_upload_v2(
            channel=dm,
            content=report_csv(report),
            filename=report_csv_filename(report.team, report.period),
            title=title,
            initial_comment=title,
        )
        record_export(engine=deps.engine, actor=command["user_id"], report=report, fmt="csv", now=deps.clock())
        respond(text=report_csv_sent(title), response_type="ephemeral")
        return
    t, b = bk.report_message(report, narrative=answers.narrative(llm=deps.llm, report=report))
    respond(text=t, blocks=b, response_type="ephemeral")


def handle_leaderboard(command: dict[str, Any], context: BoltContext, respond: Respond) -> None:
    """/leaderboard [YYYY-MM]: the team board for anyone (after the ack)."""
    deps = context["deps"]
    period = parse_leaderboard_args(command.get("text") or "")
    got = answers.team_board(engine=deps.engine, org=deps.org, period=period, now=deps.clock())
    t, b = bk.leaderboard_message(
        period=got.period, rows=got.rows, hidden=got.hidden, floor_usd=deps.org.spend_floor_usd
    )
    respond(text=t, blocks=b, response_type="ephemeral")


def register(app: App) -> None:
    # Lazy listeners: the ack runs in the request thread, the work in its own thread afterwards.
    app.command(ids.CMD_ARTIFACT)(ack=ack_now, lazy=[reported(handle_artifact)])
    app.command(ids.CMD_REPORT)(ack=ack_now, lazy=[reported(handle_report)])
    app.command(ids.CMD_LEADERBOARD)(ack=ack_now, lazy=[reported(handle_leaderboard)])
