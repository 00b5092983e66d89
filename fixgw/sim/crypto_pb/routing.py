"""The request pipeline every simulated endpoint shares: auth, rate limit, fault injection, render."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from fixgw.sim.crypto_pb.faults import FaultKind
from fixgw.sim.crypto_pb.jsonio import DecimalJSONResponse
from fixgw.sim.crypto_pb.state import SimState


class SimHttpError(Exception):
    """Ends a request with a venue-shaped error body."""

    def __init__(self, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.payload = payload
        self.headers = dict(headers or {})


@dataclass
class SimReply:
    payload: Any
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    fills_key: str | None = None  # where a DUPLICATE_FILL fault finds the fill list (None: payload itself)


class DroppedResponse(Response):
    """Starts a response and closes the connection before the body is complete."""

    def __init__(self) -> None:
        super().__init__()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"512")]})
        await send({"type": "http.response.body", "body": b'{"order', "more_body": True})
        # Returning now makes uvicorn close the transport: the client sees a truncated response.


def accepts_repeated_ids(request: Request) -> bool:
    """A HANG_THEN_COMMIT create: it commits even when its client order id is already in use."""
    return bool(getattr(request.state, "accept_repeated_ids", False))


def sim_state(request: Request) -> SimState:
    state: SimState = request.app.state.sim
    return state


@dataclass(frozen=True)
class VenueErrors:
    """How one venue words the generic failures."""

    rate_limited: Callable[[int], SimHttpError]
    server_error: Callable[[], SimHttpError]


Auth = Callable[[Request, bytes, SimState], str]  # returns the account the request acts for
Handler = Callable[[Request, bytes, str, SimState], Awaitable[SimReply] | SimReply]


async def run_route(
    request: Request,
    route: str,
    *,
    auth: Auth | None,
    handler: Handler,
    errors: VenueErrors,
    bucket: Callable[[SimState], Any] | None = None,
    venue: str = "",
) -> Response:
    state = sim_state(request)
    state.count(route)
    withdrawn = state.withdrawn_status(route)
    if withdrawn is not None:  # as a venue answers for an endpoint it no longer serves, before any auth
        message = "Not Found" if withdrawn == 404 else "This API version is no longer served"
        return DecimalJSONResponse({"message": message}, status_code=withdrawn)
    state.book.advance()
    body = await request.body()
    try:
        account = auth(request, body, state) if auth else ""
        if bucket is not None and not state.limits.allow(venue, account, bucket(state)):
            raise errors.rate_limited(state.settings.rate_limit_retry_after_s)
        fault = state.faults.take(route)
        if fault and fault.kind == FaultKind.ERROR_500:
            raise errors.server_error()
        if fault and fault.kind == FaultKind.RATE_LIMIT:
            raise errors.rate_limited(fault.retry_after_s)
        if fault and fault.kind == FaultKind.HANG_THEN_COMMIT:
            await asyncio.sleep(fault.delay_s)
            request.state.accept_repeated_ids = True
        result = handler(request, body, account, state)
        reply = await result if isinstance(result, Awaitable) else result
        if fault and fault.kind == FaultKind.ERROR_500_AFTER:
            raise errors.server_error()
        if fault and fault.kind == FaultKind.DROP:
            return DroppedResponse()
        if fault and fault.kind == FaultKind.DELAY:
            await asyncio.sleep(fault.delay_s)
        if fault and fault.kind == FaultKind.DUPLICATE_FILL:
            _duplicate_last_fill(reply)
    except SimHttpError as exc:
        return DecimalJSONResponse(exc.payload, status_code=exc.status,
                                   headers={**exc.headers, **state.notice_headers(route)})
    return DecimalJSONResponse(reply.payload, status_code=reply.status,
                               headers={**reply.headers, **state.notice_headers(route)})


def _duplicate_last_fill(reply: SimReply) -> None:
    fills = reply.payload if reply.fills_key is None else reply.payload.get(reply.fills_key)
    if isinstance(fills, list) and fills:
        fills.append(dict(fills[-1]))
