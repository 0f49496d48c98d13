"""The Slack Web API emulator (kept importable here: ``from testing.slack_emulator import SlackEmulator``).

It lives in :mod:`testing.slack`, one module per API family; this module re-exports its public names.
"""

from __future__ import annotations

from testing.slack import *  # noqa: F403
from testing.slack import __all__ as __all__
