"""Artifacts: store, links, extraction, the DM inbox journal, anti-gaming flags."""
