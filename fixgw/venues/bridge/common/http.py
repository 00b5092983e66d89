"""One pooled `httpx.AsyncClient` per venue, with rate limiting, signing, retries and outcome classification.

Classification (DESIGN.md section 3):
- 2xx -> the parsed JSON (numbers as Decimal);
- 429/418 -> the bucket is paused for Retry-After and the request retried: the venue did not process it;
- 5xx, 408, timeouts, broken connections -> `VenueUnknown`; retried only for idempotent requests, because a
  non-idempotent submit must be looked up by client_order_id before anything is resent;
- connection refused / connect timeout -> nothing reached the venue: retried for every request;
- other 4xx -> the venue's typed rejection (`error_factory`); a clock rejection triggers one resync + retry;
- with a `bearer` token provider (OAuth 2.0 venues): each attempt carries `Authorization: Bearer`, and a 401 marks
  that token stale and sends the request once more with a fresh one (a 401 means it was not processed).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import partial
from typing import Any

import httpx

from fixgw.logs import get_logger
from fixgw.venues.bridge.common.clock import ClockSkewEstimator
from fixgw.venues.bridge.common.deprecation import DeprecationBook
from fixgw.venues.bridge.common.errors import (
    BridgeError,
    NotSent,
    VenueAuthError,
    VenueProtocolError,
    VenueRejected,
    VenueUnknown,
    VenueUnreachable,
)
from fixgw.venues.bridge.common.headroom import Headroom
from fixgw.venues.bridge.common.jsonwire import loads
from fixgw.venues.bridge.common.oauth import TokenProvider, TokenRefused
from fixgw.venues.bridge.common.ratelimit import TokenBucket
from fixgw.venues.bridge.common.retry import Retryable, RetryPolicy, Sleep, retry_async
from fixgw.venues.bridge.common.wire import (
    WireExchange,
    WireSink,
    endpoint_of,
    kept_response_headers,
    mask_body,
    mask_headers,
    mask_query,
)

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
    bearer: TokenProvider | None = None
    """OAuth 2.0 venues: where each attempt's bearer token comes from (see the module docstring)."""
    on_wire: WireSink | None = None
    """Given every attempt's request and response, masked (the venue wire archive: the gateway journals them)."""
    headroom: Headroom | None = None
    """Counts each request as it asks for its token (the execution client's headroom alert and metric)."""

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
        self.deprecations = DeprecationBook(venue)
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
            try:
                result = await retry_async(attempt, self.retry, rng=self._rng, sleep=self._sleep, on_retry=on_retry)
            except VenueAuthError as exc:
                if self.bearer is None or exc.http_status != 401 or isinstance(exc, TokenRefused):
                    raise
                # The token expired or was revoked early: the attempt invalidated it; one resend with a fresh one.
                log.info("venue_bearer_refused", venue=self.venue, route=request.route)
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
        if self.headroom is not None:
            self.headroom.record()
        await self.bucket.acquire()
        if self.send_gate is not None and not self.send_gate():
            raise NotSent(self.venue, f"{request.route}: not sent, this node no longer holds the HA lease")
        signed = self.signer(request, self.clock.now()) if request.signed else None
        headers = dict(signed.headers) if signed else {}
        token = await self._bearer_token() if request.signed else None
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        query = signed.query if signed else request.query
        body = signed.body if signed else request.body
        if request.content_type:
            headers["Content-Type"] = request.content_type
        url = self.base_url + request.path + (f"?{query}" if query else "")
        sent_at = datetime.now(UTC)
        started = time.monotonic()
        self.stats.requests += 1
        endpoint = endpoint_of(request.method, request.path)
        archive = partial(self._archive, request, number, endpoint, sent_at, started, headers, query, body)
        try:
            response = await self._client.request(request.method, url, content=body or None, headers=headers)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            archive(None, exc)
            # Nothing reached the venue: safe to resend any request (and a submit is known not to have happened).
            unreachable = VenueUnknown if request.idempotent else VenueUnreachable
            raise Retryable(unreachable(self.venue, f"cannot connect: {type(exc).__name__}")) from exc
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            archive(None, exc)
            error = VenueUnknown(self.venue, f"{request.route}: {type(exc).__name__} after sending")
            if request.idempotent:
                raise Retryable(error) from exc
            raise error from exc
        except asyncio.CancelledError as exc:  # the venue is stopping: what was sent is archived all the same
            archive(None, exc)
            raise
        elapsed_ms = round((time.monotonic() - started) * 1000, 3)
        archive(response, None)
        self.deprecations.observe(endpoint, response.headers, sent_at)
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
        if token is not None and response.status_code == 401 and self.bearer is not None:
            self.bearer.invalidate(token)
        return self._classify(request, response)

    async def _bearer_token(self) -> str | None:
        if self.bearer is None:
            return None
        try:
            return await self.bearer.token()
        except VenueUnknown as exc:
            raise Retryable(exc) from None  # the request itself was not sent: safe to try again

    def _archive(self, request: VenueRequest, number: int, endpoint: str, sent_at: datetime, started: float,
                 headers: dict[str, str], query: str, body: bytes, response: httpx.Response | None,
                 error: BaseException | None) -> None:
        """Hand the attempt to the wire archive, masked; never lets the archive fail the request."""
        sink = self.on_wire
        if sink is None:
            return
        try:
            answer: dict[str, Any] = (
                {"error": type(error).__name__} if response is None
                else {"headers": kept_response_headers(response.headers), "body": mask_body(response.content)})
            sink(WireExchange(
                venue=self.venue, at=sent_at, method=request.method, endpoint=endpoint, path=request.path,
                status=None if response is None else response.status_code,
                latency_us=round((time.monotonic() - started) * 1_000_000), route=request.route, attempt=number,
                request={"headers": mask_headers(headers), "query": mask_query(query), "body": mask_body(body)},
                response=answer))
        except Exception as exc:  # the archive must never stop trading; the loss is logged
            log.error("venue_wire_archive_failed", venue=self.venue, route=request.route, error=repr(exc))

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
