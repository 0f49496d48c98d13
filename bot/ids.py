"""Action ids, callback ids, block ids and command names in one place."""

CMD_ARTIFACT = "/artifact"
CMD_REPORT = "/artifact-report"
CMD_LEADERBOARD = "/leaderboard"
COMMANDS = (CMD_ARTIFACT, CMD_REPORT, CMD_LEADERBOARD)
EVENTS = ("message", "app_home_opened", "team_join", "user_change")  # manifest: message.im and the rest as named

ACTION_ADD_ARTIFACT = "add_artifact"
ACTION_NOTHING = "nothing_this_month"
ACTION_EDIT = "edit_artifact"
ACTION_REMOVE = "remove_artifact"
ACTION_KEEP = "keep_artifact"
ACTION_KILL = "kill_artifact"
ACTION_REVIEW = "review_artifact"  # overflow menu: value "keep_artifact:ID" or "kill_artifact:ID"
ACTION_SNOOZE = "remind_me_tomorrow"  # check-in DM: value = the period
ACTION_AWAY = "away_until"  # check-in DM: a datepicker, "I'm away until…"
ACTIONS = (ACTION_ADD_ARTIFACT, ACTION_NOTHING, ACTION_EDIT, ACTION_REMOVE, ACTION_REVIEW, ACTION_SNOOZE, ACTION_AWAY)

VIEW_ADD_ARTIFACT = "add_artifact_view"
VIEW_EDIT_ARTIFACT = "edit_artifact_view"
VIEW_KILL_ARTIFACT = "kill_artifact_view"  # Kill's modal: an optional reason, private_metadata = what was shown
VIEWS = (VIEW_ADD_ARTIFACT, VIEW_EDIT_ARTIFACT, VIEW_KILL_ARTIFACT)

BLOCK_TITLE = "title"
BLOCK_LINKS = "links"
BLOCK_KIND = "kind"
BLOCK_DESCRIPTION = "description"
BLOCK_REASON = "reason"
INPUT = "value"
