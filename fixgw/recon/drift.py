"""Intraday drift: our holdings at a venue against the venue's own balances, valued at the reference prices.

Ours = a baseline of the venue's balances (taken when none exists, and again after every clean end-of-day
run) plus the cash flows of our fills since; margin usage = what our open orders hold (buys: leaves x price in
the quote currency; sells: leaves in the base currency) against what the venue says it holds. When the value
of the differences exceeds `threshold_pct` of the portfolio's value there, trading is paused through the risk
engine's kill switch (`fixgw.risk.control.write_switch`: every gateway on the journal applies it within a
second) and an alert is logged (`alert`, kind=recon_drift). Assets without a price that drift count as a breach
(their size cannot be bounded). With `compare_margin`, the margin service's drift of its margin figure against
the PB's own (journal state `margin.last`, README "Margin and collateral") beyond `threshold_pct` is a breach too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from fixgw.logs import get_logger
from fixgw.model.decimals import fmt_decimal
from fixgw.model.enums import Side
from fixgw.model.errors import UnknownSymbolError
from fixgw.model.instruments import SymbolMaster
from fixgw.model.state import Order
from fixgw.recon.matching import cash_from_trades
from fixgw.recon.records import Trade
from fixgw.recon.rest_source import Balances
from fixgw.store.journal import Journal
from fixgw.store.recon import ReconStore

log = get_logger("fixgw.recon.drift")

ALERT_KIND = "recon_drift"
BASELINE_PREFIX = "recon.drift_baseline:"
WHO = "recon-drift"
HUNDRED = Decimal(100)
ZERO = Decimal(0)


@dataclass(slots=True)
class DriftReading:
    venue: str
    portfolio_value: Decimal
    drift_value: Decimal
    drift_pct: Decimal
    threshold_pct: Decimal
    drifts: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)
    """Asset -> (ours, the venue's) where they differ (holdings, and `held:<asset>` for margin usage)."""
    unpriced: list[str] = field(default_factory=list)
    margin_drift_pct: Decimal | None = None
    """The margin service's drift of our margin figure (computed the PB's way) against the PB's own, in %."""

    @property
    def breached(self) -> bool:
        margin = self.margin_drift_pct is not None and self.margin_drift_pct > self.threshold_pct
        return self.drift_pct > self.threshold_pct or bool(self.unpriced) or margin

    def describe(self) -> str:
        parts = [f"{asset} {fmt_decimal(ours)} here vs {fmt_decimal(theirs)} at the venue"
                 for asset, (ours, theirs) in sorted(self.drifts.items())]
        if self.margin_drift_pct is not None:
            parts.append(f"margin figure {fmt_decimal(self.margin_drift_pct)}% from the PB's own")
        return (f"drift {fmt_decimal(self.drift_pct.quantize(Decimal('0.0001')))}% of "
                f"{fmt_decimal(self.portfolio_value.quantize(Decimal('0.01')))} (threshold "
                f"{fmt_decimal(self.threshold_pct)}%): " + ("; ".join(parts) or "none"))


def measure(venue: str, ours: Mapping[str, Decimal], theirs: Mapping[str, Decimal], prices: Mapping[str, Decimal],
            threshold_pct: Decimal, *, ours_held: Mapping[str, Decimal] | None = None,
            theirs_held: Mapping[str, Decimal] | None = None) -> DriftReading:
    """Pure: the value of every difference, as a percentage of the venue's portfolio value."""
    reading = DriftReading(venue, ZERO, ZERO, ZERO, threshold_pct)
    pairs = [(asset, ours.get(asset, ZERO), theirs.get(asset, ZERO)) for asset in sorted(set(ours) | set(theirs))]
    if theirs_held is not None and ours_held is not None:
        pairs += [(f"held:{asset}", ours_held.get(asset, ZERO), theirs_held.get(asset, ZERO))
                  for asset in sorted(set(ours_held) | set(theirs_held))]
    for asset, amount in theirs.items():
        price = prices.get(asset)
        if price is not None:
            reading.portfolio_value += abs(amount) * price
    for key, mine, venue_amount in pairs:
        if mine == venue_amount:
            continue
        reading.drifts[key] = (mine, venue_amount)
        price = prices.get(key.removeprefix("held:"))
        if price is None:
            reading.unpriced.append(key)
        else:
            reading.drift_value += abs(mine - venue_amount) * price
    if reading.portfolio_value > 0:
        reading.drift_pct = reading.drift_value * HUNDRED / reading.portfolio_value
    elif reading.drift_value > 0:
        reading.drift_pct = HUNDRED
    return reading


def held_by_orders(orders: list[Order], symbols: SymbolMaster) -> dict[str, Decimal]:
    """What our open orders reserve: buys leaves x limit price in the quote currency, sells leaves in the base."""
    held: dict[str, Decimal] = {}
    for order in orders:
        if not order.is_open:
            continue
        try:
            instrument = symbols.get(order.instrument_id)
        except UnknownSymbolError:
            continue
        leaves = order.leaves_qty
        if order.side is Side.BUY:
            if order.price is not None:
                held[instrument.currency] = held.get(instrument.currency, ZERO) + leaves * order.price
        elif instrument.base_currency:
            held[instrument.base_currency] = held.get(instrument.base_currency, ZERO) + leaves
    return held


def asset_prices(symbols: SymbolMaster, last_prices: Mapping[str, Decimal], quote: str = "USD") -> dict[str, Decimal]:
    """A price in `quote` per asset: the quote itself at 1, each base currency at its instrument's last fill."""
    prices = {quote: Decimal(1)}
    for instrument_id, price in last_prices.items():
        try:
            instrument = symbols.get(instrument_id)
        except UnknownSymbolError:
            continue
        if instrument.base_currency and instrument.currency == quote:
            prices[instrument.base_currency] = price
    return prices


class DriftCheck:
    """One venue's drift check against a balances source (`RestSource.balances`)."""

    def __init__(self, journal: Journal, symbols: SymbolMaster, threshold_pct: Decimal, *, pause: bool = True,
                 compare_margin: bool = True) -> None:
        self.journal = journal
        self.store = ReconStore(journal)
        self.symbols = symbols
        self.threshold_pct = threshold_pct
        self.pause = pause
        self.compare_margin = compare_margin

    def baseline(self, venue: str) -> Balances | None:
        text = self.journal.get_state(f"{BASELINE_PREFIX}{venue}")
        if text is None:
            return None
        data = json.loads(text)
        return Balances({k: Decimal(v) for k, v in data["total"].items()},
                        {k: Decimal(v) for k, v in data.get("held", {}).items()}, datetime.fromisoformat(data["at"]))

    def set_baseline(self, venue: str, balances: Balances) -> None:
        self.store.put_state({f"{BASELINE_PREFIX}{venue}": json.dumps({
            "at": balances.at.isoformat(), "total": {k: fmt_decimal(v) for k, v in balances.total.items()},
            "held": {k: fmt_decimal(v) for k, v in balances.held.items()}}, sort_keys=True)})

    def check(self, venue: str, now: Balances, *, scope: str | None = None) -> DriftReading | None:
        """Compare; None when this set the first baseline. A breach pauses `scope` (default venue:<venue>)."""
        baseline = self.baseline(venue)
        if baseline is None:
            self.set_baseline(venue, now)
            log.info("recon.drift_baseline", venue=venue, at=now.at.isoformat())
            return None
        voided = self.store.voided_exec_ids(venue=venue, since=baseline.at)
        trades = [Trade(row.exec_id, row.instrument_id, Side(row.side), row.qty, row.price, row.at,
                        commission=row.commission)
                  for row in self.store.iter_fills(venue=venue, since=baseline.at) if row.exec_id not in voided]
        ours = cash_from_trades(trades, self._legs, baseline.total)
        prices = self.prices()
        ours_held = theirs_held = None
        if self.compare_margin and now.held:
            open_orders = [o for o in self.journal.load_orders(open_only=True) if o.venue == venue]
            ours_held, theirs_held = held_by_orders(open_orders, self.symbols), now.held
        reading = measure(venue, ours, now.total, prices, self.threshold_pct, ours_held=ours_held,
                          theirs_held=theirs_held)
        if self.compare_margin:
            reading.margin_drift_pct = self._margin_drift(venue)
        bound = log.bind(venue=venue, drift_pct=str(reading.drift_pct), threshold_pct=str(self.threshold_pct))
        if not reading.breached:
            bound.info("recon.drift_ok", drifts=len(reading.drifts))
            return reading
        paused = self._pause(scope or f"venue:{venue}", reading) if self.pause else None
        bound.warning("alert", kind=ALERT_KIND, scope=scope or f"venue:{venue}", paused=paused is not None,
                      message=f"{venue}: {reading.describe()}", unpriced=reading.unpriced)
        return reading

    def _margin_drift(self, venue: str) -> Decimal | None:
        """The venue's margin drift as the margin service last journaled it (README "Margin and collateral")."""
        from fixgw.margin.service import read_last

        figures = (read_last(self.journal) or {}).get("venues", {}).get(venue) or {}
        return Decimal(figures["drift_pct"]) if figures.get("drift_pct") is not None else None

    def prices(self) -> dict[str, Decimal]:
        """Per asset: the newest journaled reference price (market data, README "Reference prices and P&L"),
        else the last fill's price where no reference was ever journaled for the instrument."""
        from fixgw.store.references import latest_reference_prices

        return asset_prices(self.symbols, {**self.store.last_fill_prices(), **latest_reference_prices(self.journal)})

    def _legs(self, instrument_id: str) -> tuple[str, str | None, Decimal]:
        try:
            instrument = self.symbols.get(instrument_id)
        except UnknownSymbolError:
            return "UNKNOWN", None, Decimal(1)
        return instrument.currency, instrument.base_currency, Decimal(1)

    def _pause(self, scope: str, reading: DriftReading) -> str | None:
        """Set the kill switch for `scope` unless it is already set; returns the scope when set now."""
        from fixgw.risk.control import read_switches, write_switch
        from fixgw.risk.switches import KILL, new_switch

        if any(s.kind == KILL and s.active and s.scope == scope for s in read_switches(self.journal)):
            return None
        write_switch(self.journal, new_switch(KILL, scope, True, who=WHO,
                                              reason=f"reconciliation drift: {reading.describe()}"[:500]))
        log.warning("recon.drift_paused", scope=scope)
        return scope
