"""Settlement dates: T+n business days of the instrument's cycle (`Instrument.settlement_cycle`: US equities
T+1, crypto T+0, per instrument when set) on the holiday calendar of its asset class (`specs/recon/calendars/`:
the `holidays` package's market calendars, so no year runs out, plus any closures typed in)."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from holidays import HolidayBase, financial_holidays, list_supported_financial

from fixgw.model.enums import AssetClass
from fixgw.model.errors import UnknownSymbolError
from fixgw.model.instruments import SymbolMaster

DEFAULT_CALENDARS: Mapping[AssetClass, str] = {
    AssetClass.EQUITY: "us-settlement",
    AssetClass.ETF: "us-settlement",
    AssetClass.OPTION: "us-settlement",
    AssetClass.FUTURE: "us-settlement",
    AssetClass.SPOT_FX: "us-settlement",
    AssetClass.FIXED_INCOME: "us-settlement",
    AssetClass.CRYPTO_SPOT: "24x7",
}


class CalendarError(ValueError):
    pass


EVERY_DAY_NAME = "24x7"


@dataclass(frozen=True, slots=True)
class Calendar:
    name: str
    weekends: bool
    """True: Saturdays and Sundays are not business days."""
    holidays: frozenset[date]
    """Closures beyond the markets' own (a national day of mourning not yet in the package, ...)."""
    markets: tuple[str, ...] = ()
    """Financial calendars of the `holidays` package whose holidays do not settle ("XNYS", "XFED", ...)."""
    _closed: HolidayBase | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.markets:  # the union of the markets' holidays, for any year asked (the package computes them)
            closed = HolidayBase()
            for market in self.markets:
                closed += financial_holidays(market)
            object.__setattr__(self, "_closed", closed)

    def is_business_day(self, day: date) -> bool:
        if (self.weekends and day.weekday() >= 5) or day in self.holidays:
            return False
        return self._closed is None or day not in self._closed

    def add_business_days(self, day: date, count: int) -> date:
        """`count` business days after `day` (T+count); T+0 is the day itself."""
        for _ in range(count):
            day += timedelta(days=1)
            while not self.is_business_day(day):
                day += timedelta(days=1)
        return day


_EVERY_DAY = Calendar(EVERY_DAY_NAME, False, frozenset())


def load_calendar(path: Path) -> Calendar:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        extra = frozenset(date.fromisoformat(text) for text in data.get("holidays", []))
        markets = tuple(str(code) for code in data.get("markets", []))
        unknown = [code for code in markets if code not in list_supported_financial()]
        if unknown:
            raise ValueError(f"unknown market calendar {', '.join(unknown)} (a `holidays` financial code: XNYS, "
                             "XFED, XLON, ...)")
        return Calendar(str(data.get("name", path.stem)), bool(data.get("weekends", True)), extra, markets)
    except (OSError, tomllib.TOMLDecodeError, ValueError, TypeError) as exc:
        raise CalendarError(f"calendar {path}: {exc}") from None


def load_calendars(directory: Path) -> dict[str, Calendar]:
    """Every `*.toml` calendar in `directory`, by name."""
    calendars = [load_calendar(path) for path in sorted(directory.glob("*.toml"))]
    return {calendar.name: calendar for calendar in calendars}


class SettlementRules:
    """Settlement date of a trade from its instrument and trade date; cached per (instrument, trade date)."""

    def __init__(self, symbols: SymbolMaster, calendars: Mapping[str, Calendar],
                 by_asset_class: Mapping[AssetClass, str] = DEFAULT_CALENDARS) -> None:
        missing = sorted({name for name in by_asset_class.values() if name not in calendars})
        if missing:
            raise CalendarError(f"no calendar named {', '.join(missing)} (known: {', '.join(sorted(calendars))})")
        self._symbols = symbols
        self._calendars = dict(calendars)
        self._by_asset_class = dict(by_asset_class)
        self._cache: dict[tuple[str, date], date] = {}

    def settle_date(self, instrument_id: str, trade_date: date) -> date:
        """T+n on the asset class's calendar; an instrument unknown to the symbol master settles on its trade date."""
        key = (instrument_id, trade_date)
        found = self._cache.get(key)
        if found is None:
            try:
                instrument = self._symbols.get(instrument_id)
            except UnknownSymbolError:
                found = trade_date
            else:
                name = self._by_asset_class.get(instrument.asset_class)
                calendar = self._calendars.get(name or "") or _EVERY_DAY
                found = calendar.add_business_days(trade_date, instrument.settlement_cycle)
            self._cache[key] = found
        return found
