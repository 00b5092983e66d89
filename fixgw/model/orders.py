"""Order commands, execution events and fills: the values that cross layers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from fixgw.model.decimals import Dec
from fixgw.model.enums import (
    CxlRejReason,
    CxlRejResponseTo,
    ExecType,
    OrdRejReason,
    OrdStatus,
    OrdType,
    Side,
    TimeInForce,
)


def utc_now() -> datetime:
    return datetime.now(UTC)


def utc_day_start(moment: datetime) -> datetime:
    """The UTC midnight that begins `moment`'s trading day (the day book, drop-copy replays, daily limits)."""
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AlgoParams(_Value):
    """Parameters of an algorithmic order (TWAP/VWAP): window and participation."""

    start_time: datetime | None = None
    end_time: datetime | None = None
    participation_rate: Dec | None = None
    """Max share of market volume, 0 < rate <= 1."""
    strategy_parameters: tuple[tuple[str, str], ...] = ()
    """Further named parameters as given (StrategyParameterName/Value, 958/960)."""

    @model_validator(mode="after")
    def _check(self) -> AlgoParams:
        if self.start_time and self.end_time and self.end_time <= self.start_time:
            raise ValueError("algo end_time must be after start_time")
        rate = self.participation_rate
        if rate is not None and not (0 < rate <= 1):
            raise ValueError("participation_rate must be in (0, 1]")
        return self


def _check_terms(order_qty: Decimal, ord_type: OrdType, price: Decimal | None) -> None:
    """What a new order and a replace both must satisfy: a positive quantity, a price where the type needs one."""
    if order_qty <= 0:
        raise ValueError("order_qty must be positive")
    if ord_type.needs_price and price is None:
        raise ValueError(f"{ord_type.name} order needs a price")


class NewOrder(_Value):
    """A new order as a counterparty sends it (NewOrderSingle), after symbol resolution."""

    cl_ord_id: str = Field(min_length=1)
    instrument_id: str
    side: Side
    order_qty: Dec
    ord_type: OrdType
    price: Dec | None = None
    stop_price: Dec | None = None
    time_in_force: TimeInForce = TimeInForce.DAY
    expire_time: datetime | None = None
    account: str | None = None
    algo: AlgoParams | None = None
    transact_time: datetime | None = None
    text: str | None = None
    custom_fields: tuple[tuple[int, str], ...] = ()
    """Counterparty tags the dialect passes through untouched."""

    @model_validator(mode="after")
    def _check(self) -> NewOrder:
        _check_terms(self.order_qty, self.ord_type, self.price)
        if self.ord_type.needs_stop_price and self.stop_price is None:
            raise ValueError(f"{self.ord_type.name} order needs a stop price")
        if self.price is not None and self.price <= 0:
            raise ValueError("price must be positive")
        if self.time_in_force is TimeInForce.GTD and self.expire_time is None:
            raise ValueError("GTD order needs an expire time")
        return self


class CancelOrder(_Value):
    """OrderCancelRequest."""

    cl_ord_id: str = Field(min_length=1)
    orig_cl_ord_id: str = Field(min_length=1)
    instrument_id: str
    side: Side
    order_qty: Dec | None = None
    order_id: str | None = None
    account: str | None = None
    transact_time: datetime | None = None


class ReplaceOrder(_Value):
    """OrderCancelReplaceRequest: the full new terms of the order."""

    cl_ord_id: str = Field(min_length=1)
    orig_cl_ord_id: str = Field(min_length=1)
    instrument_id: str
    side: Side
    order_qty: Dec
    ord_type: OrdType
    price: Dec | None = None
    stop_price: Dec | None = None
    time_in_force: TimeInForce | None = None
    order_id: str | None = None
    account: str | None = None
    transact_time: datetime | None = None

    @model_validator(mode="after")
    def _check(self) -> ReplaceOrder:
        _check_terms(self.order_qty, self.ord_type, self.price)
        return self


