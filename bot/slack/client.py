"""Slack Web API client factory: ``SLACK_API_URL`` honoured, rate-limit retries on."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

from bot.config import Settings


def make_client(settings: Settings, *, token: str | None = None, rate_limit_retries: int = 2) -> WebClient:
    """A ``WebClient`` for the bot token with ``base_url`` from ``SLACK_API_URL``."""
    base = settings.slack_api_url
    if not base.endswith("/"):
        base += "/"
    client = WebClient(
        token=token or (settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None),
        base_url=base,
        timeout=15,
    )
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=rate_limit_retries))
    client.retry_handlers.append(ConnectionErrorRetryHandler(max_retry_count=2))
    return client
