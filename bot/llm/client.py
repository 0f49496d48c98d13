"""The language-model client: an OpenAI-compatible chat model, its failures and its own accounting.

Everything the model does is optional: ``LLM.from_settings`` returns None without
``OPENAI_API_KEY`` and every caller has a deterministic path (``bot.artifacts.extraction``,
``bot.llm.narrative.template_narrative``). No assist raises on a model failure: it falls back
and says so (``bot.llm.extraction``, ``bot.llm.narrative``).

The ``openai`` SDK is imported when a client is made, not with this module, so commands that
never talk to a model do not load it.

The bot's own spend is accounted like anyone's: every response's token usage is priced with
``bot.spend.prices.price_tokens`` and handed to ``on_usage``; ``usage_recorder`` stores it with
``bot.spend.usage.add_usage`` as usage of the organisation's ``bot_identity`` person, so the bot
appears on its own board.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.config import OrgConfig, Settings
from bot.llm.base import ModelFailure
from bot.llm.extraction import ExtractionResult, extract_with_model
from bot.llm.narrative import NarrativeResult, narrate
from bot.models import UsageRow
from bot.spend.prices import price_tokens
from bot.spend.usage import UsageRecord, add_usage, usage_rows

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 15.0
DEFAULT_MAX_RETRIES = 1
USAGE_SOURCE = "artifact-bot"
PROVIDER = "openai"


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class LLM:
    """An OpenAI-compatible chat model with explicit time-out and retries, and its own accounting.

    Args:
        api_key: the API key (``OPENAI_API_KEY``).
        model: the model name (``OPENAI_MODEL``).
        base_url: any OpenAI-compatible server (``OPENAI_BASE_URL``); None for the SDK's default
            (which itself reads ``OPENAI_BASE_URL``, else OpenAI).
        timeout: seconds for a whole request (connect at most 5 s).
        max_retries: SDK retries on connection errors, 408/409/429 and 5xx (it honours
            ``Retry-After``); kept low because a person or a slash command may be waiting.
        on_usage: called with a priced ``UsageRecord`` after every response (errors in it are
            logged, never raised).
        clock: UTC-aware now, dating the usage (injected in tests).
        http_client: an ``httpx.Client`` for the SDK (tests pass a ``MockTransport``).
        identity: the usage identity put on records (the recorder may override it).
    """

    def __init__(
        self,
        *,
        api_key: str,
        model: str,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        max_retries: int = DEFAULT_MAX_RETRIES,
        on_usage: Callable[[UsageRecord], None] | None = None,
        clock: Callable[[], dt.datetime] = _utcnow,
        http_client: httpx.Client | None = None,
        identity: str = "artifact-bot",
    ) -> None:
        import httpx
        from openai import OpenAI

        self.model = model
        self.on_usage = on_usage
        self.clock = clock
        self.identity = identity
        self.client = OpenAI(
            api_key=api_key,
            base_url=base_url or None,
            timeout=httpx.Timeout(timeout, connect=min(5.0, timeout)),
            max_retries=max_retries,
            http_client=http_client,
        )

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        on_usage: Callable[[UsageRecord], None] | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        max_retries: int = DEFAULT_MAX_RETRIES,
        clock: Callable[[], dt.datetime] = _utcnow,
        http_client: httpx.Client | None = None,
        identity: str = "artifact-bot",
    ) -> LLM | None:
        """The client for ``settings``, or None without ``OPENAI_API_KEY`` (every feature works without)."""
        key = settings.openai_api_key.get_secret_value().strip() if settings.openai_api_key else ""
        if not key:
            return None
        return cls(
            api_key=key,
            model=settings.openai_model,
            base_url=settings.openai_base_url,
            timeout=timeout,
            max_retries=max_retries,
            on_usage=on_usage,
            clock=clock,
            http_client=http_client,
            identity=identity,
        )

    # -- the assists --

    def extract_artifacts(self, text: str) -> ExtractionResult:
        """Artifacts of a free-text reply (``bot.llm.extraction.extract_with_model``). Never raises."""
        return extract_with_model(self, text)

    def narrate(self, report_data: dict[str, Any]) -> NarrativeResult:
        """A checked narrative of a report, else the template (``bot.llm.narrative.narrate``). Never raises."""
        return narrate(self, report_data)

    def write_narrative(self, report_data: dict[str, Any]) -> str | None:
        """The narrative text of ``narrate``: the checked model text or the template; None without data."""
        return narrate(self, report_data).text

    # -- plumbing --

    def complete(self, messages: list[dict[str, str]], *, max_tokens: int, **kwargs: Any) -> str:
        """One chat completion; returns the message text and accounts its usage.

        Raises:
            ModelFailure: an API or transport error (``timeout``, ``rate_limited``,
                ``unavailable``, ``api_error``, ``malformed``), a refusal, a truncated or empty answer.
        """
        import openai

        try:
            response = self.client.chat.completions.create(
                model=self.model,
                messages=cast(Any, messages),
                max_completion_tokens=max_tokens,
                **kwargs,
            )
        except openai.OpenAIError as exc:
            raise ModelFailure(_api_reason(exc)) from exc
        self._account(response)
        if not getattr(response, "choices", None):
            raise ModelFailure("malformed")
        choice = response.choices[0]
        if getattr(choice.message, "refusal", None):
            raise ModelFailure("refusal")
        if choice.finish_reason == "content_filter":
            raise ModelFailure("refusal")
        if choice.finish_reason == "length":
            raise ModelFailure("malformed")
        content = choice.message.content
        if not isinstance(content, str) or not content.strip():
            raise ModelFailure("malformed")
        return content

    def _account(self, response: Any) -> None:
        """Price this response's tokens and hand them to ``on_usage``; never raises."""
        if self.on_usage is None:
            return
        try:
            usage = getattr(response, "usage", None)
            if usage is None:
                return
            prompt = int(getattr(usage, "prompt_tokens", 0) or 0)
            completion = int(getattr(usage, "completion_tokens", 0) or 0)
            details = getattr(usage, "prompt_tokens_details", None)
            cached = int(getattr(details, "cached_tokens", 0) or 0) if details is not None else 0
            day = self.clock().astimezone(dt.UTC).date()
            cost = price_tokens(
                PROVIDER, self.model, day, input_tokens=prompt, output_tokens=completion, cached_tokens=cached
            )
            self.on_usage(
                UsageRecord(
                    date=day,
                    identity=self.identity,
                    provider=PROVIDER,
                    model=self.model,
                    input_tokens=prompt,
                    output_tokens=completion,
                    cached_tokens=cached,
                    requests=1,
                    cost_usd=cost,
                )
            )
        except Exception:
            log.exception("could not account the bot's own usage")


