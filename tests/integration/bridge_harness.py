"""Helpers for the bridge integration tests: symbol master, a thread-safe event recorder, and its events."""

from __future__ import annotations

import threading
from decimal import Decimal

from fixgw.model.enums import AssetClass, OrdStatus, OrdType, Side, TimeInForce
from fixgw.model.instruments import Instrument, SymbolMaster
from fixgw.model.orders import CancelRejectEvent, ExecutionEvent, NewOrder


def symbol_master() -> SymbolMaster:
    def crypto(base: str, quote: str, tick: str, lot: str) -> Instrument:
        return Instrument(
            id=f"{base}/{quote}",
            asset_class=AssetClass.CRYPTO_SPOT,
            currency=quote,
            base_currency=base,
            tick_size=Decimal(tick),
            lot_size=Decimal(lot),
            symbols={"coinbase_prime": f"{base}-{quote}", "binance": f"{base}{quote}T", "falconx": f"{base}/{quote}"},
        )

    return SymbolMaster(
        [
            crypto("BTC", "USD", "0.01", "0.00001"),
            crypto("ETH", "USD", "0.01", "0.0001"),
            crypto("SOL", "USD", "0.01", "0.001"),
        ]
    )


def new_order(
    cl_ord_id: str,
    *,
    qty: str = "0.5",
    ord_type: OrdType = OrdType.LIMIT,
    price: str | None = "70000",
    side: Side = Side.BUY,
    instrument: str = "BTC/USD",
    tif: TimeInForce = TimeInForce.GTC,
    account: str | None = None,
) -> NewOrder:
    return NewOrder(
        cl_ord_id=cl_ord_id,
        instrument_id=instrument,
        side=side,
        order_qty=Decimal(qty),
        ord_type=ord_type,
        price=Decimal(price) if price is not None and ord_type is OrdType.LIMIT else None,
        time_in_force=tif,
        account=account,
    )


class Recorder:
    """A VenueListener that records everything, safe to read from the test thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.executions: list[ExecutionEvent] = []
        self.cancel_rejects: list[CancelRejectEvent] = []
        self.unknown: list[tuple[str, str, str]] = []
        self.connectivity: list[bool] = []

    def on_execution(self, venue: str, event: ExecutionEvent) -> None:
        with self._lock:
            self.executions.append(event)

    def on_cancel_reject(self, venue: str, event: CancelRejectEvent) -> None:
        with self._lock:
            self.cancel_rejects.append(event)

    def on_outcome_unknown(self, venue: str, cl_ord_id: str, command: str, reason: str) -> None:
        with self._lock:
            self.unknown.append((cl_ord_id, command, reason))

    def on_connectivity(self, venue: str, connected: bool) -> None:
        with self._lock:
            self.connectivity.append(connected)

    def events_for(self, cl_ord_id: str) -> list[ExecutionEvent]:
        with self._lock:
            return [e for e in self.executions if e.cl_ord_id == cl_ord_id or e.orig_cl_ord_id == cl_ord_id]

    def last_status(self, cl_ord_id: str) -> OrdStatus | None:
        events = [e for e in self.events_for(cl_ord_id) if not e.is_status_response]
        return events[-1].ord_status if events else None

    def fills_for(self, cl_ord_id: str) -> list[ExecutionEvent]:
        return [e for e in self.events_for(cl_ord_id) if e.exec_type.name == "TRADE"]


