"""The leaderboard's fields are listed once: JSON, CSV and the table all follow ``FIELDS``."""

from __future__ import annotations

from bot.boards.leaderboard import FIELDS, BoardRow, field_names, table_columns

CONTRACT = ["rank", "name", "artifacts", "spend_usd", "artifacts_per_100_usd", "unmatched_spend_usd", "cleared_bar"]


def row(**kw: object) -> BoardRow:
    base: dict[str, object] = dict(
        rank=2,
        name="Growth",
        artifacts=1.5,
        spend_usd=12.3456789,
        artifacts_per_100_usd=12.15,
        unmatched_spend_usd=0.0,
        bar=None,
        cleared_bar=None,
        members=4,
        slack_user_id="U0A",
        email="a@example.com",
    )
    base.update(kw)
    return BoardRow(**base)  # type: ignore[arg-type]


def test_the_contract_fields_come_first_and_each_board_adds_its_own() -> None:
    team, person = field_names("team"), field_names("person")
    assert [f for f in team if f in CONTRACT] == CONTRACT
    assert person[-2:] == ["slack_user_id", "email"] and "slack_user_id" not in team
    assert team[-2:] == ["members", "monthly_budget_usd"] and "members" not in person
    assert len({f.key for f in FIELDS}) == len(FIELDS)


def test_json_and_table_rows_are_built_from_the_same_fields() -> None:
    r = row()
    assert list(r.as_json(by="person")) == field_names("person")
    assert r.as_json(by="team")["spend_usd"] == 12.345679
    cells = dict(zip(table_columns("team"), r.cells(by="team"), strict=True))
    assert cells == {
        "#": "2",
        "name": "Growth",
        "artifacts": "1.5",
        "spend": "$12.35",
        "artifacts/$100": "12.15",
        "spend w/o artifact": "$0.00",
        "bar": "-",
        "cleared": "-",
    }
    assert row(bar=10.0, cleared_bar=True).cells(by="person")[-1] == "yes"
