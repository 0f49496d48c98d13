"""Usage CSV import: validation names the line, nothing is half-written, re-import changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.db import session_scope
from bot.errors import ImportFileError
from bot.models import UsageRow
from bot.services.usage import import_usage_csv
from tests import factories as f

HEADER = "date,email,provider,model,input_tokens,output_tokens,cost_usd\n"


def write(tmp_path: Path, body: str, header: str = HEADER) -> Path:
    p = tmp_path / "usage.csv"
    p.write_text(header + body)
    return p


def totals(engine):
    with session_scope(engine) as s:
        return s.execute(select(func.count(), func.sum(UsageRow.cost_usd))).one()


@pytest.fixture
def people(engine):
    f.person(engine, "U0ALICE", email="alice@example.com")
    f.person(engine, "U0BOB", email="bob@example.com")
    return engine


def test_import_and_reimport_is_idempotent(people, tmp_path):
    p = write(
        tmp_path,
        "2026-10-01,alice@example.com,openai,gpt-4o-mini,1000,100,1.25\n"
        "2026-10-02,ALICE@example.com,openai,gpt-4o-mini,1000,100,0.75\n",
    )
    res = import_usage_csv(people, p)
    assert res.rows == 2 and res.cost_usd == pytest.approx(2.0)
    first = totals(people)
    import_usage_csv(people, p)
    assert totals(people) == first == (2, pytest.approx(2.0))


def test_slack_id_column_and_blank_cost_priced_by_genai_prices(people, tmp_path):
    p = write(
        tmp_path,
        "2026-10-01,U0BOB,openai,gpt-4o-mini,1000000,1000000,\n",
        header="date,slack_user_id,provider,model,input_tokens,output_tokens,cost_usd\n",
    )
    res = import_usage_csv(people, p)
    # gpt-4o-mini: $0.15 per M input, $0.60 per M output (from the genai-prices table)
    assert res.cost_usd == pytest.approx(0.75)
    with session_scope(people) as s:
        row = s.scalars(select(UsageRow)).one()
    assert row.priced and row.cost_usd == pytest.approx(0.75)


def test_unknown_model_is_kept_flagged_not_priced_at_zero(people, tmp_path):
    p = write(tmp_path, "2026-10-01,alice@example.com,acme,acme-internal-llm,5000,500,\n")
    res = import_usage_csv(people, p)
    assert res.unpriced == 1 and "acme/acme-internal-llm" in res.unpriced_models
    with session_scope(people) as s:
        row = s.scalars(select(UsageRow)).one()
    assert row.priced is False and row.cost_usd is None and row.input_tokens == 5000


@pytest.mark.parametrize(
    ("body", "header", "message"),
    [
        (
            "2026-10-01,alice@example.com,openai,gpt-4o,1,1,1\n",
            "date,email,provider,input_tokens,output_tokens,cost_usd\n",
            "missing column(s): model",
        ),
        ("2026-13-01,alice@example.com,openai,gpt-4o,1,1,1\n", HEADER, "usage.csv:2: date '2026-13-01'"),
        (
            "2026-10-01,alice@example.com,openai,gpt-4o,-5,1,1\n",
            HEADER,
            "usage.csv:2: input_tokens must not be",
        ),
        ("2026-10-01,nobody@example.com,openai,gpt-4o,1,1,1\n", HEADER, "usage.csv:2: unknown person"),
        ("2026-10-01,alice@example.com,openai,gpt-4o,1,1,abc\n", HEADER, "cost_usd 'abc' is not a number"),
        ("2026-10-01,alice@example.com,openai,gpt-4o,1.5,1,1\n", HEADER, "is not a whole number"),
        ("2026-10-01,alice@example.com,openai,gpt-4o,1,1,-2\n", HEADER, "non-negative"),
        ("", HEADER, "no usage rows"),
    ],
)
def test_bad_file_names_the_line_and_writes_nothing(people, tmp_path, body, header, message):
    good = "2026-10-01,bob@example.com,openai,gpt-4o-mini,1,1,1\n"
    p = write(tmp_path, good + body if body else body, header)
    with pytest.raises(ImportFileError) as exc:
        import_usage_csv(people, p)
    text = str(exc.value)
    if "usage.csv:2" in message:  # the good row is line 2, the bad one line 3
        message = message.replace("usage.csv:2", "usage.csv:3")
    assert message in text
    assert totals(people)[0] == 0


def test_same_key_rows_in_one_file_are_summed(people, tmp_path):
    p = write(
        tmp_path,
        "2026-10-01,alice@example.com,openai,gpt-4o-mini,10,1,1\n"
        "2026-10-01,alice@example.com,openai,gpt-4o-mini,20,2,2\n",
    )
    import_usage_csv(people, p)
    with session_scope(people) as s:
        row = s.scalars(select(UsageRow)).one()
    assert (row.input_tokens, row.output_tokens, row.cost_usd) == (30, 3, pytest.approx(3.0))
