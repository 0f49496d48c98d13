"""The Bolt app factory (part of the composition root: the one place that imports ``handlers``)."""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from slack_bolt import App

from bot.deps import Deps

log = logging.getLogger(__name__)


WORK_NICE = 10  # how much lower the work threads' CPU priority is than the acknowledging threads'


def lower_priority() -> None:
    """Run the calling thread (one doing work after an ack) at a lower CPU priority.

    Under load the work (queries, Slack calls) and the acks compete for the two cores and the
    interpreter lock; Slack's 3 seconds apply only to the acks. On Linux a thread id passed as the
    process sets that thread's priority alone (``setpriority(2)``); elsewhere this does nothing.
    """
    if hasattr(os, "setpriority"):
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), os.getpriority(os.PRIO_PROCESS, 0) + WORK_NICE)
        except OSError:
            log.debug("could not lower the work threads' priority", exc_info=True)


def create_app(deps: Deps, *, token_verification: bool = True) -> App:
    """Build the Bolt ``App`` from explicit dependencies and register every listener.

    Raises:
        ConfigError: when ``SLACK_BOT_TOKEN`` or ``SLACK_SIGNING_SECRET`` is missing.
    """
    import handlers
    from bot.slack import make_client

    deps.settings.require("slack_bot_token", "slack_signing_secret")
    assert deps.settings.slack_signing_secret is not None
    if deps.slack is None:
        deps.slack = make_client(deps.settings)
    app = App(
        client=deps.slack,
        signing_secret=deps.settings.slack_signing_secret.get_secret_value(),
        token_verification_enabled=token_verification,
        # Acks in the request thread; the work in lazy listeners on a small pool of its own.
        process_before_response=True,
        raise_error_for_unhandled_request=False,
        listener_executor=ThreadPoolExecutor(
            max_workers=deps.settings.artifact_bot_work_threads,
            thread_name_prefix="slack-work",
            initializer=lower_priority,
        ),
    )
    handlers.register_all(app, deps)
    return app
