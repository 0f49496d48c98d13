"""Thin Bolt listeners: ack, authorise, call a service, answer."""

from slack_bolt import App

from handlers import actions, commands, errors, events, messages, views
from handlers.context import make_deps_middleware


def register_all(app: App, deps: object) -> None:
    """Install the dependency middleware and every listener module."""
    app.use(make_deps_middleware(deps))
    for module in (commands, messages, actions, views, events, errors):
        module.register(app)
