"""Sides of a reconciliation read from the journal: our own fills (the internal side) and a FIX broker's
ExecutionReport / TradeCaptureReport history as we received it (a broker source)."""

from __future__ import annotations

import operator
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from fixgw.fix.dialect import Dialect
from fixgw.fix.fields import FieldView
from fixgw.fix.wire import parse_fix
from fixgw.model.enums import Side
from fixgw.model.errors import UnknownSymbolError
from fixgw.model.instruments import SymbolMaster
from fixgw.recon.records import BrokerSide, Derived, Trade, TradeTable
from fixgw.recon.sources import Progress, ReconWindow
from fixgw.store.coltypes import from_micros
from fixgw.store.journal import Journal
from fixgw.store.recon import ReconStore

SIDES = {side.value: side for side in Side}
_PROGRESS_EVERY = 10_000
_JOURNAL_SOURCE = "journal fills#{} order {}".format


def internal_trades(store: ReconStore, window: ReconWindow, progress: Progress | None = None) -> TradeTable:
    """Our fills at the window's venue from the journal, without those a bust or correction voided."""
    fills = store.fill_columns(venue=window.venue, since=window.start, until=window.end, progress=progress)
    if fills.voided:
        fills.keep(list(map(operator.not_, map(fills.voided.__contains__, fills.exec_ids))))
    order_ids, facts = fills.order_ids, fills.orders
    instruments = {order_id: instrument for order_id, (instrument, _, _, _) in facts.items()}
    sides = {order_id: SIDES[side] for order_id, (_, _, side, _) in facts.items()}
    accounts = {order_id: account for order_id, (_, account, _, _) in facts.items()}
    refs = {order_id: venue_order_id for order_id, (_, _, _, venue_order_id) in facts.items()}
    return TradeTable(fills.exec_ids, list(map(instruments.__getitem__, order_ids)),
                      list(map(sides.__getitem__, order_ids)), fills.qtys, fills.prices,
                      Derived(from_micros, fills.at_micros), Derived(accounts.__getitem__, order_ids),
                      Derived(refs.__getitem__, order_ids), fills.commissions,
                      Derived(_JOURNAL_SOURCE, fills.fill_ids, order_ids))


class FixHistorySource:
    """The broker's executions as its ExecutionReports (35=8) and TradeCaptureReports (35=AE) told us, from
    the journal's inbound messages of the broker session: trades applied, busts and corrections honoured,
    PossDup/PossResend repeats skipped (a repeat without them is kept: the matcher reports it as a duplicate)."""

    def __init__(self, journal: Journal, session: str, symbols: SymbolMaster, dialect: Dialect | None = None) -> None:
        self.journal = journal
        self.session = session
        self.symbols = symbols
        self.description = f"fix:{session} (inbound ExecutionReport/TradeCaptureReport history)"
        symbol_config = dialect.symbols if dialect is not None else None
        self._schemes = (symbol_config.scheme, *symbol_config.also_accept) if symbol_config else ("canonical",)
        self._suffix = symbol_config.suffix_separator if symbol_config else None
        self._id_source = symbol_config.security_id_source if symbol_config else None

    def load(self, window: ReconWindow, progress: Progress | None = None) -> BrokerSide:
        messages = self.journal.iter_messages(session=self.session, direction="in", since=window.start,
                                              until=window.end, msg_types=("8", "AE"))
        trades = self.trades_from(((record.raw, record.at, f"fix {self.session} in seq {record.seq_num}")
                                   for record in messages), progress)
        return BrokerSide(trades=trades, source=self.description)

    def trades_from(self, messages: Iterable[tuple[str, datetime, str]],
                    progress: Progress | None = None) -> list[Trade]:
        """Trades from (raw FIX text, received at, where) in arrival order."""
        trades: dict[str, list[Trade]] = {}
        for count, (raw, received, where) in enumerate(messages, 1):
            fields = _fields(raw)
            repeat = fields.get(43) == "Y" or fields.get(97) == "Y"
            if fields.get(35) == "AE":
                self._trade_capture(fields, received, where, repeat, trades)
            else:
                self._execution(fields, received, where, repeat, trades)
            if progress is not None and count % _PROGRESS_EVERY == 0:
                progress(count)
        return [trade for copies in trades.values() for trade in copies]

    def _execution(self, fields: dict[int, str], received: datetime, where: str, repeat: bool,
                   trades: dict[str, list[Trade]]) -> None:
        exec_type, trans_type = fields.get(150), fields.get(20, "0")
        ref = fields.get(19)
        if exec_type == "H" or (trans_type == "1" and ref):
            trades.pop(ref or "", None)                     # a bust
        elif exec_type == "G" or (trans_type == "2" and ref):
            trades.pop(ref or "", None)                     # a correction replaces the referenced trade
            self._add(fields, received, where, repeat, trades)
        elif trans_type == "0" and exec_type in ("F", "1", "2") and fields.get(32) and fields.get(31):
            self._add(fields, received, where, repeat, trades)

    def _trade_capture(self, fields: dict[int, str], received: datetime, where: str, repeat: bool,
                       trades: dict[str, list[Trade]]) -> None:
        trade_id = fields.get(1003) or fields.get(17) or fields.get(571) or ""
        fields[17] = trade_id
        kind = fields.get(487, "0")
        if kind in ("1", "2"):                               # cancel / replace of an earlier report
            trades.pop(fields.get(572) or trade_id, None)
            if kind == "1":
                return
        self._add(fields, received, where, repeat, trades)

    def _add(self, fields: dict[int, str], received: datetime, where: str, repeat: bool,
             trades: dict[str, list[Trade]]) -> None:
        trade_id = fields.get(17, "")
        if repeat and trade_id in trades:
            return
        try:
            qty, price = Decimal(fields[32]), Decimal(fields[31])
            commission = Decimal(fields[12]) if fields.get(12) else None
        except (KeyError, InvalidOperation):
            return  # not a trade we can read: the internal side will show it as missing at the broker
        trade = Trade(trade_id, self._instrument(fields), SIDES.get(fields.get(54, ""), Side.BUY), qty, price,
                      _transact_time(fields.get(60)) or received, fields.get(1), fields.get(37), commission, where)
        trades.setdefault(trade_id, []).append(trade)

    def _instrument(self, fields: dict[int, str]) -> str:
        if self._id_source and fields.get(48):
            try:
                return self.symbols.resolve_security_id(fields.get(22) or self._id_source, fields[48]).id
            except UnknownSymbolError:
                pass
        symbol = fields.get(55, "")
        if self._suffix and fields.get(65):
            symbol = f"{symbol}{self._suffix}{fields[65]}"
        for scheme in self._schemes:
            try:
                return self.symbols.resolve(scheme, symbol).id
            except UnknownSymbolError:
                continue
        return symbol


def _fields(raw: str) -> dict[int, str]:
    """Tag -> value of a FIX message's text (the first occurrence of a repeated tag: TradeCaptureReport sides)."""
    return FieldView(parse_fix(raw)).first


def _transact_time(text: str | None) -> datetime | None:
    if not text:
        return None
    for layout in ("%Y%m%d-%H:%M:%S.%f", "%Y%m%d-%H:%M:%S"):
        try:
            return datetime.strptime(text[:24] if layout.endswith("%f") else text, layout).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None
