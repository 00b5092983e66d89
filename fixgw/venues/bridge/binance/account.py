"""Binance account data for the margin engine: the cross-margin account (or the isolated-margin accounts) and the
spot wallet, read into one `AccountSnapshot`.

Wire facts relied on (Binance Margin Trading API, "Query Cross Margin Account Details (USER_DATA)" and "Query
Isolated Margin Account Info (USER_DATA)"; spot "Account information"), all SIGNED, numbers as decimal strings:
- `GET /sapi/v1/margin/account` (weight 10) -> `{"borrowEnabled", "marginLevel", "totalAssetOfBtc",
  "totalLiabilityOfBtc", "totalNetAssetOfBtc", "TotalCollateralValueInUSDT", "accountType" ("MARGIN_1" classic,
  "MARGIN_2" pro), "tradeEnabled", "transferEnabled", "userAssets": [{"asset", "borrowed", "free", "interest",
  "locked", "netAsset"}]}`. marginLevel = total asset value / total liability value (no haircuts); "999" when
  nothing is owed.
- `GET /sapi/v1/margin/isolated/account` -> `{"assets": [{"symbol", "isolatedCreated", "marginLevel",
  "marginLevelStatus" (EXCESSIVE, NORMAL, MARGIN_CALL, PRE_LIQUIDATION, FORCE_LIQUIDATION), "marginRatio",
  "indexPrice", "liquidatePrice", "liquidateRate", "tradeEnabled", "baseAsset" / "quoteAsset": {"asset",
  "borrowEnabled", "borrowed", "free", "interest", "locked", "netAsset", "netAssetOfBtc", "repayEnabled",
  "totalAsset"}}], "totalAssetOfBtc", "totalLiabilityOfBtc", "totalNetAssetOfBtc"}`.
- `GET /api/v3/account` -> `{"balances": [{"asset", "free", "locked"}], ...}`: the spot wallet, which is not
  margin collateral at Binance (kept beside the snapshot, never counted).
Held = free + locked; borrowed and interest as reported. An isolated pair whose marginLevelStatus is MARGIN_CALL
or worse is a margin call. Binance reports no borrow rate in these answers: interest uses our kink model.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from fixgw.model.margin import Balance, MarginMode, Pool, VenueAccount
from fixgw.model.margin_snapshot import AccountSnapshot
from fixgw.venues.bridge.binance.http import BinanceHttp
from fixgw.venues.bridge.common.errors import VenueProtocolError
from fixgw.venues.bridge.common.http import VenueRequest

CROSS = "/sapi/v1/margin/account"
ISOLATED = "/sapi/v1/margin/isolated/account"
CALL_STATUSES = {"MARGIN_CALL", "PRE_LIQUIDATION", "FORCE_LIQUIDATION"}
CROSS_FIELDS = ("marginLevel", "totalAssetOfBtc", "totalLiabilityOfBtc", "totalNetAssetOfBtc",
                "TotalCollateralValueInUSDT", "accountType")


def _d(venue: str, row: dict[str, Any], key: str) -> Decimal:
    try:
        return Decimal(str(row.get(key) or "0"))
    except ArithmeticError:
        raise VenueProtocolError(venue, f"margin account: unreadable {key} in {row!r}") from None


def _balance(venue: str, row: dict[str, Any]) -> Balance:
    return Balance(str(row["asset"]).upper(), _d(venue, row, "free") + _d(venue, row, "locked"),
                   _d(venue, row, "borrowed"), _d(venue, row, "interest"))


def _nonzero(balance: Balance) -> bool:
    return bool(balance.held or balance.borrowed or balance.interest)


def parse_cross(venue: str, received_at: datetime, margin: dict[str, Any], spot: dict[str, Any] | None,
                currency: str = "USDT") -> AccountSnapshot:
    balances = tuple(b for b in (_balance(venue, row) for row in margin.get("userAssets") or []) if _nonzero(b))
    reported = {key: str(margin[key]) for key in CROSS_FIELDS if margin.get(key) not in (None, "")}
    if "marginLevel" in reported:
        reported["margin_level"] = reported["marginLevel"]
    account = VenueAccount(venue, currency, MarginMode.CROSS, (Pool("cross", balances),))
    return AccountSnapshot(venue, received_at, account, reported, "margin_level", _spot(venue, spot))


def parse_isolated(venue: str, received_at: datetime, isolated: dict[str, Any], spot: dict[str, Any] | None,
                   currency: str = "USDT") -> AccountSnapshot:
    pools = []
    reported: dict[str, str] = {}
    margin_call = False
    for pair in isolated.get("assets") or []:
        symbol = str(pair["symbol"])
        sides = tuple(_balance(venue, pair[key]) for key in ("baseAsset", "quoteAsset"))
        pools.append(Pool(symbol, tuple(b for b in sides if _nonzero(b))))
        status = str(pair.get("marginLevelStatus") or "")
        reported[f"{symbol}.marginLevel"] = str(pair.get("marginLevel") or "")
        reported[f"{symbol}.marginLevelStatus"] = status
        margin_call = margin_call or status in CALL_STATUSES
    for key in ("totalAssetOfBtc", "totalLiabilityOfBtc", "totalNetAssetOfBtc"):
        if isolated.get(key) not in (None, ""):
            reported[key] = str(isolated[key])
    account = VenueAccount(venue, currency, MarginMode.ISOLATED, tuple(pools), margin_call=margin_call)
    return AccountSnapshot(venue, received_at, account, reported, None, _spot(venue, spot))


def _spot(venue: str, spot: dict[str, Any] | None) -> dict[str, Decimal]:
    held = {}
    for row in (spot or {}).get("balances") or []:
        amount = _d(venue, row, "free") + _d(venue, row, "locked")
        if amount:
            held[str(row["asset"]).upper()] = amount
    return held


async def fetch_snapshot(http: BinanceHttp, mode: MarginMode, received_at: datetime,
                         currency: str = "USDT") -> AccountSnapshot:
    spot = await http.client.send(VenueRequest("GET", "/api/v3/account", "account"))
    if mode is MarginMode.ISOLATED:
        isolated = await http.client.send(VenueRequest("GET", ISOLATED, "isolated_margin_account"))
        return parse_isolated(http.config.name, received_at, isolated, spot, currency)
    margin = await http.client.send(VenueRequest("GET", CROSS, "margin_account"))
    return parse_cross(http.config.name, received_at, margin, spot, currency)


def account_reader(section: Any, symbols: Any = None) -> Any:
    """The venue plugin's `account` hook: (margin settings with currency, margin_mode) -> (fetch, http)."""

    def make(settings: Any) -> tuple[Any, BinanceHttp]:
        http = BinanceHttp(section)

        async def fetch(now: datetime) -> AccountSnapshot:
            return await fetch_snapshot(http, settings.margin_mode, now, settings.currency)

        return fetch, http
    return make
