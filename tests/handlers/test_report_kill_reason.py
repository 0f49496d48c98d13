"""Issue 16, case 7: /artifact-report shows who killed an artifact and why ("killed by Carol Manager: …").

Before: a killed artifact read "(dashboard, killed)" in the report, whatever reason its reviewer gave.
"""

from __future__ import annotations

import json

from bot import ids
from testing.signing import block_actions_payload, command_body, interaction_body, view_submission_payload
from tests.handlers.conftest import synced_bot
from tests.handlers.helpers import answer, import_artifacts


def _report(bot, user: str = "U0CAROL") -> dict:
    return answer(bot, lambda u: command_body("/artifact-report", "Growth 2026-11", user, response_url=u))


def _kill(bot, value: str, reason: str | None) -> None:
    opened = bot.emu.call_count("views.open")
    payload = block_actions_payload("U0CAROL", ids.ACTION_KILL, value, response_url=bot.emu.response_url())
    assert bot.post(interaction_body(payload)).status == 200
    bot.wait_for(lambda: bot.emu.call_count("views.open") > opened, timeout=15)
    view = bot.emu.calls("views.open")[-1].params["view"]
    values = {ids.BLOCK_REASON: {ids.INPUT: {"type": "plain_text_input", "value": reason}}}
    submit = view_submission_payload("U0CAROL", view["callback_id"], values, private_metadata=view["private_metadata"])
    told = len(bot.emu.dm_messages("U0CAROL"))
    assert bot.post(interaction_body(submit)).status == 200
    bot.wait_for(lambda: len(bot.emu.dm_messages("U0CAROL")) > told, timeout=15)  # "Killed …" in Carol's DM


def test_the_report_says_who_killed_an_artifact_and_why(sqlite_template, tmp_path) -> None:
    with synced_bot(sqlite_template, tmp_path) as bot:
        import_artifacts(
            bot,
            "2026-11,alice@example.com,https://github.com/acme/a/pull/1,Churn agent,submitted",
            "2026-11,bob@example.com,https://github.com/acme/b/pull/2,Lead scorer,submitted",
            "2026-11,bob@example.com,https://github.com/acme/b/pull/3,Bob's dashboard,submitted",
        )
        kills = {
            e["value"].split(":")[1]: e["value"]
            for b in _report(bot)["blocks"]
            if b["type"] == "actions"
            for e in b["elements"]
            if e["action_id"] == ids.ACTION_KILL
        }
        values = sorted(kills.items())
        _kill(bot, values[0][1], "Duplicate of the Q3 churn board <!channel>")
        _kill(bot, values[1][1], None)

        report = json.dumps(_report(bot)["blocks"], ensure_ascii=False)
        why = "Duplicate of the Q3 churn board &lt;!channel&gt;"  # escaped: a reason never pings a channel
        assert f"*Churn agent* (other, killed by Carol Manager: {why})" in report
        assert "*Lead scorer* (other, killed by Carol Manager)" in report
        assert "*Bob's dashboard* (other, submitted)" in report

        res = bot.cli("report", "--team", "Growth", "--period", "2026-11", "--format", "json")
        assert res.returncode == 0, res.stderr
        items = {i["title"]: i for m in json.loads(res.stdout)["members"] for i in m["items"]}
        assert items["Churn agent"]["kill_reason"] == "Duplicate of the Q3 churn board <!channel>"
        assert items["Churn agent"]["reviewed_by"] == "Carol Manager"
        assert items["Lead scorer"]["kill_reason"] is None and items["Bob's dashboard"]["reviewed_by"] is None
