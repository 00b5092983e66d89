"""The simulated prime broker's margin book: loans, interest and its own margin ratio over the accounts the fills
already move, the account-data endpoints that report them, and liquidation.

The simulator's own rules (deliberately simpler than fixgw's engine, as a real PB's are its own): a negative
balance is a loan; loans accrue interest at `borrow_rate` a year on the simulator clock; equity = assets - loans
- interest at the reference prices (no haircuts); requirement = sum over non-cash assets of |balance| x price x
`maintenance_rate`; ratio = equity / requirement. Below `call_ratio` the entity has an open margin call (Coinbase
`margin_call_records`, Binance isolated `marginLevelStatus`); below `liquidation_ratio` the simulator sells (or
buys back) `liquidation_fraction` of the largest position with a MARKET order of its own (client_order_id
`liquidation-N`), a fill like any other that every order listing, fill listing and the orders feed report.

Control: `POST /_sim/margin` {"venue": "coinbase"|"binance"|"falconx", "account": id, "balances": {"BTC": "10",
"USD": "-400000"}, "maintenance_rate", "call_ratio", "liquidation_ratio", "liquidation_fraction", "borrow_rate",
"enabled": true}; `GET /_sim/margin` shows every margin account with its ratio and the liquidations so far.
Prices move with `POST /_sim/prices`.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fixgw.sim.crypto_pb import binance, coinbase
from fixgw.sim.crypto_pb.book import BookError
from fixgw.sim.crypto_pb.jsonio import DecimalJSONResponse, loads
from fixgw.sim.crypto_pb.routing import SimReply, run_route, sim_state
from fixgw.sim.crypto_pb.state import SimState

CASH = frozenset({"USD", "USDT", "USDC"})
_YEAR_S = Decimal(365 * 86_400)
_ZERO = Decimal(0)


@dataclass
class SimMarginRules:
    maintenance_rate: Decimal = Decimal("0.10")
    call_ratio: Decimal = Decimal("1.10")
    liquidation_ratio: Decimal = Decimal("1.05")
    liquidation_fraction: Decimal = Decimal("0.5")
    borrow_rate: Decimal = Decimal("0.08")


@dataclass
class SimMarginAccount:
    venue: str
    account: str
    rules: SimMarginRules = field(default_factory=SimMarginRules)
    interest: dict[str, Decimal] = field(default_factory=dict)
    accrued_at: float = field(default_factory=time.monotonic)


@dataclass
class SimMarginBook:
    """Margin accounts the control API enabled, keyed by (venue, account); the others are cash accounts."""

    accounts: dict[tuple[str, str], SimMarginAccount] = field(default_factory=dict)
    liquidations: list[dict[str, Any]] = field(default_factory=list)
    _seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))


def margin_book(state: SimState) -> SimMarginBook:
    """The state's margin book, kept as an attribute of the state (SimState's fields belong to other features)."""
    book = getattr(state, "_margin_book", None)
    if not isinstance(book, SimMarginBook):
        book = SimMarginBook()
        setattr(state, "_margin_book", book)   # noqa: B010 - not a declared field
    return book


@dataclass(frozen=True)
class SimFigures:
    assets: Decimal
    liabilities: Decimal
    requirement: Decimal

    @property
    def equity(self) -> Decimal:
        return self.assets - self.liabilities

    @property
    def ratio(self) -> Decimal | None:
        return self.equity / self.requirement if self.requirement else None


def _price(state: SimState, asset: str) -> Decimal:
    if asset in CASH:
        return Decimal(1)
    return state.settings.reference_prices.get(asset, _ZERO)


def figures(state: SimState, margin: SimMarginAccount) -> SimFigures:
    balances = state.book.account_balances(margin.venue, margin.account)
    assets = liabilities = requirement = _ZERO
    for asset, amount in balances.items():
        price = _price(state, asset)
        owed = max(-amount, _ZERO) + margin.interest.get(asset, _ZERO)
        assets += max(amount, _ZERO) * price
        liabilities += owed * price
        if asset not in CASH:
            requirement += abs(amount - margin.interest.get(asset, _ZERO)) * price * margin.rules.maintenance_rate
    return SimFigures(assets, liabilities, requirement)


def accrue(state: SimState, margin: SimMarginAccount, now: float) -> None:
    elapsed = Decimal(str(max(0.0, now - margin.accrued_at)))
    margin.accrued_at = now
    for asset, amount in state.book.account_balances(margin.venue, margin.account).items():
        if amount < 0:
            margin.interest[asset] = margin.interest.get(asset, _ZERO) + (-amount) * margin.rules.borrow_rate * \
                elapsed / _YEAR_S


def check(state: SimState) -> None:
    """Accrue interest and liquidate every margin account under its liquidation ratio (called on each tick)."""
    book = margin_book(state)
    now = time.monotonic()
    for margin in list(book.accounts.values()):
        accrue(state, margin, now)
        ratio = figures(state, margin).ratio
        if ratio is not None and ratio < margin.rules.liquidation_ratio:
            _liquidate(state, book, margin, ratio)


def _liquidate(state: SimState, book: SimMarginBook, margin: SimMarginAccount, ratio: Decimal) -> None:
    balances = state.book.account_balances(margin.venue, margin.account)
    positions = [(abs(amount) * _price(state, asset), asset, amount) for asset, amount in balances.items()
                 if asset not in CASH and amount]
    if not positions:
        return
    _, asset, amount = max(positions)
    quote = "USDT" if margin.venue == "binance" else "USD"
    try:
        product = state.book.product(f"{asset}-{quote}")
        quantity = (abs(amount) * margin.rules.liquidation_fraction).quantize(product.base_increment, ROUND_DOWN)
        quantity = max(quantity, product.base_min_size)
        order = state.book.submit(venue=margin.venue, account=margin.account,
                                  client_order_id=f"liquidation-{next(book._seq)}", product_id=product.product_id,
                                  side="SELL" if amount > 0 else "BUY", order_type="MARKET", base_quantity=quantity)
    except BookError as exc:
        book.liquidations.append({"venue": margin.venue, "account": margin.account, "asset": asset,
                                  "error": exc.message})
        return
    book.liquidations.append({"venue": margin.venue, "account": margin.account, "asset": asset,
                              "side": order.side, "quantity": quantity, "order_id": order.order_id,
                              "client_order_id": order.client_order_id, "ratio": ratio})


def _margin_of(state: SimState, venue: str, account: str) -> SimMarginAccount:
    book = margin_book(state)
    margin = book.accounts.get((venue, account))
    if margin is None:
        margin = book.accounts[(venue, account)] = SimMarginAccount(venue, account)
    accrue(state, margin, time.monotonic())
    return margin


# -- Coinbase Prime -------------------------------------------------------------------------------------------


def coinbase_margin(request: Request, body: bytes, account: str, state: SimState) -> SimReply:
    """`GET /v1/entities/{entity_id}/margin`: the simulator's entity is the portfolio of the same id."""
    entity_id = request.path_params["entity_id"]
    margin = _margin_of(state, coinbase.VENUE, entity_id)
    numbers = figures(state, margin)
    balances = state.book.account_balances(coinbase.VENUE, entity_id)
    loans = [{"portfolio_id": entity_id, "symbol": asset, "amount": -amount + margin.interest.get(asset, _ZERO),
              "notional_amount": (-amount + margin.interest.get(asset, _ZERO)) * _price(state, asset),
              "due_date": ""}
             for asset, amount in sorted(balances.items()) if amount < 0]
    ratio = numbers.ratio
    calls = []
    if ratio is not None and ratio < margin.rules.call_ratio:
        short = numbers.requirement * margin.rules.call_ratio - numbers.equity
        calls.append({"margin_call_id": f"call-{entity_id}", "initial_notional_amount": short,
                      "outstanding_notional_amount": short, "created_at": state.clock.now().isoformat(),
                      "due_at": state.clock.now().isoformat()})
    summary = {
        "entity_id": entity_id, "margin_equity": numbers.equity, "margin_requirement": numbers.requirement,
        "excess_deficit": numbers.equity - numbers.requirement, "pm_credit_consumed": numbers.liabilities,
        "frozen": False, "frozen_reason": "", "pm_enabled": True, "tf_enabled": False,
        "market_rates": [{"symbol": a, "rate": p} for a, p in sorted(state.settings.reference_prices.items())],
        "asset_balances": [{"portfolio_id": entity_id, "symbol": a, "amount": max(b, _ZERO),
                            "notional_amount": max(b, _ZERO) * _price(state, a), "conversion_rate": _price(state, a)}
                           for a, b in sorted(balances.items()) if b > 0],
        "tf_loans": [], "pm_loans": loans, "short_collateral": [],
    }
    return SimReply({"margin_information": {"margin_call_records": calls, "margin_summary": summary}})


