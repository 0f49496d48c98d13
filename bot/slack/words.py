"""The bot's words: how months, deadlines, counts and statuses read in every message.

Pure: no clock, no session. Builders in :mod:`bot.slack.blocks` and the jobs' progress lines take
their wording from here, so "1 artifact", "November 2026" and "reply by Monday 7 December" read the
same on every surface.
"""

from __future__ import annotations

import datetime as dt

from bot.periods import month_name, period_of

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")  # English in any locale

__all__ = [
    "CHECKIN_STATUS",
    "FLOOR_EXPLAINED",
    "STATUS_MEANING",
    "checkin_status",
    "count",
    "day_name",
    "floor_explained",
    "month_name",
    "plural",
    "reply_by",
    "review_notice",
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
    because = f" Reason: {reason.strip()}" if reason and reason.strip() else " No reason was given."
    return f"{reviewer} {what} your artifact *{title}* ({month_name(period)}): {effect}.{because}"
