"""Control API under /_sim for tests and demos: faults, order inspection, prices, clock skew, settings."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fixgw.sim.crypto_pb.book import SimOrder
from fixgw.sim.crypto_pb.faults import Fault, FaultKind
from fixgw.sim.crypto_pb.jsonio import DecimalJSONResponse, loads
from fixgw.sim.crypto_pb.prices import PriceProcess
from fixgw.sim.crypto_pb.routing import sim_state
from fixgw.sim.crypto_pb.settings import BucketSpec


async def _payload(request: Request) -> dict[str, Any]:
    body = await request.body()
    payload = loads(body) if body else {}
    if not isinstance(payload, dict):
        raise ValueError("body must be a JSON object")
    return payload


def _bad(message: str) -> Response:
    return DecimalJSONResponse({"message": message}, status_code=400)


async def health(request: Request) -> Response:
    return DecimalJSONResponse({"status": "ok"})


async def add_fault(request: Request) -> Response:
    """Body: {"route": "coinbase.create_order" | glob, "kind": FaultKind, "count": N, "delay_s", "retry_after_s"}."""
    try:
        payload = await _payload(request)
        fault = Fault(
            route=str(payload["route"]),
            kind=FaultKind(payload["kind"]),
            remaining=int(payload.get("count", 1)),
            delay_s=float(payload.get("delay_s", 0)),
            retry_after_s=int(payload.get("retry_after_s", 1)),
        )
    except (KeyError, ValueError) as exc:
        return _bad(f"invalid fault: {exc}")
    sim_state(request).faults.add(fault)
    return DecimalJSONResponse({"armed": True}, status_code=201)


NOTICE_HEADERS = {"deprecation": "Deprecation", "sunset": "Sunset", "warning": "Warning"}


async def add_notice(request: Request) -> Response:
    """Body: {"route": "falconx.balances" | glob, "deprecation": "@1688169599", "sunset": HTTP-date, "warning":
    '299 - "..."'}: every answer of a matching route carries those headers (RFC 9745, RFC 8594, RFC 7234)."""
    try:
        payload = await _payload(request)
        route = str(payload["route"])
        headers = {NOTICE_HEADERS[key]: str(value) for key, value in payload.items() if key != "route"}
    except (KeyError, ValueError) as exc:
        return _bad(f"invalid notice: {exc}")
    sim_state(request).notices[route] = headers
    return DecimalJSONResponse({"armed": True}, status_code=201)


async def clear_notices(request: Request) -> Response:
    sim_state(request).notices.clear()
    return DecimalJSONResponse({"cleared": True})


async def list_faults(request: Request) -> Response:
    return DecimalJSONResponse(sim_state(request).faults.snapshot())


async def clear_faults(request: Request) -> Response:
    sim_state(request).faults.clear()
    return DecimalJSONResponse({"cleared": True})


async def withdraw(request: Request) -> Response:
    """Body: {"route": "falconx.order_v3" | glob, "status": 404 | 410}: the route answers that, serving nothing."""
    try:
        payload = await _payload(request)
        route, status = str(payload["route"]), int(payload.get("status", 404))
    except (KeyError, ValueError) as exc:
        return _bad(f"invalid withdrawal: {exc}")
    if status not in (404, 410):
        return _bad("status must be 404 or 410")
    sim_state(request).withdrawn[route] = status
    return DecimalJSONResponse({"withdrawn": sim_state(request).withdrawn}, status_code=201)


async def list_withdrawn(request: Request) -> Response:
    return DecimalJSONResponse({"withdrawn": sim_state(request).withdrawn})


async def restore(request: Request) -> Response:
    """Body: {"route": ...} restores that route (as written when withdrawn); no body restores every route."""
    payload = await _payload(request)
    withdrawn = sim_state(request).withdrawn
    if "route" in payload:
        withdrawn.pop(str(payload["route"]), None)
    else:
        withdrawn.clear()
    return DecimalJSONResponse({"withdrawn": withdrawn})


def _order_row(order: SimOrder) -> dict[str, Any]:
    return {
        "venue": order.venue,
        "account": order.account,
        "order_id": order.order_id,
        "client_order_id": order.client_order_id,
        "product_id": order.product.product_id,
        "side": order.side,
        "type": order.order_type,
        "status": order.status,
        "base_quantity": order.base_quantity,
        "filled_quantity": order.filled_quantity,
        "fills": len(order.fills),
    }


async def list_orders(request: Request) -> Response:
    """Every order the venue holds; `counts` is orders per client_order_id (a duplicate shows as > 1)."""
    state = sim_state(request)
    state.book.advance()
    venue = request.query_params.get("venue")
    orders = [o for o in state.book.orders.values() if not venue or o.venue == venue]
    counts: dict[str, int] = {}
    for order in orders:
        counts[order.client_order_id] = counts.get(order.client_order_id, 0) + 1
    return DecimalJSONResponse({"orders": [_order_row(o) for o in orders], "counts": counts})


async def set_prices(request: Request) -> Response:
    """Body: {"BTC": "65000.00", ...} - reference prices per base asset, as decimal strings."""
    try:
        payload = await _payload(request)
        prices = {asset.upper(): Decimal(str(value)) for asset, value in payload.items()}
    except (ArithmeticError, ValueError) as exc:
        return _bad(f"invalid prices: {exc}")
    sim_state(request).settings.reference_prices.update(prices)
    return DecimalJSONResponse({"reference_prices": sim_state(request).settings.reference_prices})


async def set_clock(request: Request) -> Response:
    """Body: {"offset_s": 45.0} - skews the venue clock used for auth windows, time endpoints and Date."""
    try:
        offset = float((await _payload(request)).get("offset_s", 0))
    except ValueError as exc:
        return _bad(str(exc))
    sim_state(request).clock.offset_s = offset
    return DecimalJSONResponse({"offset_s": str(offset)})


_DECIMAL_SETTINGS = ("slippage_bps", "fee_bps", "quote_spread_bps")
_FLOAT_SETTINGS = ("slice_interval_s", "quote_ttl_s", "coinbase_timestamp_window_s", "falconx_timestamp_window_s",
                   "clear_street_token_ttl_s")
_BUCKETS = ("coinbase_bucket", "falconx_bucket", "binance_bucket", "clear_street_bucket")


async def set_config(request: Request) -> Response:
    """Body: any of slippage_bps, fee_bps, limit_slices, slice_interval_s, *_bucket: {"rate", "burst"}."""
    settings = sim_state(request).settings
    try:
        payload = await _payload(request)
        for name, value in payload.items():
            if name in _DECIMAL_SETTINGS:
                setattr(settings, name, Decimal(str(value)))
            elif name in _FLOAT_SETTINGS:
                setattr(settings, name, float(value))
            elif name in ("limit_slices", "rate_limit_retry_after_s"):
                setattr(settings, name, int(value))
            elif name in _BUCKETS:
                setattr(settings, name, BucketSpec(float(value["rate"]), float(value["burst"])))
            else:
                return _bad(f"unknown setting {name}")
    except (ArithmeticError, KeyError, TypeError, ValueError) as exc:
        return _bad(f"invalid setting: {exc}")
    return DecimalJSONResponse({"updated": sorted(payload)})


async def stats(request: Request) -> Response:
    return DecimalJSONResponse({"requests": sim_state(request).request_counts})


async def reset(request: Request) -> Response:
    state = sim_state(request)
    state.book.reset()
    state.faults.clear()
    state.notices.clear()
    state.limits.reset()
    state.request_counts.clear()
    state.falconx_quotes.clear()
    state.falconx_extras.clear()
    state.withdrawn.clear()
    state.clear_street_tokens.clear()
    state.clear_street_orders.clear()
    state.clock.offset_s = 0.0
    state.price_process = PriceProcess()
    return DecimalJSONResponse({"reset": True})


routes = [
    Route("/health", health, methods=["GET"]),
    Route("/faults", add_fault, methods=["POST"]),
    Route("/faults", list_faults, methods=["GET"]),
    Route("/faults", clear_faults, methods=["DELETE"]),
    Route("/notices", add_notice, methods=["POST"]),
    Route("/notices", clear_notices, methods=["DELETE"]),
    Route("/orders", list_orders, methods=["GET"]),
    Route("/withdraw", withdraw, methods=["POST"]),
    Route("/withdraw", list_withdrawn, methods=["GET"]),
    Route("/withdraw", restore, methods=["DELETE"]),
    Route("/prices", set_prices, methods=["POST"]),
    Route("/clock", set_clock, methods=["POST"]),
    Route("/config", set_config, methods=["POST"]),
    Route("/stats", stats, methods=["GET"]),
    Route("/reset", reset, methods=["POST"]),
]
