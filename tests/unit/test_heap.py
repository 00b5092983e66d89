"""fixgw.engine.heap: recovery runs without cyclic collections and leaves what it loaded frozen."""

from __future__ import annotations

import gc

import pytest

from fixgw.engine.heap import (
    SERVING_GEN0_THRESHOLD,
    freeze_survivors,
    recovery_heap,
    release_collector,
    serving_collector,
)


def test_no_collection_inside_and_the_loaded_objects_frozen_after() -> None:
    gc.enable()
    frozen_before = gc.get_freeze_count()
    with recovery_heap():
        assert not gc.isenabled()
        book = [{"order": n, "fills": [n]} for n in range(10_000)]
    assert gc.isenabled()
    assert gc.get_freeze_count() >= frozen_before + 2 * len(book)
    assert not any(gc.is_tracked(item) and item in gc.get_objects(generation=2) for item in book[:3])


def test_the_collector_state_is_restored_even_when_recovery_fails() -> None:
    gc.disable()
    try:
        with pytest.raises(RuntimeError), recovery_heap():
            raise RuntimeError("journal unreadable")
        assert not gc.isenabled()  # it was off before: stays off
    finally:
        gc.enable()
    with pytest.raises(RuntimeError), recovery_heap():
        raise RuntimeError("journal unreadable")
    assert gc.isenabled()


def test_serving_freezes_what_start_up_made_and_stopping_releases_it() -> None:
    thresholds = gc.get_threshold()
    kept = [[n] for n in range(1000)]
    serving_collector()
    try:
        assert gc.get_threshold()[0] == SERVING_GEN0_THRESHOLD
        assert gc.get_freeze_count() >= len(kept)
        later = [[n] for n in range(1000)]
        frozen = gc.get_freeze_count()
        freeze_survivors()  # the router's tick
        assert gc.get_freeze_count() >= frozen + len(later)
    finally:
        release_collector()
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == thresholds
