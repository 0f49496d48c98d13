"""What the assists need of a language model, so extraction and narrative do not depend on the SDK.

:class:`bot.llm.client.LLM` is the implementation; tests may pass any object with ``complete``.
"""

from __future__ import annotations

from typing import Any, Protocol


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


def failure_reason(exc: BaseException) -> str:
    """The fallback reason of an exception raised while asking a model: ``error`` for a bug of ours."""
    return exc.reason if isinstance(exc, ModelFailure) else "error"
