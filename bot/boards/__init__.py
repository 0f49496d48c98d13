"""Roll-ups, leaderboard, reports, weekly summary, App Home data and charts."""
