"""One pooled `httpx.AsyncClient` per venue, with rate limiting, signing, retries and outcome classification.

Classification (DESIGN.md section 3):
- 2xx -> the parsed JSON (numbers as Decimal);
- 429/418 -> the bucket is paused for Retry-After and the request retried: the venue did not process it;
- 5xx, 408, timeouts, broken connections -> `VenueUnknown`; retried only for idempotent requests, because a
  non-idempotent submit must be looked up by client_order_id before anything is resent;
- connection refused / connect timeout -> nothing reached the venue: retried for every request;
- other 4xx -> the venue's typed rejection (`error_factory`); a clock rejection triggers one resync + retry.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from fixgw.logs import get_logger
from fixgw.venues.bridge.common.clock import ClockSkewEstimator
from fixgw.venues.bridge.common.errors import (
    BridgeError,
    NotSent,
    VenueAuthError,
    VenueProtocolError,
    VenueRejected,
    VenueUnknown,
)
from fixgw.venues.bridge.common.jsonwire import loads
from fixgw.venues.bridge.common.ratelimit import TokenBucket
from fixgw.venues.bridge.common.retry import Retryable, RetryPolicy, Sleep, retry_async

log = get_logger("fixgw.bridge.http")


@dataclass(frozen=True)
class VenueRequest:
    method: str
    path: str  # venue-relative, e.g. "/v1/portfolios/p/order": this is what signatures cover
    route: str  # short name for logs and metrics, e.g. "create_order"
    query: str = ""  # encoded query string without "?"
    body: bytes = b""
    content_type: str | None = None
    idempotent: bool = True  # False for submits: an unknown outcome must be looked up, not resent
    signed: bool = True


@dataclass(frozen=True)
class SignedRequest:
    headers: dict[str, str]
    query: str
    body: bytes


Signer = Callable[[VenueRequest, float], SignedRequest]  # (request, venue time in Unix seconds)
ErrorFactory = Callable[[int, Any], VenueRejected]  # (HTTP status, parsed body or None)


@dataclass
class HttpStats:
    requests: int = 0
    retries: int = 0
    unknown_outcomes: int = 0
    rejections: int = 0
    by_status: dict[int, int] = field(default_factory=dict)


def parse_retry_after(value: str | None, now_s: float) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now_s)
    except (TypeError, ValueError):
        return None


class VenueHttpClient:
    on_answer: Callable[[bool], None] | None = None
    """Told after each request whether the venue answered (the execution client's health count)."""

    def __init__(
        self,
        *,
        venue: str,
        base_url: str,
        signer: Signer,
        error_factory: ErrorFactory,
        bucket: TokenBucket,
        retry: RetryPolicy,
        clock: ClockSkewEstimator,
        timeout_s: float = 10.0,
        is_clock_error: Callable[[VenueRejected], bool] | None = None,
        resync_clock: Callable[[], Awaitable[None]] | None = None,
        rng: random.Random | None = None,
        sleep: Sleep = asyncio.sleep,
        transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int = 20,
    ) -> None:
        self.venue = venue
        self.base_url = base_url.rstrip("/")
        self.signer = signer
        self.error_factory = error_factory
        self.bucket = bucket
        self.retry = retry
        self.clock = clock
        self.is_clock_error = is_clock_error
        self.resync_clock = resync_clock
        self.stats = HttpStats()
        self.send_gate: Callable[[], bool] | None = None
        """HA: checked right before each request leaves; closed (an active that lost its lease, woken from a
        pause) nothing is sent - not even a retry or a status poll already under way."""
        self._rng = rng or random.Random()
        self._sleep = sleep
        # One pool per venue: keep-alive connections are reused across requests.
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s),
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def send(self, request: VenueRequest) -> Any:
        """The parsed JSON answer, or a typed `BridgeError` (see the module docstring)."""
        resynced = False

        async def attempt(number: int) -> Any:
            nonlocal resynced
            try:
                return await self._attempt(request, number)
            except VenueAuthError as exc:
                # A timestamp refusal means the request was not processed: resync once and resend.
                if resynced or self.is_clock_error is None or self.resync_clock is None or not self.is_clock_error(exc):
                    raise
                resynced = True
                await self.resync_clock()
                raise Retryable(exc, retry_after_s=0.0) from exc

        def on_retry(attempt_no: int, delay: float, error: BridgeError) -> None:
            self.stats.retries += 1
            log.warning(
                "venue_request_retry",
                venue=self.venue,
                route=request.route,
                attempt=attempt_no,
                delay_s=round(delay, 4),
                error=error.message,
            )

        try:
            result = await retry_async(attempt, self.retry, rng=self._rng, sleep=self._sleep, on_retry=on_retry)
        except VenueUnknown:
            self.stats.unknown_outcomes += 1
            self._answered(False)
            raise
        except VenueRejected:
            self.stats.rejections += 1
            self._answered(True)  # a refusal is an answer: the venue is there
            raise
        self._answered(True)
        return result

    def _answered(self, answered: bool) -> None:
        if self.on_answer is not None:
            self.on_answer(answered)

    async def _attempt(self, request: VenueRequest, number: int) -> Any:
        await self.bucket.acquire()
        if self.send_gate is not None and not self.send_gate():
            raise NotSent(self.venue, f"{request.route}: not sent, this node no longer holds the HA lease")
        signed = self.signer(request, self.clock.now()) if request.signed else None
        headers = dict(signed.headers) if signed else {}
        query = signed.query if signed else request.query
        body = signed.body if signed else request.body
        if request.content_type:
            headers["Content-Type"] = request.content_type
        url = self.base_url + request.path + (f"?{query}" if query else "")
        started = time.monotonic()
        self.stats.requests += 1
        try:
            response = await self._client.request(request.method, url, content=body or None, headers=headers)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # Nothing reached the venue: safe to resend any request.
            raise Retryable(VenueUnknown(self.venue, f"cannot connect: {type(exc).__name__}")) from exc
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            error = VenueUnknown(self.venue, f"{request.route}: {type(exc).__name__} after sending")
            if request.idempotent:
                raise Retryable(error) from exc
            raise error from exc
        elapsed_ms = round((time.monotonic() - started) * 1000, 3)
        self.stats.by_status[response.status_code] = self.stats.by_status.get(response.status_code, 0) + 1
        self.clock.observe_date_header(response.headers.get("date"))
        log.debug(
            "venue_request",
            venue=self.venue,
            route=request.route,
            method=request.method,
            status=response.status_code,
            attempt=number,
            elapsed_ms=elapsed_ms,
        )
        return self._classify(request, response)

    def _classify(self, request: VenueRequest, response: httpx.Response) -> Any:
        status = response.status_code
        try:
            payload = loads(response.content) if response.content else None
        except ValueError:
            payload = None
            if 200 <= status < 300:
                raise VenueProtocolError(self.venue, f"{request.route}: 2xx answer is not JSON") from None
        if 200 <= status < 300:
            return payload
        if status in (429, 418):
            retry_after = parse_retry_after(response.headers.get("retry-after"), self.clock.now())
            self.bucket.penalize(retry_after if retry_after is not None else 1.0)
            error = VenueUnknown(self.venue, f"{request.route}: rate limited ({status})", http_status=status)
            raise Retryable(error, retry_after_s=retry_after)
        if status >= 500 or status == 408:
            error = VenueUnknown(self.venue, f"{request.route}: HTTP {status}", http_status=status)
            if request.idempotent:
                raise Retryable(error)
            raise error
        raise self.error_factory(status, payload)