def coinbase_credit(request: Request, body: bytes, account: str, state: SimState) -> SimReply:
    """`GET /v1/portfolios/{portfolio_id}/credit`: the loans against a credit limit of the equity's 4x."""
    margin = _margin_of(state, coinbase.VENUE, account)
    numbers = figures(state, margin)
    limit = max(numbers.equity, _ZERO) * 4
    return SimReply({"post_trade_credit": {
        "portfolio_id": account, "currency": "USD", "limit": limit, "utilized": numbers.liabilities,
        "available": max(limit - numbers.liabilities, _ZERO), "frozen": False, "frozen_reason": "",
        "amounts_due": [], "enabled": True, "adjusted_credit_utilized": numbers.liabilities,
        "adjusted_portfolio_equity": numbers.equity}})


def _coinbase_entity_auth(request: Request, body: bytes, state: SimState) -> str:
    try:
        return coinbase.authenticate(request, body, state)
    except KeyError:   # signature checked; an entity path has no portfolio_id
        return str(request.path_params["entity_id"])


def _coinbase_endpoint(route: str, handler: Any, auth: Any = coinbase.authenticate) -> Any:
    async def endpoint(request: Request) -> Response:
        return await run_route(request, route, auth=auth, handler=handler, errors=coinbase.ERRORS,
                               bucket=lambda s: s.settings.coinbase_bucket, venue=coinbase.VENUE)

    return endpoint


