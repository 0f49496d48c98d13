"""The bot's words: how months, deadlines, counts and statuses read in every message.

Pure: no clock, no session. Builders in :mod:`bot.slack.blocks`, the listeners' answers (ephemeral
replies, refusals, errors) and the jobs' progress lines take their wording from here, so "1 artifact",
"November 2026" and "reply by Monday 7 December" read the same on every surface.
"""

from __future__ import annotations

import datetime as dt

from bot.artifacts.links import escape_mrkdwn
from bot.periods import month_name, period_of

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")  # English in any locale

__all__ = [
    "CHECKIN_STATUS",
    "FLOOR_EXPLAINED",
    "KILL_CLOSE",
    "KILL_OUT_OF_DATE",
    "KILL_REASON_HINT",
    "KILL_REASON_LABEL",
    "KILL_SUBMIT",
    "LEADERBOARD_USAGE",
    "OTHER_WORKSPACE",
    "OUT_OF_DATE",
    "REPORT_TOO_LONG",
    "REPORT_USAGE",
    "REVIEW_OUT_OF_DATE",
    "SNOOZED",
    "SORRY",
    "STATUS_MEANING",
    "already_logged",
    "away_noted",
    "checkin_status",
    "count",
    "day_name",
    "floor_explained",
    "kill_question",
    "kill_title",
    "killed_by",
    "month_name",
    "not_a_board_month",
    "not_a_report_month",
    "nothing_noted",
    "plural",
    "reason_too_long",
    "removed",
    "reply_by",
    "report_csv_filename",
    "report_csv_sent",
    "report_csv_title",
    "review_notice",
    "reviewed",
    "updated",
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
