"""A book holding today's orders finds older ones in the journal on demand (restart time independent of history)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from fixgw.model.enums import OrdStatus, OrdType, Side
from fixgw.model.state import Order
from fixgw.router.book import OrderBook
from fixgw.store import Journal, JournalBatch

NOW = datetime.now(UTC)
DAY_START = NOW.replace(hour=0, minute=0, second=0, microsecond=0)


def order(n: int, status: OrdStatus, at: datetime) -> Order:
    return Order(order_id=f"R1-{n}", ems_session="EMS1", cl_ord_id=f"C{n}", cl_ord_id_chain=[f"C0{n}", f"C{n}"],
                 instrument_id="AAPL", side=Side.BUY, ord_type=OrdType.LIMIT, order_qty=Decimal(100),
                 price=Decimal("10.5"), status=status, venue="BRK", venue_cl_ord_id=f"R1-{n}.1",
                 venue_cl_ord_ids=[f"R1-{n}.0", f"R1-{n}.1"], venue_order_id=f"V{n}", created_at=at, updated_at=at)


@pytest.fixture
def journal(journal_url: str) -> Iterator[Journal]:
    with Journal(journal_url) as opened:
        old = NOW - timedelta(days=3)
        opened.write(JournalBatch(orders={o.order_id: o for o in (
            order(1, OrdStatus.FILLED, old),             # history: closed before today
            order(2, OrdStatus.NEW, old),                # open since before today
            order(3, OrdStatus.CANCELED, NOW),           # closed today
        )}))
        yield opened


def test_the_gateway_load_holds_open_and_todays_orders_only(journal: Journal) -> None:
    loaded = journal.load_orders(open_only=True, or_updated_since=DAY_START)
    assert sorted(o.order_id for o in loaded) == ["R1-2", "R1-3"]


def test_a_miss_loads_the_order_from_the_journal_and_keeps_it(journal: Journal) -> None:
    calls: list[dict[str, str | None]] = []

    def loader(**keys: str | None) -> Order | None:
        calls.append(keys)
        return journal.find_order(**keys)

    book = OrderBook(loader=loader)
    book.load(journal.load_orders(open_only=True, or_updated_since=DAY_START))
    assert book.find_ems("EMS1", "C01", recall=True) is book.find_ems("EMS1", "C1")   # any ClOrdID of its chain
    found = book.find_ems("EMS1", "C1")
    assert found is not None and found.order_id == "R1-1" and found.status is OrdStatus.FILLED
    assert len(calls) == 1                                                 # kept: the second lookup is a hit
    assert book.find_venue("BRK", cl_ord_ids=("R1-1.0",)) is found
    assert book.find_ems("EMS1", "NOPE", recall=True) is None and book.get("R1-404", recall=True) is None


def test_venue_lookups_and_get_fall_back_too(journal: Journal) -> None:
    book = OrderBook(loader=journal.find_order)
    by_venue_id = book.find_venue("BRK", cl_ord_ids=(None, "R1-1.1"), recall=True)
    assert by_venue_id is not None and by_venue_id.order_id == "R1-1"
    assert book.find_venue("OTHER", venue_order_id="V2", recall=True) is None  # another venue's order id
    by_order_id = book.find_venue("BRK", venue_order_id="V2", recall=True)
    assert by_order_id is not None and by_order_id.order_id == "R1-2"
    assert book.get("R1-3", recall=True) is not None and len(book) == 3


def test_plain_lookups_and_the_duplicate_check_never_ask_the_journal(journal: Journal) -> None:
    book = OrderBook(loader=lambda **keys: pytest.fail(f"asked the journal for {keys}"))
    assert not book.has_ems_cl_ord_id("EMS1", "C1")  # ClOrdIDs are unique within a trading day
    assert book.find_ems("EMS1", "C1") is None and book.get("R1-1") is None      # probes stay in memory
    assert book.find_venue("BRK", cl_ord_ids=("R1-1.0",), venue_order_id="V1") is None
