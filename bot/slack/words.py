"""The bot's words: how months, deadlines, counts and statuses read in every message.

Pure: no clock, no session. Builders in :mod:`bot.slack.blocks`, the listeners' answers (ephemeral
replies, refusals, errors) and the jobs' progress lines take their wording from here, so "1 artifact",
"November 2026" and "reply by Monday 7 December" read the same on every surface.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from bot.artifacts.links import escape_mrkdwn
from bot.periods import month_name, period_of

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")  # English in any locale

__all__ = [
    "ADD_ARTIFACT_TITLE",
    "AWAY_PLACEHOLDER",
    "BUTTON_ADD_ARTIFACT",
    "BUTTON_EDIT",
    "BUTTON_KEEP",
    "BUTTON_KILL",
    "BUTTON_NOTHING",
    "BUTTON_REMOVE",
    "BUTTON_SNOOZE",
    "CHART_TITLE",
    "CHECKIN_STATUS",
    "DESCRIPTION_LABEL",
    "EDIT_ARTIFACT_TITLE",
    "FLOOR_EXPLAINED",
    "KILL_CLOSE",
    "KILL_OUT_OF_DATE",
    "KILL_REASON_HINT",
    "KILL_REASON_LABEL",
    "KILL_SUBMIT",
    "KIND_LABEL",
    "LEADERBOARD_USAGE",
    "LINKS_LABEL",
    "LINKS_PLACEHOLDER",
    "MANAGER_MAY_REVIEW",
    "MODAL_CANCEL",
    "MODAL_SAVE",
    "NOTE_KEPT",
    "NOTHING_LOGGED",
    "NO_NEW_ARTIFACTS",
    "NO_TEAMS",
    "OTHER_WORKSPACE",
    "OUT_OF_DATE",
    "QUEUE_MORE",
    "REPORT_TOO_LONG",
    "REPORT_USAGE",
    "REVIEW_OUT_OF_DATE",
    "SNOOZED",
    "SORRY",
    "STATUS_MEANING",
    "SUMMARY_IN_THREAD",
    "TITLE_LABEL",
    "TITLE_PLACEHOLDER",
    "already_logged",
    "artifact_for",
    "away_noted",
    "board_bar",
    "board_line",
    "by_author",
    "chart_alt_text",
    "chart_month",
    "checkin_body",
    "checkin_status",
    "checkin_text",
    "count",
    "day_name",
    "details_text",
    "flags_line",
    "floor_explained",
    "history_line",
    "home_greeting",
    "home_head",
    "home_queue_head",
    "home_queue_more",
    "kill_question",
    "kill_title",
    "killed_by",
    "kind_label",
    "last_six_months",
    "leaderboard_head",
    "logged_so_far",
    "member_line",
    "members_heading",
    "model_label",
    "month_name",
    "month_spend",
    "more_waiting",
    "my_artifacts",
    "my_team",
    "new_artifacts",
    "new_this_week",
    "no_data",
    "not_a_board_month",
    "not_a_report_month",
    "not_accepted",
    "nothing_noted",
    "per_artifact",
    "plural",
    "plus_more",
    "queue_done",
    "queue_done_text",
    "queue_head",
    "queue_intro",
    "queue_more",
    "queue_text",
    "rate_text",
    "reason_too_long",
    "recorded",
    "removed",
    "reply_by",
    "report_bar",
    "report_csv_filename",
    "report_csv_sent",
    "report_csv_title",
    "report_head",
    "report_text",
    "report_title",
    "response_rate_fact",
    "response_rate_line",
    "review_notice",
    "reviewed",
    "spend_against_budget",
    "spend_by_model",
    "spent_without_artifact",
    "status_counts",
    "summary_board",
    "summary_body",
    "summary_text",
    "teams_hidden",
    "teams_hidden_short",
    "unpriced",
    "updated",
    "waiting_for_review",
    "waiting_heading",
]

# What a person's check-in status reads as in a report: "sent" means we asked and heard nothing back.
CHECKIN_STATUS = {
    "pending": "not sent yet",
    "sent": "unanswered",
    "answered": "answered",
    "skipped": "nothing this month",
    "failed": "not delivered",
    "away": "away",
}

# What each artifact status means, where statuses are listed (App Home, the review queue).
STATUS_MEANING = {
    "submitted": "waiting for a manager's review; counts half until then",
    "kept": "confirmed by a manager; counts fully",
    "killed": "rejected by a manager; counts 0",
}

FLOOR_EXPLAINED = (
    "Score = 100 × artifacts ÷ max(spend, floor). The floor (${floor:g}) is the least spend a score is "
    "divided by, so nobody tops the board by spending nothing. Kept artifacts count fully, unreviewed ones "
    "half, killed ones not at all."
)


def plural(n: float, word: str, many: str | None = None) -> str:
    """The word alone, singular or plural for ``n``: ``artifact`` / ``artifacts``, ``anomaly`` / ``anomalies``."""
    if n == 1:
        return word
    if many is not None:
        return many
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"


def count(n: float, word: str, many: str | None = None) -> str:
    """``1 artifact``, ``2 artifacts``, ``0.5 artifacts``, ``0 spend anomalies``."""
    number = f"{n:,}" if isinstance(n, int) else f"{n:g}"
    return f"{number} {plural(n, word, many)}"


def day_name(day: dt.date) -> str:
    """``Monday 7 December``."""
    return f"{_DAYS[day.weekday()]} {day.day} {month_name(period_of(day)).split()[0]}"


def reply_by(day: dt.date) -> str:
    """``reply by Monday 7 December`` (the last day on which a reply still counts)."""
    return f"reply by {day_name(day)}"


def checkin_status(status: str | None) -> str:
    """How a check-in status reads in a report: ``unanswered``, not ``sent``."""
    if status is None:
        return "not asked"
    return CHECKIN_STATUS.get(status, status)


def floor_explained(floor_usd: float) -> str:
    """The score formula with the floor explained, for the first place a board shows scores."""
    return FLOOR_EXPLAINED.format(floor=floor_usd)


def review_notice(*, reviewer: str, title: str, period: str, status: str, reason: str | None = None) -> str:
    """The author's DM when a manager keeps or kills their artifact."""
    what = {
        "kept": "kept",
        "killed": "killed",
    }.get(status, f"set to {status}")
    effect = {
        "kept": "it now counts fully",
        "killed": "it counts 0",
    }.get(status, "it counts half until reviewed")
    because = f" Reason: {escape_mrkdwn(reason.strip())}" if reason and reason.strip() else " No reason was given."
    return f"{reviewer} {what} your artifact *{escape_mrkdwn(title)}* ({month_name(period)}): {effect}.{because}"


