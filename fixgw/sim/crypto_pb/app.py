"""Assembles the simulator ASGI app: Coinbase Prime at the root, FalconX under /falconx,
Binance under /binance, Clear Street (and its token endpoint) under /clearstreet, the Coinbase WebSocket feed
at /ws and the control API under /_sim."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from email.utils import formatdate

from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fixgw.sim.crypto_pb import (
    binance,
    clear_street,
    coinbase,
    coinbase_ws,
    control,
    falconx,
    margin,
    marketdata,
    transfers,
)
from fixgw.sim.crypto_pb.state import SimState

TICK_S = 0.02  # how often resting LIMIT slices are delivered and WebSocket updates pushed


class SkewedDateHeader:
    """Sets `Date` from the simulator clock (uvicorn's own date header is disabled) so skew is visible."""

    def __init__(self, app: ASGIApp, state: SimState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_date(message: Message) -> None:
            if message["type"] == "http.response.start":
                date = formatdate(self.state.clock.time(), usegmt=True).encode()
                message["headers"] = [*message.get("headers", []), (b"date", date)]
            await send(message)

        await self.app(scope, receive, send_with_date)


def build_app(state: SimState) -> ASGIApp:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async def tick() -> None:
            while True:
                state.book.advance()
                state.price_process.advance(state.settings.reference_prices, time.monotonic())
                margin.check(state)
                await asyncio.sleep(TICK_S)

        ticker = asyncio.create_task(tick())
        try:
            yield
        finally:
            ticker.cancel()

    app = Starlette(
        routes=[
            *transfers.routes,  # full paths, ahead of the mounts
            *margin.coinbase_routes,
            Mount("/_sim", routes=[*control.routes, *marketdata.control_routes, *margin.control_routes,
                                   *clear_street.control_routes]),
            Mount("/falconx", routes=falconx.routes),
            Mount("/clearstreet", routes=clear_street.routes),
            Mount("/binance", routes=[*marketdata.binance_routes, *binance.routes, *margin.binance_routes]),
            *coinbase_ws.routes,
            *coinbase.routes,
        ],
        lifespan=lifespan,
    )
    app.state.sim = state
    return SkewedDateHeader(app, state)
