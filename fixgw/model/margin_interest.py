"""Interest on borrowed balances (the venue's reported rate, else the asset's utilization kink model) and drift
of our figures against what a prime broker reports, each computed the PB's documented way. Pure: Decimal only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from fixgw.model.margin import Pool, Valuation, VenueAccount
from fixgw.model.margin_haircuts import MarginTable

_ZERO = Decimal(0)
_HUNDRED = Decimal(100)
_YEAR_DAYS = Decimal(365)


@dataclass(frozen=True, slots=True)
class InterestAccrual:
    asset: str
    borrowed: Decimal
    annual_rate: Decimal
    source: Literal["venue", "model", "none"]
    accrued: Decimal
    """Interest for the period, in units of the asset."""


def accrue_interest(account: VenueAccount, table: MarginTable, days: Decimal = Decimal(1)) -> list[InterestAccrual]:
    """Interest over `days` on every borrowed balance of the account (simple interest on the principal)."""
    borrowed: dict[str, Decimal] = {}
    for pool in account.pools:
        for balance in pool.balances:
            if balance.borrowed:
                borrowed[balance.asset] = borrowed.get(balance.asset, _ZERO) + balance.borrowed
    accruals = []
    for asset, principal in sorted(borrowed.items()):
        rate: Decimal
        source: Literal["venue", "model", "none"]
        if asset in account.borrow_rates:
            rate, source = account.borrow_rates[asset], "venue"
        elif (kink := table.rule(asset).interest) is not None:
            rate, source = kink.annual_rate(kink.utilization(principal)), "model"
        else:
            rate, source = _ZERO, "none"
        accruals.append(InterestAccrual(asset, principal, rate, source, principal * rate * days / _YEAR_DAYS))
    return accruals


def drift_pct(ours: Decimal | None, theirs: Decimal | None) -> Decimal | None:
    """|ours - theirs| in % of |theirs|; None when either is missing or theirs is 0."""
    if ours is None or theirs is None or not theirs:
        return None
    return abs(ours - theirs) * _HUNDRED / abs(theirs)


def gross_assets_and_liabilities(pools: tuple[Pool, ...], currency: str,
                                 valuation: Valuation) -> tuple[Decimal, Decimal]:
    """Assets and liabilities at reference prices WITHOUT haircuts (how Binance and Coinbase state them)."""
    assets = liabilities = _ZERO
    for pool in pools:
        for balance in pool.balances:
            price = valuation.price(balance.asset, currency)
            assets += max(balance.held, _ZERO) * price
            liabilities += (balance.borrowed + balance.interest + max(-balance.held, _ZERO)) * price
    return assets, liabilities


def pb_way(account: VenueAccount, valuation: Valuation, reported: Mapping[str, str],
           measure: str) -> tuple[Decimal | None, Decimal | None]:
    """(ours, theirs) for the PB's headline `measure`, computed its way:
    - `margin_level` (Binance): total asset value / total liability value, no haircuts;
    - `margin_equity` (Coinbase Prime) / `total_net_value` (FIX CollateralReport): asset value less loans and
      shorts, no haircuts."""
    assets, liabilities = gross_assets_and_liabilities(account.pools, account.currency, valuation)
    theirs_text = reported.get(measure)
    theirs = Decimal(theirs_text) if theirs_text not in (None, "") else None
    if measure == "margin_level":
        return (assets / liabilities if liabilities else None), theirs
    if measure in ("margin_equity", "total_net_value"):   # Coinbase; a FIX broker's CollateralReport TotalNetValue
        return assets - liabilities, theirs
    raise ValueError(f"unknown PB measure {measure!r}")
