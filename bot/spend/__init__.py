"""Spend: usage rows, prices, per-model costs, sync and the provider connectors."""
