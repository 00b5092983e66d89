"""One worker thread running callables now or after a delay, in due order, until stopped.

Simulators use it so every change to their state happens on a single thread (no locks in the logic) and
delays are scheduled, never slept in a QuickFIX or HTTP callback thread.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

import structlog

log = structlog.get_logger(__name__)

T = TypeVar("T")


class Scheduler:
    """Runs submitted callables on one thread, ordered by due time then submission order."""

    def __init__(self, name: str) -> None:
        self._queue: list[tuple[float, int, Callable[[], object]]] = []
        self._sequence = itertools.count()
        self._condition = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def call_later(self, delay_seconds: float, task: Callable[[], object]) -> None:
        """Run `task` on the worker after `delay_seconds`; exceptions are logged, not raised."""
        due = time.monotonic() + max(delay_seconds, 0.0)
        with self._condition:
            if self._stopping:
                return
            heapq.heappush(self._queue, (due, next(self._sequence), task))
            self._condition.notify()

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

        with self._condition:
            if self._stopping:
                raise RuntimeError("scheduler is stopped")
            heapq.heappush(self._queue, (time.monotonic(), next(self._sequence), run))
            self._condition.notify()
        return future.result(timeout)

    def stop(self, timeout: float = 5.0) -> None:
        """Drop pending work, let the running task finish and join the thread (bounded)."""
        with self._condition:
            self._stopping = True
            self._queue.clear()
            self._condition.notify()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._stopping and (not self._queue or self._queue[0][0] > time.monotonic()):
                    wait = self._queue[0][0] - time.monotonic() if self._queue else None
                    self._condition.wait(wait)
                if self._stopping:
                    return
                _, _, task = heapq.heappop(self._queue)
            try:
                task()
            except Exception:
                log.exception("scheduled_task_failed", task=getattr(task, "__qualname__", repr(task)))
