"""Binance-spot-style front end: form/query parameters, hex HMAC, recvWindow, integer order ids."""

from __future__ import annotations

import time
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fixgw.sim.crypto_pb.auth import binance_signature, same, split_binance_signature
from fixgw.sim.crypto_pb.book import CANCELLED, EXPIRED, FAILED, FILLED, OPEN, BookError, SimFill, SimOrder
from fixgw.sim.crypto_pb.routing import Handler, SimHttpError, SimReply, VenueErrors, accepts_repeated_ids, run_route
from fixgw.sim.crypto_pb.settings import ProductSpec
from fixgw.sim.crypto_pb.state import SimState

VENUE = "binance"
ERRORS = VenueErrors(
    rate_limited=lambda retry_after: SimHttpError(
        429,
        {"code": -1003, "msg": "Too much request weight used; please use the websocket for live updates."},
        {"Retry-After": str(retry_after)},
    ),
    server_error=lambda: SimHttpError(500, {"code": -1000, "msg": "An unknown error occurred."}),
)
TIF_TO_BOOK = {"GTC": "GOOD_UNTIL_CANCELLED", "IOC": "IMMEDIATE_OR_CANCEL", "FOK": "FILL_OR_KILL"}
TIF_FROM_BOOK = {v: k for k, v in TIF_TO_BOOK.items()}
BOOK_ERRORS = {
    "INVALID_PRODUCT": (-1121, "Invalid symbol."),
    "INVALID_QUANTITY": (-1013, "Filter failure: LOT_SIZE"),
    "INVALID_QUANTITY_INCREMENT": (-1013, "Filter failure: LOT_SIZE"),
    "INVALID_PRICE_INCREMENT": (-1013, "Filter failure: PRICE_FILTER"),
    "DUPLICATE_CLIENT_ORDER_ID": (-2010, "Duplicate order sent."),
    "ORDER_NOT_OPEN": (-2011, "Unknown order sent."),
    "UNSUPPORTED_ORDER_TYPE": (-1116, "Invalid orderType."),
    "INVALID_SIDE": (-1117, "Invalid side."),
}


def _error(code: int, msg: str, status: int = 400) -> SimHttpError:
    return SimHttpError(status, {"code": code, "msg": msg})


def _params(request: Request, body: bytes) -> dict[str, str]:
    params = dict(parse_qsl(request.url.query, keep_blank_values=True))
    params.update(parse_qsl(body.decode(), keep_blank_values=True))
    return params


