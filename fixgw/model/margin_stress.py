"""Stress and delta of venue accounts: price shocks to all or single assets and a volatility shock that raises
haircuts, each revalued with the margin engine; delta per asset (spot and linear perpetuals: the net quantity).
Pure: Decimal only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal

from fixgw.model.margin import AccountFigures, Thresholds, Valuation, VenueAccount, account_figures

_ONE = Decimal(1)
_HUNDRED = Decimal(100)
ALL_ASSETS = "*"


@dataclass(frozen=True, slots=True)
class Shock:
    """Price moves in % per asset (`*` = every non-cash asset not named) and a volatility multiplier."""

    name: str
    moves_pct: Mapping[str, Decimal]
    vol_multiplier: Decimal = _ONE

    def apply(self, valuation: Valuation, currency: str) -> Valuation:
        prices: dict[str, Decimal] = {}
        for asset, price in valuation.prices.items():
            if asset == currency or valuation.rule(asset).cash:
                prices[asset] = price
                continue
            move = self.moves_pct.get(asset, self.moves_pct.get(ALL_ASSETS, Decimal(0)))
            prices[asset] = price * (_ONE + move / _HUNDRED)
        return replace(valuation, prices=prices, vol_multiplier=valuation.vol_multiplier * self.vol_multiplier)


DEFAULT_SHOCKS = (
    Shock("all -10%", {ALL_ASSETS: Decimal(-10)}),
    Shock("all -20%", {ALL_ASSETS: Decimal(-20)}),
    Shock("all -30%", {ALL_ASSETS: Decimal(-30)}),
    Shock("volatility x2", {}, Decimal(2)),
)


def parse_shock(text: str) -> Shock:
    """`-20%` (every asset), `BTC:-30%`, `vol:x2` or several joined by commas."""
    moves: dict[str, Decimal] = {}
    multiplier = _ONE
    for part in (piece.strip() for piece in text.split(",") if piece.strip()):
        asset, _, amount = part.rpartition(":")
        if asset.lower() == "vol":
            multiplier = Decimal(amount.lstrip("xX"))
            continue
        moves[asset.upper() or ALL_ASSETS] = Decimal(amount.rstrip("%"))
    return Shock(text, moves, multiplier)


@dataclass(frozen=True, slots=True)
class StressResult:
    shock: Shock
    accounts: tuple[AccountFigures, ...]


def stress(accounts: Iterable[VenueAccount], valuations: Mapping[str, Valuation], shocks: Iterable[Shock],
           thresholds: Mapping[str, Thresholds]) -> list[StressResult]:
    """Every account revalued under every shock (valuations and thresholds keyed by venue)."""
    book = list(accounts)
    results = []
    for shock in shocks:
        shocked = tuple(account_figures(account, shock.apply(valuations[account.venue], account.currency),
                                        thresholds.get(account.venue, Thresholds()))
                        for account in book)
        results.append(StressResult(shock, shocked))
    return results


@dataclass(frozen=True, slots=True)
class Delta:
    asset: str
    quantity: Decimal
    notional: Decimal


def deltas(accounts: Iterable[VenueAccount], valuations: Mapping[str, Valuation]) -> list[Delta]:
    """Net quantity and its value per non-cash asset over all accounts (a linear instrument's delta is its
    quantity; options are not modelled)."""
    quantity: dict[str, Decimal] = {}
    notional: dict[str, Decimal] = {}
    for account in accounts:
        valuation = valuations[account.venue]
        for pool in account.pools:
            for balance in pool.balances:
                if balance.asset == account.currency or valuation.rule(balance.asset).cash:
                    continue
                price = valuation.price(balance.asset, account.currency)
                quantity[balance.asset] = quantity.get(balance.asset, Decimal(0)) + balance.net
                notional[balance.asset] = notional.get(balance.asset, Decimal(0)) + balance.net * price
    return [Delta(asset, quantity[asset], notional[asset]) for asset in sorted(quantity)]
