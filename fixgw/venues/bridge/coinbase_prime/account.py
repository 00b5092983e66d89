"""Coinbase Prime account data for the margin engine: portfolio balances, the entity's margin information and
the portfolio's post-trade credit, read into one `AccountSnapshot`.

Wire facts relied on (Coinbase Prime REST reference, "Financing" and "Balances"), all signed like every Prime
request, every number a decimal string:
- `GET /v1/portfolios/{portfolio_id}/balances` -> `{"balances": [{"symbol": "btc", "amount", "holds", ...}],
  "type"}` (symbols may be lower case).
- `GET /v1/entities/{entity_id}/margin` -> `{"margin_information": {"margin_call_records": [{"margin_call_id",
  "initial_notional_amount", "outstanding_notional_amount", "created_at", "due_at"}], "margin_summary":
  {"entity_id", "margin_equity", "margin_requirement", "excess_deficit", "pm_credit_consumed", "tf_credit_limit",
  "tf_credit_consumed", "frozen", "frozen_reason", "tf_enabled", "pm_enabled", "market_rates": [{"symbol",
  "rate"}], "asset_balances": [{"portfolio_id", "symbol", "amount", "notional_amount", "conversion_rate"}],
  "tf_loans" / "pm_loans" / "short_collateral": [{"portfolio_id", "symbol", "amount", "notional_amount",
  "due_date"}]}}}` (portfolio margin products only).
- `GET /v1/portfolios/{portfolio_id}/credit` -> `{"post_trade_credit": {"portfolio_id", "currency", "limit",
  "utilized", "available", "frozen", "frozen_reason", "amounts_due": [{"currency", "amount", "due_date"}],
  "enabled", "adjusted_credit_utilized", "adjusted_portfolio_equity"}}`.
How we read them: holdings are the portfolio balances (a negative one, which Prime itself reports as a loan, counts
as borrowed only when no margin information came back); loans (pm_loans + tf_loans, in units of `symbol`) are
borrowed amounts; an open margin call is a record with a positive outstanding notional. Prime's margin equity,
requirement and excess are kept as reported, `market_rates` as the PB's marks; drift compares our equity computed
without haircuts with `margin_equity`. Prime publishes no borrow rate per asset here: interest uses our kink model.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from fixgw.model.margin import Balance, MarginMode, Pool, VenueAccount
from fixgw.model.margin_snapshot import AccountSnapshot
from fixgw.venues.bridge.coinbase_prime.http import CoinbasePrimeHttp
from fixgw.venues.bridge.common.errors import VenueProtocolError
from fixgw.venues.bridge.common.http import VenueRequest

SUMMARY_FIELDS = ("margin_equity", "margin_requirement", "excess_deficit", "pm_credit_consumed", "tf_credit_limit",
                  "tf_credit_consumed")
CREDIT_FIELDS = ("limit", "utilized", "available")


def _amount(venue: str, row: dict[str, Any], key: str) -> Decimal:
    try:
        return Decimal(str(row[key]))
    except (KeyError, ArithmeticError) as exc:
        raise VenueProtocolError(venue, f"margin: unreadable {key} in {row!r}: {exc}") from None


def parse_snapshot(venue: str, received_at: datetime, balances: dict[str, Any], margin: dict[str, Any] | None,
                   credit: dict[str, Any] | None, currency: str = "USD") -> AccountSnapshot:
    """The three answers as one snapshot (`margin` / `credit` None when the entity has no such product)."""
    held: dict[str, Decimal] = {}
    negative: dict[str, Decimal] = {}
    for row in balances.get("balances") or []:
        asset = str(row.get("symbol", "")).upper()
        amount = _amount(venue, row, "amount")
        held[asset] = held.get(asset, Decimal(0)) + max(amount, Decimal(0))
        negative[asset] = negative.get(asset, Decimal(0)) + max(-amount, Decimal(0))
    borrowed: dict[str, Decimal] = {} if margin else negative
    reported: dict[str, str] = {}
    margin_call = False
    info = (margin or {}).get("margin_information") or {}
    summary = info.get("margin_summary") or {}
    for key in ("pm_loans", "tf_loans"):
        for row in summary.get(key) or []:
            asset = str(row.get("symbol", "")).upper()
            borrowed[asset] = borrowed.get(asset, Decimal(0)) + _amount(venue, row, "amount")
    for key in SUMMARY_FIELDS:
        if summary.get(key) not in (None, ""):
            reported[key] = str(summary[key])
    if summary.get("frozen"):
        reported["frozen"] = str(summary.get("frozen_reason") or "true")
    calls = info.get("margin_call_records") or []
    outstanding = sum((_amount(venue, row, "outstanding_notional_amount") for row in calls), Decimal(0))
    if outstanding > 0:
        margin_call = True
        reported["margin_call_outstanding"] = str(outstanding)
    post_trade = (credit or {}).get("post_trade_credit") or {}
    for key in CREDIT_FIELDS:
        if post_trade.get(key) not in (None, ""):
            reported[f"credit_{key}"] = str(post_trade[key])
    if post_trade.get("frozen"):
        reported["credit_frozen"] = str(post_trade.get("frozen_reason") or "true")
    marks = {}
    for row in summary.get("market_rates") or []:
        try:   # the reference's own example writes "27,123": a thousands separator is tolerated
            marks[str(row["symbol"]).upper()] = Decimal(str(row["rate"]).replace(",", ""))
        except (KeyError, ArithmeticError):
            raise VenueProtocolError(venue, f"margin: unreadable market rate {row!r}") from None
    assets = sorted(set(held) | set(borrowed))
    pool = Pool("cross", tuple(Balance(asset, held.get(asset, Decimal(0)), borrowed.get(asset, Decimal(0)))
                               for asset in assets))
    account = VenueAccount(venue, currency, MarginMode.CROSS, (pool,), margin_call=margin_call)
    return AccountSnapshot(venue, received_at, account, reported, "margin_equity" if "margin_equity" in reported
                           else None, marks=marks)


async def fetch_snapshot(http: CoinbasePrimeHttp, entity_id: str, received_at: datetime) -> AccountSnapshot:
    """Balances always; the entity's margin when `entity_id` is set; the portfolio's credit."""
    balances = await http._get("/balances", "balances")
    margin = None
    if entity_id:
        margin = await http.client.send(VenueRequest("GET", f"/v1/entities/{entity_id}/margin", "entity_margin"))
    credit = await http._get("/credit", "portfolio_credit")
    return parse_snapshot(http.config.name, received_at, balances, margin, credit)


def account_reader(section: Any, symbols: Any = None) -> Any:
    """The venue plugin's `account` hook: (margin settings with entity_id, currency, margin_mode) -> (fetch, http);
    called on the margin service's loop, which owns the HTTP client."""

    def make(settings: Any) -> tuple[Any, CoinbasePrimeHttp]:
        http = CoinbasePrimeHttp(section)

        async def fetch(now: datetime) -> AccountSnapshot:
            snapshot = await fetch_snapshot(http, settings.entity_id, now)
            account = replace(snapshot.account, currency=settings.currency, mode=settings.margin_mode)
            return replace(snapshot, account=account)

        return fetch, http
    return make