def reviewed(*, keep: bool, title: str, period: str, changed: bool) -> str:
    """The reviewer's answer after Keep or Kill: ``Killed *Churn agent* (November 2026). …``."""
    done = "The leaderboard reflects it now; its author has been told." if changed else "It already was."
    return f"{'Kept' if keep else 'Killed'} *{escape_mrkdwn(title)}* ({month_name(period)}). {done}"


# The Kill modal: a reviewer's optional reason goes to the author with the notice.
KILL_SUBMIT = "Kill"
KILL_CLOSE = "Cancel"
KILL_REASON_LABEL = "Reason (optional)"
KILL_REASON_HINT = "Its author sees this in the notice that their artifact was killed."
KILL_OUT_OF_DATE = "This form is out of date; nothing was changed. Close it and press Kill again."
_MODAL_TITLE_MAX = 24  # Slack's limit on a modal's title


def kill_title(title: str) -> str:
    """The Kill modal's title, ``Kill Churn agent?``, shortened to fit Slack's 24 characters."""
    full = f"Kill {title.strip()}?"
    if len(full) <= _MODAL_TITLE_MAX:
        return full
    return f"Kill {title.strip()[: _MODAL_TITLE_MAX - len('Kill …?')].rstrip()}…?"


def kill_question(*, title: str, period: str, author: str | None = None) -> str:
    """The Kill modal's question: what is killed and what follows."""
    by = f" by {escape_mrkdwn(author)}" if author else ""
    return (
        f"Kill *{escape_mrkdwn(title)}*{by} ({month_name(period)})? It will count 0, and its author is told, "
        "with your reason if you give one."
    )


