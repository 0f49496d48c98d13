"""Work after Slack's ack in processes of its own (``serve``'s work processes).

Python runs one thread at a time per process. When the work after an ack (queries, Slack calls,
charts) runs in the serving process, every ack under load waits its turn for the interpreter lock
behind that work. With work processes the serving process only verifies, stores and acknowledges;
each lazy listener call is handed to a work process over a pipe as the signed request itself (the
way Bolt's AWS Lambda adapter re-invokes a function), and the work process dispatches it to its
own Bolt app with ``lazy_only`` set, so only the lazy listener runs there.

* Each work process builds its own database engine, Slack client and Bolt app after it starts
  (``spawn``: nothing of the serving process's threads or connections is inherited), runs at a
  lower CPU priority (nice +10) and does the work on ``ARTIFACT_BOT_WORK_THREADS`` threads.
* Tasks wait in the serving process. Each work process has a pipe of its own and is sent at most
  one task per work thread; it reports when it begins each one and when it is done. So a work
  process that dies (killed, out of memory) loses only the tasks it had begun: those are logged
  (DM replies among them are journalled before the ack and finished by the recovery pass); tasks
  sent but not begun, and every task still waiting, go to the process started in its place. (A
  ``multiprocessing.Queue`` shared by all would not do: a process killed while reading from it
  keeps its lock forever.)
* The org config travels with each task (pickled once per config object), so a reload in the
  serving process (SIGHUP or a changed file) is in force for the next task in every work process.
* What an ack leaves in the request context for its work (``carry``: plain data, such as the
  confirmation a modal submission saved) travels with the task.
* Requests reach a work process only through the pipe from its parent: its app skips the signature
  check that the serving process has already made (a lazy task may wait longer than the 5 minutes
  the signature's timestamp is valid for). A work process whose parent is gone finishes what it
  holds and exits.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import multiprocessing as mp
import os
import pickle
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from slack_bolt.lazy_listener import LazyListenerRunner
from slack_bolt.request import BoltRequest

from bot.config import OrgConfig, Settings
from bot.deps import Deps

log = logging.getLogger(__name__)

WORK_NICE = 10  # how much lower the work threads' CPU priority is than the acknowledging threads'

LAZY_ONLY = "x-slack-bolt-lazy-only"
LAZY_NAME = "x-slack-bolt-lazy-function-name"
STOP = None  # sent to a work process: finish what you hold, then exit
RESTART_PAUSE_S = 5.0  # before replacing a work process that died while starting (a broken environment)
SLOW_TASK_WAIT_S = 60.0  # a task that waited longer than this for a work thread is logged


@dataclass(frozen=True)
class Task:
    """One lazy listener call: the request as Slack sent it, and the config it runs under."""

    id: int
    body: str
    query: dict[str, Sequence[str]]
    headers: dict[str, str | Sequence[str]]
    org_digest: str
    org_blob: bytes
    queued_at: float
    context: dict[str, Any]

    @property
    def name(self) -> str:
        name = self.headers.get(LAZY_NAME, "?")
        return name if isinstance(name, str) else next(iter(name), "?")


class _Slot:
    """One work process, its pipe, and the tasks it holds (at most one per work thread)."""

    def __init__(self, runner: ProcessLazyListenerRunner, index: int) -> None:
        self.runner, self.index = runner, index
        self.conn, child = runner._ctx.Pipe(duplex=True)
        self.proc = runner._ctx.Process(
            target=work_process_main,
            args=(
                child,
                runner._deps.settings,
                runner._threads,
                logging.getLogger().getEffectiveLevel(),
                runner._app_factory,
            ),
            name=f"artifact-bot-work-{index}",
            daemon=True,
        )
        self.proc.start()
        child.close()  # only the work process holds its end: its death shows here as end of file
        self.credits = threading.Semaphore(runner._threads)
        self.held: dict[int, Task] = {}  # sent, not begun
        self.started: dict[int, Task] = {}  # begun, not done
        self.lock = threading.Lock()
        self.send_lock = threading.Lock()  # one writer at a time on the pipe
        self.dead = threading.Event()
        self.ready = threading.Event()  # its app is built
        threading.Thread(target=self._send, name=f"work-send-{index}", daemon=True).start()
        threading.Thread(target=self._receive, name=f"work-receive-{index}", daemon=True).start()

    def _send(self) -> None:
        tasks = self.runner._tasks
        while True:
            self.credits.acquire()
            if self.dead.is_set():
                return
            task = tasks.get()
            if task is STOP or self.dead.is_set():
                tasks.put(task)  # for the next sender (or the process started in this one's place)
                return
            with self.lock:
                self.held[task.id] = task
            try:
                with self.send_lock:
                    self.conn.send(task)
            except (OSError, ValueError):  # the process died meanwhile: the task was never sent
                with self.lock:
                    self.held.pop(task.id, None)
                tasks.put(task)
                return

    def _receive(self) -> None:
        while True:
            try:
                kind, task_id = self.conn.recv()
            except (EOFError, OSError):
                break
            if kind == "ready":
                self.ready.set()
                continue
            with self.lock:
                if kind == "start":
                    task = self.held.pop(task_id, None)
                    if task is not None:
                        self.started[task_id] = task
                    continue
                self.started.pop(task_id, None)
            self.credits.release()
        self.dead.set()
        self.credits.release()  # wake the sender so that it stops
        self.proc.join()
        self.conn.close()
        if self.runner._closed.is_set():
            return
        with self.lock:
            lost, unstarted = list(self.started.values()), list(self.held.values())
            self.started.clear()
            self.held.clear()
        for task in unstarted:  # sent, never begun: safe to run elsewhere
            self.runner._tasks.put(task)
        log.error(
            "work process %s (pid %s) died with exit code %s; %d task(s) it had begun are lost: %s "
            "(stored DM replies are finished by the recovery pass); %d not begun are queued again; "
            "starting another",
            self.proc.name,
            self.proc.pid,
            self.proc.exitcode,
            len(lost),
            ", ".join(t.name for t in lost) or "none",
            len(unstarted),
        )
        if not self.ready.is_set():  # it failed while starting: do not restart it in a loop
            time.sleep(RESTART_PAUSE_S)
        self.runner._replace(self.index)


class ProcessLazyListenerRunner(LazyListenerRunner):
    """Bolt's lazy listener runner, handing each call to a pool of work processes.

    ``start`` returns as soon as the task is queued (the ack does not wait for it). ``close`` lets
    the work processes finish what they hold, up to ``grace`` seconds, then stops them.
    """

    def __init__(
        self,
        deps: Deps,
        *,
        processes: int,
        threads: int,
        app_factory: Callable[..., Any],
        carry: tuple[str, ...] = (),
        start_method: str = "spawn",
    ) -> None:
        # app_factory: builds the work process's Bolt app (``bot.runtime.app.create_app``); given by
        # the caller so this module does not import the app module that imports it.
        if processes < 1:
            raise ValueError("processes must be at least 1")
        self.logger = log
        self._deps = deps
        self._threads = threads
        self._app_factory = app_factory
        self._carry = carry  # context keys an ack sets for the work after it (plain data)
        self._ctx: Any = mp.get_context(start_method)
        self._tasks: queue.Queue[Task | None] = queue.Queue()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._org: tuple[int, str, bytes] | None = None
        self._closed = threading.Event()
        self.replaced = 0  # work processes started again after dying
        self._slots = [_Slot(self, i) for i in range(processes)]

    def _org_state(self) -> tuple[str, bytes]:
        org = self._deps.org
        with self._lock:
            if self._org is None or self._org[0] != id(org):
                blob = pickle.dumps(org, protocol=pickle.HIGHEST_PROTOCOL)
                self._org = (id(org), hashlib.sha256(blob).hexdigest(), blob)
            return self._org[1], self._org[2]

    def start(self, function: Callable[..., None], request: BoltRequest) -> None:
        if self._closed.is_set():
            self.logger.error("the work processes are stopped; %s not run", request.lazy_function_name)
            return
        headers: dict[str, str | Sequence[str]] = {k: list(v) for k, v in request.headers.items()}
        headers[LAZY_ONLY] = ["1"]
        headers[LAZY_NAME] = [str(request.lazy_function_name)]
        digest, blob = self._org_state()
        query: dict[str, Sequence[str]] = {k: list(v) for k, v in (request.query or {}).items()}
        carried = {k: request.context[k] for k in self._carry if k in request.context}
        task = Task(next(self._ids), request.raw_body, query, headers, digest, blob, time.time(), carried)
        self._tasks.put(task)

    def _replace(self, index: int) -> None:
        with self._lock:
            if self._closed.is_set():
                return
            self.replaced += 1
            self._slots[index] = _Slot(self, index)

    def close(self, grace: float = 10.0) -> None:
        """Let the work processes finish what they hold (up to ``grace`` seconds), then stop them."""
        with self._lock:
            if self._closed.is_set():
                return
            self._closed.set()
        self._tasks.put(STOP)  # the senders stop; tasks queued behind it are not sent
        left = self._tasks.qsize() - 1
        if left > 0:
            log.warning("stopping with %d task(s) not started", left)
        for slot in self._slots:
            with slot.lock:
                idle = not slot.held and not slot.started
            if idle and not slot.ready.is_set():  # still starting, and nothing sent to it: nothing to finish
                slot.proc.terminate()
                continue
            try:
                with slot.send_lock:
                    slot.conn.send(STOP)
            except (OSError, ValueError):
                pass
        deadline = time.monotonic() + grace
        for slot in self._slots:
            slot.proc.join(max(0.0, deadline - time.monotonic()))
            if slot.proc.is_alive():
                log.warning("work process %s still busy after %.0f s; stopping it", slot.proc.name, grace)
                slot.proc.terminate()
                slot.proc.join(2.0)


# -- work process side ---------------------------------------------------------------------------
def work_process_main(
    conn: Any, settings: Settings, threads: int, level: int, app_factory: Callable[..., Any]
) -> None:
    """Entry point of a work process: build the app, then run the tasks its pipe brings until told to stop."""
    if hasattr(os, "nice"):  # first: the imports below already compete with the acks
        try:
            os.nice(WORK_NICE)
        except OSError:
            log.debug("could not lower the work process's priority", exc_info=True)
    from bot.runtime.build import build_deps

    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s[work]: %(message)s")
    deps = build_deps(settings, migrate=False)
    app = app_factory(deps, token_verification=False, request_verification=False)
    current = {"digest": ""}
    swap, reply = threading.Lock(), threading.Lock()
    local: queue.Queue[Task | None] = queue.Queue()

    def use_org(task: Task) -> None:
        with swap:
            if task.org_digest != current["digest"]:
                org: OrgConfig = pickle.loads(task.org_blob)
                deps.org = org
                current["digest"] = task.org_digest

    def tell(kind: str, task_id: int) -> None:
        try:
            with reply:
                conn.send((kind, task_id))
        except (OSError, ValueError):
            pass  # the serving process is gone; nobody waits for this

    def work() -> None:
        while (task := local.get()) is not STOP:
            tell("start", task.id)
            waited = time.time() - task.queued_at
            if waited > SLOW_TASK_WAIT_S:
                log.warning("%s began %.0f s after its ack: the work is behind the load", task.name, waited)
            try:
                use_org(task)
                app.dispatch(
                    BoltRequest(body=task.body, query=task.query, headers=task.headers, context=dict(task.context))
                )
            except Exception:
                log.exception("work for %s failed", task.name)
            finally:
                tell("done", task.id)

    workers = [threading.Thread(target=work, name=f"work-{i}", daemon=True) for i in range(threads)]
    for w in workers:
        w.start()
    tell("ready", 0)
    try:
        while (task := conn.recv()) is not STOP:
            local.put(task)
    except (EOFError, OSError):
        log.warning("the serving process is gone; this work process finishes what it holds and stops")
    for _ in workers:
        local.put(STOP)
    for w in workers:
        w.join()
    conn.close()
    deps.engine.dispose()
    if deps.inbox_engine is not None:
        deps.inbox_engine.dispose()
