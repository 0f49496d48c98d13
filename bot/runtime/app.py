"""The Bolt app factory (part of the composition root: the one place that imports ``handlers``)."""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from slack_bolt import App

from bot.deps import Deps
from bot.runtime.work import WORK_NICE

log = logging.getLogger(__name__)


class _ClientCarriesTheToken(logging.Filter):
    """Drops Bolt's start-up warning that ``token`` is unused because a ``client`` was given.

    Bolt reads SLACK_BOT_TOKEN itself and warns when a client comes too; our client is built from
    that same token (with the Slack URL and retry handlers), so the warning only alarms admins.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped, warning_token_skipped

        return record.getMessage() not in (warning_client_prioritized_and_token_skipped(), warning_token_skipped())


_CLIENT_CARRIES_THE_TOKEN = _ClientCarriesTheToken()


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


def create_app(
    deps: Deps, *, token_verification: bool = True, request_verification: bool = True, work_processes: int = 0
) -> App:
    """Build the Bolt ``App`` from explicit dependencies and register every listener.

    ``work_processes`` > 0 runs the work after each ack in that many processes of its own
    (``bot.runtime.work``) instead of threads of this one; call ``close_work(app)`` when done serving.
    ``request_verification=False`` only for an app fed by its own serving process (a work process).

    Raises:
        ConfigError: when ``SLACK_BOT_TOKEN`` or ``SLACK_SIGNING_SECRET`` is missing.
    """
    import handlers
    from bot.slack.client import make_client

    deps.settings.require("slack_bot_token", "slack_signing_secret")
    assert deps.settings.slack_signing_secret is not None
    if deps.slack is None:
        deps.slack = make_client(deps.settings)
    logging.getLogger("slack_bolt.App").addFilter(_CLIENT_CARRIES_THE_TOKEN)  # Bolt's framework logger
    from bot.runtime.identity import SlackIdentity

    # auth.test off the request path (``bot.runtime.identity``): serve starts while Slack is down, and a
    # work process never calls it (the serving process authorised the request before its ack).
    identity = SlackIdentity(deps.slack, fetch=token_verification)
    app = App(
        client=deps.slack,
        authorize=identity.authorizer(),
        signing_secret=deps.settings.slack_signing_secret.get_secret_value(),
        request_verification_enabled=request_verification,
        # Acks in the request thread; the work in lazy listeners on a small pool of its own.
        process_before_response=True,
        raise_error_for_unhandled_request=False,
        listener_executor=ThreadPoolExecutor(
            max_workers=deps.settings.artifact_bot_work_threads,
            thread_name_prefix="slack-work",
            initializer=lower_priority,
        ),
    )
    app.slack_identity = identity  # type: ignore[attr-defined]  # read by /healthz
    if token_verification:
        identity.start()
    handlers.register_all(app, deps)
    if work_processes > 0:
        from bot.runtime.work import ProcessLazyListenerRunner

        app.listener_runner.lazy_listener_runner = ProcessLazyListenerRunner(
            deps,
            processes=work_processes,
            threads=deps.settings.artifact_bot_work_threads,
            app_factory=create_app,
            carry=handlers.CARRIED_CONTEXT,
        )
    return app


def close_work(app: App, grace: float = 10.0) -> None:
    """Let the work processes (if any) finish what they hold, then stop them."""
    runner = app.listener_runner.lazy_listener_runner
    close = getattr(runner, "close", None)
    if close is not None:
        close(grace)