def killed_by(reviewer: str | None, reason: str | None) -> str:
    """A killed artifact's status where it is listed: ``killed by Grace: duplicate of X``."""
    by = f" by {escape_mrkdwn(reviewer)}" if reviewer else ""
    because = f": {escape_mrkdwn(' '.join(reason.split()))}" if reason and reason.strip() else ""
    return f"killed{by}{because}"


def reason_too_long(length: int, limit: int) -> str:
    """The field error for a reviewer's reason over ``limit`` characters."""
    return f"At most {count(limit, 'character')}, please: this reason has {length:,}."


# The listeners' answers (handlers/): buttons, slash commands, modals and the errors they meet.
OUT_OF_DATE = "That button is out of date."
REVIEW_OUT_OF_DATE = "That button is out of date; run /artifact-report again."
SNOOZED = "OK: no reminder before this time tomorrow."
REPORT_USAGE = "Usage: /artifact-report [team] [YYYY-MM] [csv]"
REPORT_TOO_LONG = f"That is too long. {REPORT_USAGE}"
LEADERBOARD_USAGE = "Usage: /leaderboard [YYYY-MM]"
SORRY = "Sorry, something went wrong on our side; nothing was changed. Try again in a minute."
OTHER_WORKSPACE = "This app is installed in another Slack workspace; nothing was done."


def nothing_noted(period: str) -> str:
    """The answer to *Nothing this month*."""
    return (
        f"Noted: nothing for {month_name(period)}. If something ships, reply here with the link any time until "
        "the month closes."
    )


def away_noted(day: dt.date) -> str:
    """The answer to *I'm away until…*: no check-in or reminder until after ``day``."""
    return (
        f"Enjoy your time off. No check-in or reminder until after {day_name(day)}; "
        "if the month is still open when you are back, I will ask then."
    )


def removed(title: str) -> str:
    """The answer to *Remove*."""
    return f"Removed *{escape_mrkdwn(title)}*."


def updated(title: str, period: str) -> str:
    """The DM after an *Edit artifact* modal is saved."""
    return f"Updated *{escape_mrkdwn(title)}* ({month_name(period)})."


def already_logged(title: str, period: str) -> str:
    """``/artifact URL`` for a link already logged this period."""
    return f"You already logged that link for {month_name(period)}: *{escape_mrkdwn(title)}*."


def not_a_report_month(word: str) -> str:
    """``/artifact-report`` with a ``YYYY-MM`` that is no month (``2026-13``)."""
    return f"{word!r} is not a month like 2026-10 (YYYY-MM). {REPORT_USAGE}"


def not_a_board_month(arg: str) -> str:
    """``/leaderboard`` with anything but a month."""
    return f"{escape_mrkdwn(arg[:40])!r} is not a month like 2026-10. {LEADERBOARD_USAGE}"


def report_csv_title(team: str, period: str) -> str:
    """The title (and comment) of the report's CSV file."""
    return f"Artifact report {team}, {month_name(period)} (CSV)"


def report_csv_filename(team: str, period: str) -> str:
    """The report's CSV file name: ``artifact-report-growth-2026-11.csv``."""
    return f"artifact-report-{team.lower().replace(' ', '-')}-{period}.csv"


def report_csv_sent(title: str) -> str:
    """The answer once the report's CSV is in the manager's DM."""
    return f"{title}: sent to you in a DM."


# Amounts that read as words: usage the price table cannot price, a model's name in "spend by model".
def unpriced(rows: int, tokens: int | None) -> str:
    """``unpriced (3 rows, 12,000 tokens)``: usage with no cost whose model the price table does not know
    (``unpriced (3 rows)`` where the tokens are not at hand)."""
    return (
        f"unpriced ({count(rows, 'row')}, {tokens:,} tokens)"
        if tokens is not None
        else f"unpriced ({count(rows, 'row')})"
    )