def authenticate(request: Request, body: bytes, state: SimState) -> str:
    creds = state.settings.credentials
    if not same(request.headers.get("X-MBX-APIKEY", ""), creds.access_key):
        raise _error(-2015, "Invalid API-key, IP, or permissions for action.", 401)
    params = _params(request, body)
    try:
        timestamp = int(params["timestamp"])
        recv_window = int(params.get("recvWindow", "5000"))
    except (KeyError, ValueError) as exc:
        raise _error(-1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.") from exc
    if recv_window > 60000:
        raise _error(-1131, "recvWindow must be less than 60000")
    server_ms = state.clock.millis()
    if not (timestamp < server_ms + 1000 and server_ms - timestamp <= recv_window):
        raise _error(-1021, "Timestamp for this request is outside of the recvWindow.")
    payload, signature = split_binance_signature(request.url.query.encode(), body)
    if signature is None or not same(signature, binance_signature(creds.signing_key, payload)):
        raise _error(-1022, "Signature for this request is not valid.")
    window = state.binance_weight.setdefault(creds.access_key, [])
    now = time.monotonic()
    window[:] = [t for t in window if now - t < 60] + [now]
    return creds.access_key


def _product(state: SimState, symbol: str) -> ProductSpec:
    for product in state.settings.products:
        if product.base + product.quote == symbol:
            return product
    raise _error(-1121, "Invalid symbol.")


def _status(order: SimOrder) -> str:
    if order.status == OPEN:
        return "PARTIALLY_FILLED" if order.fills else "NEW"
    if order.status == CANCELLED and order.time_in_force in ("IMMEDIATE_OR_CANCEL", "FILL_OR_KILL"):
        return "EXPIRED"
    return {FILLED: "FILLED", CANCELLED: "CANCELED", EXPIRED: "EXPIRED", FAILED: "REJECTED"}[order.status]


def _ms(order: SimOrder) -> int:
    return int(order.created_at.timestamp() * 1000)


def render_order(order: SimOrder) -> dict[str, Any]:
    return {
        "symbol": order.product.base + order.product.quote,
        "orderId": order.seq,
        "orderListId": -1,
        "clientOrderId": order.client_order_id,
        "price": order.limit_price if order.limit_price is not None else Decimal("0.00000000"),
        "origQty": order.base_quantity,
        "executedQty": order.filled_quantity,
        "cummulativeQuoteQty": order.filled_value,
        "status": _status(order),
        "timeInForce": TIF_FROM_BOOK.get(order.time_in_force, "GTC"),
        "type": order.order_type,
        "side": order.side,
        "stopPrice": Decimal("0.00000000"),
        "time": _ms(order),
        "updateTime": int((order.updated_at or order.created_at).timestamp() * 1000),
        "workingTime": _ms(order),
        "isWorking": order.is_active,
        "selfTradePreventionMode": "NONE",
    }


def render_trade(order: SimOrder, fill: SimFill) -> dict[str, Any]:
    return {
        "symbol": order.product.base + order.product.quote,
        "id": fill.trade_seq,
        "orderId": order.seq,
        "orderListId": -1,
        "price": fill.price,
        "qty": fill.quantity,
        "quoteQty": fill.value,
        "commission": fill.commission,
        "commissionAsset": order.product.quote,
        "time": int(fill.time.timestamp() * 1000),
        "isBuyer": order.side == "BUY",
        "isMaker": False,
        "isBestMatch": True,
    }


def _find(state: SimState, account: str, params: dict[str, str]) -> SimOrder:
    product = _product(state, params.get("symbol", ""))
    orders = [o for o in state.book.for_account(VENUE, account) if o.product == product]
    if "orderId" in params:
        found = [o for o in orders if str(o.seq) == params["orderId"]]
    elif "origClientOrderId" in params:
        # Several orders can share a client id over time; the venue answers with the latest.
        found = [o for o in orders if o.client_order_id == params["origClientOrderId"]][-1:]
    else:
        raise _error(-1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!")
    if not found:
        raise _error(-2013, "Order does not exist.")
    return found[0]


def _decimal(params: dict[str, str], name: str) -> Decimal | None:
    if not params.get(name):
        return None
    try:
        return Decimal(params[name])
    except InvalidOperation as exc:
        raise _error(-1100, f"Illegal characters found in parameter '{name}'.") from exc


def new_order(request: Request, body: bytes, account: str, state: SimState) -> SimReply:
    params = _params(request, body)
    product = _product(state, params.get("symbol", ""))
    order_type = params.get("type", "")
    tif = params.get("timeInForce", "GTC" if order_type == "LIMIT" else "")
    if order_type == "LIMIT" and tif not in TIF_TO_BOOK:
        raise _error(-1115, "Invalid timeInForce.")
    try:
        order = state.book.submit(
            venue=VENUE,
            account=account,
            client_order_id=params.get("newClientOrderId") or f"sim-{time.monotonic_ns()}",
            product_id=product.product_id,
            side=params.get("side", ""),
            order_type=order_type,
            base_quantity=_decimal(params, "quantity"),
            quote_value=_decimal(params, "quoteOrderQty"),
            limit_price=_decimal(params, "price"),
            time_in_force=TIF_TO_BOOK.get(tif, "GOOD_UNTIL_CANCELLED"),
            unique_active_client_order_id=not accepts_repeated_ids(request),
        )
    except BookError as exc:
        code, msg = BOOK_ERRORS.get(exc.code, (-1013, exc.message))
        raise _error(code, msg) from exc
    resp_type = params.get("newOrderRespType", "FULL")
    if resp_type == "ACK":
        return SimReply(
            {
                "symbol": params["symbol"],
                "orderId": order.seq,
                "orderListId": -1,
                "clientOrderId": order.client_order_id,
                "transactTime": _ms(order),
            }
        )
    rendered = render_order(order) | {"transactTime": _ms(order)}
    if resp_type == "FULL":
        rendered["fills"] = [
            {
                "price": f.price,
                "qty": f.quantity,
                "commission": f.commission,
                "commissionAsset": order.product.quote,
                "tradeId": f.trade_seq,
            }
            for f in order.fills
        ]
    return SimReply(rendered, fills_key="fills" if resp_type == "FULL" else None)


def query_order(request: Request, body: bytes, account: str, state: SimState) -> SimReply:
    return SimReply(render_order(_find(state, account, _params(request, body))))


def cancel_order(request: Request, body: bytes, account: str, state: SimState) -> SimReply:
    order = _find(state, account, _params(request, body))
    try:
        state.book.cancel(order)
    except BookError as exc:
        raise _error(-2011, "Unknown order sent.") from exc
    return SimReply(render_order(order) | {"origClientOrderId": order.client_order_id})


def open_orders(request: Request, body: bytes, account: str, state: SimState) -> SimReply:
    symbol = _params(request, body).get("symbol")
    orders = [
        render_order(o)
        for o in state.book.for_account(VENUE, account)
        if o.is_active and (not symbol or o.product.base + o.product.quote == symbol)
    ]
    return SimReply(orders)


def my_trades(request: Request, body: bytes, account: str, state: SimState) -> SimReply:
    params = _params(request, body)
    product = _product(state, params.get("symbol", ""))
    trades = [
        render_trade(o, f)
        for o in state.book.for_account(VENUE, account)
        if o.product == product and ("orderId" not in params or str(o.seq) == params["orderId"])
        for f in o.fills
    ]
    return SimReply(trades)


def account_info(request: Request, body: bytes, account: str, state: SimState) -> SimReply:
    balances = [
        {"asset": asset, "free": amount, "locked": Decimal(0)}
        for asset, amount in sorted(state.book.account_balances(VENUE, account).items())
    ]
    return SimReply({"canTrade": True, "accountType": "SPOT", "balances": balances})


def server_time(request: Request, body: bytes, account: str, state: SimState) -> SimReply:
    return SimReply({"serverTime": state.clock.millis()})


def exchange_info(request: Request, body: bytes, account: str, state: SimState) -> SimReply:
    symbols = [
        {
            "symbol": p.base + p.quote,
            "status": "TRADING",
            "baseAsset": p.base,
            "quoteAsset": p.quote,
            "filters": [
                {"filterType": "PRICE_FILTER", "tickSize": p.quote_increment},
                {
                    "filterType": "LOT_SIZE",
                    "stepSize": p.base_increment,
                    "minQty": p.base_min_size,
                    "maxQty": p.base_max_size,
                },
            ],
        }
        for p in state.settings.products
    ]
    return SimReply({"timezone": "UTC", "serverTime": state.clock.millis(), "symbols": symbols})


def _endpoint(route: str, handler: Handler, *, signed: bool = True) -> Any:
    async def endpoint(request: Request) -> Response:
        response = await run_route(
            request,
            route,
            auth=authenticate if signed else None,
            handler=handler,
            errors=ERRORS,
            bucket=(lambda s: s.settings.binance_bucket) if signed else None,
            venue=VENUE,
        )
        state: SimState = request.app.state.sim
        used = len(state.binance_weight.get(state.settings.credentials.access_key, []))
        response.headers["X-MBX-USED-WEIGHT-1M"] = str(used)
        return response

    return endpoint


routes = [
    Route("/api/v3/time", _endpoint("binance.time", server_time, signed=False), methods=["GET"]),
    Route("/api/v3/exchangeInfo", _endpoint("binance.exchange_info", exchange_info, signed=False), methods=["GET"]),
    Route("/api/v3/order", _endpoint("binance.new_order", new_order), methods=["POST"]),
    Route("/api/v3/order", _endpoint("binance.query_order", query_order), methods=["GET"]),
    Route("/api/v3/order", _endpoint("binance.cancel_order", cancel_order), methods=["DELETE"]),
    Route("/api/v3/openOrders", _endpoint("binance.open_orders", open_orders), methods=["GET"]),
    Route("/api/v3/myTrades", _endpoint("binance.my_trades", my_trades), methods=["GET"]),
    Route("/api/v3/account", _endpoint("binance.account", account_info), methods=["GET"]),
]
