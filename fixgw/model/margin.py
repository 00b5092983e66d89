"""The margin engine: collateral, liabilities, equity, requirements, margin ratio, excess, liquidation distance
and margin state of a venue account, from its balances, reference prices and the haircut table (README "Margin
and collateral"). Pure: Decimal only, no I/O, no clock.

Per pool (the whole account in cross mode, one position and the collateral assigned to it in isolated mode),
with price p (in the account currency) and haircut h per asset:
  C = sum of held quantity x p x (1 - h)        L = (borrowed + accrued interest + short quantity) x p
  E = C - L    M (I) = sum over non-cash assets of |net quantity| x p x maintenance (initial) rate
  ratio = E / M (None when M = 0)    excess = E - M
  liquidation distance = the smallest uniform move of every non-cash price, up or down, that brings the ratio
  to 1, found by a grid scan then bisection (the book may be long some assets and short others).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import StrEnum

from fixgw.model.margin_haircuts import AssetRule, MarginTable

_ZERO = Decimal(0)
_ONE = Decimal(1)
_HUNDRED = Decimal(100)
_GRID_STEP = Decimal("0.05")
_UP_LIMIT = Decimal(10)
"""Prices are searched from 0 to 10x: a liquidation beyond a tenfold rise is reported as none."""
_BISECT_ROUNDS = 80


class MarginMode(StrEnum):
    CROSS = "cross"
    ISOLATED = "isolated"


class MarginState(StrEnum):
    OK = "ok"
    WARN = "warn"
    REDUCE_ONLY = "reduce_only"
    CRITICAL = "critical"


STATE_ORDER = (MarginState.OK, MarginState.WARN, MarginState.REDUCE_ONLY, MarginState.CRITICAL)


class MissingPrice(LookupError):
    """A non-cash asset in the book has no reference price: its account cannot be valued (never guessed)."""

    def __init__(self, asset: str) -> None:
        super().__init__(f"no reference price for {asset}")
        self.asset = asset


@dataclass(frozen=True, slots=True)
class Balance:
    """One asset in a pool: `held` is the signed position (negative = a short position), `borrowed` the loan
    principal and `interest` the accrued interest, both in units of the asset."""

    asset: str
    held: Decimal
    borrowed: Decimal = _ZERO
    interest: Decimal = _ZERO

    @property
    def net(self) -> Decimal:
        return self.held - self.borrowed - self.interest


@dataclass(frozen=True, slots=True)
class Pool:
    name: str
    balances: tuple[Balance, ...]


@dataclass(frozen=True, slots=True)
class VenueAccount:
    """One venue account's book as the venue reported it (and our fills updated it)."""

    venue: str
    currency: str
    mode: MarginMode
    pools: tuple[Pool, ...]
    margin_call: bool = False
    """The venue reports an open margin call: the state is critical whatever the ratio."""
    borrow_rates: Mapping[str, Decimal] = field(default_factory=dict)
    """Annual borrow rates the venue reported per asset (interest uses them before the kink model)."""


@dataclass(frozen=True, slots=True)
class Valuation:
    """What the engine values a book with: reference prices in the account currency, daily realized volatility
    per asset (for scaled haircuts) and the haircut table."""

    prices: Mapping[str, Decimal]
    table: MarginTable
    sigmas: Mapping[str, Decimal] = field(default_factory=dict)
    vol_multiplier: Decimal = _ONE
    default_class: str = "crypto"
    """The asset class of assets the table does not list (a FIX equities broker: equity)."""

    def rule(self, asset: str) -> AssetRule:
        return self.table.rule(asset, self.default_class)

    def price(self, asset: str, currency: str) -> Decimal:
        if asset == currency:
            return _ONE
        found = self.prices.get(asset)
        if found is None:
            raise MissingPrice(asset)
        return found

    def haircut(self, asset: str) -> Decimal:
        return self.rule(asset).haircut_for(self.sigmas.get(asset), self.vol_multiplier)

    def moved(self, factor: Decimal, currency: str) -> Valuation:
        """Every non-cash price times `factor` (cash stays at face value)."""
        moved = {asset: (price if asset == currency or self.rule(asset).cash else price * factor)
                 for asset, price in self.prices.items()}
        return replace(self, prices=moved)