def model_label(model: str, premium: bool) -> str:
    """A model as "spend by model" names it: ``gpt-4o (premium)``."""
    return f"{model}{' (premium)' if premium else ''}"


def per_artifact(cost: str) -> str:
    """The per-artifact part of a model's line: ``, $4.00/artifact``."""
    return f", {cost}/artifact"


def plus_more(n: int) -> str:
    """``+3 more``: what a list leaves out."""
    return f"+{n} more"


def rate_text(rate: float | None) -> str:
    """A response rate: ``75%``, or ``n/a`` when nobody was asked."""
    return "n/a" if rate is None else f"{rate:.0%}"


# The month-end DM and its reminders (blocks.checkin_message).
BUTTON_ADD_ARTIFACT = "Add artifact"
BUTTON_NOTHING = "Nothing this month"
BUTTON_SNOOZE = "Remind me tomorrow"
AWAY_PLACEHOLDER = "I'm away until…"
_REMINDER = "Reminder: "


def checkin_text(*, name: str, period: str, spend: str, tokens: str, reminder: int, deadline: dt.date | None) -> str:
    """The month-end DM's plain-text fallback; ``spend`` and ``tokens`` come formatted (``$12.00``, ``1.2k``)."""
    lead = _REMINDER if reminder else ""
    by = f" Please {reply_by(deadline)}." if deadline else ""
    return (
        f"{lead}Hi {name}, it's the artifact test for {month_name(period)}: show me the artifact. "
        f"You spent {spend} on AI ({tokens} tokens) in {month_name(period)}. "
        f"Reply with links to what you built, or use the buttons.{by}"
    )


def checkin_body(*, name: str, period: str, spend: str, tokens: str, reminder: int, deadline: dt.date | None) -> str:
    """The month-end DM: "show me the artifact", the month's spend and tokens, the last day a reply counts."""
    lead = _REMINDER if reminder else ""
    return (
        f"{lead}Hi {escape_mrkdwn(name)} :wave: It's the artifact test for *{month_name(period)}*: "
        "*show me the artifact.*\n"
        f"In {month_name(period)} you spent *{spend}* on AI ({tokens} tokens). "
        "What did it build? "
        "An agent, a workflow, a dashboard, a campaign, a feature that did not exist a month ago?\n"
        "Reply here with links (one message can hold several), or add one with the form."
        + (f"\n*Please {reply_by(deadline)}.*" if deadline else "")
    )


def logged_so_far(lines: str) -> str:
    """The DM's list of what is already logged for the month."""
    return f"*Logged so far:*\n{lines}"


# The answer to a DM reply (blocks.reply_ack).
NOTE_KEPT = (
    "Thanks! I kept that as a note, but an artifact needs a link: reply with the link "
    "(a PR, a dashboard, a doc, a demo) so it counts."
)
BUTTON_EDIT = "Edit"
BUTTON_REMOVE = "Remove"
MANAGER_MAY_REVIEW = "A manager who did not make it can keep it (it then counts fully) or kill it."


def not_accepted(reasons: Sequence[str]) -> str:
    """Why parts of a reply were not recorded."""
    return "Not accepted: " + escape_mrkdwn("; ".join(reasons))


def recorded(*, period: str, created: int, duplicates: Sequence[str], carried: Sequence[str]) -> str:
    """What a reply recorded: ``Recorded 2 artifacts for November 2026. Already logged: …``."""
    parts = []
    if created:
        parts.append(f"Recorded {count(created, 'artifact')} for {month_name(period)}.")
    if duplicates:
        parts.append(f"Already logged: {', '.join(duplicates)}.")
    if carried:
        parts.append(f"Carried over: {'; '.join(carried)}.")
    return " ".join(parts) or f"Nothing new to record for {month_name(period)}."


