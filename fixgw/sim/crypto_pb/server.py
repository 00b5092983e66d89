"""`CryptoPbSimulator`: the simulator on a background thread, for sync tests, the demo and benchmarks."""

from __future__ import annotations

import socket
import threading
import time
from decimal import Decimal
from typing import Any

import httpx
import uvicorn

from fixgw.sim.crypto_pb.app import build_app
from fixgw.sim.crypto_pb.jsonio import dumps
from fixgw.sim.crypto_pb.settings import SimCredentials, SimSettings
from fixgw.sim.crypto_pb.state import SimState


class CryptoPbSimulator:
    """A real HTTP/WebSocket server on `host:port` (port 0 picks a free port; read `port` after start).

    `stop()` then `start()` again is a venue outage and its return: the server comes back on the same port with
    the same state (orders, balances, faults), so clients configured with its URL reach it again."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        access_key: str | None = None,
        passphrase: str | None = None,
        signing_key: str | None = None,
        settings: SimSettings | None = None,
    ) -> None:
        credentials = SimCredentials.from_env(access_key, passphrase, signing_key)
        self.settings = settings or SimSettings(credentials=credentials)
        if settings is None or any((access_key, passphrase, signing_key)):
            self.settings.credentials = credentials
        self.state = SimState(self.settings)
        self.host = host
        self._requested_port = port
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def credentials(self) -> SimCredentials:
        return self.settings.credentials

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self, timeout_s: float = 10.0) -> CryptoPbSimulator:
        # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose proto says TCP,
        # and without it Nagle + delayed ACKs add ~40 ms to every response.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port or self._requested_port))  # a restart keeps the port it had
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            build_app(self.state),
            log_config=None,  # uvicorn's own config gives uvicorn.access a handler of its own, bypassing ours
            log_level="warning",
            access_log=False,
            lifespan="on",
            date_header=False,  # the app sets Date from the (skewable) simulator clock
            server_header=False,
            http="h11",
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="crypto-pb-sim", daemon=True
        )
        self._thread.start()
        self._wait_ready(timeout_s)
        return self

    def _wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._server is not None and self._server.started:
                try:
                    if httpx.get(f"{self.base_url}/_sim/health", timeout=1.0).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
            if self._thread is not None and not self._thread.is_alive():
                raise RuntimeError("crypto PB simulator exited during start-up")
            time.sleep(0.02)
        raise TimeoutError(f"crypto PB simulator not ready after {timeout_s} s")

    def stop(self, timeout_s: float = 10.0) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout_s)
        self._server = None
        self._thread = None

    def __enter__(self) -> CryptoPbSimulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- addresses ------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def coinbase_url(self) -> str:
        return self.base_url

    @property
    def falconx_url(self) -> str:
        return f"{self.base_url}/falconx"

    @property
    def binance_url(self) -> str:
        return f"{self.base_url}/binance"

    @property
    def clear_street_url(self) -> str:
        """The Studio API base (`.../studio/v2`), as Clear Street's `https://api.clearstreet.io/studio/v2`."""
        return f"{self.base_url}/clearstreet/studio/v2"

    @property
    def clear_street_token_url(self) -> str:
        return f"{self.base_url}/clearstreet/oauth/token"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/ws"

    # -- control API (over HTTP, so it is safe from any thread) ------------------------------------
    def _control(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        body = None
        if payload is not None:
            body = _dumps_control(payload)
        response = httpx.request(
            method,
            f"{self.base_url}/_sim{path}",
            content=body,
            headers={"content-type": "application/json"},
            timeout=10.0,
        )
        response.raise_for_status()
        return response.json()

    def inject_fault(
        self, route: str, kind: str, count: int = 1, *, delay_s: float = 0.0, retry_after_s: int = 1
    ) -> None:
        self._control(
            "POST",
            "/faults",
            {"route": route, "kind": kind, "count": count, "delay_s": delay_s, "retry_after_s": retry_after_s},
        )

    def withdraw(self, route: str, status: int = 404) -> None:
        """The route (e.g. "falconx.order_v3", or a glob) answers `status` (404 or 410) until restored."""
        self._control("POST", "/withdraw", {"route": route, "status": status})

    def restore(self, route: str | None = None) -> None:
        """Serve a withdrawn route again (every one when None)."""
        self._control("DELETE", "/withdraw", {"route": route} if route is not None else {})

    def expire_clear_street_tokens(self) -> int:
        """Every bearer token issued so far expires now; returns how many there were."""
        expired: int = self._control("POST", "/clear_street/tokens/expire")["expired"]
        return expired

    def clear_faults(self) -> None:
        self._control("DELETE", "/faults")

    def faults(self) -> dict[str, Any]:
        result: dict[str, Any] = self._control("GET", "/faults")
        return result

    def set_notice(self, route: str, *, deprecation: str | None = None, sunset: str | None = None,
                   warning: str | None = None) -> None:
        """Every answer of a route (or glob) carries these Deprecation / Sunset / Warning headers from now on."""
        headers = {"deprecation": deprecation, "sunset": sunset, "warning": warning}
        self._control("POST", "/notices", {"route": route, **{k: v for k, v in headers.items() if v is not None}})

    def clear_notices(self) -> None:
        self._control("DELETE", "/notices")

    def orders(self, venue: str | None = None) -> dict[str, Any]:
        result: dict[str, Any] = self._control("GET", f"/orders?venue={venue}" if venue else "/orders")
        return result

    def request_counts(self) -> dict[str, int]:
        """Requests received per route (e.g. "coinbase.create_order") since start or the last reset."""
        result: dict[str, int] = self._control("GET", "/stats")["requests"]
        return result

    def set_prices(self, prices: dict[str, Decimal | str]) -> None:
        self._control("POST", "/prices", {k: str(v) for k, v in prices.items()})

    def market(self, **settings: Any) -> dict[str, Any]:
        """The price process: vol_bps, step_s, seed, jump {asset: pct}, freeze/thaw/silence/resume [assets]."""
        result: dict[str, Any] = self._control("POST", "/market", settings)
        return result

    @property
    def oracle_url(self) -> str:
        return f"{self.base_url}/_sim/oracle"

    def set_clock_offset(self, offset_s: float) -> None:
        self._control("POST", "/clock", {"offset_s": offset_s})

    def configure(self, **settings: Any) -> None:
        self._control("POST", "/config", settings)

    def reset(self) -> None:
        self._control("POST", "/reset")

    def set_margin(self, venue: str, account: str, **settings: Any) -> dict[str, Any]:
        """Make (venue, account) a margin account: balances, ratios and rates (fixgw.sim.crypto_pb.margin)."""
        result: dict[str, Any] = self._control("POST", "/margin", {"venue": venue, "account": account, **settings})
        return result

    def margin(self) -> dict[str, Any]:
        result: dict[str, Any] = self._control("GET", "/margin")
        return result


def _dumps_control(payload: dict[str, Any]) -> str:
    """Floats (timings) travel as strings: the simulator's JSON writer refuses floats by design."""
    return dumps({k: (str(v) if isinstance(v, float) else v) for k, v in payload.items()})
