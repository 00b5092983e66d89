"""Broker statements: CSV (or XML) files read through a per-broker column mapping (`specs/recon/<name>.toml`,
described in specs/recon/README.md). Rows are trades, closing positions by instrument or cash by currency."""

from __future__ import annotations

import csv
import io
import operator
import tomllib
import xml.etree.ElementTree as ElementTree
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from itertools import chain, compress, repeat
from operator import itemgetter
from pathlib import Path
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from fixgw.model.enums import Side
from fixgw.model.errors import UnknownSymbolError
from fixgw.model.instruments import SymbolMaster
from fixgw.recon.records import BrokerSide, Derived, Trade, TradeTable
from fixgw.recon.sources import Progress, ReconWindow, SourceError

RecordType = Literal["trade", "position", "cash", "ignore"]
SIDE_NAMES = {"buy": Side.BUY, "sell": Side.SELL, "sell_short": Side.SELL_SHORT,
              "sell_short_exempt": Side.SELL_SHORT_EXEMPT}
DEFAULT_SIDES = {"1": "buy", "2": "sell", "5": "sell_short", "6": "sell_short_exempt", "B": "buy", "S": "sell",
                 "BUY": "buy", "SELL": "sell", "SS": "sell_short", "SSE": "sell_short_exempt",
                 "SELL_SHORT": "sell_short"}
FIX_TIME = "%Y%m%d-%H:%M:%S.%f"
_PROGRESS_EVERY = 10_000


class Columns(BaseModel):
    """Canonical field -> the broker's CSV column (XML: attribute, else child element)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    record_type: str | None = None
    trade_id: str | None = None
    order_ref: str | None = None
    instrument: str = "instrument"
    side: str = "side"
    qty: str = "qty"
    price: str = "price"
    time: str = "time"
    account: str | None = None
    commission: str | None = None
    currency: str | None = None
    amount: str | None = None
    opening: str | None = None
    """Positions and cash: the opening amount of the day, when the broker reports it."""


class XmlPaths(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    trade: str = "Trade"
    position: str | None = None
    cash: str | None = None


class StatementMapping(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = ""
    format: Literal["csv", "xml"] = "csv"
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    encoding: str = "utf-8"
    symbol_scheme: str = "canonical"
    """Which symbol-master scheme the broker's instrument column speaks."""
    time_format: str = "iso"
    """"iso" (ISO 8601), "fix" (YYYYMMDD-HH:MM:SS[.fff]) or any strptime layout."""
    timezone: str = "UTC"
    """Zone of times written without an offset."""
    columns: Columns = Columns()
    record_types: dict[str, RecordType] = Field(default_factory=dict)
    """The broker's record type value -> what the row is (needs columns.record_type); default: every row a trade."""
    sides: dict[str, str] = Field(default_factory=dict)
    """The broker's side value -> buy / sell / sell_short / sell_short_exempt, over the FIX and B/S defaults."""
    xml: XmlPaths = XmlPaths()

    @model_validator(mode="after")
    def _check(self) -> StatementMapping:
        unknown = sorted(value for value in self.sides.values() if value not in SIDE_NAMES)
        if unknown:
            raise ValueError(f"sides: unknown side(s) {unknown} (use {sorted(SIDE_NAMES)})")
        if self.record_types and self.columns.record_type is None:
            raise ValueError("record_types needs columns.record_type")
        if "position" in self.record_types.values() or "cash" in self.record_types.values():
            if self.columns.amount is None and "cash" in self.record_types.values():
                raise ValueError("cash rows need columns.amount")
            if self.columns.currency is None and "cash" in self.record_types.values():
                raise ValueError("cash rows need columns.currency")
        ZoneInfo(self.timezone)
        return self

    def side_table(self) -> dict[str, Side]:
        table = {**DEFAULT_SIDES, **self.sides}
        return {key.strip().upper(): SIDE_NAMES[value] for key, value in table.items()}


