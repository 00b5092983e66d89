"""What reconciliation compares and what it finds: trades, holdings, breaks and tolerances (plain values)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from operator import attrgetter
from typing import Any, TypeVar, overload

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


T = TypeVar("T")
_TRADE_FIELDS = ("trade_id", "instrument_id", "side", "qty", "price", "at", "account", "order_ref", "commission",
                 "source", "settle_date")


class Derived(Sequence[T]):
    """A column computed on read from cheaper columns (a datetime from epoch microseconds, a source text from a
    row number): a million rows keep the plain values; the few rows a report shows are converted."""

    __slots__ = ("_bases", "_convert")

    def __init__(self, convert: Callable[..., T], *bases: Sequence[Any]) -> None:
        self._convert = convert
        self._bases = bases

    def __len__(self) -> int:
        return len(self._bases[0])

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> list[T]: ...
    def __getitem__(self, index: int | slice) -> T | list[T]:
        if isinstance(index, slice):
            return list(map(self._convert, *(base[index] for base in self._bases)))
        return self._convert(*(base[index] for base in self._bases))

    def __iter__(self) -> Iterator[T]:
        return map(self._convert, *self._bases)


Column = list[T] | Derived[T]


class TradeTable(Sequence[Trade]):
    """One side's trades stored by column: a day of a million fills without an object per fill. Repeated values
    (instrument, side, account, price, quantity, settlement date) are shared objects; `times`, `accounts`,
    `order_refs` and `sources` may be `Derived`. `table[i]` is row i as a new `Trade` (a copy: to change the
    table, set its columns). Columns not given are empty, or all None ("" for sources) next to given ids."""

    __slots__ = ("accounts", "commissions", "instrument_ids", "order_refs", "prices", "qtys", "settle_dates",
                 "sides", "sources", "times", "trade_ids")

    def __init__(self, trade_ids: list[str] | None = None, instrument_ids: list[str] | None = None,
                 sides: list[Side] | None = None, qtys: list[Decimal] | None = None,
                 prices: list[Decimal] | None = None, times: Column[datetime] | None = None,
                 accounts: Column[str | None] | None = None, order_refs: Column[str | None] | None = None,
                 commissions: list[Decimal | None] | None = None, sources: Column[str] | None = None,
                 settle_dates: list[date | None] | None = None) -> None:
        self.trade_ids: list[str] = [] if trade_ids is None else trade_ids
        self.instrument_ids: list[str] = [] if instrument_ids is None else instrument_ids
        self.sides: list[Side] = [] if sides is None else sides
        self.qtys: list[Decimal] = [] if qtys is None else qtys
        self.prices: list[Decimal] = [] if prices is None else prices
        self.times: Column[datetime] = [] if times is None else times
        self.accounts: Column[str | None] = [None] * len(self.trade_ids) if accounts is None else accounts
        self.order_refs: Column[str | None] = [None] * len(self.trade_ids) if order_refs is None else order_refs
        self.commissions: list[Decimal | None] = [None] * len(self.trade_ids) if commissions is None else commissions
        self.sources: Column[str] = [""] * len(self.trade_ids) if sources is None else sources
        self.settle_dates: list[date | None] = [None] * len(self.trade_ids) if settle_dates is None else settle_dates
        if len(set(map(len, self.columns()))) > 1:
            raise ValueError("trade table columns of different lengths")

    @classmethod
    def of(cls, trades: Iterable[Trade]) -> TradeTable:
        """The table of `trades` (itself when it already is one)."""
        if isinstance(trades, TradeTable):
            return trades
        rows = trades if isinstance(trades, list) else list(trades)
        return cls(*(list(map(attrgetter(name), rows)) for name in _TRADE_FIELDS))

    def columns(self) -> tuple[Sequence[Any], ...]:
        """Every column in `Trade`'s field order."""
        return (self.trade_ids, self.instrument_ids, self.sides, self.qtys, self.prices, self.times, self.accounts,
                self.order_refs, self.commissions, self.sources, self.settle_dates)

    def append(self, trade: Trade) -> None:
        """Add one row (a table with a Derived column refuses: TypeError)."""
        columns = self.columns()
        if not all(isinstance(column, list) for column in columns):
            raise TypeError("cannot append a row to a table with derived columns")
        for column, name in zip(columns, _TRADE_FIELDS, strict=True):
            column.append(getattr(trade, name))  # type: ignore[attr-defined]

    def __len__(self) -> int:
        return len(self.trade_ids)

    @overload
    def __getitem__(self, index: int) -> Trade: ...
    @overload
    def __getitem__(self, index: slice) -> list[Trade]: ...
    def __getitem__(self, index: int | slice) -> Trade | list[Trade]:
        if isinstance(index, slice):
            return [self[row] for row in range(*index.indices(len(self)))]
        return Trade(*(column[index] for column in self.columns()))

    def __iter__(self) -> Iterator[Trade]:
        return map(Trade, *self.columns())


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

    trades: list[Trade] | TradeTable = field(default_factory=list)
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
