"""Simulated market data endpoints: Binance bookTicker, the Coinbase Prime `l2_data` events, a generic JSON
oracle, and the control API that drives the price process (fixgw/sim/crypto_pb/prices.py)."""

from __future__ import annotations

import asyncio
import contextlib
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.websockets import WebSocket, WebSocketDisconnect

from fixgw.sim.crypto_pb.jsonio import DecimalJSONResponse, dumps, loads
from fixgw.sim.crypto_pb.routing import sim_state
from fixgw.sim.crypto_pb.settings import ProductSpec
from fixgw.sim.crypto_pb.state import SimState

_BPS = Decimal(10_000)
_HUNDRED = Decimal(100)
L2_PUSH_S = 0.05


def best_bid_ask(state: SimState, product: ProductSpec) -> tuple[Decimal, Decimal] | None:
    """The top of the simulated book: the reference price +- half the quote spread, on the quote increment."""
    if product.base in state.price_process.silent:
        return None
    mid = state.book.reference_price(product)
    half = mid * state.settings.quote_spread_bps / _BPS / 2
    return ((mid - half).quantize(product.quote_increment, ROUND_HALF_UP),
            (mid + half).quantize(product.quote_increment, ROUND_HALF_UP))


def binance_symbol(product: ProductSpec) -> str:
    return product.base + product.quote


async def binance_book_ticker(request: Request) -> Response:
    """GET /binance/api/v3/ticker/bookTicker?symbol=BTCUSDT (public, unsigned, as at Binance)."""
    state = sim_state(request)
    state.count("binance.book_ticker")
    symbol = request.query_params.get("symbol", "")
    for product in state.settings.products:
        if binance_symbol(product) == symbol:
            top = best_bid_ask(state, product)
            if top is None:
                return DecimalJSONResponse({"code": -1003, "msg": "market data unavailable"}, status_code=503)
            return DecimalJSONResponse({"symbol": symbol, "bidPrice": top[0], "bidQty": Decimal("1.5"),
                                        "askPrice": top[1], "askQty": Decimal("1.5")})
    return DecimalJSONResponse({"code": -1121, "msg": "Invalid symbol."}, status_code=400)


async def oracle(request: Request) -> Response:
    """GET /_sim/oracle: {"prices": {"BTC": {"usd": "65000.00"}, ...}} - a generic JSON price oracle."""
    state = sim_state(request)
    state.count("oracle")
    walk = state.price_process
    prices = {asset: {"usd": price} for asset, price in state.settings.reference_prices.items()
              if asset not in walk.silent}
    return DecimalJSONResponse({"prices": prices, "time": state.clock.now()})


def l2_event(state: SimState, product: ProductSpec, kind: str,
             previous: tuple[Decimal, Decimal] | None = None) -> dict[str, Any] | None:
    """One `l2_data` event: the top level of each side (Prime sends `px`/`qty`, sides bid/offer); an update
    also removes (qty "0") the levels of `previous` that are no longer the top."""
    top = best_bid_ask(state, product)
    if top is None:
        return None
    now = state.clock.now()
    updates = []
    if previous is not None:
        for side, old, new in (("bid", previous[0], top[0]), ("offer", previous[1], top[1])):
            if old != new:
                updates.append({"side": side, "event_time": now, "px": old, "qty": Decimal(0)})
    updates += [{"side": "bid", "event_time": now, "px": top[0], "qty": Decimal("1.5")},
                {"side": "offer", "event_time": now, "px": top[1], "qty": Decimal("1.5")}]
    return {"type": kind, "product_id": product.product_id, "updates": updates}


async def set_market(request: Request) -> Response:
    """Body: any of {"vol_bps": "5", "step_s": 0.2, "seed": 1, "jump": {"BTC": "12.5"} (percent, signed),
    "freeze": ["BTC"], "thaw": ["BTC"], "silence": ["BTC"], "resume": ["BTC"]}."""
    state = sim_state(request)
    walk = state.price_process
    try:
        body = await request.body()
        payload = loads(body) if body else {}
        if not isinstance(payload, dict):
            raise ValueError("body must be a JSON object")
        if "vol_bps" in payload:
            walk.vol_bps = Decimal(str(payload["vol_bps"]))
        if "step_s" in payload:
            walk.step_s = float(payload["step_s"])
        if "seed" in payload:
            walk.reseed(int(payload["seed"]))
        prices = state.settings.reference_prices
        for asset, pct in dict(payload.get("jump") or {}).items():
            price = prices[asset.upper()]
            prices[asset.upper()] = (price * (1 + Decimal(str(pct)) / _HUNDRED)).quantize(price)
        walk.frozen |= {a.upper() for a in payload.get("freeze") or []}
        walk.frozen -= {a.upper() for a in payload.get("thaw") or []}
        walk.silent |= {a.upper() for a in payload.get("silence") or []}
        walk.silent -= {a.upper() for a in payload.get("resume") or []}
    except (ArithmeticError, KeyError, TypeError, ValueError) as exc:
        return DecimalJSONResponse({"message": f"invalid market setting: {exc}"}, status_code=400)
    return DecimalJSONResponse({"vol_bps": walk.vol_bps, "step_s": str(walk.step_s),
                                "frozen": sorted(walk.frozen), "silent": sorted(walk.silent),
                                "reference_prices": state.settings.reference_prices})


control_routes = [Route("/market", set_market, methods=["POST"]), Route("/oracle", oracle, methods=["GET"])]
binance_routes = [Route("/api/v3/ticker/bookTicker", binance_book_ticker, methods=["GET"])]


async def l2_feed(websocket: WebSocket, state: SimState, product_ids: list[str]) -> None:
    """The `l2_data` channel after a valid subscribe: a snapshot of each product, then an update whenever the
    top of the book changes (checked every L2_PUSH_S); the sequence number counts every message."""
    products = [p for p in state.settings.products if p.product_id in product_ids]
    sequence = 0

    async def send(channel: str, events: list[dict[str, Any]]) -> None:
        nonlocal sequence
        await websocket.send_text(dumps({"channel": channel, "timestamp": state.clock.now(),
                                         "sequence_num": sequence, "events": events}))
        sequence += 1

    async def pump() -> None:
        await send("subscriptions", [{"subscriptions": {"l2_data": product_ids}}])
        sent: dict[str, tuple[Decimal, Decimal]] = {}
        while True:
            events = []
            for product in products:
                previous = sent.get(product.product_id)
                top = best_bid_ask(state, product)
                if top is not None and top != previous:
                    # the first event of a product is its snapshot; later ones update the levels
                    event = l2_event(state, product, "update" if previous else "snapshot", previous)
                    if event is not None:
                        events.append(event)
                        sent[product.product_id] = top
            if events:
                await send("l2_data", events)
            await asyncio.sleep(L2_PUSH_S)

    sender = asyncio.create_task(pump())
    try:
        while not sender.done():
            await websocket.receive_text()
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
            await sender
