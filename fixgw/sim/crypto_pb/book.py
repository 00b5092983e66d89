"""The simulated venue's books: orders, fills and balances shared by every venue front end.

Statuses use Coinbase Prime's words; each venue front end renders them in its own vocabulary.
MARKET orders fill at once at the reference price moved by slippage; marketable LIMIT orders fill
in `limit_slices` equal slices, one every `slice_interval_s`; other LIMIT orders rest until cancelled.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from fixgw.sim.crypto_pb.clock import SimClock
from fixgw.sim.crypto_pb.settings import ProductSpec, SimSettings

OPEN, FILLED, CANCELLED, EXPIRED, FAILED = "OPEN", "FILLED", "CANCELLED", "EXPIRED", "FAILED"
FINAL_STATUSES = frozenset({FILLED, CANCELLED, EXPIRED, FAILED})
BPS = Decimal("10000")


class BookError(Exception):
    """A definitive business rejection; `code` is a short machine-readable reason."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class SimFill:
    fill_id: str
    order_id: str
    quantity: Decimal
    price: Decimal
    commission: Decimal
    time: datetime
    trade_seq: int  # numeric trade id for venues that use integers (Binance)

    @property
    def value(self) -> Decimal:
        return self.quantity * self.price


@dataclass
class SimOrder:
    venue: str
    account: str
    order_id: str
    client_order_id: str
    product: ProductSpec
    side: str  # BUY | SELL
    order_type: str  # MARKET | LIMIT
    base_quantity: Decimal
    limit_price: Decimal | None
    time_in_force: str  # GOOD_UNTIL_CANCELLED | IMMEDIATE_OR_CANCEL | FILL_OR_KILL | GOOD_UNTIL_DATE_TIME
    created_at: datetime
    quote_value: Decimal | None = None
    status: str = OPEN
    updated_at: datetime | None = None
    fills: list[SimFill] = field(default_factory=list)
    slices_left: int = 0
    next_slice_at: float = 0.0  # time.monotonic()
    seq: int = 0  # numeric order id for venues that use integers (Binance)

    @property
    def filled_quantity(self) -> Decimal:
        return sum((f.quantity for f in self.fills), Decimal(0))

    @property
    def filled_value(self) -> Decimal:
        return sum((f.value for f in self.fills), Decimal(0))

    @property
    def commission(self) -> Decimal:
        return sum((f.commission for f in self.fills), Decimal(0))

    @property
    def leaves_quantity(self) -> Decimal:
        return Decimal(0) if self.status in FINAL_STATUSES else self.base_quantity - self.filled_quantity

    @property
    def average_price(self) -> Decimal:
        qty = self.filled_quantity
        if not qty:
            return Decimal(0)
        return (self.filled_value / qty).quantize(self.product.quote_increment, ROUND_HALF_UP)

    @property
    def is_active(self) -> bool:
        return self.status not in FINAL_STATUSES


OrderListener = Callable[[SimOrder], None]


