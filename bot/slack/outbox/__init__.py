"""The outbox: bulk messages are stored first, then sent by a paced, resumable dispatcher.

- :mod:`.store`: the ``outbox`` table (enqueue, claim with a lease, finish, resume after a crash);
- :mod:`.pacer`: the send pace shared by every dispatcher, and 429 pauses;
- :mod:`.dispatcher`: the loop that claims due rows and sends them from a few threads;
- :mod:`bot.slack.sender`: one row becomes one Slack Web API call.

Callers use ``from bot.slack import outbox`` and the names below.
"""

from __future__ import annotations

from bot.slack.outbox.dispatcher import (
    FATAL_ERRORS,
    MAX_ATTEMPTS,
    PERMANENT_ERRORS,
    DispatchStats,
    FatalSlackError,
    Progress,
    dispatch,
)
from bot.slack.outbox.pacer import (
    OutboxSettings,
    Pacer,
    PaceSettings,
    UnpacedPacer,
    WorkspacePacer,
    WorkspacePacers,
    learned_rate,
    pace_name,
)
from bot.slack.outbox.store import (
    REMINDER_KINDS,
    Claimed,
    OutboxItem,
    counts,
    enqueue,
    file_payload,
    reclaim_dead,
    remaining,
)
from bot.slack.sender import Send, Upload, slack_sender

__all__ = [
    "FATAL_ERRORS",
    "MAX_ATTEMPTS",
    "PERMANENT_ERRORS",
    "REMINDER_KINDS",
    "Claimed",
    "DispatchStats",
    "FatalSlackError",
    "OutboxItem",
    "OutboxSettings",
    "PaceSettings",
    "Pacer",
    "Progress",
    "Send",
    "UnpacedPacer",
    "Upload",
    "WorkspacePacer",
    "WorkspacePacers",
    "counts",
    "dispatch",
    "enqueue",
    "file_payload",
    "learned_rate",
    "pace_name",
    "reclaim_dead",
    "remaining",
    "slack_sender",
]
