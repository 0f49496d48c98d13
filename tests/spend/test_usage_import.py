"""Usage CSV import: validation names the line, nothing is half-written, re-import changes nothing."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.db import session_scope
from bot.errors import ImportFileError
from bot.models import UsageRow
from bot.spend.usage import import_usage_csv
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
        ("2026-10-01,alice@example.com,openai,gpt-4o,1,1,-2\n", HEADER, "cost_usd must not be negative (got -2)"),
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


# -- a big file parsed in a second process while this one writes (``PIPELINE_ABOVE``) ------------


@pytest.fixture
def alongside(monkeypatch):
    """Any file counts as big, and chunks are small: a few hundred lines make several chunks."""
    from bot.spend import usage

    if sys.platform != "linux":
        pytest.skip("the second parsing process is used on Linux only (fork)")
    monkeypatch.setattr(usage, "PIPELINE_ABOVE", 0)
    monkeypatch.setattr(usage, "PARSE_CHUNK", 50)


def big_body(days: int = 40) -> list[str]:
    lines = []
    for day in range(1, days + 1):
        for who in ("alice@example.com", "bob@example.com"):
            for model in ("gpt-4o-mini", "gpt-4.1", "o3", "gpt-4o", "gpt-5"):
                date = f"2026-{10 + day // 31}-{day % 31 + 1:02d}"
                lines.append(f"{date},{who},openai,{model},{day * 100},{day},{day / 8}\n")
    return lines


def rows_of(engine):
    with session_scope(engine) as s:
        return sorted(
            (str(r.date), r.person_id, r.model, r.input_tokens, r.output_tokens, r.cost_usd, r.period)
            for r in s.scalars(select(UsageRow))
        )


def test_a_big_plain_file_is_written_while_it_is_parsed(people, tmp_path, alongside, monkeypatch):
    from bot.spend import usage

    lines = big_body()
    assert len(lines) == 400
    p = write(tmp_path, "".join(lines))
    res = import_usage_csv(people, p)
    assert res.parsed_alongside
    assert res.rows == 400 and res.cost_usd == pytest.approx(sum(2 * 5 * d / 8 for d in range(1, 41)))
    alongside_rows = rows_of(people)
    assert len(alongside_rows) == 400
    again = import_usage_csv(people, p)  # idempotent, as the usual path
    assert again.parsed_alongside and rows_of(people) == alongside_rows
    monkeypatch.setattr(usage, "PIPELINE_ABOVE", 10**12)  # the usual path stores the very same rows
    usual = import_usage_csv(people, p)
    assert not usual.parsed_alongside
    assert (usual.rows, usual.cost_usd) == (res.rows, res.cost_usd)
    assert rows_of(people) == alongside_rows


def test_a_key_repeated_late_in_a_big_file_is_summed_not_half_written(people, tmp_path, alongside):
    lines = big_body()
    lines.insert(380, lines[3])  # the same (day, person, provider, model) as line 5, in the 8th chunk
    p = write(tmp_path, "".join(lines))
    res = import_usage_csv(people, p)
    assert not res.parsed_alongside  # chunks 1-7 were written, then rolled back: the usual path ran
    assert res.rows == 400
    stored = rows_of(people)
    assert len(stored) == 400
    alice = min(r[1] for r in stored)  # created first
    summed = [r for r in stored if r[:3] == ("2026-10-02", alice, "gpt-4o")]
    assert [(r[3], r[4], r[5]) for r in summed] == [(200, 2, pytest.approx(0.25))]  # twice 100, 1, 0.125


def test_a_bad_line_late_in_a_big_file_is_named_and_nothing_is_written(people, tmp_path, alongside):
    lines = big_body()
    lines[389] = "2026-13-01,alice@example.com,openai,gpt-4o,1,1,1\n"  # file line 391
    p = write(tmp_path, "".join(lines))
    with pytest.raises(ImportFileError) as exc:
        import_usage_csv(people, p)
    assert "usage.csv:391: date '2026-13-01' is not a date" in str(exc.value)
    assert totals(people)[0] == 0
