"""Coinbase Prime REST v1 front end (paths as on api.prime.coinbase.com)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fixgw.sim.crypto_pb.auth import coinbase_signature, same, venue_path
from fixgw.sim.crypto_pb.book import BookError, SimFill, SimOrder
from fixgw.sim.crypto_pb.jsonio import loads
from fixgw.sim.crypto_pb.routing import Handler, SimHttpError, SimReply, VenueErrors, accepts_repeated_ids, run_route
from fixgw.sim.crypto_pb.state import SimState

VENUE = "coinbase"
ERRORS = VenueErrors(
    rate_limited=lambda retry_after: SimHttpError(
        429, {"message": "rate limit exceeded"}, {"Retry-After": str(retry_after)}
    ),
    server_error=lambda: SimHttpError(500, {"message": "internal error"}),
)


def _error(status: int, message: str, code: str = "") -> SimHttpError:
    return SimHttpError(status, {"code": code, "message": message})


def authenticate(request: Request, body: bytes, state: SimState) -> str:
    creds = state.settings.credentials
    headers = request.headers
    if not same(headers.get("X-CB-ACCESS-KEY", ""), creds.access_key):
        raise _error(401, "invalid access key", "UNAUTHENTICATED")
    if not same(headers.get("X-CB-ACCESS-PASSPHRASE", ""), creds.passphrase):
        raise _error(401, "invalid passphrase", "UNAUTHENTICATED")
    timestamp = headers.get("X-CB-ACCESS-TIMESTAMP", "")
    if not timestamp.isdigit():
        raise _error(401, "invalid timestamp", "UNAUTHENTICATED")
    if abs(state.clock.time() - int(timestamp)) > state.settings.coinbase_timestamp_window_s:
        raise _error(401, "request timestamp expired", "UNAUTHENTICATED")
    expected = coinbase_signature(creds.signing_key, timestamp, request.method, venue_path(request), body)
    if not same(headers.get("X-CB-ACCESS-SIGNATURE", ""), expected):
        raise _error(401, "invalid signature", "UNAUTHENTICATED")
    portfolio_id: str = request.path_params["portfolio_id"]
    return portfolio_id


def _decimal(payload: dict[str, Any], name: str) -> Decimal | None:
    value = payload.get(name)
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise _error(400, f"{name} must be a decimal string", "INVALID_ARGUMENT")
    try:
        return Decimal(value)
    except InvalidOperation as exc:
        raise _error(400, f"{name} is not a decimal", "INVALID_ARGUMENT") from exc


def render_order(order: SimOrder) -> dict[str, Any]:
    return {
        "id": order.order_id,
        "user_id": "sim-user",
        "portfolio_id": order.account,
        "product_id": order.product.product_id,
        "side": order.side,
        "client_order_id": order.client_order_id,
        "type": order.order_type,
        "base_quantity": order.base_quantity,
        "quote_value": order.quote_value if order.quote_value is not None else "",
        "limit_price": order.limit_price if order.limit_price is not None else "",
        "start_time": None,
        "expiry_time": None,
        "status": order.status,
        "time_in_force": order.time_in_force,
        "created_at": order.created_at,
        "filled_quantity": order.filled_quantity,
        "filled_value": order.filled_value.quantize(order.product.quote_increment),
        "average_filled_price": order.average_price,
        "commission": order.commission,
        "exchange_fee": Decimal(0),
    }


def render_fill(order: SimOrder, fill: SimFill) -> dict[str, Any]:
    return {
        "id": fill.fill_id,
        "order_id": order.order_id,
        "product_id": order.product.product_id,
        "side": order.side,
        "filled_quantity": fill.quantity,
        "filled_value": fill.value.quantize(order.product.quote_increment),
        "price": fill.price,
        "time": fill.time,
        "commission": fill.commission,
        "venue": "SIM",
        "client_order_id": order.client_order_id,
    }


def _page(request: Request, items: list[Any], default_limit: int = 100) -> tuple[list[Any], dict[str, Any]]:
    """Cursor pagination: the cursor is the offset of the next item, as an opaque string."""
    params = request.query_params
    try:
        limit = min(int(params.get("limit", default_limit)), 3000)
        start = int(params.get("cursor") or 0)
    except ValueError as exc:
        raise _error(400, "invalid limit or cursor", "INVALID_ARGUMENT") from exc
    if params.get("sort_direction", "DESC") == "DESC":
        items = list(reversed(items))
    page = items[start : start + limit]
    has_next = start + limit < len(items)
    return page, {
        "next_cursor": str(start + limit) if has_next else "",
        "sort_direction": params.get("sort_direction", "DESC"),
        "has_next": has_next,
    }


def _order_or_404(state: SimState, account: str, order_id: str) -> SimOrder:
    order = state.book.get(VENUE, account, order_id)
    if order is None:
        raise _error(404, "order not found", "NOT_FOUND")
    return order


def create_order(request: Request, body: bytes, account: str, state: SimState) -> SimReply:
    try:
        payload = loads(body)
    except ValueError as exc:
        raise _error(400, "body is not JSON", "INVALID_ARGUMENT") from exc
    if not isinstance(payload, dict) or not payload.get("client_order_id"):
        raise _error(400, "client_order_id is required", "INVALID_ARGUMENT")
    try:
        order = state.book.submit(
            venue=VENUE,
            account=account,
            client_order_id=str(payload["client_order_id"]),
            product_id=str(payload.get("product_id", "")),
            side=str(payload.get("side", "")),
            order_type=str(payload.get("type", "")),
            base_quantity=_decimal(payload, "base_quantity"),
            quote_value=_decimal(payload, "quote_value"),
            limit_price=_decimal(payload, "limit_price"),
            time_in_force=str(payload.get("time_in_force") or "GOOD_UNTIL_CANCELLED"),
            unique_active_client_order_id=not accepts_repeated_ids(request),
        )
    except BookError as exc:
        raise _error(409 if exc.code == "DUPLICATE_CLIENT_ORDER_ID" else 400, exc.message, exc.code) from exc
    return SimReply({"order_id": order.order_id})


def get_order(request: Request, body: bytes, account: str, state: SimState) -> SimReply:
    return SimReply({"order": render_order(_order_or_404(state, account, request.path_params["order_id"]))})


def cancel_order(request: Request, body: bytes, account: str, state: SimState) -> SimReply:
    order = _order_or_404(state, account, request.path_params["order_id"])
    try:
        state.book.cancel(order)
    except BookError as exc:
        raise _error(400, exc.message, exc.code) from exc
    return SimReply({"id": order.order_id})


def order_fills(request: Request, body: bytes, account: str, state: SimState) -> SimReply:
    order = _order_or_404(state, account, request.path_params["order_id"])
    page, pagination = _page(request, [render_fill(order, f) for f in order.fills])
    return SimReply({"fills": page, "pagination": pagination}, fills_key="fills")


def portfolio_fills(request: Request, body: bytes, account: str, state: SimState) -> SimReply:
    """The portfolio's fills since `start_date` (required, as the venue documents), oldest first by time."""
    start_text = request.query_params.get("start_date")
    if not start_text:
        raise _error(400, "start_date is required", "INVALID_ARGUMENT")
    try:
        start = datetime.fromisoformat(start_text)
    except ValueError as exc:
        raise _error(400, "invalid start_date", "INVALID_ARGUMENT") from exc
    fills = sorted(((fill, order) for order in state.book.for_account(VENUE, account) for fill in order.fills
                    if fill.time >= start), key=lambda pair: pair[0].time)
    page, pagination = _page(request, [render_fill(order, fill) for fill, order in fills])
    return SimReply({"fills": page, "pagination": pagination}, fills_key="fills")


