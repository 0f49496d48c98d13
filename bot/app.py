"""The Bolt app factory (part of the composition root: the one place that imports ``handlers``)."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from slack_bolt import App

from bot.deps import Deps

log = logging.getLogger(__name__)


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
            max_workers=deps.settings.artifact_bot_work_threads, thread_name_prefix="slack-work"
        ),
    )
    handlers.register_all(app, deps)
    return app
