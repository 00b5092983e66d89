"""One worker thread running callables now or after a delay, in due order, until stopped.

Simulators use it so every change to their state happens on a single thread (no locks in the logic) and
delays are scheduled, never slept in a QuickFIX or HTTP callback thread.
"""

from __future__ import annotations

import contextlib
import sched
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

import structlog

log = structlog.get_logger(__name__)

T = TypeVar("T")


class Scheduler:
    """Runs submitted callables on one thread, ordered by due time then submission order (stdlib `sched`)."""

    def __init__(self, name: str) -> None:
        self._wake = threading.Event()
        self._events = sched.scheduler(time.monotonic, self._sleep)
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def call_later(self, delay_seconds: float, task: Callable[[], object]) -> None:
        """Run `task` on the worker after `delay_seconds`; exceptions are logged, not raised."""
        if self._stopping:
            return
        self._events.enter(max(delay_seconds, 0.0), 0, _logged, (task,))
        self._wake.set()

    def call(self, task: Callable[[], T], timeout: float = 5.0) -> T:
        """Run `task` on the worker now and return its result (or raise its exception) in the caller."""
        if threading.current_thread() is self._thread:
            return task()  # already on the worker: queueing would deadlock
        future: Future[T] = Future()

        def run() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(task())
            except BaseException as error:  # handed to the caller, who re-raises it
                future.set_exception(error)

        if self._stopping:
            raise RuntimeError("scheduler is stopped")
        self._events.enter(0.0, 0, run)
        self._wake.set()
        return future.result(timeout)

    def stop(self, timeout: float = 5.0) -> None:
        """Drop pending work, let the running task finish and join the thread (bounded)."""
        self._stopping = True
        for event in self._events.queue:
            with contextlib.suppress(ValueError):  # ran meanwhile
                self._events.cancel(event)
        self._wake.set()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def _sleep(self, seconds: float) -> None:
        # sched sleeps until the earliest event; new work wakes it early, and it looks at the queue again.
        if self._wake.wait(seconds):
            self._wake.clear()

    def _run(self) -> None:
        while not self._stopping:
            self._events.run(blocking=True)  # returns when nothing is due any more
            if not self._stopping:
                self._wake.wait()
                self._wake.clear()


def _logged(task: Callable[[], object]) -> None:
    try:
        task()
    except Exception:
        log.exception("scheduled_task_failed", task=getattr(task, "__qualname__", repr(task)))
