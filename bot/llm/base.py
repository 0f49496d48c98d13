"""What the assists need of a language model, so extraction and narrative do not depend on the SDK.

:class:`bot.llm.client.LLM` is the implementation; tests may pass any object with ``complete``.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

log = logging.getLogger(__name__)


class ModelFailure(Exception):
    """A model answer that cannot be used; ``reason`` says why (``timeout``, ``rate_limited``,
    ``unavailable``, ``api_error``, ``refusal``, ``malformed``, or a check's own reason)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ChatModel(Protocol):
    """A chat model answering one request with the text of its message."""

    def complete(self, messages: list[dict[str, str]], *, max_tokens: int, **kwargs: Any) -> str:
        """The answer's text.

        Raises:
            ModelFailure: the model failed, refused, or gave no usable text.
        """
        ...


def fallback_reason(exc: BaseException, *, task: str, fallback: str) -> str:
    """The reason an assist falls back after ``exc``, logged: ``error`` (with its traceback) for a bug of ours.

    Call it from the ``except`` block that caught ``exc``.
    """
    if isinstance(exc, ModelFailure):
        log.warning("%s fell back to %s: %s", task, fallback, exc.reason)
        return exc.reason
    log.exception("%s failed; using %s", task, fallback)
    return "error"
