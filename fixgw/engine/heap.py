"""The garbage collector: paused while the book of record loads, and kept off the router's hot path after.

Loading today's book allocates hundreds of thousands of container objects (orders, fills, their dicts and
lists). CPython's cyclic collector runs every 700 net allocations and, as the heap grows, rescans it in full
again and again: with 200,000 orders that was three quarters of the restart (6.8 s of 8.5 s to parse them,
scripts/bench restart). None of those objects is garbage - they are the day's book - so the collector pauses
while they load, and `gc.freeze()` then moves everything that survived start-up into the permanent generation:
later full collections, on the router's hot path, no longer walk the whole book either. Reference counting
still frees what is dropped; only cycles among frozen objects would outlive their use, and the book keeps its
orders for the day anyway.

While serving, the same holds for what the day adds: each order's objects live until the day ends, and a full
collection walks every one of them (and everything the interpreter loaded) - pauses that grew into the
hundreds of milliseconds at the tail (throughput at 1,500 orders/s: p99 244-257 ms, 25-28 ms with this
policy; scripts/bench throughput). Cyclic garbage is rare here (54 objects collected in a 9,000-order run), so
the router freezes the survivors once a second (`freeze_survivors`, on its tick) and young collections run
every 10,000 net allocations instead of 700 (`serving_collector`).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def recovery_heap() -> Iterator[None]:
    """No cyclic collection inside the block; on leaving it, everything alive is frozen (then the collector
    runs again, if it was enabled). Freezing instead of collecting: one full collection over the loaded book
    costs more than the load's own collections did (1.4 s for 200,000 orders). Garbage cycles made inside the
    block are frozen with the rest - start-up makes few."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


SERVING_GEN0_THRESHOLD = 10_000
_DEFAULT_THRESHOLDS = gc.get_threshold()


def serving_collector() -> None:
    """Once start-up is done: freeze what it made and collect the young generation less often."""
    freeze_survivors()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(SERVING_GEN0_THRESHOLD, gen1, gen2)


def release_collector() -> None:
    """The gateway stopped: what it froze may be collected again (QuickFIX engines caught in a reference cycle
    must be destroyed to release their sessions), with the interpreter's thresholds."""
    gc.unfreeze()
    gc.set_threshold(*_DEFAULT_THRESHOLDS)


def freeze_survivors() -> None:
    """Move every object alive now into the permanent generation (cheap: the generations' lists are spliced)."""
    gc.freeze()
