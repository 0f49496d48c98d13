"""Config reload while running: a bad file keeps the old config running and is reported."""

from __future__ import annotations

import logging
import os
import signal
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from bot.config import OrgConfig, load_org_config
from bot.db import serialize, session_scope
from bot.deps import Deps
from bot.errors import ConfigError
from bot.models import AuditLog

log = logging.getLogger(__name__)


def record_roles(deps: Deps, org: OrgConfig, *, actor: str) -> None:
    """Audit a change of the admins list and apply the config's teams (managers are audited there)."""
    from bot.people.teams import sync_from_config

    with session_scope(deps.engine) as s:
        serialize(s, "roles")  # each ``serve`` worker records the same change: the second finds it done
        last = s.scalars(
            select(AuditLog).where(col(AuditLog.action) == "admins_set").order_by(col(AuditLog.id).desc())
        ).first()
        admins = sorted(org.admins)
        if last is None or last.detail.get("admins") != admins:
            s.add(
                AuditLog(
                    actor=actor,
                    action="admins_set",
                    target_type="config",
                    target_id="admins",
                    detail={"before": (last.detail.get("admins") if last else None), "admins": admins},
                )
            )
        if org.teams:
            sync_from_config(s, org, actor=actor)


def reload_config(deps: Deps, path: str | os.PathLike[str]) -> bool:
    """Load the config again; on success swap it in, on error keep the running one and report.

    Returns:
        True when the new config is in force.
    """
    try:
        new = load_org_config(path)
    except ConfigError as exc:
        log.error("config reload failed, the previous config stays in force: %s", exc)
        try:
            with session_scope(deps.engine) as s:
                s.add(
                    AuditLog(
                        actor="config-reload",
                        action="config_reload_failed",
                        target_type="config",
                        target_id=str(path)[:64],
                        detail={"error": str(exc)[:2000]},
                    )
                )
        except Exception:
            log.exception("could not audit the failed reload")
        return False
    record_roles(deps, new, actor="config-reload")
    deps.org = new
    log.warning("config reloaded from %s", path)
    return True


class ConfigWatcher:
    """Reloads the config when its file changes (checked every few seconds) or on SIGHUP."""

    def __init__(self, deps: Deps, path: str | os.PathLike[str], *, interval: float = 5.0) -> None:
        self.deps, self.path, self.interval = deps, Path(path), interval
        self._mtime = self._stat()
        self._stop = threading.Event()
        self._now = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="config-watcher", daemon=True)

    def _stat(self) -> float | None:
        try:
            return self.path.stat().st_mtime_ns / 1e9
        except OSError:
            return None

    def start(self) -> ConfigWatcher:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGHUP, self._on_hup)
        self.thread.start()
        return self

    def _on_hup(self, *_: Any) -> None:
        self._now.set()

    def stop(self) -> None:
        self._stop.set()
        self._now.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            forced = self._now.wait(self.interval)
            self._now.clear()
            if self._stop.is_set():
                return
            mtime = self._stat()
            if forced or (mtime is not None and mtime != self._mtime):
                self._mtime = mtime
                try:
                    reload_config(self.deps, self.path)
                except Exception:
                    log.exception("config reload crashed; the previous config stays in force")
