"""Bolt middleware that hands listeners their dependencies through the context."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import BoltContext


def make_deps_middleware(deps: Any) -> Callable[..., Any]:
    """Middleware that sets ``context["deps"]`` (it only adds values; no sessions here)."""

    def inject_deps(context: BoltContext, next: Callable[[], Any]) -> Any:
        context["deps"] = deps
        return next()

    return inject_deps
