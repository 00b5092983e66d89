"""The order book of record: orders by internal id, indexed by every id a counterparty may use for them.

A book may hold only part of the record. The gateway loads open orders whole; of the day's closed orders it
only `remember`s the EMS ClOrdIDs (restart time must not grow with the day's volume, store/daybook.py), and
older closed orders not at all. Given a `loader` (the journal's `find_order`), a lookup of a remembered
ClOrdID, or one with `recall=True` that misses, reads the order from the journal and keeps it; `on_recall` is
told (the risk engine adopts what the order already contributes). Other plain lookups stay in memory (callers
probe with ids that may not exist), and so does the ClOrdID duplicate check (`has_ems_cl_ord_id`): ClOrdIDs are
unique within a trading day. Iterating the book sees the orders held in memory only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Protocol

from fixgw.model.state import Order


class OrderLoader(Protocol):
    def __call__(self, *, order_id: str | None = None, ems_session: str | None = None,
                 cl_ord_id: str | None = None, venue_cl_ord_id: str | None = None,
                 venue_order_id: str | None = None) -> Order | None:
        """The order of record matching every key given, or None."""


class OrderBook:
    def __init__(self, loader: OrderLoader | None = None) -> None:
        self._loader = loader
        self.on_recall: Callable[[Order], None] | None = None
        """Told of each order read from the journal after start (not of those `load`ed or `add`ed)."""
        self._orders: dict[str, Order] = {}
        self._by_ems: dict[tuple[str, str], str] = {}
        self._by_venue_cl: dict[tuple[str, str], str] = {}
        self._by_venue_order: dict[tuple[str, str], str] = {}

    def __len__(self) -> int:
        return len(self._orders)

    def __iter__(self) -> Iterator[Order]:
        return iter(self._orders.values())

    def add(self, order: Order) -> None:
        self._orders[order.order_id] = order
        for cl_ord_id in (*order.cl_ord_id_chain, order.cl_ord_id):
            self._by_ems[(order.ems_session, cl_ord_id)] = order.order_id
        if order.pending is not None:
            self._by_ems[(order.ems_session, order.pending.ems_cl_ord_id)] = order.order_id
        if order.venue:
            for venue_id in order.venue_cl_ord_ids:
                self._by_venue_cl[(order.venue, venue_id)] = order.order_id
            if order.venue_order_id:
                self._by_venue_order[(order.venue, order.venue_order_id)] = order.order_id

    def load(self, orders: Iterable[Order]) -> None:
        for order in orders:
            self.add(order)

    def remember(self, ems_keys: dict[tuple[str, str], str]) -> None:
        """(EMS session, ClOrdID) -> order id of orders kept in the journal only: the ClOrdIDs count as taken, and
        a lookup of one reads its order. Ids the book already holds are left as they are. The book takes
        `ems_keys` over as its index (200,000 keys at a busy day's restart are not copied)."""
        ems_keys.update(self._by_ems)
        self._by_ems = ems_keys

    def get(self, order_id: str, *, recall: bool = False) -> Order | None:
        order = self._orders.get(order_id)
        return order if order is not None or not recall else self._load(order_id=order_id)

    def _load(self, **keys: str) -> Order | None:
        """A miss: the order from the loader (kept in the book from now on), or None."""
        if self._loader is None:
            return None
        order = self._loader(**keys)
        if order is None:
            return None
        known = self._orders.get(order.order_id)
        if known is not None:  # found under another id: the book's copy is the live one
            return known
        self.add(order)
        if self.on_recall is not None:
            self.on_recall(order)
        return order

    def has_ems_cl_ord_id(self, ems_session: str, cl_ord_id: str) -> bool:
        return (ems_session, cl_ord_id) in self._by_ems

    def index_ems(self, order: Order, cl_ord_id: str) -> None:
        self._by_ems[(order.ems_session, cl_ord_id)] = order.order_id

    def index_venue(self, order: Order, venue_cl_ord_id: str) -> None:
        assert order.venue is not None
        self._by_venue_cl[(order.venue, venue_cl_ord_id)] = order.order_id

    def index_venue_order_id(self, order: Order) -> None:
        if order.venue and order.venue_order_id:
            self._by_venue_order[(order.venue, order.venue_order_id)] = order.order_id

    def find_ems(self, ems_session: str, cl_ord_id: str, *, recall: bool = False) -> Order | None:
        order_id = self._by_ems.get((ems_session, cl_ord_id))
        if order_id:
            order = self._orders.get(order_id)
            return order if order is not None else self._load(order_id=order_id)  # remembered: in the journal
        return self._load(ems_session=ems_session, cl_ord_id=cl_ord_id) if recall else None

    def find_venue(self, venue: str, *, cl_ord_ids: Iterable[str | None] = (),
                   venue_order_id: str | None = None, recall: bool = False) -> Order | None:
        cl_ord_ids = tuple(cl_ord_ids)
        for cl_ord_id in cl_ord_ids:
            if cl_ord_id:
                order_id = self._by_venue_cl.get((venue, cl_ord_id))
                if order_id:
                    return self._orders[order_id]
        if venue_order_id:
            order_id = self._by_venue_order.get((venue, venue_order_id))
            if order_id:
                return self._orders[order_id]
        if recall and self._loader is not None:
            keys = [{"venue_cl_ord_id": cl_ord_id} for cl_ord_id in cl_ord_ids if cl_ord_id]
            keys += [{"venue_order_id": venue_order_id}] if venue_order_id else []
            for key in keys:
                order = self._load(**key)
                if order is not None and order.venue == venue:
                    return order
        return None

    def open_orders(self, *, venue: str | None = None, ems_session: str | None = None) -> list[Order]:
        return [
            order for order in self._orders.values()
            if order.is_open and (venue is None or order.venue == venue)
            and (ems_session is None or order.ems_session == ems_session)
        ]