class StatusRequest(_Value):
    """OrderStatusRequest."""

    cl_ord_id: str = Field(min_length=1)
    instrument_id: str | None = None
    side: Side | None = None
    order_id: str | None = None


class MassStatusRequest(_Value):
    """OrderMassStatusRequest (35=AF) for every order at a venue; `cl_ord_ids` are the outbound ClOrdIDs we hold
    open there (one the answer leaves out is one the venue does not know)."""

    mass_status_req_id: str = Field(min_length=1)
    cl_ord_ids: tuple[str, ...] = ()


class ExecutionEvent(_Value):
    """An ExecutionReport in canonical form, in either direction.

    Ids are those of the counterparty the report is exchanged with: from a venue, `cl_ord_id` is our outbound
    ClOrdID and `order_id` the venue's; towards an EMS, `cl_ord_id` is the EMS's and `order_id` ours.
    """

    exec_id: str
    exec_type: ExecType
    ord_status: OrdStatus
    cl_ord_id: str | None = None
    orig_cl_ord_id: str | None = None
    order_id: str | None = None
    instrument_id: str | None = None
    side: Side | None = None
    account: str | None = None
    ord_type: OrdType | None = None
    order_qty: Dec | None = None
    price: Dec | None = None
    stop_price: Dec | None = None
    time_in_force: TimeInForce | None = None
    last_qty: Dec | None = None
    last_px: Dec | None = None
    cum_qty: Dec | None = None
    leaves_qty: Dec | None = None
    avg_px: Dec | None = None
    exec_ref_id: str | None = None
    """ExecRefID(19): the execution a bust (TRADE_CANCEL) or correction refers to."""
    ord_rej_reason: OrdRejReason | None = None
    text: str | None = None
    transact_time: datetime | None = None
    last_mkt: str | None = None
    commission: Dec | None = None
    is_status_response: bool = False
    """True when this answers an OrderStatusRequest (FIX 4.4 ExecType=I, FIX 4.2 ExecTransType=3)."""
    poss_resend: bool = False
    found_late: bool = False
    """From a venue, with ExecType NEW: the order it had reported not placed (a create of unknown outcome absent for
    its whole settle window) was found there after all, live. The router re-opens the rejected order (FOUND_LATE)."""
    not_placed: bool = False
    """From a venue, with ExecType REJECTED: the create's outcome was unknown and the order was absent for its whole
    settle window. The router journals a NOT_PLACED row, so a restarted gateway still watches for it (found late)."""


class CancelRejectEvent(_Value):
    """OrderCancelReject (35=9)."""

    cl_ord_id: str
    orig_cl_ord_id: str | None = None
    order_id: str | None = None
    ord_status: OrdStatus
    response_to: CxlRejResponseTo
    reason: CxlRejReason = CxlRejReason.OTHER
    text: str | None = None
    account: str | None = None
    transact_time: datetime | None = None


@dataclass(frozen=True, slots=True)
class FillGroup:
    """Fills sharing account, instrument, side, quantity and price, counted: the day's closed orders' fills as a
    restart reads them (store/daybook.py) and the risk engine sums them (RiskChecks.restore)."""

    account: str | None
    instrument_id: str
    side: Side
    qty: Decimal
    price: Decimal
    count: int
    last_at: datetime
    since_day_start: bool
    """Fills at or after the day start (what exposure counts as filled today); the others only price."""


class Fill(_Value):
    """One execution against an order of record; identified by the venue's ExecID / trade id."""

    exec_id: str
    venue: str
    qty: Dec
    price: Dec
    time: datetime = Field(default_factory=utc_now)
    commission: Dec | None = None

    @model_validator(mode="after")
    def _check(self) -> Fill:
        if self.qty <= 0:
            raise ValueError("fill qty must be positive")
        if self.price < 0:
            raise ValueError("fill price must not be negative")
        return self