class SimBook:
    def __init__(self, settings: SimSettings, clock: SimClock) -> None:
        self.settings = settings
        self.clock = clock
        self.orders: dict[str, SimOrder] = {}
        self.balances: dict[tuple[str, str], dict[str, Decimal]] = {}
        self.listeners: list[OrderListener] = []
        self._seq = itertools.count(1)

    # -- reference data -------------------------------------------------------------------------
    def product(self, product_id: str) -> ProductSpec:
        for spec in (*self.settings.products, *self.settings.equities):
            if spec.product_id == product_id:
                return spec
        raise BookError("INVALID_PRODUCT", f"unknown product_id {product_id}")

    def reference_price(self, product: ProductSpec) -> Decimal:
        price = self.settings.reference_prices.get(product.base) or self.settings.equity_prices.get(product.base)
        if price is None:
            raise BookError("NO_PRICE", f"no reference price for {product.base}")
        return price.quantize(product.quote_increment, ROUND_HALF_UP)

    def market_price(self, product: ProductSpec, side: str) -> Decimal:
        slip = self.settings.slippage_bps / BPS
        factor = 1 + slip if side == "BUY" else 1 - slip
        return (self.reference_price(product) * factor).quantize(product.quote_increment, ROUND_HALF_UP)

    def account_balances(self, venue: str, account: str) -> dict[str, Decimal]:
        """Starts every account rich enough for tests; fills move it."""
        key = (venue, account)
        if key not in self.balances:
            self.balances[key] = {
                "USD": Decimal("10000000"),
                "USDT": Decimal("10000000"),
                **{asset: Decimal("1000") for asset in self.settings.reference_prices},
            }
        return self.balances[key]

    # -- commands ---------------------------------------------------------------------------------
    def submit(
        self,
        *,
        venue: str,
        account: str,
        client_order_id: str,
        product_id: str,
        side: str,
        order_type: str,
        base_quantity: Decimal | None,
        quote_value: Decimal | None = None,
        limit_price: Decimal | None = None,
        time_in_force: str = "GOOD_UNTIL_CANCELLED",
        unique_active_client_order_id: bool = True,
    ) -> SimOrder:
        product = self.product(product_id)
        if side not in ("BUY", "SELL"):
            raise BookError("INVALID_SIDE", f"invalid side {side}")
        if order_type not in ("MARKET", "LIMIT"):
            raise BookError("UNSUPPORTED_ORDER_TYPE", f"order type {order_type} is not simulated")
        if unique_active_client_order_id and self.active_by_client_order_id(venue, account, client_order_id):
            raise BookError("DUPLICATE_CLIENT_ORDER_ID", "client_order_id is already used by an active order")
        if order_type == "LIMIT" and (limit_price is None or limit_price <= 0):
            raise BookError("INVALID_LIMIT_PRICE", "LIMIT orders need a positive limit_price")
        if limit_price is not None and limit_price % product.quote_increment:
            raise BookError("INVALID_PRICE_INCREMENT", f"limit_price must be a multiple of {product.quote_increment}")
        if base_quantity is None:
            if quote_value is None or order_type != "MARKET":
                raise BookError("INVALID_QUANTITY", "base_quantity is required")
            price = self.market_price(product, side)
            base_quantity = (quote_value / price).quantize(product.base_increment, ROUND_DOWN)
        elif base_quantity % product.base_increment:
            raise BookError(
                "INVALID_QUANTITY_INCREMENT", f"base_quantity must be a multiple of {product.base_increment}"
            )
        if not product.base_min_size <= base_quantity <= product.base_max_size:
            bounds = f"[{product.base_min_size}, {product.base_max_size}]"
            raise BookError("INVALID_QUANTITY", f"base_quantity must be within {bounds}")
        now = self.clock.now()
        order = SimOrder(
            venue=venue,
            account=account,
            order_id=str(uuid.uuid4()),
            client_order_id=client_order_id,
            product=product,
            side=side,
            order_type=order_type,
            base_quantity=base_quantity,
            quote_value=quote_value,
            limit_price=limit_price,
            time_in_force=time_in_force,
            created_at=now,
            updated_at=now,
            seq=next(self._seq),
        )
        self.orders[order.order_id] = order
        self._on_accept(order)
        self._notify(order)
        return order

    def cancel(self, order: SimOrder) -> SimOrder:
        if not order.is_active:
            raise BookError("ORDER_NOT_OPEN", f"order is {order.status} and cannot be cancelled")
        self._finish(order, CANCELLED)
        return order

    def advance(self) -> None:
        """Deliver every LIMIT slice that is due; called on each request and by a ticker."""
        now = time.monotonic()
        for order in list(self.orders.values()):
            while order.is_active and order.slices_left > 0 and order.next_slice_at <= now:
                self._fill_slice(order)
                order.next_slice_at += self.settings.slice_interval_s

    # -- queries ---------------------------------------------------------------------------------
    def get(self, venue: str, account: str, order_id: str) -> SimOrder | None:
        order = self.orders.get(order_id)
        if order is None or order.venue != venue or order.account != account:
            return None
        return order

    def active_by_client_order_id(self, venue: str, account: str, client_order_id: str) -> SimOrder | None:
        for order in self.orders.values():
            same_key = (order.venue, order.account, order.client_order_id) == (venue, account, client_order_id)
            if same_key and order.is_active:
                return order
        return None

    def by_client_order_id(self, venue: str, account: str, client_order_id: str) -> list[SimOrder]:
        return [
            o
            for o in self.orders.values()
            if (o.venue, o.account, o.client_order_id) == (venue, account, client_order_id)
        ]

    def for_account(self, venue: str, account: str) -> list[SimOrder]:
        return [o for o in self.orders.values() if o.venue == venue and o.account == account]

    # -- internals -----------------------------------------------------------------------------
    def _marketable(self, order: SimOrder) -> bool:
        assert order.limit_price is not None
        ref = self.reference_price(order.product)
        return order.limit_price >= ref if order.side == "BUY" else order.limit_price <= ref

    def _on_accept(self, order: SimOrder) -> None:
        if order.order_type == "MARKET":
            self._add_fill(order, order.base_quantity, self.market_price(order.product, order.side))
            self._finish(order, FILLED, notify=False)
            return
        marketable = self._marketable(order)
        if order.time_in_force in ("IMMEDIATE_OR_CANCEL", "FILL_OR_KILL"):
            assert order.limit_price is not None
            if marketable:
                self._add_fill(order, order.base_quantity, order.limit_price)
                self._finish(order, FILLED, notify=False)
            else:
                unfilled = CANCELLED if order.time_in_force == "IMMEDIATE_OR_CANCEL" else EXPIRED
                self._finish(order, unfilled, notify=False)
            return
        if marketable:
            order.slices_left = max(1, self.settings.limit_slices)
            order.next_slice_at = time.monotonic() + self.settings.slice_interval_s

    def _fill_slice(self, order: SimOrder) -> None:
        assert order.limit_price is not None
        remaining = order.base_quantity - order.filled_quantity
        qty = (
            remaining
            if order.slices_left == 1
            else (order.base_quantity / self.settings.limit_slices).quantize(order.product.base_increment, ROUND_DOWN)
        )
        qty = min(qty, remaining)
        order.slices_left -= 1
        if qty > 0:
            self._add_fill(order, qty, order.limit_price)
        if order.filled_quantity >= order.base_quantity:
            self._finish(order, FILLED, notify=False)
        self._notify(order)

    def _add_fill(self, order: SimOrder, quantity: Decimal, price: Decimal) -> None:
        commission = (quantity * price * self.settings.fee_bps / BPS).quantize(
            order.product.quote_increment, ROUND_HALF_UP
        )
        fill = SimFill(
            fill_id=str(uuid.uuid4()),
            order_id=order.order_id,
            quantity=quantity,
            price=price,
            commission=commission,
            time=self.clock.now(),
            trade_seq=next(self._seq),
        )
        order.fills.append(fill)
        order.updated_at = fill.time
        balances = self.account_balances(order.venue, order.account)
        sign = 1 if order.side == "BUY" else -1
        base, quote = order.product.base, order.product.quote
        balances[base] = balances.get(base, Decimal(0)) + sign * quantity
        balances[quote] = balances.get(quote, Decimal(0)) - sign * quantity * price - commission

    def _finish(self, order: SimOrder, status: str, notify: bool = True) -> None:
        order.status = status
        order.slices_left = 0
        order.updated_at = self.clock.now()
        if notify:
            self._notify(order)

    def _notify(self, order: SimOrder) -> None:
        for listener in list(self.listeners):
            listener(order)

    def reset(self) -> None:
        self.orders.clear()
        self.balances.clear()