def load_mapping(path: Path) -> StatementMapping:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        data.setdefault("name", path.stem)
        return StatementMapping.model_validate(data)
    except OSError as exc:
        raise SourceError(f"cannot read mapping {path}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, ValidationError, ValueError) as exc:
        raise SourceError(f"mapping {path}: {exc}") from None


def find_mapping(mappings_dir: Path, venue: str, name: str | None = None) -> StatementMapping:
    """`<name>.toml`, else `<venue>.toml`, else `default.toml` in `mappings_dir`."""
    for candidate in ([name] if name else [venue, "default"]):
        path = mappings_dir / f"{candidate}.toml"
        if path.is_file() or name:
            return load_mapping(path)
    raise SourceError(f"no statement mapping for {venue} in {mappings_dir}")


class StatementSource:
    """One statement file of one venue, read with its mapping."""

    def __init__(self, path: Path, mapping: StatementMapping, symbols: SymbolMaster) -> None:
        self.path = path
        self.mapping = mapping
        self.symbols = symbols
        self.description = str(path)
        self._instruments: dict[str, str] = {}
        self._zone: tzinfo = ZoneInfo(mapping.timezone) if mapping.timezone != "UTC" else UTC
        self._sides = mapping.side_table()

    def load(self, window: ReconWindow, progress: Progress | None = None) -> BrokerSide:
        """Every row of the statement (the statement is the broker's record of the day: not filtered by time)."""
        side = BrokerSide(source=self.description)
        try:
            if self.mapping.format == "csv":
                self._load_csv(side, progress)
            else:
                for count, (where, kind, row) in enumerate(self._xml_rows(), 1):
                    self._row(kind, row, where, side)
                    if progress is not None and count % _PROGRESS_EVERY == 0:
                        progress(count)
        except OSError as exc:
            raise SourceError(f"cannot read statement {self.path}: {exc.strerror}") from None
        if progress is not None:
            progress(len(side.trades))
        return side

    def _row(self, kind: str, row: Mapping[str, str], where: str, side: BrokerSide) -> None:
        if kind == "trade":
            side.trades.append(self._trade(row, where))
        elif kind in ("position", "cash"):
            self._holding(row, where, side, kind)

    # --- rows ---------------------------------------------------------------------------------------------

    def _load_csv(self, side: BrokerSide, progress: Progress | None) -> None:
        """CSV rows into a TradeTable. Blocks of plain rows (no quote, one line each, the same number of fields)
        are converted a whole column at a time; any other row takes the per-row path (`_CsvPlan.rows`), whose
        checked fallback names the file, line and column of a bad value."""
        mapping = self.mapping
        delimiter = mapping.delimiter
        with self.path.open(newline="", encoding=mapping.encoding) as handle:
            header_reader = csv.reader(handle, delimiter=delimiter)
            plan = _CsvPlan(self, [column.strip() for column in next(header_reader, [])])
            line = header_reader.line_num                    # the last line read so far
            while block := handle.read(_BLOCK_CHARS):
                if not block.endswith("\n"):
                    block += handle.readline()               # whole lines only (a CR LF split included)
                lines = _plain_lines(block, delimiter)
                if lines is None:                            # quotes, blank lines, ...: the csv module from here on
                    reader = csv.reader(chain(io.StringIO(block, newline=""), handle), delimiter=delimiter)
                    plan.rows(((line + reader.line_num, row) for row in reader), side, progress)
                    break
                plan.block(lines, line + 1, side)
                line += len(lines)
                if progress is not None:
                    progress(len(plan.table))
        side.trades = plan.table

    def _xml_rows(self) -> Iterator[tuple[str, str, Mapping[str, str]]]:
        paths = self.mapping.xml
        tags = {paths.trade: "trade"}
        if paths.position:
            tags[paths.position] = "position"
        if paths.cash:
            tags[paths.cash] = "cash"
        counts = dict.fromkeys(tags.values(), 0)
        try:
            # Expat (Python >= 3.7.1 bundles >= 2.4.1) refuses entity expansion bombs; no external entities.
            for _event, element in ElementTree.iterparse(self.path, events=("end",)):
                kind = tags.get(element.tag)
                if kind is None:
                    continue
                counts[kind] += 1
                row = dict(element.attrib)
                for child in element:
                    row.setdefault(child.tag, (child.text or "").strip())
                element.clear()
                yield f"{self.path.name}:{element.tag}[{counts[kind]}]", kind, row
        except ElementTree.ParseError as exc:
            raise SourceError(f"statement {self.path}: not well-formed XML: {exc}") from None

    def _kind(self, value: str | None, where: str) -> str:
        if value is None:
            return "trade"
        kind = self.mapping.record_types.get(value.strip())
        if kind is None:
            raise SourceError(f"{where}: unknown record type {value!r} (mapping {self.mapping.name}: record_types)")
        return kind

    def _trade(self, row: Mapping[str, str], where: str) -> Trade:
        c = self.mapping.columns
        side_text = _required(row, c.side, where)
        side = self._sides.get(side_text.strip().upper())
        if side is None:
            raise SourceError(f"{where}: unknown side {side_text!r} (mapping {self.mapping.name}: sides)")
        return Trade(
            trade_id=(row.get(c.trade_id) or "").strip() if c.trade_id else "",
            instrument_id=self._instrument(_required(row, c.instrument, where)),
            side=side,
            qty=_decimal(_required(row, c.qty, where), where, c.qty),
            price=_decimal(_required(row, c.price, where), where, c.price),
            at=self._time(_required(row, c.time, where), where),
            account=_optional(row, c.account),
            order_ref=_optional(row, c.order_ref),
            commission=_optional_decimal(row, c.commission, where),
            source=where,
        )

    def _holding(self, row: Mapping[str, str], where: str, side: BrokerSide, kind: str) -> None:
        c = self.mapping.columns
        if kind == "position":
            key = self._instrument(_required(row, c.instrument, where))
            amount = _decimal(_required(row, c.qty, where), where, c.qty)
            closing, opening = side.positions, side.opening_positions
            if closing is None:
                closing = side.positions = {}
        else:
            assert c.currency is not None and c.amount is not None  # checked by the mapping
            key = _required(row, c.currency, where).strip().upper()
            amount = _decimal(_required(row, c.amount, where), where, c.amount)
            closing, opening = side.cash, side.opening_cash
            if closing is None:
                closing = side.cash = {}
        closing[key] = closing.get(key, Decimal(0)) + amount
        started = _optional_decimal(row, c.opening, where)
        if started is not None:
            opening[key] = opening.get(key, Decimal(0)) + started

    def _instrument(self, symbol: str) -> str:
        found = self._instruments.get(symbol)
        if found is None:
            try:
                found = self.symbols.resolve(self.mapping.symbol_scheme, symbol.strip()).id
            except UnknownSymbolError:
                found = symbol.strip()  # kept as written: it shows up as a break, never silently dropped
            self._instruments[symbol] = found
        return found

    def _time_parser(self) -> Callable[[str], datetime]:
        """The fast time parser of the mapping's layout (raises ValueError; `_time` says where)."""
        layout, zone = self.mapping.time_format, self._zone
        if layout == "fix" and zone is UTC:
            # Python 3.11 reads YYYYMMDD-HH:MM:SS.fff as ISO 8601 (basic date, any separator): 10x strptime.
            def fix_time(text: str) -> datetime:
                if len(text) < 17 or text[8] != "-":
                    raise ValueError(text)
                return datetime.fromisoformat(text + "+00:00")

            return fix_time

        def any_time(text: str) -> datetime:
            return self._time(text, "")

        return any_time

    def _time(self, text: str, where: str) -> datetime:
        layout = self.mapping.time_format
        text = text.strip()
        try:
            if layout == "iso":
                moment = datetime.fromisoformat(text)
            elif layout == "fix":
                moment = _fix_time(text)
            else:
                moment = datetime.strptime(text, layout)
        except ValueError:
            raise SourceError(f"{where}: bad time {text!r} (mapping {self.mapping.name}: time_format "
                              f"{layout!r})") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=self._zone)
        return moment.astimezone(UTC) if moment.tzinfo is not UTC else moment


