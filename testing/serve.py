"""``artifact-bot serve`` as a child process on 127.0.0.1, shared by the tests and the benchmarks.

:func:`serving` starts it with its output in a log file (a file, not a pipe: a chatty app must
never block on its own log), waits until ``GET /healthz`` answers 200, and stops it afterwards.
:func:`app_env` is the environment that points it at a Slack emulator and a database.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from testing.slack import SlackEmulator

# Never reach a language model or a provider from a served app: its tests and drills set these explicitly.
PROVIDER_KEYS = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ADMIN_KEY", "ANTHROPIC_ADMIN_KEY")


class DidNotStart(RuntimeError):
    """``serve`` exited or did not answer ``/healthz`` in time; the message ends with its log's tail."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def app_env(
    emu: SlackEmulator,
    *,
    signing_secret: str,
    database_url: str,
    port: int,
    config: Path | None = None,
    base: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """``base`` (default: this process's environment) without :data:`PROVIDER_KEYS`, pointed at ``emu``.

    Sets the Slack URL, token and signing secret, ``DATABASE_URL``, ``PORT`` and, when given,
    ``ARTIFACT_BOT_CONFIG``.
    """
    env = {k: v for k, v in (os.environ if base is None else base).items() if k not in PROVIDER_KEYS}
    env.update(emu.env(signing_secret=signing_secret), DATABASE_URL=database_url, PORT=str(port))
    if config is not None:
        env["ARTIFACT_BOT_CONFIG"] = str(config)
    return env


def wait_healthy(
    url: str,
    proc: subprocess.Popen[Any],
    *,
    log_path: Path,
    timeout: float = 60.0,
    request_timeout: float = 1.0,
    interval: float = 0.1,
) -> None:
    """Return once ``{url}/healthz`` answers 200.

    Raises:
        DidNotStart: ``proc`` exited or ``timeout`` seconds passed.
    """
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/healthz", timeout=request_timeout) as r:
            if r.status == 200:
                return
        if proc.poll() is not None or time.monotonic() > deadline:
            raise DidNotStart(f"serve did not start: {log_path.read_text(errors='replace')[-4000:]}")
        time.sleep(interval)


def stop(proc: subprocess.Popen[Any], *, timeout: float = 10.0) -> None:
    """Terminate ``proc``; kill it when it has not exited within ``timeout`` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()


@dataclass(frozen=True)
class Served:
    """A running ``serve``: its base URL, process and log file."""

    url: str
    proc: subprocess.Popen[bytes]
    log_path: Path


@contextlib.contextmanager
def serving(
    args: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    port: int,
    log_path: Path | None = None,
    timeout: float = 60.0,
    stop_timeout: float = 10.0,
) -> Iterator[Served]:
    """Run ``python -m bot serve *args`` in ``cwd`` until the block ends; it answers ``/healthz`` inside.

    ``port`` is where it listens (``PORT`` in ``env`` or ``--port`` in ``args``); its output goes to
    ``log_path`` (default ``cwd/serve.log``).

    Raises:
        DidNotStart: it exited or did not answer within ``timeout`` seconds.
    """
    log_path = log_path or cwd / "serve.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", *args], env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_healthy(url, proc, log_path=log_path, timeout=timeout)
            yield Served(url=url, proc=proc, log_path=log_path)
        finally:
            stop(proc, timeout=stop_timeout)
