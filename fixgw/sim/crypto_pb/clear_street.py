"""Clear Street Studio-style front end (REST v2, US equities) and its OAuth 2.0 token endpoint.

Shapes follow Clear Street's public Studio OpenAPI document and OAuth2 guide (docs.clearstreet.io/studio):
- `POST /oauth/token` (auth.clearstreet.io, an Auth0 tenant): the client credentials grant, form or JSON body,
  with `audience`; answers `{"access_token", "token_type": "Bearer", "expires_in"}` or 401 `access_denied`;
- under `/studio/v2`, every call carries `Authorization: Bearer <token>`; an unknown or expired token is a 401
  with an RFC 9457 problem details body (`type`, `title`, `status`, `detail`);
- `POST /accounts/{account_id}/orders` (`reference_id`, `order_type`, `side`, `quantity`, `price`,
  `time_in_force`, `symbol`, `symbol_format`; decimal strings) -> 201 `{"order_id"}`;
  `GET .../orders/{order_id}` -> `{"order": Order}`; `DELETE .../orders/{order_id}` -> 201, empty;
  `GET .../orders?from=&to=&page_size=&page_token=` (ms since epoch) -> `{"data": [Order], "next_page_token"}`;
  `GET .../trades` -> `{"data": [Trade], "next_page_token"}`; `GET .../holdings` -> `{"data": [Holding], ...}`.
A repeated `reference_id` is accepted as a new order: the Studio documents no uniqueness check.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fixgw.sim.crypto_pb.auth import same
from fixgw.sim.crypto_pb.book import CANCELLED, EXPIRED, FAILED, FILLED, BookError, SimOrder
from fixgw.sim.crypto_pb.faults import FaultKind
from fixgw.sim.crypto_pb.jsonio import DecimalJSONResponse, Num, loads
from fixgw.sim.crypto_pb.routing import Handler, SimHttpError, SimReply, VenueErrors, run_route, sim_state
from fixgw.sim.crypto_pb.state import SimState

VENUE = "clear_street"
PAGE_SIZE_MAX = 2000
TIME_IN_FORCE = {"day": "GOOD_UNTIL_CANCELLED", "day-plus": "GOOD_UNTIL_CANCELLED", "at-open": "GOOD_UNTIL_CANCELLED",
                 "at-close": "GOOD_UNTIL_CANCELLED", "ioc": "IMMEDIATE_OR_CANCEL"}
STATUS = {FILLED: "filled", CANCELLED: "canceled", EXPIRED: "expired", FAILED: "rejected"}


def _problem(status: int, title: str, detail: str) -> SimHttpError:
    return SimHttpError(status, {"type": "about:blank", "title": title, "status": status, "detail": detail})


ERRORS = VenueErrors(
    rate_limited=lambda retry_after: SimHttpError(
        429, {"type": "about:blank", "title": "Too Many Requests", "status": 429, "detail": "rate limited"},
        {"Retry-After": str(retry_after)}),
    server_error=lambda: _problem(500, "Internal Server Error", "internal error"),
)


# -- OAuth 2.0 token endpoint --------------------------------------------------------------------------------


def _grant(request: Request, body: bytes) -> dict[str, str]:
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            payload = loads(body)
        except ValueError:
            payload = None
        return {str(k): str(v) for k, v in payload.items()} if isinstance(payload, dict) else {}
    return {k: v[0] for k, v in parse_qs(body.decode(errors="replace")).items()}


def _oauth_error(status: int, error: str, description: str) -> Response:
    return DecimalJSONResponse({"error": error, "error_description": description}, status_code=status)


async def token(request: Request) -> Response:
    state = sim_state(request)
    state.count("clear_street.token")
    fault = state.faults.take("clear_street.token")
    if fault is not None and fault.kind in (FaultKind.ERROR_500, FaultKind.ERROR_500_AFTER):
        return _oauth_error(500, "server_error", "internal error")
    grant = _grant(request, await request.body())
    client = state.settings.clear_street_client
    if grant.get("grant_type") != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type", "only client_credentials is supported")
    if not (same(grant.get("client_id", ""), client.client_id)
            and same(grant.get("client_secret", ""), client.client_secret)):
        return _oauth_error(401, "access_denied", "Unauthorized")
    if grant.get("audience", "") != client.audience:
        return _oauth_error(403, "access_denied", "Service not found")
    ttl = state.settings.clear_street_token_ttl_s
    access_token = secrets.token_urlsafe(32)
    state.clear_street_tokens[access_token] = state.clock.time() + ttl
    return DecimalJSONResponse({"access_token": access_token, "token_type": "Bearer", "expires_in": int(ttl),
                                "scope": "studio"})


# -- Studio API ----------------------------------------------------------------------------------------------


def authenticate(request: Request, body: bytes, state: SimState) -> str:
    scheme, _, bearer = request.headers.get("authorization", "").partition(" ")
    expires_at = state.clear_street_tokens.get(bearer) if scheme.lower() == "bearer" else None
    if expires_at is None:
        raise _problem(401, "Unauthorized", "missing or invalid access token")
    if state.clock.time() >= expires_at:
        raise _problem(401, "Unauthorized", "access token expired")
    return str(request.path_params["account_id"])


def _ms(moment: datetime | None) -> int:
    return int(moment.timestamp() * 1000) if moment else 0


def _running_position(state: SimState, order: SimOrder) -> Decimal:
    return state.book.account_balances(VENUE, order.account).get(order.product.base, Decimal(0))


def render_order(state: SimState, order: SimOrder) -> dict[str, Any]:
    sent = state.clear_street_orders.get(order.order_id, {})
    status = STATUS.get(order.status) or ("partially-filled" if order.fills else "new")
    state_word = "rejected" if order.status == FAILED else ("open" if order.is_active else "closed")
    return {
        "created_at": _ms(order.created_at), "updated_at": _ms(order.updated_at),
        "order_id": order.order_id, "reference_id": order.client_order_id, "version": 1 + len(order.fills),
        "account_id": order.account, "account_number": f"SIM{order.account}", "state": state_word,
        "status": status, "symbol": order.product.base, "order_type": order.order_type.lower(),
        "side": sent.get("side", order.side.lower()), "quantity": order.base_quantity,
        "price": order.limit_price, "time_in_force": sent.get("time_in_force", "day"),
        "average_price": Num(order.average_price),  # a JSON number (double) in the Studio schema
        "filled_quantity": order.filled_quantity, "order_update_reason": "execution-report" if order.fills
        else "place", "text": "", "running_position": _running_position(state, order),
    }


def _decimal(payload: dict[str, Any], key: str, *, required: bool) -> Decimal | None:
    value = payload.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise _problem(400, "Bad Request", f"{key} must be a decimal string")
    try:
        return Decimal(value)
    except InvalidOperation:
        raise _problem(400, "Bad Request", f"{key} is not a decimal") from None


def create_order(request: Request, body: bytes, account: str, state: SimState) -> SimReply:
    try:
        payload = loads(body)
    except ValueError:
        raise _problem(400, "Bad Request", "body is not JSON") from None
    if not isinstance(payload, dict):
        raise _problem(400, "Bad Request", "body must be an object")
    for key in ("order_type", "side", "quantity", "time_in_force", "symbol"):
        if key not in payload:
            raise _problem(400, "Bad Request", f"{key} is required")
    side, tif = str(payload["side"]), str(payload["time_in_force"])
    if side not in ("buy", "sell", "sell-short"):
        raise _problem(400, "Bad Request", f"invalid side {side}")
    if tif not in TIME_IN_FORCE:
        raise _problem(400, "Bad Request", f"invalid time_in_force {tif}")
    if payload.get("symbol_format", "cms") != "cms":
        raise _problem(400, "Bad Request", "only cms symbols are simulated")
    try:
        order = state.book.submit(
            venue=VENUE, account=account, client_order_id=str(payload.get("reference_id") or ""),
            product_id=f"{payload['symbol']}-USD", side="BUY" if side == "buy" else "SELL",
            order_type=str(payload["order_type"]).upper(), base_quantity=_decimal(payload, "quantity", required=True),
            limit_price=_decimal(payload, "price", required=False), time_in_force=TIME_IN_FORCE[tif],
            unique_active_client_order_id=False)
    except BookError as exc:
        raise _problem(400, "Bad Request", f"{exc.code}: {exc.message}") from None
    state.clear_street_orders[order.order_id] = {"side": side, "time_in_force": tif}
    return SimReply({"order_id": order.order_id}, status=201)


def _owned(state: SimState, account: str, order_id: str) -> SimOrder:
    order = state.book.get(VENUE, account, order_id)
    if order is None:
        raise _problem(404, "Not Found", f"order {order_id} not found")
    return order


def get_order(request: Request, body: bytes, account: str, state: SimState) -> SimReply:
    return SimReply({"order": render_order(state, _owned(state, account, request.path_params["order_id"]))})


def cancel_order(request: Request, body: bytes, account: str, state: SimState) -> SimReply:
    order = _owned(state, account, request.path_params["order_id"])
    try:
        state.book.cancel(order)
    except BookError as exc:
        raise _problem(400, "Bad Request", exc.message) from None
    return SimReply(None, status=201)


def _page(request: Request, rows: list[dict[str, Any]]) -> SimReply:
    """Cursor pagination: `page_token` is the offset of the page (opaque to the client)."""
    try:
        size = min(PAGE_SIZE_MAX, max(1, int(request.query_params.get("page_size", "25"))))
        start = int(request.query_params.get("page_token") or 0)
    except ValueError:
        raise _problem(400, "Bad Request", "invalid page_size or page_token") from None
    page = rows[start:start + size]
    reply: dict[str, Any] = {"data": page}
    if start + size < len(rows):
        reply["next_page_token"] = str(start + size)
    return SimReply(reply)


def list_orders(request: Request, body: bytes, account: str, state: SimState) -> SimReply:
    try:
        start = int(request.query_params.get("from") or 0)
        end = int(request.query_params.get("to") or 0)
    except ValueError:
        raise _problem(400, "Bad Request", "from and to are milliseconds since epoch") from None
    orders = [o for o in state.book.for_account(VENUE, account)
              if _ms(o.created_at) >= start and (not end or _ms(o.created_at) <= end)]
    return _page(request, [render_order(state, o) for o in orders])


def list_trades(request: Request, body: bytes, account: str, state: SimState) -> SimReply:
    rows: list[dict[str, Any]] = [
        {"created_at": _ms(fill.time), "account_id": account, "account_number": f"SIM{account}",
         "trade_id": fill.fill_id, "order_id": order.order_id, "symbol": order.product.base,
         "side": state.clear_street_orders.get(order.order_id, {}).get("side", order.side.lower()),
         "quantity": fill.quantity, "price": fill.price, "running_position": _running_position(state, order)}
        for order in state.book.for_account(VENUE, account) for fill in order.fills
    ]
    rows.sort(key=lambda row: row["created_at"])
    return _page(request, rows)


def holdings(request: Request, body: bytes, account: str, state: SimState) -> SimReply:
    held = state.book.account_balances(VENUE, account)
    equities = {spec.base for spec in state.settings.equities}
    rows = [{"symbol": asset, "asset_class": "equity" if asset in equities else "currency", "quantity": amount,
             "sod_quantity": amount} for asset, amount in sorted(held.items()) if asset in equities or asset == "USD"]
    return SimReply({"account_id": account, "account_number": f"SIM{account}",
                     "date": int(state.clock.now().strftime("%Y%m%d")), "sod_equity": Num(held.get("USD", 0)),
                     "data": rows})


def _endpoint(route: str, handler: Handler) -> Any:
    async def endpoint(request: Request) -> Response:
        return await run_route(request, route, auth=authenticate, handler=handler, errors=ERRORS,
                               bucket=lambda s: s.settings.clear_street_bucket, venue=VENUE)

    return endpoint


async def expire_tokens(request: Request) -> Response:
    """Control: every issued token expires now (as if their lifetime ran out while the client holds them)."""
    state = sim_state(request)
    now = state.clock.time()
    for issued in state.clear_street_tokens:
        state.clear_street_tokens[issued] = now
    return DecimalJSONResponse({"expired": len(state.clear_street_tokens)})


ACCOUNT = "/studio/v2/accounts/{account_id}"
routes = [
    Route("/oauth/token", token, methods=["POST"]),
    Route(f"{ACCOUNT}/orders", _endpoint("clear_street.create_order", create_order), methods=["POST"]),
    Route(f"{ACCOUNT}/orders", _endpoint("clear_street.list_orders", list_orders), methods=["GET"]),
    Route(f"{ACCOUNT}/orders/{{order_id}}", _endpoint("clear_street.get_order", get_order), methods=["GET"]),
    Route(f"{ACCOUNT}/orders/{{order_id}}", _endpoint("clear_street.cancel_order", cancel_order),
          methods=["DELETE"]),
    Route(f"{ACCOUNT}/trades", _endpoint("clear_street.trades", list_trades), methods=["GET"]),
    Route(f"{ACCOUNT}/holdings", _endpoint("clear_street.holdings", holdings), methods=["GET"]),
]
control_routes = [Route("/clear_street/tokens/expire", expire_tokens, methods=["POST"])]
