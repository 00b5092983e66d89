"""Instruments and the symbol master: one canonical instrument, each counterparty's symbol for it."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from fixgw.model.decimals import Dec
from fixgw.model.enums import AssetClass
from fixgw.model.errors import UnknownSymbolError

# SecurityIDSource(22) codes we resolve.
SECURITY_ID_SOURCES = {"1": "cusip", "2": "sedol", "4": "isin", "8": "exchange", "A": "bloomberg", "5": "ric"}

DEFAULT_SETTLEMENT_DAYS: Mapping[AssetClass, int] = {
    AssetClass.EQUITY: 1,
    AssetClass.ETF: 1,
    AssetClass.OPTION: 1,
    AssetClass.FUTURE: 0,
    AssetClass.SPOT_FX: 2,
    AssetClass.FIXED_INCOME: 1,
    AssetClass.CRYPTO_SPOT: 0,
}


class Instrument(BaseModel):
    """A tradable instrument, identified canonically (e.g. "BTC/USD", "AAPL", "US91282CJL54")."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1)
    asset_class: AssetClass
    currency: str = Field(min_length=3, max_length=5)
    base_currency: str | None = None
    tick_size: Dec
    lot_size: Dec
    min_qty: Dec | None = None
    settlement_days: int | None = Field(default=None, ge=0, le=30)
    security_ids: dict[str, str] = Field(default_factory=dict)
    """Identifiers by kind: {"isin": "...", "cusip": "..."}."""
    symbols: dict[str, str] = Field(default_factory=dict)
    """Symbol by scheme: {"coinbase_prime": "BTC-USD", "binance": "BTCUSDT", "kraken": "XBT/USD", ...}."""

    @model_validator(mode="after")
    def _positive_increments(self) -> Instrument:
        if self.tick_size <= 0 or self.lot_size <= 0:
            raise ValueError(f"{self.id}: tick_size and lot_size must be positive")
        return self

    @property
    def settlement_cycle(self) -> int:
        """Business days to settlement (T+n), from the instrument or its asset class."""
        if self.settlement_days is not None:
            return self.settlement_days
        return DEFAULT_SETTLEMENT_DAYS[self.asset_class]

    def symbol_for(self, scheme: str) -> str:
        return self.symbols.get(scheme) or self.id


class SymbolMaster:
    """Resolves counterparty symbols and security ids to canonical instruments, and back."""

    def __init__(self, instruments: Iterable[Instrument]) -> None:
        self._by_id: dict[str, Instrument] = {}
        self._by_symbol: dict[tuple[str, str], Instrument] = {}
        self._by_security_id: dict[tuple[str, str], Instrument] = {}
        for instrument in instruments:
            if instrument.id in self._by_id:
                raise ValueError(f"instrument {instrument.id!r} is defined twice")
            self._by_id[instrument.id] = instrument
            self._by_symbol[("canonical", instrument.id)] = instrument
            for scheme, symbol in instrument.symbols.items():
                key = (scheme, symbol)
                if key in self._by_symbol and self._by_symbol[key] is not instrument:
                    raise ValueError(f"symbol {symbol!r} of scheme {scheme!r} maps to two instruments")
                self._by_symbol[key] = instrument
            for kind, value in instrument.security_ids.items():
                self._by_security_id[(kind, value)] = instrument

    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self) -> Any:
        return iter(self._by_id.values())

    def get(self, instrument_id: str) -> Instrument:
        try:
            return self._by_id[instrument_id]
        except KeyError:
            raise UnknownSymbolError("canonical", instrument_id) from None

    def resolve(self, scheme: str, symbol: str, *, counterparty: str | None = None) -> Instrument:
        """The instrument a counterparty means by `symbol` in its `scheme` (falls back to canonical ids)."""
        found = self._by_symbol.get((scheme, symbol)) or self._by_symbol.get(("canonical", symbol))
        if found is None:
            raise UnknownSymbolError(scheme, symbol, counterparty=counterparty)
        return found

    def resolve_security_id(self, source: str, security_id: str, *, counterparty: str | None = None) -> Instrument:
        """Resolve SecurityID(48) with SecurityIDSource(22) (e.g. "4" = ISIN, "1" = CUSIP)."""
        kind = SECURITY_ID_SOURCES.get(source, source)
        found = self._by_security_id.get((kind, security_id))
        if found is None:
            raise UnknownSymbolError(f"SecurityIDSource={source}", security_id, ref_tag_id=48,
                                     counterparty=counterparty)
        return found

    @classmethod
    def from_toml(cls, text: str) -> SymbolMaster:
        data = tomllib.loads(text)
        return cls(Instrument.model_validate(row) for row in data.get("instrument", []))