@dataclass(frozen=True, slots=True)
class AssetLine:
    asset: str
    quantity: Decimal
    """Net quantity: held - borrowed - interest."""
    price: Decimal
    haircut: Decimal
    value: Decimal
    """Collateral value of what is held less the liability of what is owed, at p (haircut on holdings only)."""


@dataclass(frozen=True, slots=True)
class Figures:
    name: str
    collateral_value: Decimal
    liabilities: Decimal
    requirement_initial: Decimal
    requirement_maintenance: Decimal
    assets: tuple[AssetLine, ...] = ()
    liquidation_move_pct: Decimal | None = None
    """The uniform price move (signed %, negative = down) that brings the ratio to 1; None: none does."""

    @property
    def liquidation_distance_pct(self) -> Decimal | None:
        return None if self.liquidation_move_pct is None else abs(self.liquidation_move_pct)

    @property
    def equity(self) -> Decimal:
        return self.collateral_value - self.liabilities

    @property
    def excess(self) -> Decimal:
        return self.equity - self.requirement_maintenance

    @property
    def margin_ratio(self) -> Decimal | None:
        if not self.requirement_maintenance:
            return None
        return self.equity / self.requirement_maintenance


@dataclass(frozen=True, slots=True)
class AccountFigures:
    venue: str
    mode: MarginMode
    state: MarginState
    total: Figures
    """Sums over the pools; in isolated mode the ratio and liquidation distance are the worst pool's."""
    pools: tuple[Figures, ...]
    margin_ratio: Decimal | None

    @property
    def liquidation_distance_pct(self) -> Decimal | None:
        return self.total.liquidation_distance_pct


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Margin ratio levels per venue account: below `warn` warn, below `reduce_only` deny exposure-raising orders,
    below `critical` alert every sink."""

    warn: Decimal = Decimal("1.5")
    reduce_only: Decimal = Decimal("1.25")
    critical: Decimal = Decimal("1.1")


def margin_state(ratio: Decimal | None, thresholds: Thresholds, margin_call: bool = False) -> MarginState:
    if margin_call:
        return MarginState.CRITICAL
    if ratio is None:
        return MarginState.OK
    if ratio < thresholds.critical:
        return MarginState.CRITICAL
    if ratio < thresholds.reduce_only:
        return MarginState.REDUCE_ONLY
    if ratio < thresholds.warn:
        return MarginState.WARN
    return MarginState.OK


def pool_figures(pool: Pool, currency: str, valuation: Valuation, *, with_distance: bool = True) -> Figures:
    collateral = liabilities = initial = maintenance = _ZERO
    lines: list[AssetLine] = []
    for balance in pool.balances:
        rule = valuation.rule(balance.asset)
        price = valuation.price(balance.asset, currency)
        cash = rule.cash or balance.asset == currency
        haircut = valuation.haircut(balance.asset) if balance.asset != currency else _ZERO
        held_value = max(balance.held, _ZERO) * price * (_ONE - haircut)
        owed_value = (balance.borrowed + balance.interest + max(-balance.held, _ZERO)) * price
        collateral += held_value
        liabilities += owed_value
        if not cash:
            notional = abs(balance.net) * price
            initial += notional * rule.initial
            maintenance += notional * rule.maintenance
        lines.append(AssetLine(balance.asset, balance.net, price, haircut, held_value - owed_value))
    figures = Figures(pool.name, collateral, liabilities, initial, maintenance, tuple(lines))
    if with_distance:
        figures = replace(figures, liquidation_move_pct=liquidation_move_pct(pool, currency, valuation))
    return figures


def liquidation_move_pct(pool: Pool, currency: str, valuation: Valuation) -> Decimal | None:
    """The smallest uniform move (signed %) of every non-cash price that brings the ratio to 1; 0 when the ratio
    is at or below 1 already; None when no move between -100% and +900% does (or nothing is required)."""

    def excess_at(factor: Decimal) -> Decimal:
        moved = pool_figures(pool, currency, valuation.moved(factor, currency), with_distance=False)
        return moved.excess if moved.requirement_maintenance else _ONE   # nothing required: no liquidation

    now = pool_figures(pool, currency, valuation, with_distance=False)
    if not now.requirement_maintenance:
        return None
    if now.excess <= 0:
        return _ZERO
    down = _first_crossing(excess_at, _ONE, _ZERO, -_GRID_STEP)
    up = _first_crossing(excess_at, _ONE, _UP_LIMIT, _GRID_STEP)
    moves = [(factor - _ONE) * _HUNDRED for factor in (down, up) if factor is not None]
    return min(moves, key=abs) if moves else None


def _first_crossing(excess_at: Callable[[Decimal], Decimal], start: Decimal, stop: Decimal,
                    step: Decimal) -> Decimal | None:
    """The first price factor from `start` towards `stop` where the excess falls to 0 (grid, then bisection)."""
    previous = start
    factor = start + step
    while (factor >= stop) if step < 0 else (factor <= stop):
        if excess_at(factor) <= 0:
            return _bisect(excess_at, previous, factor)
        previous, factor = factor, factor + step
    return None


def _bisect(excess_at: Callable[[Decimal], Decimal], positive: Decimal, non_positive: Decimal) -> Decimal:
    for _ in range(_BISECT_ROUNDS):
        middle = (positive + non_positive) / 2
        if excess_at(middle) > 0:
            positive = middle
        else:
            non_positive = middle
    return (positive + non_positive) / 2


def account_figures(account: VenueAccount, valuation: Valuation, thresholds: Thresholds) -> AccountFigures:
    pools = tuple(pool_figures(pool, account.currency, valuation) for pool in account.pools)
    total = _sum_figures(account.venue, pools)
    if account.mode is MarginMode.CROSS or len(pools) <= 1:
        ratio = total.margin_ratio
    else:
        ratios = [figures.margin_ratio for figures in pools if figures.margin_ratio is not None]
        ratio = min(ratios) if ratios else None
    moves = [figures.liquidation_move_pct for figures in pools if figures.liquidation_move_pct is not None]
    total = replace(total, liquidation_move_pct=min(moves, key=abs) if moves else None)
    state = margin_state(ratio, thresholds, account.margin_call)
    return AccountFigures(account.venue, account.mode, state, total, pools, ratio)


def _sum_figures(name: str, parts: Iterable[Figures]) -> Figures:
    items = list(parts)
    lines: dict[str, AssetLine] = {}
    for figures in items:
        for line in figures.assets:
            held = lines.get(line.asset)
            lines[line.asset] = line if held is None else replace(
                held, quantity=held.quantity + line.quantity, value=held.value + line.value)
    return Figures(name, sum((f.collateral_value for f in items), _ZERO), sum((f.liabilities for f in items), _ZERO),
                   sum((f.requirement_initial for f in items), _ZERO),
                   sum((f.requirement_maintenance for f in items), _ZERO), tuple(lines.values()))


@dataclass(frozen=True, slots=True)
class DeskFigures:
    collateral_value: Decimal
    liabilities: Decimal
    equity: Decimal
    requirement_maintenance: Decimal
    excess: Decimal
    """With cross_venue_netting the desk's equity less its requirement; without it a surplus at one venue does not
    cover a deficit at another: the sum of the venues' deficits when there is one, else the sum of their excesses."""


def desk_figures(accounts: Iterable[AccountFigures], *, cross_venue_netting: bool = False) -> DeskFigures:
    totals = [account.total for account in accounts]
    collateral = sum((t.collateral_value for t in totals), _ZERO)
    liabilities = sum((t.liabilities for t in totals), _ZERO)
    maintenance = sum((t.requirement_maintenance for t in totals), _ZERO)
    equity = collateral - liabilities
    if cross_venue_netting:
        excess = equity - maintenance
    else:
        deficits = [t.excess for t in totals if t.excess < 0]
        excess = sum(deficits, _ZERO) if deficits else sum((t.excess for t in totals), _ZERO)
    return DeskFigures(collateral, liabilities, equity, maintenance, excess)
