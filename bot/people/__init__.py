"""People, teams, roles and access, privacy, Slack directory sync."""
