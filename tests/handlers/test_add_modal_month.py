"""Issue 16, case 4: the Add artifact form names its month in words ("November 2026"), not "2026-11"."""

from __future__ import annotations

import json

from bot import ids
from bot.periods import month_name
from testing.signing import block_actions_payload, interaction_body
from tests.handlers.conftest import synced_bot
from tests.handlers.helpers import answer


def test_the_add_form_names_the_month_in_words(sqlite_template, tmp_path) -> None:
    with synced_bot(sqlite_template, tmp_path) as bot:
        click = block_actions_payload("U0BOB", ids.ACTION_ADD_ARTIFACT, "2026-11", response_url=bot.emu.response_url())
        assert bot.post(interaction_body(click)).status == 200
        view = bot.wait_for(lambda: bot.emu.calls("views.open"), timeout=15)[-1].params["view"]
        words = json.dumps(view["blocks"], ensure_ascii=False)
        period = json.loads(view["private_metadata"])["period"]
        assert f"Artifact for *{month_name(period)}*" in words, words
        assert "*20" not in words  # before: "Artifact for *2026-11*"


def test_nothing_this_month_answers_with_the_month_in_words(sqlite_template, tmp_path) -> None:
    with synced_bot(sqlite_template, tmp_path) as bot:
        assert bot.cli("jobs", "run", "checkin", "--period", "2026-11").returncode == 0  # Bob was asked for November

        def press(url: str) -> bytes:
            return interaction_body(block_actions_payload("U0BOB", ids.ACTION_NOTHING, "2026-11", response_url=url))

        said = answer(bot, press)["text"]
        assert said.startswith("Noted: nothing for November 2026.")  # before: "nothing for 2026-11"
        closed = answer(bot, lambda u: press(u).replace(b"2026-11", b"2026-09"))["text"]
        assert closed == (  # before: "Answers for 2026-09 are closed; you can answer for 2026-11."
            "Answers for September 2026 are closed; you can answer for November 2026. Nothing was changed."
        )
