"""Slack: client factory, Block Kit builders, the outbox and its sender."""
