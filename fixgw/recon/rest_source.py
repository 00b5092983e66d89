"""A REST prime broker's side, read from its own fills and balances endpoints through the bridge adapters
(`fixgw/venues/bridge/<venue>/http.py`): the fills of every order we hold at the venue for the day, plus
(Coinbase Prime, FalconX) every order the venue lists for the day, so a trade we never heard of shows up.
Binance has no day listing in the bridge client: its side is the fills of our own orders only.
Balances (asset -> total, and the part held for open orders) feed the intraday drift check."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from fixgw.model.enums import OrdStatus, Side
from fixgw.model.errors import UnknownSymbolError
from fixgw.model.instruments import Instrument, SymbolMaster
from fixgw.recon.records import BrokerSide, Trade
from fixgw.recon.sources import Progress, ReconWindow, SourceError
from fixgw.store.recon import ReconStore
from fixgw.venues.bridge.common.adapter import VenueAdapter
from fixgw.venues.bridge.common.errors import BridgeError
from fixgw.venues.bridge.common.settings import RestVenueConfig
from fixgw.venues.bridge.common.views import VenueFill, VenueOrderView
from fixgw.venues.bridge.registry import build_rest_venue

_SIDES = {"BUY": Side.BUY, "SELL": Side.SELL, "buy": Side.BUY, "sell": Side.SELL}


@dataclass(frozen=True, slots=True)
class VenueOrderRef:
    """An order to ask the venue's fills of, with what a fill alone does not say."""

    venue_order_id: str
    client_order_id: str
    instrument: Instrument
    side: Side
    account: str | None = None


@dataclass(frozen=True, slots=True)
class Balances:
    total: dict[str, Decimal]
    held: dict[str, Decimal]
    """Part of the total reserved for open orders (the venue's margin usage)."""
    at: datetime


class RestSource:
    def __init__(self, section: RestVenueConfig, symbols: SymbolMaster, store: ReconStore) -> None:
        self.section = section
        self.symbols = symbols
        self.store = store
        self.venue = section.name
        self.kind = str(getattr(section, "kind", type(section).__name__))
        self.description = f"rest:{self.venue} ({self.kind} fills endpoints)"

    def load(self, window: ReconWindow, progress: Progress | None = None) -> BrokerSide:
        trades: list[Trade] = self._run(self._trades(window, progress))
        return BrokerSide(trades=trades, source=self.description)

    def balances(self) -> Balances:
        balances: Balances = self._run(self._balances())
        return balances

    # --- async part ---------------------------------------------------------------------------------------

    def _run(self, work: Any) -> Any:
        try:
            return asyncio.run(work)
        except BridgeError as exc:
            raise SourceError(f"{self.venue}: {exc}") from None

    def _adapter(self) -> VenueAdapter:
        return build_rest_venue(self.section, self.symbols).adapter

    async def _trades(self, window: ReconWindow, progress: Progress | None) -> list[Trade]:
        adapter = self._adapter()
        try:
            refs = {ref.venue_order_id: ref for ref in self._our_orders(window)}
            for ref in await self._listed_orders(adapter, window):
                refs.setdefault(ref.venue_order_id, ref)
            trades: list[Trade] = []
            for count, ref in enumerate(refs.values(), 1):
                view = VenueOrderView(ref.venue_order_id, ref.client_order_id, OrdStatus.NEW, Decimal(0))
                for fill in await adapter.fills(view, ref.instrument):
                    at = fill.time or window.start
                    if window.start <= at < window.end:
                        trades.append(self._trade(fill, ref, at))
                if progress is not None:
                    progress(count)
            return trades
        finally:
            await adapter.aclose()

    def _trade(self, fill: VenueFill, ref: VenueOrderRef, at: datetime) -> Trade:
        return Trade(fill.trade_id, ref.instrument.id, ref.side, fill.qty, fill.price, at.astimezone(UTC),
                     ref.account, ref.venue_order_id, fill.commission,
                     f"{self.kind} order {ref.venue_order_id} fill {fill.trade_id}")

    def _our_orders(self, window: ReconWindow) -> list[VenueOrderRef]:
        refs = []
        for order in self.store.orders_at_venue(self.venue, since=window.start, until=window.end):
            if not order.venue_order_id:
                continue
            try:
                instrument = self.symbols.get(order.instrument_id)
            except UnknownSymbolError:
                continue
            refs.append(VenueOrderRef(order.venue_order_id, order.venue_cl_ord_id or "", instrument, order.side,
                                      order.account))
        return refs

    async def _listed_orders(self, adapter: Any, window: ReconWindow) -> list[VenueOrderRef]:
        """The venue's own list of the day's orders, where its client has one."""
        http = getattr(adapter, "http", None)
        refs: list[VenueOrderRef] = []
        if self.kind == "coinbase_prime" and http is not None:
            for order in await http.list_orders(window.start):
                instrument = self._instrument(order.product_id)
                side = _SIDES.get(order.side)
                if instrument is not None and side is not None and order.filled_quantity > 0:
                    refs.append(VenueOrderRef(order.id, order.client_order_id, instrument, side))
        elif self.kind == "falconx" and http is not None:
            for answer in await http.list_orders(window.start, window.end):
                pair = answer.token_pair
                instrument = self._instrument(f"{pair.base_token}/{pair.quote_token}") if pair else None
                side = _SIDES.get(answer.side_executed or "")
                if instrument is not None and side is not None and answer.fx_quote_id and answer.is_filled:
                    refs.append(VenueOrderRef(answer.fx_quote_id, answer.client_order_id or "", instrument, side))
        return refs

    def _instrument(self, symbol: str) -> Instrument | None:
        try:
            return self.symbols.resolve(self.kind, symbol)
        except UnknownSymbolError:
            return None

    async def _balances(self) -> Balances:
        adapter = self._adapter()
        http: Any = getattr(adapter, "http", None)
        total: dict[str, Decimal] = {}
        held: dict[str, Decimal] = {}
        try:
            if self.kind == "coinbase_prime":
                for row in await http.balances():
                    total[row.symbol.upper()] = row.amount
                    held[row.symbol.upper()] = row.holds or Decimal(0)
            elif self.kind == "falconx":
                for row in await http.balances():
                    total[row.token.upper()] = total.get(row.token.upper(), Decimal(0)) + row.balance
            elif self.kind == "binance":
                for row in (await http.account()).balances:
                    total[row.asset.upper()] = row.free + row.locked
                    held[row.asset.upper()] = row.locked
            else:
                raise SourceError(f"{self.venue}: no balances endpoint known for {self.kind}")
        finally:
            await adapter.aclose()
        return Balances(total, held, datetime.now(UTC))