_BLOCK_CHARS = 1 << 16
"""Statement text read and converted per block (about 700 rows): a block's fields are still in cache when its
columns are converted (blocks of 256 KiB and more were twice as slow)."""
_UTC_SUFFIX = "+00:00"


def _plain_lines(block: str, delimiter: str) -> list[str] | None:
    """The block's lines when the csv module would read each as one row of plain fields split at the delimiter
    (no quote, no lone carriage return or NUL, no blank line, every line the same number of fields); else None."""
    if '"' in block or "\x00" in block:
        return None
    if "\r" in block:
        if block.count("\r") != block.count("\r\n"):
            return None
        block = block.replace("\r\n", "\n")
    lines = block.split("\n")
    if lines[-1] == "":
        lines.pop()
    if len(set(map(str.count, lines, repeat(delimiter)))) != 1 or "" in lines:
        return None
    return lines


class _Failed(Exception):
    """A value the column-wise path does not take: the block goes through the per-row path instead."""


class _Cached(dict[str, Any]):
    """Text -> value, each distinct text converted once (symbols, sides, accounts, prices and quantities repeat a
    lot); `convert` raises _Failed on text the column-wise path leaves to the per-row path."""

    def __init__(self, convert: Callable[[str], Any]) -> None:
        super().__init__()
        self.convert = convert

    def __missing__(self, text: str) -> Any:
        value = self[text] = self.convert(text)
        return value