# -- Binance --------------------------------------------------------------------------------------------------


def _user_asset(state: SimState, margin: SimMarginAccount, asset: str, amount: Decimal) -> dict[str, Any]:
    interest = margin.interest.get(asset, _ZERO)
    borrowed = max(-amount, _ZERO)
    free = max(amount, _ZERO)
    return {"asset": asset, "borrowed": borrowed, "free": free, "interest": interest, "locked": _ZERO,
            "netAsset": free - borrowed - interest}


def _in_btc(state: SimState, value: Decimal) -> Decimal:
    btc = state.settings.reference_prices.get("BTC") or Decimal(1)
    return (value / btc).quantize(Decimal("0.00000001"))


def binance_cross(request: Request, body: bytes, account: str, state: SimState) -> SimReply:
    margin = _margin_of(state, binance.VENUE, account)
    numbers = figures(state, margin)
    balances = state.book.account_balances(binance.VENUE, account)
    level = (numbers.assets / numbers.liabilities).quantize(Decimal("0.00000001")) if numbers.liabilities \
        else Decimal(999)
    return SimReply({
        "borrowEnabled": True, "marginLevel": level, "totalAssetOfBtc": _in_btc(state, numbers.assets),
        "totalLiabilityOfBtc": _in_btc(state, numbers.liabilities),
        "totalNetAssetOfBtc": _in_btc(state, numbers.equity), "TotalCollateralValueInUSDT": numbers.assets,
        "accountType": "MARGIN_1", "tradeEnabled": True, "transferEnabled": True,
        "userAssets": [_user_asset(state, margin, a, b) for a, b in sorted(balances.items())]})


def binance_isolated(request: Request, body: bytes, account: str, state: SimState) -> SimReply:
    """The simulator keeps no isolated pairs: an empty list, as Binance answers an account without any."""
    return SimReply({"assets": [], "totalAssetOfBtc": _ZERO, "totalLiabilityOfBtc": _ZERO,
                     "totalNetAssetOfBtc": _ZERO})


def _binance_endpoint(route: str, handler: Any) -> Any:
    async def endpoint(request: Request) -> Response:
        return await run_route(request, route, auth=binance.authenticate, handler=handler, errors=binance.ERRORS,
                               bucket=lambda s: s.settings.binance_bucket, venue=binance.VENUE)

    return endpoint


# -- control --------------------------------------------------------------------------------------------------


async def set_margin(request: Request) -> Response:
    state = sim_state(request)
    try:
        body = await request.body()
        payload = loads(body) if body else {}
        venue, account = str(payload["venue"]), str(payload["account"])
        if not payload.get("enabled", True):
            margin_book(state).accounts.pop((venue, account), None)
            return DecimalJSONResponse({"enabled": False})
        margin = _margin_of(state, venue, account)
        for name in ("maintenance_rate", "call_ratio", "liquidation_ratio", "liquidation_fraction", "borrow_rate"):
            if name in payload:
                setattr(margin.rules, name, Decimal(str(payload[name])))
        if "balances" in payload:
            balances = state.book.account_balances(venue, account)
            balances.clear()
            balances.update({asset.upper(): Decimal(str(v)) for asset, v in payload["balances"].items()})
            margin.interest.clear()
    except (KeyError, ArithmeticError, ValueError, TypeError) as exc:
        return DecimalJSONResponse({"message": f"invalid margin settings: {exc!r}"}, status_code=400)
    return DecimalJSONResponse(_describe(state, margin))


def _describe(state: SimState, margin: SimMarginAccount) -> dict[str, Any]:
    numbers = figures(state, margin)
    return {"venue": margin.venue, "account": margin.account, "equity": numbers.equity,
            "requirement": numbers.requirement, "ratio": numbers.ratio,
            "balances": state.book.account_balances(margin.venue, margin.account), "interest": margin.interest}


async def show_margin(request: Request) -> Response:
    state = sim_state(request)
    book = margin_book(state)
    return DecimalJSONResponse({"accounts": [_describe(state, m) for m in book.accounts.values()],
                                "liquidations": book.liquidations})


coinbase_routes = [
    Route("/v1/entities/{entity_id}/margin",
          _coinbase_endpoint("coinbase.entity_margin", coinbase_margin, _coinbase_entity_auth), methods=["GET"]),
    Route("/v1/portfolios/{portfolio_id}/credit", _coinbase_endpoint("coinbase.credit", coinbase_credit),
          methods=["GET"]),
]
binance_routes = [
    Route("/sapi/v1/margin/account", _binance_endpoint("binance.margin_account", binance_cross), methods=["GET"]),
    Route("/sapi/v1/margin/isolated/account", _binance_endpoint("binance.isolated_margin_account",
                                                                binance_isolated), methods=["GET"]),
]
control_routes = [
    Route("/margin", set_margin, methods=["POST"]),
    Route("/margin", show_margin, methods=["GET"]),
]
