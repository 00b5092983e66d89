"""Coinbase Prime WebSocket feed: a signed subscribe, a snapshot, then updates; `orders` channel here, `l2_data`
in fixgw/sim/crypto_pb/marketdata.py."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from fixgw.sim.crypto_pb.auth import coinbase_signature_ws, same
from fixgw.sim.crypto_pb.book import SimOrder
from fixgw.sim.crypto_pb.faults import FaultKind
from fixgw.sim.crypto_pb.jsonio import dumps, loads
from fixgw.sim.crypto_pb.marketdata import l2_feed
from fixgw.sim.crypto_pb.state import SimState

VENUE = "coinbase"
CHANNELS = ("orders", "l2_data")


def render_ws_order(order: SimOrder) -> dict[str, Any]:
    """As the venue documents an `orders` channel order: quantities and prices as strings, side and type in lower
    case, `limit_px` left out when empty; no fills, no created time."""
    rendered: dict[str, Any] = {
        "order_id": order.order_id,
        "client_order_id": order.client_order_id,
        "cum_qty": order.filled_quantity,
        "leaves_qty": order.leaves_quantity,
        "avg_px": order.average_price,
        "net_avg_px": order.average_price,  # the simulator's commission is not netted into the price
        "fees": order.commission,
        "status": order.status,
        "product_id": order.product.product_id,
        "side": order.side.lower(),
        "order_type": order.order_type.lower(),
    }
    if order.limit_price is not None:
        rendered["limit_px"] = order.limit_price
    return rendered


def _check_subscribe(message: Any, state: SimState) -> str:
    """Returns the error text, or "" when the subscription is valid."""
    creds = state.settings.credentials
    if (not isinstance(message, dict) or message.get("type") != "subscribe"
            or message.get("channel") not in CHANNELS):
        return "expected a subscribe message for the orders or l2_data channel"
    if not same(str(message.get("access_key", "")), creds.access_key):
        return "invalid access key"
    if not same(str(message.get("passphrase", "")), creds.passphrase):
        return "invalid passphrase"
    timestamp = str(message.get("timestamp", ""))
    if not timestamp.isdigit() or abs(state.clock.time() - int(timestamp)) > state.settings.coinbase_timestamp_window_s:
        return "invalid timestamp"
    expected = coinbase_signature_ws(
        creds.signing_key,
        channel=str(message["channel"]),
        access_key=creds.access_key,
        api_key_id=str(message.get("api_key_id", "")),
        timestamp=timestamp,
        portfolio_id=str(message.get("portfolio_id", "")),
        product_ids=[str(p) for p in message.get("product_ids") or []],
    )
    if not same(str(message.get("signature", "")), expected):
        return "invalid signature"
    return ""


async def orders_feed(websocket: WebSocket) -> None:
    state: SimState = websocket.app.state.sim
    await websocket.accept()
    try:
        subscribe = loads(await websocket.receive_text())
    except (ValueError, WebSocketDisconnect):
        await websocket.close(code=1003)
        return
    error = _check_subscribe(subscribe, state)
    if error:
        await websocket.send_text(dumps({"type": "error", "message": error}))
        await websocket.close(code=1008)
        return
    if subscribe["channel"] == "l2_data":
        await l2_feed(websocket, state, [str(p) for p in subscribe.get("product_ids") or []])
        return
    portfolio_id = str(subscribe["portfolio_id"])
    products = set(subscribe.get("product_ids") or [])

    def wanted(order: SimOrder) -> bool:
        return (
            order.venue == VENUE
            and order.account == portfolio_id
            and (not products or order.product.product_id in products)
        )

    updates: asyncio.Queue[SimOrder] = asyncio.Queue()

    def listener(order: SimOrder) -> None:
        if wanted(order):
            updates.put_nowait(order)

    sequence = 0

    async def send(kind: str, orders: list[SimOrder]) -> None:
        nonlocal sequence
        message = {
            "channel": "orders",
            "timestamp": state.clock.now(),
            "sequence_num": sequence,
            "events": [{"type": kind, "orders": [render_ws_order(o) for o in orders]}],
        }
        sequence += 1
        await websocket.send_text(dumps(message))

    async def pump() -> None:
        await websocket.send_text(
            dumps(
                {
                    "channel": "subscriptions",
                    "timestamp": state.clock.now(),
                    "sequence_num": 0,
                    "events": [{"subscriptions": {"orders": [portfolio_id]}}],
                }
            )
        )
        nonlocal sequence
        sequence += 1
        await send("snapshot", [o for o in state.book.for_account(VENUE, portfolio_id) if wanted(o) and o.is_active])
        while True:
            order = await updates.get()
            fault = state.faults.take("coinbase.ws_orders")
            if fault and fault.kind == FaultKind.DROP:
                await websocket.close(code=1011)
                return
            if fault and fault.kind == FaultKind.LOSE_MESSAGE:
                sequence += 1
                continue
            await send("update", [order])

    state.book.listeners.append(listener)
    sender = asyncio.create_task(pump())
    try:
        # Reading is how a closed client is noticed; the feed ignores anything else the client sends.
        while not sender.done():
            await websocket.receive_text()
    except (WebSocketDisconnect, RuntimeError):  # RuntimeError: we closed it ourselves (DROP fault)
        pass
    finally:
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
            await sender
        with contextlib.suppress(ValueError):
            state.book.listeners.remove(listener)


routes = [WebSocketRoute("/ws", orders_feed)]
