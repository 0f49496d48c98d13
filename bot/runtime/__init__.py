"""The composition root: CLI, server, Bolt app, work pool, reload, demo."""
