"""What reconciliation compares and what it finds: trades, holdings, breaks and tolerances (plain values)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any

from fixgw.model.decimals import fmt_decimal
from fixgw.model.enums import Side


class BreakKind(str, Enum):
    MISSING_AT_BROKER = "missing_at_broker"
    """We hold it; the broker does not."""
    MISSING_INTERNALLY = "missing_internally"
    """The broker holds it; we do not."""
    QUANTITY_MISMATCH = "quantity_mismatch"
    """Same trade (or instrument, currency) on both sides; quantity, side or amount differ beyond tolerance."""
    PRICE_MISMATCH = "price_mismatch"
    DUPLICATE = "duplicate"
    """The same trade id twice on one side."""


class Category(str, Enum):
    TRADE = "trade"
    POSITION = "position"
    CASH = "cash"


def side_sign(side: Side) -> int:
    """+1 for a buy, -1 for any sell (short or not): what positions and cash see."""
    return 1 if side is Side.BUY else -1


@dataclass(slots=True)
class Trade:
    """One execution as one side of the reconciliation records it."""

    trade_id: str
    """The venue's execution / trade id ("" when the source has none: only the fallback key can match it)."""
    instrument_id: str
    side: Side
    qty: Decimal
    price: Decimal
    at: datetime
    account: str | None = None
    order_ref: str | None = None
    """The venue's order id, when known."""
    commission: Decimal | None = None
    source: str = ""
    """Where this record came from (journal fill row, statement file and line, FIX message): the evidence."""
    settle_date: date | None = None

    def evidence(self) -> dict[str, str]:
        found = {"trade_id": self.trade_id, "instrument": self.instrument_id, "side": self.side.name,
                 "qty": fmt_decimal(self.qty), "price": fmt_decimal(self.price), "at": self.at.isoformat(),
                 "source": self.source}
        if self.account:
            found["account"] = self.account
        if self.order_ref:
            found["order_ref"] = self.order_ref
        if self.commission is not None:
            found["commission"] = fmt_decimal(self.commission)
        if self.settle_date is not None:
            found["settle_date"] = self.settle_date.isoformat()
        return found


@dataclass(slots=True)
class Break:
    kind: BreakKind
    category: Category
    ref: str
    """Trade id, instrument id or currency."""
    detail: str
    ours: dict[str, Any] | None = None
    """Our record as evidence (field -> text); a duplicate holds {"first": ..., "again": ...}."""
    theirs: dict[str, Any] | None = None
    instrument_id: str | None = None
    settle_date: date | None = None

    def evidence(self) -> dict[str, dict[str, Any] | None]:
        return {"ours": self.ours, "theirs": self.theirs}


@dataclass(frozen=True, slots=True)
class Tolerances:
    price_ticks: int = 0
    """A price within this many ticks of the instrument (tick size from the symbol master) matches."""
    qty: Decimal = Decimal(0)
    """A quantity (trade or position) within this much matches."""
    cash: Decimal = Decimal("0.01")
    """A cash balance within this much matches."""
    time_window: timedelta = timedelta(minutes=2)
    """The fallback key (no common trade id) pairs trades this close in time."""


@dataclass(slots=True)
class BrokerSide:
    """Everything one source says the broker holds for one day: trades, and optionally closing positions by
    instrument and cash by currency (None: the source does not report them, nothing to compare)."""

    trades: list[Trade] = field(default_factory=list)
    positions: dict[str, Decimal] | None = None
    cash: dict[str, Decimal] | None = None
    opening_positions: dict[str, Decimal] = field(default_factory=dict)
    """Positions at the start of the day, when the statement says (ours = opening + our fills)."""
    opening_cash: dict[str, Decimal] = field(default_factory=dict)
    source: str = ""


@dataclass(slots=True)
class MatchResult:
    matched: int = 0
    breaks: list[Break] = field(default_factory=list)
    ours: int = 0
    theirs: int = 0

    def counts(self) -> dict[str, int]:
        by_kind: dict[str, int] = {kind.value: 0 for kind in BreakKind}
        for found in self.breaks:
            by_kind[found.kind.value] += 1
        return {"ours": self.ours, "theirs": self.theirs, "matched": self.matched, "breaks": len(self.breaks),
                **by_kind}
