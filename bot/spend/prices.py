"""The one price lookup: token prices from the maintained ``genai-prices`` package, never a hand-kept table.

:func:`unit_prices` gives USD per token for each token type (input, output, cache reads, cache
writes of unknown, 5-minute and 1-hour lifetime) and per web search, of a provider's model on a
day; :func:`token_cost` prices a bundle of them; :func:`price_tokens` prices a usage row's
counts (input including its cache reads). A model the package does not know has no price:
these return None, never zero.

Prices are probed per token type at a size below any long-context tier and scaled, because a
usage row aggregates many requests: pricing a day's total as one giant request would wrongly
apply the long-context tier of some models.

``genai_prices`` is imported on the first lookup, not with this module: a command that prices
nothing does not pay for loading the price data.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, TypedDict, Unpack

if TYPE_CHECKING:
    from genai_prices import Usage

log = logging.getLogger(__name__)

_UNIT = 100_000  # tokens per probe; below every long-context tier threshold
_SEARCHES = 1_000  # web searches per probe


@dataclass(frozen=True)
class UnitPrices:
    """USD per token (per search for ``web_search``) of one model on one day.

    Cache-write prices default to the input price and ``web_search`` to 0 where the price
    table has no separate price for them.
    """

    input: float
    output: float
    cache_read: float
    cache_write: float
    cache_write_5m: float
    cache_write_1h: float
    web_search: float


@dataclass(frozen=True)
class _Writes:
    cache_write: float
    cache_write_5m: float
    cache_write_1h: float
    web_search: float


_NO_WRITES = _Writes(0.0, 0.0, 0.0, 0.0)  # for bundles without cache writes or searches: nothing to probe


def _probe(usage: Usage, model: str, provider: str | None, when: dt.datetime) -> float:
    """Total price of ``usage``; the provider's own entry first, then any provider's.

    Raises:
        LookupError: the package does not know the model.
    """
    from genai_prices import calc_price

    try:
        return float(calc_price(usage, model, provider_id=provider, genai_request_timestamp=when).total_price)
    except LookupError:
        if provider is None:
            raise
        return float(calc_price(usage, model, genai_request_timestamp=when).total_price)


def _when(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)


def _provider(provider: str) -> str | None:
    return provider.strip().lower() or None


@lru_cache(maxsize=4096)
def _core(provider: str, model: str, day: dt.date) -> tuple[float, float, float] | None:
    """(input, output, cache read) per token; what every usage row needs, probed first and alone."""
    from genai_prices import Usage

    when, prov = _when(day), _provider(provider)
    try:
        inp = _probe(Usage(input_tokens=_UNIT), model, prov, when) / _UNIT
        out = _probe(Usage(output_tokens=_UNIT), model, prov, when) / _UNIT
        cached = _probe(Usage(input_tokens=_UNIT, cache_read_tokens=_UNIT), model, prov, when) / _UNIT
    except LookupError:
        return None
    except Exception:
        log.exception("genai-prices failed for %s/%s", provider, model)
        return None
    return inp, out, cached


@lru_cache(maxsize=4096)
def _writes(provider: str, model: str, day: dt.date, input_price: float) -> _Writes:
    """Cache-write and web-search prices, probed only when a bundle has some (most rows have none)."""
    from genai_prices import Usage

    when, prov = _when(day), _provider(provider)

    def per_unit(usage: Usage, fallback: float, unit: int = _UNIT) -> float:
        try:
            return _probe(usage, model, prov, when) / unit
        except LookupError:
            return fallback
        except Exception:
            log.exception("genai-prices failed for %s/%s", provider, model)
            return fallback

    write = per_unit(Usage(input_tokens=_UNIT, cache_write_tokens=_UNIT), input_price)
    write_5m = Usage(input_tokens=_UNIT, cache_write_tokens=_UNIT, cache_write_5m_tokens=_UNIT)
    write_1h = Usage(input_tokens=_UNIT, cache_write_tokens=_UNIT, cache_write_1h_tokens=_UNIT)
    return _Writes(
        cache_write=write,
        cache_write_5m=per_unit(write_5m, write),
        cache_write_1h=per_unit(write_1h, write),
        web_search=per_unit(Usage(web_searches=_SEARCHES), 0.0, _SEARCHES),
    )


def unit_prices(provider: str, model: str, day: dt.date) -> UnitPrices | None:
    """Per-token prices of ``model`` at ``provider`` on ``day``; None when the price table does not know it.

    Args:
        provider: the provider as usage rows name it (``openai``, ``anthropic``); when the
            package has no entry of that provider for the model, any provider's entry is used.
        model: the model name as the provider reports it.
        day: the day the tokens were used (prices change over time).
    """
    core = _core(provider, model, day)
    if core is None:
        return None
    inp, out, cached = core
    w = _writes(provider, model, day, inp)
    return UnitPrices(
        input=inp,
        output=out,
        cache_read=cached,
        cache_write=w.cache_write,
        cache_write_5m=w.cache_write_5m,
        cache_write_1h=w.cache_write_1h,
        web_search=w.web_search,
    )


class Tokens(TypedDict, total=False):
    """One day's usage of a model by kind; a kind left out counts 0.

    ``uncached_input``: input tokens neither read from nor written to the prompt cache;
    ``cache_read``: input tokens read from the prompt cache; ``cache_write``: cache-write tokens
    of unknown lifetime (OpenAI); ``cache_write_5m`` / ``cache_write_1h``: cache-write tokens of
    5-minute / 1-hour entries (Anthropic); ``output``: output tokens; ``web_searches``:
    server-side web searches (charged per search); ``batch``: the tokens went through a Batch
    API: half price at OpenAI and Anthropic (the price table has no batch prices). Web searches
    are charged per search, not halved.
    """

    uncached_input: int
    cache_read: int
    cache_write: int
    cache_write_5m: int
    cache_write_1h: int
    output: int
    web_searches: int
    batch: bool


def input_tokens(tokens: Tokens) -> int:
    """Every input token of a bundle: uncached, cache reads and cache writes."""
    return (
        tokens.get("uncached_input", 0)
        + tokens.get("cache_read", 0)
        + tokens.get("cache_write", 0)
        + tokens.get("cache_write_5m", 0)
        + tokens.get("cache_write_1h", 0)
    )


def token_cost(provider: str, model: str, day: dt.date, **tokens: Unpack[Tokens]) -> float | None:
    """Cost in USD of one day's usage of a model (:class:`Tokens`); None when the model is not in the price table."""
    core = _core(provider, model, day)
    if core is None:
        return None
    inp, out, cached = core
    write, write_5m, write_1h = (tokens.get(k, 0) for k in ("cache_write", "cache_write_5m", "cache_write_1h"))
    searches = tokens.get("web_searches", 0)
    w = _writes(provider, model, day, inp) if write or write_5m or write_1h or searches else _NO_WRITES
    cost = (
        tokens.get("uncached_input", 0) * inp
        + tokens.get("cache_read", 0) * cached
        + write * w.cache_write
        + write_5m * w.cache_write_5m
        + write_1h * w.cache_write_1h
        + tokens.get("output", 0) * out
    )
    if tokens.get("batch", False):
        cost *= 0.5
    return cost + searches * w.web_search


def price_tokens(
    provider: str,
    model: str,
    day: dt.date,
    *,
    input_tokens: int,
    output_tokens: int,
    cached_tokens: int = 0,
    batch: bool = False,
) -> float | None:
    """Cost in USD of a usage row's tokens (:func:`token_cost` of its counts); None when the model is unknown.

    Args:
        input_tokens: all input tokens, including the cached ones.
        cached_tokens: the part of ``input_tokens`` read from the prompt cache.
        batch: the tokens went through a batch API (half price at OpenAI and Anthropic).
    """
    return token_cost(
        provider,
        model,
        day,
        uncached_input=max(input_tokens - cached_tokens, 0),
        cache_read=cached_tokens,
        output=output_tokens,
        batch=batch,
    )