def _listing(request: Request, orders: list[SimOrder]) -> SimReply:
    params = request.query_params
    product_ids = set(params.getlist("product_ids"))
    statuses = set(params.getlist("order_statuses"))
    start_date = params.get("start_date")
    selected = [
        o
        for o in orders
        if (not product_ids or o.product.product_id in product_ids)
        and (not statuses or o.status in statuses)
        and (not start_date or o.created_at.isoformat().replace("+00:00", "Z") >= start_date)
    ]
    page, pagination = _page(request, [render_order(o) for o in selected])
    return SimReply({"orders": page, "pagination": pagination})


def open_orders(request: Request, body: bytes, account: str, state: SimState) -> SimReply:
    return _listing(request, [o for o in state.book.for_account(VENUE, account) if o.is_active])


def list_orders(request: Request, body: bytes, account: str, state: SimState) -> SimReply:
    return _listing(request, state.book.for_account(VENUE, account))


def balances(request: Request, body: bytes, account: str, state: SimState) -> SimReply:
    rows = [
        {
            "symbol": asset.lower(),
            "amount": amount,
            "holds": Decimal(0),
            "bonded_amount": Decimal(0),
            "reserved_amount": Decimal(0),
            "withdrawable_amount": amount,
        }
        for asset, amount in sorted(state.book.account_balances(VENUE, account).items())
    ]
    return SimReply({"balances": rows, "type": "TRADING_BALANCES"})


def products(request: Request, body: bytes, account: str, state: SimState) -> SimReply:
    rows = [
        {
            "id": p.product_id,
            "base_increment": p.base_increment,
            "quote_increment": p.quote_increment,
            "base_min_size": p.base_min_size,
            "base_max_size": p.base_max_size,
            "quote_min_size": Decimal("1"),
            "quote_max_size": Decimal("100000000"),
            "permissions": ["PRODUCT_PERMISSION_READ", "PRODUCT_PERMISSION_TRADE"],
        }
        for p in state.settings.products
        if p.quote == "USD"
    ]
    return SimReply({"products": rows, "pagination": {"next_cursor": "", "sort_direction": "ASC", "has_next": False}})


def _endpoint(route: str, handler: Handler) -> Any:
    async def endpoint(request: Request) -> Response:
        return await run_route(
            request,
            route,
            auth=authenticate,
            handler=handler,
            errors=ERRORS,
            bucket=lambda s: s.settings.coinbase_bucket,
            venue=VENUE,
        )

    return endpoint


_P = "/v1/portfolios/{portfolio_id}"
routes = [
    Route(f"{_P}/order", _endpoint("coinbase.create_order", create_order), methods=["POST"]),
    Route(f"{_P}/orders/{{order_id}}", _endpoint("coinbase.get_order", get_order), methods=["GET"]),
    Route(f"{_P}/orders/{{order_id}}/cancel", _endpoint("coinbase.cancel_order", cancel_order), methods=["POST"]),
    Route(f"{_P}/orders/{{order_id}}/fills", _endpoint("coinbase.fills", order_fills), methods=["GET"]),
    Route(f"{_P}/fills", _endpoint("coinbase.portfolio_fills", portfolio_fills), methods=["GET"]),
    Route(f"{_P}/open_orders", _endpoint("coinbase.open_orders", open_orders), methods=["GET"]),
    Route(f"{_P}/orders", _endpoint("coinbase.list_orders", list_orders), methods=["GET"]),
    Route(f"{_P}/balances", _endpoint("coinbase.balances", balances), methods=["GET"]),
    Route(f"{_P}/products", _endpoint("coinbase.products", products), methods=["GET"]),
]
