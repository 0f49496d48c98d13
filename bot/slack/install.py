"""Which Slack requests belong to this install: one workspace, or every workspace of one Enterprise Grid org.

Pure: the Bolt guard in ``handlers/context.py`` passes in what ``auth.test`` said about the token
and what the request says about where it came from.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Install:
    """What the bot token is: a workspace install, or an org-wide install of an enterprise."""

    team_id: str | None
    enterprise_id: str | None = None
    is_enterprise_install: bool = False

    @classmethod
    def from_auth_test(cls, team_id: str | None, enterprise_id: str | None) -> Install:
        """From ``auth.test``: an org-level token reports the enterprise id as its ``team_id``."""
        org_wide = bool(enterprise_id) and (team_id is None or team_id == enterprise_id or team_id.startswith("E"))
        return cls(team_id=team_id, enterprise_id=enterprise_id, is_enterprise_install=org_wide)


def refuses(install: Install, *, team_id: str | None, enterprise_id: str | None) -> bool:
    """True when a request from workspace ``team_id`` of enterprise ``enterprise_id`` is not this install's.

    An org-wide install accepts any workspace of its own enterprise and nothing else (another
    enterprise, or a stray workspace outside any); a workspace install accepts its own workspace.
    """
    if install.is_enterprise_install:
        return not enterprise_id or enterprise_id != install.enterprise_id
    if not install.team_id:
        return False  # Slack has not said yet which workspace the token is (``bot.runtime.identity``)
    return team_id != install.team_id  # a request that names no workspace is not this one's either
