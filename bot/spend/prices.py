"""Token prices from the maintained ``genai-prices`` package, never a hand-kept table.

Prices are taken per token type at a size below any long-context tier and scaled, because a
usage row aggregates many requests: pricing a day's total as one giant request would wrongly
apply the long-context tier of some models.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from functools import lru_cache

from genai_prices import Usage, calc_price

log = logging.getLogger(__name__)

_UNIT = 100_000  # tokens per probe; below every long-context tier threshold


@dataclass(frozen=True)
class UnitPrices:
    """USD per token for each token type of one model on one day."""

    input: float
    output: float
    cache_read: float


def _probe(usage: Usage, model: str, provider: str | None, when: dt.datetime) -> float:
    try:
        return float(calc_price(usage, model, provider_id=provider, genai_request_timestamp=when).total_price)
    except LookupError:
        if provider is None:
            raise
        return float(calc_price(usage, model, genai_request_timestamp=when).total_price)


@lru_cache(maxsize=4096)
def unit_prices(provider: str, model: str, day: dt.date) -> UnitPrices | None:
    """Per-token prices of ``model`` at ``provider`` on ``day``; None when the package does not know it."""
    when = dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)
    prov = provider.strip().lower() or None
    try:
        inp = _probe(Usage(input_tokens=_UNIT), model, prov, when) / _UNIT
        out = _probe(Usage(output_tokens=_UNIT), model, prov, when) / _UNIT
        cached = _probe(Usage(input_tokens=_UNIT, cache_read_tokens=_UNIT), model, prov, when) / _UNIT
    except LookupError:
        return None
    except Exception:
        log.exception("genai-prices failed for %s/%s", provider, model)
        return None
    return UnitPrices(input=inp, output=out, cache_read=cached)


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
    """Cost in USD of a day's tokens; None when the model is unknown to the price table.

    Args:
        input_tokens: all input tokens, including the cached ones.
        cached_tokens: the part of ``input_tokens`` read from the prompt cache.
        batch: the tokens went through a batch API (half price at OpenAI and Anthropic).
    """
    prices = unit_prices(provider, model, day)
    if prices is None:
        return None
    uncached = max(input_tokens - cached_tokens, 0)
    cost = uncached * prices.input + cached_tokens * prices.cache_read + output_tokens * prices.output
    return cost * 0.5 if batch else cost
