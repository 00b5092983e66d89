"""Ids we hand out: internal order ids, ExecIDs and outbound ClOrdIDs, unique across restarts.

Every process start takes a fresh run id from the journal (an atomic counter, so several instances on one
PostgreSQL never collide); ids are `<run>-<counter>`. Outbound ClOrdIDs derive from the order id and a version,
so re-sending the same command after a crash reuses the same ClOrdID (the venue de-duplicates it).
"""

from __future__ import annotations

import itertools

from fixgw.model.state import Order


class IdFactory:
    def __init__(self, run_id: int, *, prefix: str = "") -> None:
        if run_id <= 0:
            raise ValueError("run_id must be positive")
        self.run_id = run_id
        self._prefix = f"{prefix}{run_id}"
        self._orders = itertools.count(1)
        self._execs = itertools.count(1)

    def order_id(self) -> str:
        return f"{self._prefix}-{next(self._orders)}"

    def exec_id(self) -> str:
        return f"{self._prefix}-X{next(self._execs)}"

    @staticmethod
    def next_venue_cl_ord_id(order: Order) -> str:
        """The next outbound ClOrdID of an order: `<order_id>.<n>`, n counting every command sent for it."""
        return f"{order.order_id}.{len(order.venue_cl_ord_ids)}"
