"""The one price lookup (bot.spend.prices): genai-prices per token type, bundles, unknown models, lazy import."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import pytest
from genai_prices import Usage, calc_price

from bot.spend.prices import price_tokens, token_cost, unit_prices

DAY = dt.date(2026, 10, 1)
NOON = dt.datetime(2026, 10, 1, 12, tzinfo=dt.UTC)


def one_request(model: str, provider: str, **tokens: int) -> float:
    """What genai-prices itself charges for one (small) request."""
    return float(calc_price(Usage(**tokens), model, provider_id=provider, genai_request_timestamp=NOON).total_price)


@pytest.mark.parametrize(("provider", "model"), [("openai", "gpt-4o-mini"), ("openai", "gpt-4o"),
                                                 ("anthropic", "claude-sonnet-4-5")])
def test_known_model_has_a_price_per_token_type_that_matches_the_package(provider: str, model: str) -> None:
    prices = unit_prices(provider, model, DAY)
    assert prices is not None
    assert prices.input > 0 and prices.output > prices.input and 0 < prices.cache_read < prices.input
    # A small request priced by the bundle is what the package charges for it, cache reads included.
    bundle = token_cost(provider, model, DAY, uncached_input=700, cache_read=300, output=200)
    assert bundle == pytest.approx(one_request(model, provider, input_tokens=1000, cache_read_tokens=300,
                                               output_tokens=200))
    # A usage row's counts (input including its cache reads) cost the same bundle.
    assert price_tokens(provider, model, DAY, input_tokens=1000, cached_tokens=300,
                        output_tokens=200) == pytest.approx(bundle)


def test_anthropic_cache_writes_and_searches_are_priced_by_lifetime() -> None:
    prices = unit_prices("anthropic", "claude-sonnet-4-5", DAY)
    assert prices is not None
    # Anthropic: 5-minute cache writes cost 1.25x input, 1-hour writes 2x, reads 0.1x.
    assert prices.cache_write_5m == pytest.approx(1.25 * prices.input)
    assert prices.cache_write_1h == pytest.approx(2 * prices.input)
    assert prices.cache_read == pytest.approx(0.1 * prices.input)
    cost = token_cost("anthropic", "claude-sonnet-4-5", DAY, cache_write_5m=1000, cache_write_1h=1000, web_searches=3)
    assert cost == pytest.approx(1000 * prices.cache_write_5m + 1000 * prices.cache_write_1h + 3 * prices.web_search)
    assert prices.web_search > 0


def test_batch_halves_tokens_but_not_searches() -> None:
    full = token_cost("anthropic", "claude-sonnet-4-5", DAY, uncached_input=10_000, output=1_000)
    half = token_cost("anthropic", "claude-sonnet-4-5", DAY, uncached_input=10_000, output=1_000, batch=True)
    assert full is not None and half == pytest.approx(full / 2)
    search = token_cost("anthropic", "claude-sonnet-4-5", DAY, web_searches=10)
    assert token_cost("anthropic", "claude-sonnet-4-5", DAY, web_searches=10, batch=True) == pytest.approx(search)


def test_a_days_total_is_priced_as_many_requests_not_one_long_context_request() -> None:
    # One request of a million input tokens is long-context priced (2x on Sonnet 4.5); a day's
    # million tokens is many ordinary requests.
    giant = one_request("claude-sonnet-4-5", "anthropic", input_tokens=1_000_000)
    day = token_cost("anthropic", "claude-sonnet-4-5", DAY, uncached_input=1_000_000)
    prices = unit_prices("anthropic", "claude-sonnet-4-5", DAY)
    assert prices is not None and day == pytest.approx(1_000_000 * prices.input)
    assert day is not None and day < giant


def test_provider_without_its_own_entry_falls_back_to_the_models_price() -> None:
    assert unit_prices("azure", "gpt-4o", DAY) == unit_prices("openai", "gpt-4o", DAY)
    assert unit_prices("", "gpt-4o", DAY) == unit_prices("openai", "gpt-4o", DAY)


@pytest.mark.parametrize(("provider", "model"), [("openai", "my-local-llm"), ("acme", "no-such-model"),
                                                 ("anthropic", "")])
def test_unknown_model_has_no_price_never_zero(provider: str, model: str) -> None:
    assert unit_prices(provider, model, DAY) is None
    assert token_cost(provider, model, DAY, uncached_input=1000, output=10, cache_write=5) is None
    assert price_tokens(provider, model, DAY, input_tokens=1000, output_tokens=10) is None


def test_importing_the_llm_client_prices_and_charts_loads_no_heavy_package() -> None:
    code = (
        "import json, sys\n"
        "import bot.llm.client, bot.spend.prices, bot.boards.charts\n"
        "print(json.dumps(sorted(m for m in ('openai', 'genai_prices', 'matplotlib') if m in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert json.loads(out.stdout) == []
    # ...and they are loaded when used (the check above would pass vacuously otherwise).
    used = code.replace(
        "print(",
        "import datetime as dt\n"
        "bot.spend.prices.unit_prices('openai', 'gpt-4o', dt.date(2026, 10, 1))\n"
        "bot.llm.client.LLM(api_key='sk-x', model='m', base_url='http://127.0.0.1:9/v1')\n"
        "bot.boards.charts.score_chart(['a'], [1.0], [None], title='t')\n"
        "print(",
    )
    out = subprocess.run([sys.executable, "-c", used], capture_output=True, text=True, check=True, timeout=120)
    assert json.loads(out.stdout) == ["genai_prices", "matplotlib", "openai"]