def _api_reason(exc: BaseException) -> str:
    """The fallback reason of an ``openai`` SDK error."""
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return "timeout"
    if isinstance(exc, openai.RateLimitError):
        return "rate_limited"
    if isinstance(exc, openai.APIConnectionError):
        return "unavailable"
    if isinstance(exc, openai.APIStatusError):
        return "api_error"
    if isinstance(exc, openai.APIResponseValidationError):
        return "malformed"
    return "error"  # an SDK error of no known kind: logged with its traceback by the assist


# --- the bot's own usage, stored through bot.spend -------------------------------------------


def bot_email(identity: str) -> str:
    """The reserved email of the bot's person (``.invalid`` never resolves to a real mailbox)."""
    return f"{identity}@artifact-bot.invalid".lower()


def record_own_usage(engine: Engine, record: UsageRecord, org: OrgConfig) -> None:
    """Add one call's usage to the bot's row of that day and model (source ``artifact-bot``).

    The row belongs to the organisation's ``bot_identity`` person (created on first use);
    concurrent calls add up (``bot.spend.usage.add_usage``).
    """
    identity = org.bot_identity
    add_usage(engine, replace(record, identity=identity), source=USAGE_SOURCE, owner_email=bot_email(identity))


def usage_recorder(engine: Engine, org: OrgConfig) -> Callable[[UsageRecord], None]:
    """An ``on_usage`` callback storing the bot's usage with ``record_own_usage``; logs, never raises."""

    def record(rec: UsageRecord) -> None:
        try:
            record_own_usage(engine, rec, org)
        except Exception:
            log.exception("could not store the bot's own usage")

    return record


def own_usage_rows(session: Session, org: OrgConfig) -> list[UsageRow]:
    """The bot's stored usage rows (for reports and tests)."""
    return usage_rows(session, source=USAGE_SOURCE, identity=org.bot_identity)
