"""A venue's side read from its own record through its plugin's recon reader (`VenuePlugin.recon_reader`, e.g.
the REST bridge's fills and balances endpoints): the fills of every order we hold at the venue for the day,
plus every filled order the venue lists for the day where it has such a listing, so a trade we never heard of
shows up. Balances (asset -> total, and the part held for open orders) feed the intraday drift check."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from fixgw.model.enums import Side
from fixgw.model.errors import UnknownSymbolError
from fixgw.model.instruments import Instrument, SymbolMaster
from fixgw.recon.records import BrokerSide, Trade
from fixgw.recon.sources import Progress, ReconWindow, SourceError
from fixgw.store.recon import ReconStore
from fixgw.venues.bridge.common.views import VenueFill
from fixgw.venues.plugin import ReconReader, VenueReadError, VenueSection
from fixgw.venues.registry import plugin_for


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


def has_own_record(section: VenueSection) -> bool:
    """True when the venue's kind can be read for reconciliation (`source = "rest"`) and the drift check."""
    return plugin_for(section.kind).recon_reader is not None


class RestSource:
    def __init__(self, section: VenueSection, symbols: SymbolMaster, store: ReconStore) -> None:
        reader = plugin_for(section.kind).recon_reader
        if reader is None:
            raise SourceError(f"{section.name}: a {section.kind} venue has no record of its own to read")
        self.section = section
        self.symbols = symbols
        self.store = store
        self.venue = section.name
        self.kind = section.kind
        self.description = f"rest:{self.venue} ({self.kind} fills endpoints)"
        self._reader = reader

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
        except VenueReadError as exc:
            raise SourceError(f"{self.venue}: {exc}") from None

    def _open(self) -> ReconReader:
        return self._reader(self.section, self.symbols)

    async def _trades(self, window: ReconWindow, progress: Progress | None) -> list[Trade]:
        reader = self._open()
        try:
            refs = {ref.venue_order_id: ref for ref in self._our_orders(window)}
            for listed in await reader.listed_orders(window.start, window.end):
                refs.setdefault(listed.venue_order_id, VenueOrderRef(listed.venue_order_id, listed.client_order_id,
                                                                     listed.instrument, listed.side))
            trades: list[Trade] = []
            for count, ref in enumerate(refs.values(), 1):
                for fill in await reader.fills(ref.venue_order_id, ref.client_order_id, ref.instrument):
                    at = fill.time or window.start
                    if window.start <= at < window.end:
                        trades.append(self._trade(fill, ref, at))
                if progress is not None:
                    progress(count)
            return trades
        finally:
            await reader.aclose()

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

    async def _balances(self) -> Balances:
        reader = self._open()
        try:
            balances = await reader.balances()
        finally:
            await reader.aclose()
        return Balances(balances.total, balances.held, datetime.now(UTC))