def _finite_decimal(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except ArithmeticError:
        raise _Failed(text) from None
    if not value.is_finite():
        raise _Failed(text)
    return value


def _optional_commission(text: str) -> Decimal | None:
    try:
        return Decimal(text) if text else None
    except ArithmeticError:
        raise _Failed(text) from None


def _text_or_none(text: str) -> str | None:
    return text or None


class _CsvPlan:
    """Where each mapped field sits in the header, and the trades read so far as columns (line numbers kept, the
    source text "file:line" derived on read)."""

    def __init__(self, source: StatementSource, header: list[str]) -> None:
        mapping = source.mapping
        c = mapping.columns
        index = {column: i for i, column in enumerate(header)}
        missing = [column for column in (c.instrument, c.side, c.qty, c.price, c.time) if column not in index]
        if missing:
            raise SourceError(f"{source.path.name}:1: no column {', '.join(map(repr, missing))} "
                              f"(mapping {mapping.name})")
        self.source, self.header, self.name = source, header, source.path.name
        self.i_kind = index.get(c.record_type) if c.record_type else None
        self.i_id, self.i_ref, self.i_account, self.i_commission = (index.get(column or "") for column in (
            c.trade_id, c.order_ref, c.account, c.commission))
        self.i_instrument, self.i_side, self.i_qty, self.i_price, self.i_time = (index[column] for column in (
            c.instrument, c.side, c.qty, c.price, c.time))
        self.last_index = max(i for i in (self.i_kind, self.i_id, self.i_ref, self.i_account, self.i_commission,
                                          self.i_instrument, self.i_side, self.i_qty, self.i_price, self.i_time)
                              if i is not None)
        self.kinds: dict[str, str] = {}
        self.parse_time = source._time_parser()
        self.fix_utc = mapping.time_format == "fix" and source._zone is UTC
        self.is_trade = _Cached(self._is_trade)
        self.instruments, self.sides = _Cached(self._instrument), _Cached(self._side)
        self.accounts, self.decimals = _Cached(_text_or_none), _Cached(_finite_decimal)
        self.commissions = _Cached(_optional_commission)
        self.lines = array("q")
        self.table = TradeTable(sources=Derived(f"{self.name}:{{}}".format, self.lines))
        self._columns = cast(tuple[list[Any], ...], tuple(
            column for column in self.table.columns() if column is not self.table.sources))

    def block(self, lines: list[str], first_line: int, side: BrokerSide) -> None:
        """Plain lines (numbered from `first_line`): trades a column at a time when every value allows; the rows
        of other record types (positions, cash: few) one by one."""
        delimiter = self.source.mapping.delimiter
        width = lines[0].count(delimiter) + 1
        if width > self.last_index:
            fields = delimiter.join(lines).split(delimiter)
            try:
                mask = None if self.i_kind is None else list(map(self.is_trade.__getitem__,
                                                                 fields[self.i_kind::width]))
                if mask is not None and all(mask):
                    mask = None                              # every row a trade
                columns = self._trade_columns(fields, width, mask)
            except _Failed:
                pass
            else:
                for column, values in zip(self._columns, columns, strict=True):
                    column += values
                numbers = range(first_line, first_line + len(lines))
                self.lines.extend(numbers if mask is None else compress(numbers, mask))
                if mask is not None:
                    self.rows(((first_line + n, lines[n].split(delimiter))
                               for n in compress(range(len(lines)), map(operator.not_, mask))), side, None)
                return
        self.rows(enumerate(map(str.split, lines, repeat(delimiter)), first_line), side, None)

    def _trade_columns(self, fields: list[str], width: int, mask: list[bool] | None) -> tuple[list[Any], ...]:
        """The trade columns of a block (only the rows of `mask`, when given), converted exactly as the per-row
        path would; _Failed when a value needs the per-row path (which reports it, or reads it more leniently)."""

        def column(index: int) -> list[str]:
            values = fields[index::width]
            return values if mask is None else list(compress(values, mask))

        times = self._times(column(self.i_time))
        count = len(times)
        nothing: list[Any] = [None] * count
        refs: list[Any] = nothing
        if self.i_ref is not None:
            refs = column(self.i_ref)
            if "" in refs:
                refs = [ref or None for ref in refs]
        return (list(map(str.strip, column(self.i_id))) if self.i_id is not None else [""] * count,
                list(map(self.instruments.__getitem__, column(self.i_instrument))),
                list(map(self.sides.__getitem__, column(self.i_side))),
                list(map(self.decimals.__getitem__, column(self.i_qty))),
                list(map(self.decimals.__getitem__, column(self.i_price))),
                times,
                list(map(self.accounts.__getitem__, column(self.i_account))) if self.i_account is not None
                else nothing,
                refs,
                list(map(self.commissions.__getitem__, column(self.i_commission))) if self.i_commission is not None
                else nothing,
                nothing)

    def _times(self, texts: list[str]) -> list[datetime]:
        try:
            if self.fix_utc:   # the fast FIX layout check of `_time_parser`, for the whole column at once
                if min(map(len, texts), default=17) < 17 or set(map(itemgetter(8), texts)) - {"-"}:
                    raise _Failed("time")
                return list(map(datetime.fromisoformat, map(operator.add, texts, repeat(_UTC_SUFFIX))))
            return list(map(self.parse_time, texts))
        except (ValueError, SourceError):
            raise _Failed("time") from None

    def _is_trade(self, text: str) -> bool:
        try:
            return self.source._kind(text, "") == "trade"
        except SourceError:   # an unknown record type: the per-row path names its line
            raise _Failed(text) from None

    def _instrument(self, symbol: str) -> str:
        if not symbol:
            raise _Failed("instrument")
        return self.source._instrument(symbol)

    def _side(self, text: str) -> Side:
        found = self.source._sides.get(text.strip().upper())
        if found is None:
            raise _Failed(text)
        return found

    def rows(self, rows: Iterable[tuple[int, list[str]]], side: BrokerSide, progress: Progress | None) -> None:
        """Row by row (line number, fields): trades take a fast path (column indexes, cached symbols and
        times) and fall back to the checked path of `_trade` on anything unusual."""
        source, name, header = self.source, self.name, self.header
        i_kind, i_id, i_ref, i_account, i_commission = (self.i_kind, self.i_id, self.i_ref, self.i_account,
                                                         self.i_commission)
        i_instrument, i_side, i_qty, i_price, i_time = (self.i_instrument, self.i_side, self.i_qty, self.i_price,
                                                        self.i_time)
        sides, instrument, parse_time, kinds = source._sides, source._instrument, self.parse_time, self.kinds
        trade_ids, instruments, trade_sides, qtys, prices, times, accounts, refs, commissions, settle_dates = (
            self._columns)
        lines = self.lines
        for count, (line, row) in enumerate(rows, 1):
            if not row:
                continue
            kind = "trade"
            if i_kind is not None:
                text = row[i_kind] if i_kind < len(row) else ""
                kind = kinds.get(text) or kinds.setdefault(text, source._kind(text, f"{name}:{line}"))
            if kind == "trade":
                try:
                    symbol = row[i_instrument]
                    qty, price = Decimal(row[i_qty]), Decimal(row[i_price])
                    if not (symbol and qty.is_finite() and price.is_finite()):
                        raise ValueError(symbol)
                    commission = row[i_commission] if i_commission is not None else ""
                    trade = Trade(row[i_id].strip() if i_id is not None else "", instrument(symbol),
                                  sides[row[i_side].strip().upper()], qty, price, parse_time(row[i_time]),
                                  (row[i_account] or None) if i_account is not None else None,
                                  (row[i_ref] or None) if i_ref is not None else None,
                                  Decimal(commission) if commission else None)
                except (KeyError, IndexError, ValueError, ArithmeticError, SourceError):
                    trade = source._trade(dict(zip(header, row, strict=False)), f"{name}:{line}")
                trade_ids.append(trade.trade_id)
                instruments.append(trade.instrument_id)
                trade_sides.append(trade.side)
                qtys.append(trade.qty)
                prices.append(trade.price)
                times.append(trade.at)
                accounts.append(trade.account)
                refs.append(trade.order_ref)
                commissions.append(trade.commission)
                settle_dates.append(None)
                lines.append(line)
            elif kind != "ignore":
                source._row(kind, dict(zip(header, row, strict=False)), f"{name}:{line}", side)
            if progress is not None and count % _PROGRESS_EVERY == 0:
                progress(len(self.table))


def _fix_time(text: str) -> datetime:
    """YYYYMMDD-HH:MM:SS[.fff[fff]] (UTCTimestamp) without strptime's cost."""
    if len(text) < 17 or text[8] != "-":
        raise ValueError(text)
    micros = 0
    if len(text) > 18 and text[17] == ".":
        fraction = text[18:24]
        micros = int(fraction.ljust(6, "0"))
    return datetime(int(text[0:4]), int(text[4:6]), int(text[6:8]), int(text[9:11]), int(text[12:14]),
                    int(text[15:17]), micros, tzinfo=UTC)


def _required(row: Mapping[str, str], column: str, where: str) -> str:
    value = row.get(column)
    if value is None or not value.strip():
        raise SourceError(f"{where}: no value in column {column!r}")
    return value


def _optional(row: Mapping[str, str], column: str | None) -> str | None:
    if column is None:
        return None
    value = (row.get(column) or "").strip()
    return value or None


def _decimal(text: str, where: str, column: str) -> Decimal:
    try:
        value = Decimal(text.strip().replace(",", "") if "," in text else text.strip())
    except InvalidOperation:
        raise SourceError(f"{where}: {column} {text!r} is not a decimal number") from None
    if not value.is_finite():
        raise SourceError(f"{where}: {column} {text!r} is not a finite number")
    return value


def _optional_decimal(row: Mapping[str, str], column: str | None, where: str) -> Decimal | None:
    text = _optional(row, column)
    return None if text is None or column is None else _decimal(text, where, column)