# The Add artifact / Edit artifact modal (blocks.artifact_modal).
ADD_ARTIFACT_TITLE = "Add artifact"
EDIT_ARTIFACT_TITLE = "Edit artifact"
MODAL_SAVE = "Save"
MODAL_CANCEL = "Cancel"
TITLE_LABEL = "Title"
TITLE_PLACEHOLDER = "Churn dashboard"
LINKS_LABEL = "Link(s), one per line"
LINKS_PLACEHOLDER = "https://github.com/acme/app/pull/42"
KIND_LABEL = "Kind"
DESCRIPTION_LABEL = "What did it replace or change?"


def artifact_for(period: str) -> str:
    """The modal's first line: what an artifact is, for which month."""
    return f"Artifact for *{month_name(period)}*: something that did not exist a month ago, with a link as evidence."


def kind_label(kind: str) -> str:
    """An artifact kind as the modal's menu shows it: ``Dashboard``."""
    return kind.capitalize()


# The team leaderboard (blocks.board_lines, blocks.leaderboard_message) and the summary thread's board.
NO_TEAMS = "No teams yet."


def board_bar(bar: float | None, cleared: bool) -> str:
    """A team's bar on the board: `` (no bar yet)`` (no artifacts last month), cleared, or `` (bar 1.5)``."""
    if bar is None:
        return " (no bar yet)"
    return " :white_check_mark: cleared the bar" if cleared else f" (bar {bar:.1f})"


def board_line(*, rank: int, name: str, score: float, artifacts: float, spend: str, bar: str) -> str:
    """``1. *Growth*: 2.50 artifacts/$100 (3 artifacts, $120.00) (bar 1.5)``."""
    return f"{rank}. *{escape_mrkdwn(name)}*: {score:.2f} artifacts/$100 ({count(artifacts, 'artifact')}, {spend}){bar}"


def leaderboard_head(period: str, *, final: bool) -> str:
    """The leaderboard's header."""
    return f"{'Final leaderboard' if final else 'Leaderboard'} for {month_name(period)}: artifacts per $100 of AI spend"


def teams_hidden(n: int) -> str:
    """Teams the leaderboard leaves out, and why."""
    return f"{count(n, 'team')} too small to show without exposing one person's spend."


# Keep and Kill, wherever an artifact waits for review (the report, the queue DM, App Home).
BUTTON_KEEP = "Keep"
BUTTON_KILL = "Kill"

# A manager's review queue DM (blocks.review_queue_message).
QUEUE_MORE = "they appear here as you keep or kill these (or see /artifact-report)."  # the DM is redrawn


def queue_done_text(period: str) -> str:
    """The queue DM's fallback when nothing is left."""
    return f"Review queue for {month_name(period)}: all reviewed. Thank you!"


def queue_done(period: str) -> str:
    """The queue DM when nothing is left."""
    return f"*Review queue, {month_name(period)}*: nothing left to review. Thank you!"


def queue_text(period: str, waiting: int, closes: dt.date) -> str:
    """The queue DM's fallback: how many wait, until when."""
    return (
        f"Review queue for {month_name(period)}: {count(waiting, 'artifact')} waiting for your keep or kill; "
        f"replies close after {day_name(closes)}."
    )


def queue_head(period: str) -> str:
    """The queue DM's header."""
    return f"Review queue, {month_name(period)}"


def queue_intro(waiting: int, closes: dt.date) -> str:
    """The queue DM's first line: how many wait, what Keep and Kill do, when the month closes."""
    return (
        f"{count(waiting, 'artifact')} from your team waiting for your keep or kill. "
        f"Unreviewed, each counts half; *Keep* counts it fully, *Kill* counts it 0. "
        f"The month closes after *{day_name(closes)}*."
    )


def queue_more(n: int) -> str:
    """The queue DM's last line when it shows only some."""
    return f"{plus_more(n)}: {QUEUE_MORE}"


# The manager's /artifact-report (blocks.report_message).
def report_bar(bar: float | None, cleared: bool) -> str:
    """The team's bar in the report's heading."""
    if bar is None:
        return "no bar yet (no artifacts last month)"
    return f"bar {bar:.2f}: {'cleared' if cleared else 'not cleared'}"


