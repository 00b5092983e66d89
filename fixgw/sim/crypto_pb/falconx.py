"""FalconX-style front end: RFQ quotes, synchronous v1 (string quantity) and v3 (number quantity) orders.

Both API versions are served at once, as FalconX does: orders, quotes and quote executions under v1 and v3;
order and quote reads, the order listing, balances and transfers under v1 only. `POST /_sim/withdraw` makes a
route answer 404 or 410 (a version withdrawn for one endpoint) until restored.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fixgw.sim.crypto_pb.auth import falconx_key_valid, falconx_signature, same, venue_path
from fixgw.sim.crypto_pb.book import FILLED, BookError, SimOrder
from fixgw.sim.crypto_pb.jsonio import Num, loads
from fixgw.sim.crypto_pb.routing import Handler, SimHttpError, SimReply, VenueErrors, run_route
from fixgw.sim.crypto_pb.state import SimState

VENUE = "falconx"
ERRORS = VenueErrors(
    rate_limited=lambda retry_after: SimHttpError(
        429, {"message": "Too many requests"}, {"Retry-After": str(retry_after)}
    ),
    server_error=lambda: SimHttpError(500, {"message": "Internal server error"}),
)
BPS = Decimal("10000")


def _http_error(status: int, message: str) -> SimHttpError:
    return SimHttpError(status, {"message": message})


def _failure(code: str, reason: str) -> SimReply:
    """Business failures arrive as HTTP 200 with status=failure and an error object."""
    return SimReply({"status": "failure", "error": {"code": code, "reason": reason}})


def authenticate(request: Request, body: bytes, state: SimState) -> str:
    creds = state.settings.credentials
    headers = request.headers
    if not same(headers.get("FX-ACCESS-KEY", ""), creds.access_key):
        raise _http_error(401, "Invalid API key")
    if not same(headers.get("FX-ACCESS-PASSPHRASE", ""), creds.passphrase):
        raise _http_error(401, "Invalid passphrase")
    timestamp = headers.get("FX-ACCESS-TIMESTAMP", "")
    try:
        sent_at = float(timestamp)  # the Python client sends fractional seconds, the Go client integers
    except ValueError as exc:
        raise _http_error(401, "Invalid timestamp") from exc
    if abs(state.clock.time() - sent_at) > state.settings.falconx_timestamp_window_s:
        raise _http_error(401, "Request timestamp expired")
    if not falconx_key_valid(creds.signing_key):
        raise _http_error(401, "Server secret is not base64")
    path = venue_path(request)
    if request.url.query:
        path += "?" + request.url.query
    expected = falconx_signature(creds.signing_key, timestamp, request.method, path, body)
    if not same(headers.get("FX-ACCESS-SIGN", ""), expected):
        raise _http_error(401, "Invalid signature")
    return creds.access_key


def _json_body(body: bytes) -> dict[str, Any]:
    try:
        payload = loads(body)
    except ValueError as exc:
        raise _http_error(400, "Body is not JSON") from exc
    if not isinstance(payload, dict):
        raise _http_error(400, "Body must be an object")
    return payload


def _dec(value: Any, name: str, *, number: bool) -> Decimal:
    """v1 wants decimal strings, v3 JSON numbers (already Decimal or int thanks to parse_float)."""
    is_number = isinstance(value, Decimal | int) and not isinstance(value, bool)
    well_typed = is_number if number else isinstance(value, str)
    if not well_typed:
        raise _http_error(400, f"{name} must be {'a number' if number else 'a string'}")
    try:
        return Decimal(value)
    except InvalidOperation as exc:
        raise _http_error(400, f"{name} is not a decimal") from exc


def _product_id(payload: dict[str, Any]) -> tuple[str, str]:
    pair = payload.get("token_pair") or {}
    base, quote = str(pair.get("base_token", "")).upper(), str(pair.get("quote_token", "")).upper()
    return base, quote


def _prices(state: SimState, product_id: str) -> tuple[Decimal, Decimal]:
    product = state.book.product(product_id)
    ref = state.book.reference_price(product)
    half_spread = ref * state.settings.quote_spread_bps / BPS / 2
    inc = product.quote_increment
    return (ref + half_spread).quantize(inc), (ref - half_spread).quantize(inc)


def render_order(order: SimOrder, extra: dict[str, Any], *, numbers: bool) -> dict[str, Any]:
    def n(value: Decimal | None) -> Any:
        if value is None:
            return None
        return Num(value) if numbers else value

    filled = order.status == FILLED
    return {
        "status": "success",
        "fx_quote_id": order.order_id,
        "client_order_id": order.client_order_id,
        "platform": "api",
        "token_pair": {"base_token": order.product.base, "quote_token": order.product.quote},
        "quantity_requested": {"token": order.product.base, "value": n(order.base_quantity)},
        "side_requested": order.side.lower(),
        "order_type": order.order_type.lower(),
        "time_in_force": "fok",
        "limit_price": n(order.limit_price),
        "slippage_bps": n(extra.get("slippage_bps")),
        "buy_price": n(extra.get("buy_price")),
        "sell_price": n(extra.get("sell_price")),
        "t_quote": order.created_at,
        "t_expiry": order.created_at + timedelta(seconds=10),
        "t_execute": order.updated_at if filled else None,
        "is_filled": filled,
        "side_executed": order.side.lower() if filled else None,
        "price_executed": n(order.average_price) if filled else None,
        "quantity_executed": n(order.filled_quantity) if filled else None,
        "fees": {"token": order.product.quote, "value": n(order.commission)},
        "trader_email": "sim@fixgw.invalid",
        "error": None,
    }


def _place_order(payload: dict[str, Any], account: str, state: SimState, *, numbers: bool) -> SimReply:
    base, quote = _product_id(payload)
    quantity = payload.get("quantity") or {}
    if str(quantity.get("token", "")).upper() != base:
        raise _http_error(400, "quantity.token must be the base token")
    qty = _dec(quantity.get("value"), "quantity.value", number=numbers)
    side = str(payload.get("side", "")).upper()
    order_type = str(payload.get("order_type", "")).upper()
    if str(payload.get("time_in_force", "fok")).lower() != "fok":
        return _failure("INVALID_TIME_IN_FORCE", "only fok is supported")
    limit_price = None
    if payload.get("limit_price") not in (None, ""):
        limit_price = _dec(payload["limit_price"], "limit_price", number=numbers)
    try:
        buy_price, sell_price = _prices(state, f"{base}-{quote}")
        order = state.book.submit(
            venue=VENUE,
            account=account,
            client_order_id=str(payload.get("client_order_id") or uuid.uuid4()),
            product_id=f"{base}-{quote}",
            side=side,
            order_type=order_type,
            base_quantity=qty,
            limit_price=limit_price,
            time_in_force="FILL_OR_KILL",
            unique_active_client_order_id=False,  # nothing rests at FalconX
        )
    except BookError as exc:
        return _failure(exc.code, exc.message)
    extra = {"buy_price": buy_price, "sell_price": sell_price, "slippage_bps": payload.get("slippage_bps")}
    state.falconx_extras[order.order_id] = extra
    return SimReply(render_order(order, extra, numbers=numbers))


def order_v1(request: Request, body: bytes, account: str, state: SimState) -> SimReply:
    return _place_order(_json_body(body), account, state, numbers=False)


def order_v3(request: Request, body: bytes, account: str, state: SimState) -> SimReply:
    return _place_order(_json_body(body), account, state, numbers=True)


def get_order(request: Request, body: bytes, account: str, state: SimState) -> SimReply:
    order = state.book.get(VENUE, account, request.path_params["order_id"])
    if order is None:
        raise _http_error(404, "Order not found")
    return SimReply(render_order(order, state.falconx_extras.get(order.order_id, {}), numbers=False))


def list_orders(request: Request, body: bytes, account: str, state: SimState) -> SimReply:
    """GET /v1/orders?t_start=&t_end= : executed orders in a time window (ISO 8601)."""
    t_start = request.query_params.get("t_start", "")
    orders = [
        render_order(o, state.falconx_extras.get(o.order_id, {}), numbers=False)
        for o in state.book.for_account(VENUE, account)
        if not t_start or o.created_at.isoformat() >= t_start.replace("Z", "+00:00")
    ]
    return SimReply(orders)


def create_quote(request: Request, body: bytes, account: str, state: SimState) -> SimReply:
    payload = _json_body(body)
    base, quote = _product_id(payload)
    quantity = payload.get("quantity") or {}
    qty = _dec(quantity.get("value"), "quantity.value", number=False)
    try:
        product = state.book.product(f"{base}-{quote}")
        buy_price, sell_price = _prices(state, product.product_id)
    except BookError as exc:
        return _failure(exc.code, exc.message)
    now = state.clock.now()
    quote_id = str(uuid.uuid4())
    record: dict[str, Any] = {
        "status": "success",
        "fx_quote_id": quote_id,
        "client_order_id": payload.get("client_order_id"),
        "platform": "api",
        "token_pair": {"base_token": base, "quote_token": quote},
        "quantity_requested": {"token": base, "value": qty},
        "side_requested": str(payload.get("side", "two_way")),
        "buy_price": buy_price,
        "sell_price": sell_price,
        "t_quote": now,
        "t_expiry": now + timedelta(seconds=state.settings.quote_ttl_s),
        "t_execute": None,
        "is_filled": False,
        "side_executed": None,
        "price_executed": None,
        "order_type": "rfq",
        "error": None,
    }
    state.falconx_quotes[quote_id] = record
    return SimReply(record)


def execute_quote(request: Request, body: bytes, account: str, state: SimState) -> SimReply:
    payload = _json_body(body)
    record = state.falconx_quotes.get(str(payload.get("fx_quote_id", "")))
    if record is None:
        raise _http_error(404, "Quote not found")
    side = str(payload.get("side", "")).lower()
    if side not in ("buy", "sell") or record["side_requested"] not in ("two_way", side):
        return _failure("INVALID_SIDE", f"cannot execute side {side}")
    if record["is_filled"]:
        return _failure("QUOTE_ALREADY_EXECUTED", "quote was already executed")
    if state.clock.now() > record["t_expiry"]:
        return _failure("QUOTE_EXPIRED", "quote has expired")
    price: Decimal = record["buy_price"] if side == "buy" else record["sell_price"]
    try:
        # An executed quote is a filled FOK order at the quoted price (marketable by construction).
        order = state.book.submit(
            venue=VENUE,
            account=account,
            client_order_id=str(record.get("client_order_id") or record["fx_quote_id"]),
            product_id=f"{record['token_pair']['base_token']}-{record['token_pair']['quote_token']}",
            side=side.upper(),
            order_type="LIMIT",
            base_quantity=record["quantity_requested"]["value"],
            limit_price=price,
            time_in_force="FILL_OR_KILL",
            unique_active_client_order_id=False,
        )
    except BookError as exc:
        return _failure(exc.code, exc.message)
    record["order_id"] = order.order_id
    record.update(is_filled=True, side_executed=side, price_executed=price, t_execute=state.clock.now())
    return SimReply(record)


def get_quote(request: Request, body: bytes, account: str, state: SimState) -> SimReply:
    record = state.falconx_quotes.get(request.path_params["quote_id"])
    if record is None:
        raise _http_error(404, "Quote not found")
    return SimReply(record)


def balances(request: Request, body: bytes, account: str, state: SimState) -> SimReply:
    rows = [
        {"balance": Num(amount), "token": asset, "platform": "api"}
        for asset, amount in sorted(state.book.account_balances(VENUE, account).items())
    ]
    return SimReply(rows)


def _endpoint(route: str, handler: Handler) -> Any:
    async def endpoint(request: Request) -> Response:
        return await run_route(
            request,
            route,
            auth=authenticate,
            handler=handler,
            errors=ERRORS,
            bucket=lambda s: s.settings.falconx_bucket,
            venue=VENUE,
        )

    return endpoint


routes = [
    Route("/v1/quotes", _endpoint("falconx.quote_v1", create_quote), methods=["POST"]),
    Route("/v3/quotes", _endpoint("falconx.quote_v3", create_quote), methods=["POST"]),
    Route("/v1/quotes/execute", _endpoint("falconx.execute_v1", execute_quote), methods=["POST"]),
    Route("/v3/quotes/execute", _endpoint("falconx.execute_v3", execute_quote), methods=["POST"]),
    Route("/v1/quotes/{quote_id}", _endpoint("falconx.get_quote", get_quote), methods=["GET"]),
    Route("/v1/order", _endpoint("falconx.order_v1", order_v1), methods=["POST"]),
    Route("/v3/order", _endpoint("falconx.order_v3", order_v3), methods=["POST"]),
    Route("/v1/orders/{order_id}", _endpoint("falconx.get_order", get_order), methods=["GET"]),
    Route("/v1/orders", _endpoint("falconx.list_orders", list_orders), methods=["GET"]),
    Route("/v1/balances", _endpoint("falconx.balances", balances), methods=["GET"]),
]
