"""FalconX account data for the margin engine: balances, read into an `AccountSnapshot`.

Wire facts relied on (FalconX REST API, "Get Balances"), signed like every FalconX request:
- `GET /v1/balances` -> `[{"balance": 187.62, "token": "USD", "platform": "api"}]`: JSON numbers, read as Decimal
  from the JSON text (never through float); a negative balance is an amount owed to FalconX.
FalconX's public documentation lists a "Get trade limits" endpoint but no margin requirement, margin equity or
borrow rate per asset: nothing here is compared with a FalconX-reported margin figure (no drift), and interest
uses our kink model.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from fixgw.model.margin import Balance, MarginMode, Pool, VenueAccount
from fixgw.model.margin_snapshot import AccountSnapshot
from fixgw.venues.bridge.falconx.http import FalconXHttp
from fixgw.venues.bridge.falconx.schemas import Balance as WireBalance


def parse_snapshot(venue: str, received_at: datetime, rows: Iterable[WireBalance],
                   currency: str = "USD") -> AccountSnapshot:
    net: dict[str, Decimal] = {}
    for row in rows:
        asset = row.token.upper()
        net[asset] = net.get(asset, Decimal(0)) + row.balance
    balances = tuple(Balance(asset, max(amount, Decimal(0)), max(-amount, Decimal(0)))
                     for asset, amount in sorted(net.items()) if amount)
    account = VenueAccount(venue, currency, MarginMode.CROSS, (Pool("cross", balances),))
    return AccountSnapshot(venue, received_at, account)


async def fetch_snapshot(http: FalconXHttp, received_at: datetime) -> AccountSnapshot:
    return parse_snapshot(http.config.name, received_at, await http.balances())


def account_reader(section: Any, symbols: Any = None) -> Any:
    """The venue plugin's `account` hook: (margin settings with currency, margin_mode) -> (fetch, http)."""

    def make(settings: Any) -> tuple[Any, FalconXHttp]:
        http = FalconXHttp(section)

        async def fetch(now: datetime) -> AccountSnapshot:
            snapshot = await fetch_snapshot(http, now)
            account = replace(snapshot.account, currency=settings.currency, mode=settings.margin_mode)
            return replace(snapshot, account=account)

        return fetch, http
    return make