def report_title(team: str, period: str) -> str:
    """The report's header."""
    return f"Artifact report: {team}, {month_name(period)}"


def report_head(
    *,
    team: str,
    period: str,
    score: float,
    rank: int,
    ranked: int,
    bar: str,
    artifacts: float,
    spend: str,
    budget: str | None,
    unmatched: str,
    rate: str,
) -> str:
    """The report's scores: rank and bar, artifacts, spend against budget, check-in response rate."""
    return (
        f"*{escape_mrkdwn(team)}* — {month_name(period)}: *{score:.2f} artifacts/$100* "
        f"(rank {rank} of {ranked}; {bar})\n"
        f"{count(artifacts, 'artifact')}, spend {spend}"
        + (f" of {budget} budget" if budget else "")
        + f", spend without an artifact {unmatched}, check-in response rate {rate}"
    )


def spend_by_model(lines: Sequence[str], premium_share: float) -> str:
    """The report's "spend by model" line, with the premium models' share."""
    return (
        "Spend by model: "
        + "; ".join(lines)
        + f". Premium models: {premium_share:.0%} of spend — would a cheaper one have served?"
    )


def members_heading(n: int) -> str:
    """The heading of a big team's member list (one line each)."""
    return f"*Members* ({n})"


def waiting_heading(n: int) -> str:
    """The heading of a big team's artifacts waiting for review, with their buttons."""
    return f"*Waiting for your keep or kill* ({n})"


def more_waiting(n: int, team: str, period: str) -> str:
    """What a big team's report leaves out of its review list."""
    return (
        f"+{n} more waiting: they are in your review queue DM, and every artifact is in the CSV "
        f"(`/artifact-report {escape_mrkdwn(team)} {period} csv`)."
    )


def by_author(line: str, author: str) -> str:
    """An artifact line with its author, in a big team's review list."""
    return f"{line} — {escape_mrkdwn(author)}"


def member_line(*, name: str, spend: str, artifacts: float, score: float, status: str | None) -> str:
    """One member in the report: spend, artifacts, score, check-in status."""
    return (
        f"*{escape_mrkdwn(name)}* — {spend}, {count(artifacts, 'artifact')}, "
        f"{score:.2f}/$100, check-in: {checkin_status(status)}"
    )


def flags_line(flags: Sequence[str]) -> str:
    """What looks off about an artifact, under its line in the report."""
    return "\n:warning: " + escape_mrkdwn("; ".join(flags))


def spent_without_artifact(names: str) -> str:
    """The members who spent without an artifact (``names`` comes escaped)."""
    return f"Spent without an artifact: {names}"


def waiting_for_review(waiting: str) -> str:
    """The authors whose artifacts wait for review (``waiting`` comes escaped)."""
    return f"Waiting for your keep or kill (largest first): {waiting}"


def report_text(*, team: str, period: str, score: float, artifacts: float, spend: str) -> str:
    """The report's plain-text fallback."""
    return (
        f"Artifact report {team}, {month_name(period)}: {score:.2f} artifacts/$100, "
        f"{count(artifacts, 'artifact')}, {spend} spend."
    )


# App Home (blocks.home_view, blocks.home_chart_alt_text).
NOTHING_LOGGED = "_Nothing logged yet._"
CHART_TITLE = "Artifacts per $100, last six months"


def home_head(period: str) -> str:
    """App Home's header."""
    return f"Your artifacts, {month_name(period)}"


def home_greeting(*, name: str, period: str, spend: str, tokens: str) -> str:
    """App Home's first line: the month's spend and tokens."""
    return f"Hi {escape_mrkdwn(name)}. {month_name(period)}: *{spend}* of AI spend, {tokens} tokens."


def my_artifacts(lines: str) -> str:
    """App Home's list of this month's artifacts."""
    return f"*My artifacts*\n{lines}"


