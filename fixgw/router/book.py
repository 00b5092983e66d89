"""The order book of record: orders by internal id, indexed by every id a counterparty may use for them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from fixgw.model.state import Order


class OrderBook:
    def __init__(self) -> None:
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

    def get(self, order_id: str) -> Order | None:
        return self._orders.get(order_id)

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

    def find_ems(self, ems_session: str, cl_ord_id: str) -> Order | None:
        order_id = self._by_ems.get((ems_session, cl_ord_id))
        return self._orders.get(order_id) if order_id else None

    def find_venue(self, venue: str, *, cl_ord_ids: Iterable[str | None] = (),
                   venue_order_id: str | None = None) -> Order | None:
        for cl_ord_id in cl_ord_ids:
            if cl_ord_id:
                order_id = self._by_venue_cl.get((venue, cl_ord_id))
                if order_id:
                    return self._orders[order_id]
        if venue_order_id:
            order_id = self._by_venue_order.get((venue, venue_order_id))
            if order_id:
                return self._orders[order_id]
        return None

    def open_orders(self, *, venue: str | None = None, ems_session: str | None = None) -> list[Order]:
        return [
            order for order in self._orders.values()
            if order.is_open and (venue is None or order.venue == venue)
            and (ems_session is None or order.ems_session == ems_session)
        ]
