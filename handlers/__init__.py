"""Thin Bolt listeners: ack, authorise, call a service, answer."""

from slack_bolt import App

from handlers import actions, commands, directory, errors, events, messages, views
from handlers.context import guard_workspace, make_deps_middleware, store_dm_first

# Context values an ack sets for the work after it: carried to a work process (``bot.runtime.work``).
CARRIED_CONTEXT = (views.CONFIRMATION,)


def register_all(app: App, deps: object) -> None:
    """Install the dependency middleware and every listener module."""
    app.use(make_deps_middleware(deps))
    app.use(guard_workspace)
    app.use(store_dm_first)
    for module in (commands, messages, actions, views, events, directory, errors):
        module.register(app)
