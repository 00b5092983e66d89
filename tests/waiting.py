"""The one way tests wait for something that happens on another thread or process: poll, never sleep-and-hope."""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

WAIT = 15.0
"""Seconds: generous, since CI machines are slow; a passing test never waits this long."""


def wait_until(predicate: Callable[[], T], timeout: float = WAIT, what: str = "", interval: float = 0.02) -> T:
    """Poll `predicate` until it returns something truthy, and return that; after `timeout` seconds an
    AssertionError naming `what` (default: the predicate's source line) and its last answer."""
    deadline = time.monotonic() + timeout
    while True:
        answer = predicate()
        if answer:
            return answer
        if time.monotonic() >= deadline:
            raise AssertionError(f"waited {timeout:g} s for {what or _source(predicate)}; last: {answer!r}")
        time.sleep(interval)


def _source(predicate: Callable[[], object]) -> str:
    try:
        return inspect.getsource(predicate).strip()
    except (OSError, TypeError):
        return getattr(predicate, "__qualname__", repr(predicate))
