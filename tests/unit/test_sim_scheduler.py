"""The simulators' worker: one thread, work in due order then submission order, new work never waits behind
a later delay, results and errors handed back to the caller."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from fixgw.sim.scheduler import Scheduler


@pytest.fixture
def scheduler() -> Iterator[Scheduler]:
    worker = Scheduler("test-sim-scheduler")
    yield worker
    worker.stop()


def test_work_runs_in_due_order_then_submission_order_on_one_thread(scheduler: Scheduler) -> None:
    ran: list[tuple[str, str]] = []
    done = threading.Event()
    gate = threading.Event()
    scheduler.call_later(0, gate.wait)  # hold the worker until everything is queued
    for label, delay in (("late", 0.05), ("first", 0), ("second", 0), ("later", 0.02)):
        scheduler.call_later(delay, lambda label=label: ran.append((label, threading.current_thread().name)))
    scheduler.call_later(0.06, done.set)
    gate.set()
    assert done.wait(5)
    assert [label for label, _ in ran] == ["first", "second", "later", "late"]
    assert {thread for _, thread in ran} == {"test-sim-scheduler"}


def test_call_is_not_held_behind_a_later_delay_and_returns_or_raises(scheduler: Scheduler) -> None:
    scheduler.call_later(60, lambda: None)  # the worker sleeps toward this one
    assert scheduler.call(lambda: 41 + 1, timeout=5) == 42
    with pytest.raises(ZeroDivisionError):
        scheduler.call(lambda: 1 / 0, timeout=5)


def test_a_failing_task_is_logged_and_the_worker_goes_on(scheduler: Scheduler) -> None:
    scheduler.call_later(0, lambda: 1 / 0)
    assert scheduler.call(lambda: "alive", timeout=5) == "alive"


def test_after_stop_new_work_is_refused_or_dropped() -> None:
    worker = Scheduler("test-sim-scheduler-stop")
    ran: list[int] = []
    worker.call_later(60, lambda: ran.append(1))
    worker.stop()
    worker.call_later(0, lambda: ran.append(2))
    with pytest.raises(RuntimeError):
        worker.call(lambda: None)
    assert ran == []
