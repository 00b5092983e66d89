"""The orders channel's cache and the batched fill reads of the Coinbase Prime bridge (stream.py)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from fixgw.model.enums import OrdStatus
from fixgw.venues.bridge.coinbase_prime.schemas import Fill
from fixgw.venues.bridge.coinbase_prime.stream import CLOCK_MARGIN, FillBatcher, OrderStream
from fixgw.venues.bridge.common.views import VenueOrderView

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def view(order_id: str, status: OrdStatus = OrdStatus.NEW, cum: str = "0") -> VenueOrderView:
    return VenueOrderView(order_id, f"c-{order_id}", status, cum_qty=Decimal(cum))


def fill(fill_id: str, order_id: str, qty: str = "1") -> Fill:
    return Fill(id=fill_id, order_id=order_id, filled_quantity=Decimal(qty), price=Decimal("100"), time=T0)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_nothing_is_cached_before_the_stream_is_up_or_after_it_drops() -> None:
    stream = OrderStream()
    stream.update(view("o1"))
    assert stream.current("o1") is None
    stream.up()
    stream.update(view("o1", cum="1"))
    assert stream.current("o1") == view("o1", cum="1")
    stream.down()
    assert stream.current("o1") is None
    stream.up()
    assert stream.current("o1") is None, "what was heard before the drop is forgotten"


def test_an_open_order_unheard_of_for_too_long_is_read_again_a_final_one_never() -> None:
    clock = Clock()
    stream = OrderStream(trust_s=30.0, clock=clock)
    stream.up()
    stream.update(view("open"))
    stream.update(view("done", OrdStatus.FILLED, "1"))
    clock.now = 29.0
    assert stream.current("open") is not None
    clock.now = 31.0
    assert stream.current("open") is None and stream.current("done") is not None
    stream.read_back(view("open", cum="1"), asked_at=30.5)
    assert stream.current("open") == view("open", cum="1")


def test_a_read_over_rest_does_not_overwrite_what_the_stream_said_meanwhile() -> None:
    clock = Clock()
    stream = OrderStream(clock=clock)
    stream.up()
    asked_at = clock.now
    clock.now = 1.0
    stream.update(view("o1", cum="2"))  # arrives while the GET is in flight
    stream.read_back(view("o1", cum="1"), asked_at)
    assert stream.current("o1") == view("o1", cum="2")


def test_a_seed_never_replaces_an_update_already_heard() -> None:
    stream = OrderStream()
    stream.up()
    stream.update(view("o1", OrdStatus.FILLED, "1"))
    stream.seed(view("o1", OrdStatus.PENDING_NEW))
    assert stream.current("o1") == view("o1", OrdStatus.FILLED, "1")


async def test_orders_waiting_together_share_one_read_of_the_portfolios_fills() -> None:
    calls: list[datetime] = []

    async def fetch(since: datetime) -> list[Fill]:
        calls.append(since)
        return [fill("f1", "o1"), fill("f2", "o2"), fill("f3", "o1"), fill("f4", "other")]

    batcher = FillBatcher(fetch, linger_s=0.01)
    first, second, third = await asyncio.gather(batcher.fills("o1", T0), batcher.fills("o2", T0 - timedelta(1)),
                                                batcher.fills("o3", T0))
    assert calls == [T0 - timedelta(1) - CLOCK_MARGIN]
    assert [f.id for f in first] == ["f1", "f3"] and [f.id for f in second] == ["f2"] and third == []
    await batcher.fills("o1", T0)
    assert len(calls) == 2, "a later wait makes a new read"


async def test_a_failed_read_fails_every_order_waiting_on_it_and_the_next_batch_reads_again() -> None:
    outcomes: list[Exception | None] = [RuntimeError("venue down"), None]

    async def fetch(since: datetime) -> list[Fill]:
        error = outcomes.pop(0)
        if error:
            raise error
        return [fill("f1", "o1")]

    batcher = FillBatcher(fetch, linger_s=0.01)
    results = await asyncio.gather(batcher.fills("o1", T0), batcher.fills("o2", T0), return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
    assert [f.id for f in await batcher.fills("o1", T0)] == ["f1"]


pytestmark = pytest.mark.timeout(30)
