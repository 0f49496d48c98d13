"""Usage providers: one module per provider behind the :class:`Connector` protocol, one registry.

:data:`REGISTRY` is the one list of providers: ``artifact-bot usage sync``'s choices, the
``usage-sync`` job (scheduled only when some provider is configured) and
:func:`bot.spend.sync.sync_usage` all read it. Adding a provider is a module here with a
``fetch(settings, *, first, last, tz, now) -> ProviderFetch`` function, plus one line below
(and its key in :class:`bot.config.Settings` when it needs a new environment variable).

Registry lines are lazy: a provider's module (and what it imports: ``httpx``, the price
table, the ``openai`` SDK for the OpenAI connector) is imported only when that provider
syncs, so the CLI starts without them.
"""

from __future__ import annotations

import datetime as dt
import importlib
import zoneinfo
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.spend.connectors.base import ProviderFetch


class Connector(Protocol):
    """What :mod:`bot.spend.sync` needs of a provider.

    ``fetch`` reads the provider for org days ``first``..``last`` and writes nothing; it raises
    ``ConfigError`` when the provider refuses the key (naming the variable) and
    ``ProviderError`` when the provider keeps failing after retries.
    """

    @property
    def name(self) -> str:
        """The source name stored on usage rows and the sync cursor (``usage sync NAME``)."""
        ...

    @property
    def env_keys(self) -> tuple[str, ...]:
        """The environment variables it needs, every one of them set."""
        ...

    def configured(self, settings: Settings) -> bool:
        """True when every variable in ``env_keys`` is set."""
        ...

    def fetch(
        self, settings: Settings, *, first: dt.date, last: dt.date, tz: zoneinfo.ZoneInfo, now: dt.datetime
    ) -> ProviderFetch:
        """Everything the provider reports for org days ``first``..``last``."""
        ...


def setting(settings: Settings, variable: str) -> str | None:
    """The value of environment variable ``variable`` in ``settings`` (secrets unwrapped), or None if blank."""
    value: Any = getattr(settings, variable.lower(), None)
    if value is None:
        return None
    raw = value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)
    return raw.strip() or None


@dataclass(frozen=True)
class Registered:
    """A registry line: a provider whose module is imported when it first syncs."""

    name: str
    module: str
    env_keys: tuple[str, ...]

    def configured(self, settings: Settings) -> bool:
        """True when every variable in ``env_keys`` is set."""
        return all(setting(settings, key) for key in self.env_keys)

    def fetch(
        self, settings: Settings, *, first: dt.date, last: dt.date, tz: zoneinfo.ZoneInfo, now: dt.datetime
    ) -> ProviderFetch:
        """The module's ``fetch``."""
        module = importlib.import_module(self.module)
        result: ProviderFetch = module.fetch(settings, first=first, last=last, tz=tz, now=now)
        return result


_PACKAGE = __name__

REGISTRY: dict[str, Connector] = {
    c.name: c
    for c in (
        Registered("openai", f"{_PACKAGE}.openai_admin", ("OPENAI_ADMIN_KEY",)),
        Registered("anthropic", f"{_PACKAGE}.anthropic_admin", ("ANTHROPIC_ADMIN_KEY",)),
        Registered("claude_code", f"{_PACKAGE}.claude_code", ("ANTHROPIC_ADMIN_KEY",)),
        Registered("cursor", f"{_PACKAGE}.cursor_admin", ("CURSOR_ADMIN_KEY",)),
        Registered("copilot", f"{_PACKAGE}.copilot", ("GITHUB_TOKEN", "GITHUB_ORG")),
    )
}


def names() -> list[str]:
    """Provider names, in registry order (``usage sync`` also accepts ``all``)."""
    return list(REGISTRY)


def configured(settings: Settings) -> list[str]:
    """The providers whose keys are set."""
    return [name for name, c in REGISTRY.items() if c.configured(settings)]
