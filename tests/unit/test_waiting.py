"""tests/waiting.py: the one polling helper returns the predicate's answer, or fails naming what it waited for."""

from __future__ import annotations

import itertools

import pytest
from waiting import wait_until


def test_returns_the_first_truthy_answer() -> None:
    answers = itertools.chain([0, None, ""], itertools.repeat(7))
    assert wait_until(lambda: next(answers), timeout=5, interval=0) == 7


def test_a_timeout_names_what_it_waited_for_and_the_last_answer() -> None:
    with pytest.raises(AssertionError, match=r"waited 0 s for the broker's logon; last: \[\]"):
        wait_until(lambda: [], timeout=0, what="the broker's logon")


def test_without_a_name_the_predicate_source_is_named() -> None:
    with pytest.raises(AssertionError, match="1 > 2"):
        wait_until(lambda: 1 > 2, timeout=0)
