"""Cost of a provider's daily token counts, from the maintained ``genai-prices`` package.

:func:`bot.spend.prices.price_tokens` knows uncached input, cache reads and output. The admin APIs
also report cache *writes* (Anthropic: 5-minute and 1-hour entries, priced 1.25x and 2x input;
OpenAI: ``input_cache_write_tokens``) and Anthropic's server-side web searches, which
genai-prices prices too. As in :mod:`bot.spend.prices`, prices are probed per token type at a size
below every long-context tier and scaled, because a day's total is many requests, not one.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from functools import lru_cache

from genai_prices import Usage, calc_price

from bot.spend.prices import unit_prices

log = logging.getLogger(__name__)

_UNIT = 100_000
_SEARCHES = 1_000


@dataclass(frozen=True)
class TokenPrices:
    """USD per token (per request for ``web_search``) of one model on one day."""

    input: float
    output: float
    cache_read: float
    cache_write: float
    cache_write_5m: float
    cache_write_1h: float
    web_search: float


def _probe(usage: Usage, model: str, provider: str, when: dt.datetime) -> float | None:
    try:
        try:
            price = calc_price(usage, model, provider_id=provider, genai_request_timestamp=when)
        except LookupError:
            price = calc_price(usage, model, genai_request_timestamp=when)
        return float(price.total_price)
    except LookupError:
        return None
    except Exception:
        log.exception("genai-prices failed for %s/%s", provider, model)
        return None


@lru_cache(maxsize=4096)
def token_prices(provider: str, model: str, day: dt.date) -> TokenPrices | None:
    """Per-token prices of ``model`` at ``provider`` on ``day``; None when the price table lacks it."""
    base = unit_prices(provider, model, day)
    if base is None:
        return None
    when = dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)
    prov = provider.strip().lower()

    def per_token(usage: Usage, fallback: float, unit: int = _UNIT) -> float:
        value = _probe(usage, model, prov, when)
        return fallback if value is None else value / unit

    write = per_token(Usage(input_tokens=_UNIT, cache_write_tokens=_UNIT), base.input)
    write_5m = per_token(Usage(input_tokens=_UNIT, cache_write_tokens=_UNIT, cache_write_5m_tokens=_UNIT), write)
    write_1h = per_token(Usage(input_tokens=_UNIT, cache_write_tokens=_UNIT, cache_write_1h_tokens=_UNIT), write)
    search = per_token(Usage(web_searches=_SEARCHES), 0.0, _SEARCHES)
    return TokenPrices(
        input=base.input,
        output=base.output,
        cache_read=base.cache_read,
        cache_write=write,
        cache_write_5m=write_5m,
        cache_write_1h=write_1h,
        web_search=search,
    )


def token_cost(
    provider: str,
    model: str,
    day: dt.date,
    *,
    uncached_input: int = 0,
    cache_read: int = 0,
    cache_write: int = 0,
    cache_write_5m: int = 0,
    cache_write_1h: int = 0,
    output: int = 0,
    web_searches: int = 0,
    batch: bool = False,
) -> float | None:
    """Cost in USD of one day's usage of a model; None when the model is not in the price table.

    Args:
        uncached_input: input tokens neither read from nor written to the prompt cache.
        cache_write: cache-write tokens of unknown lifetime (OpenAI).
        batch: the tokens went through a Batch API: half price at OpenAI and Anthropic (the
            price table has no batch prices). Web searches are charged per search, not halved.
    """
    prices = token_prices(provider, model, day)
    if prices is None:
        return None
    tokens = (
        uncached_input * prices.input
        + cache_read * prices.cache_read
        + cache_write * prices.cache_write
        + cache_write_5m * prices.cache_write_5m
        + cache_write_1h * prices.cache_write_1h
        + output * prices.output
    )
    if batch:
        tokens *= 0.5
    return tokens + web_searches * prices.web_search
