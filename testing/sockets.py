"""Idle and slow (slowloris) sockets held open against a server on 127.0.0.1, for the slow-client drill."""

from __future__ import annotations

import contextlib
import resource
import socket
import threading


def raise_nofile(need: int) -> None:
    """Raise this process's open-file limit to ``need`` (within the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))


class Holder:
    """Idle and slow sockets held open against one port until ``stop``."""

    def __init__(self, port: int, idle: int, slow: int) -> None:
        self.port, self.idle, self.slow = port, idle, slow
        self.socks: list[socket.socket] = []
        self.refused = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _open(self) -> socket.socket | None:
        s = socket.socket()
        s.settimeout(2)
        try:
            s.connect(("127.0.0.1", self.port))
        except OSError:
            self.refused += 1
            s.close()
            return None
        return s

    def start(self) -> None:
        for _ in range(self.idle):
            s = self._open()
            if s is not None:
                self.socks.append(s)
        slow = [s for s in (self._open() for _ in range(self.slow)) if s is not None]
        self.socks.extend(slow)
        request = b"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 4000

        def drip() -> None:
            i = 0
            while not self._stop.wait(1.0) and i < len(request):
                for s in slow:
                    with contextlib.suppress(OSError):
                        s.send(request[i : i + 1])
                i += 1

        self._thread = threading.Thread(target=drip, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(5)
        for s in self.socks:
            with contextlib.suppress(OSError):
                s.close()