def status_counts(by_status: dict[str, int]) -> str:
    """How many artifacts have each status, with what the status means."""
    return "\n".join(f"*{status}* {by_status.get(status, 0)}: {meaning}" for status, meaning in STATUS_MEANING.items())


def no_data(period: str) -> str:
    """A month with nothing to score: ``October 2026: no data``."""
    return f"{month_name(period)}: no data"


def history_line(*, period: str, score: float, artifacts: float, spend: str) -> str:
    """One month in App Home's last six months."""
    return f"{month_name(period)}: *{score:.2f}* artifacts/$100 — {count(artifacts, 'artifact')}, {spend}"


def last_six_months(lines: Sequence[str]) -> str:
    """App Home's last six months."""
    return "*Last six months*\n" + "\n".join(lines)


def chart_month(*, period: str, score: float, artifacts: float, spend: str) -> str:
    """One month in the trend chart's alt text."""
    return f"{month_name(period)}: {score:.2f} artifacts per $100 ({count(artifacts, 'artifact')}, {spend} spent)"


def chart_alt_text(months: Sequence[str]) -> str:
    """The trend chart in words (Slack cuts an image's ``alt_text`` at 2000 characters: the builder does)."""
    return "Line chart of your artifacts per $100 of AI spend by month. " + "; ".join(months) + "."


def my_team(lines: Sequence[str]) -> str:
    """App Home's team rank and bar."""
    return "*My team*\n" + "\n".join(lines)


def home_queue_head(waiting: int) -> str:
    """App Home's review queue heading, for a manager."""
    return f"*Your review queue* ({count(waiting, 'artifact')} waiting for your keep or kill)"


def home_queue_more(n: int) -> str:
    """App Home's review queue when it shows only some."""
    return f"{plus_more(n)}: see /artifact-report."


# The weekly summary: its top-level post (blocks.summary_headline) and its thread (blocks.summary_details).
SUMMARY_IN_THREAD = "The whole board, new artifacts and spend against budget are in the thread :thread:"
NO_NEW_ARTIFACTS = "*New artifacts this week*\nNone yet."


def new_this_week(n: int) -> str:
    """``3 new artifacts this week``."""
    return f"{count(n, 'new artifact')} this week"


def month_spend(spend: str, period: str) -> str:
    """``$120.00 of AI spend in November 2026``."""
    return f"{spend} of AI spend in {month_name(period)}"


def response_rate_fact(rate: float) -> str:
    """``check-in response rate 75%``."""
    return f"check-in response rate {rate:.0%}"


def summary_body(top: str, facts: Sequence[str]) -> str:
    """The summary post: the top teams (``top`` comes composed), then the week's facts."""
    return (f"Top teams: {top}\n" if top else "No teams on the board yet.\n") + "; ".join(facts) + "."


def summary_text(title: str, top: str, new_count: int) -> str:
    """The summary post's plain-text fallback."""
    return f"{title}: " + (top or "no teams yet") + f"; {count(new_count, 'new artifact')}"


def summary_board(period: str, lines: str) -> str:
    """The summary thread's whole board."""
    return f"*Output-weighted leaderboard, {month_name(period)}*\n" + lines


def teams_hidden_short(n: int) -> str:
    """Teams the summary thread's board leaves out."""
    return f"{count(n, 'team')} too small to show."


def new_artifacts(total: int, lines: Sequence[str], more: int) -> str:
    """The summary thread's new artifacts, one line each, then ``+N more``."""
    tail = f"\n{plus_more(more)}" if more > 0 else ""
    return f"*New artifacts this week* ({total})\n" + "\n".join(lines) + tail


def spend_against_budget(lines: Sequence[str]) -> str:
    """The summary thread's budgets."""
    return "*Spend against budget*\n" + "\n".join(lines)


def response_rate_line(rate: float | None) -> str:
    """``Check-in response rate: 75%``."""
    return f"Check-in response rate: {rate_text(rate)}"


def details_text(period: str, lines: Sequence[str]) -> str:
    """The summary thread's plain-text fallback."""
    return f"Details for {month_name(period)}: " + "; ".join(lines)
