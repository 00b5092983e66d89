"""VenueHttpClient classification with a mock transport: what is retried, what is unknown, what is rejected."""

from __future__ import annotations

import random
from collections.abc import Callable
from decimal import Decimal
from email.utils import formatdate
from typing import Any

import httpx
import pytest

from fixgw.venues.bridge.common.clock import ClockSkewEstimator
from fixgw.venues.bridge.common.errors import (
    VenueAuthError,
    VenueNotFound,
    VenueRejected,
    VenueUnknown,
    VenueUnreachable,
)
from fixgw.venues.bridge.common.http import SignedRequest, VenueHttpClient, VenueRequest, parse_retry_after
from fixgw.venues.bridge.common.ratelimit import RateLimitSpec, TokenBucket
from fixgw.venues.bridge.common.retry import RetryPolicy

Handler = Callable[[httpx.Request], httpx.Response]


class Sleeps:
    """A fake sleep that advances a fake monotonic clock, so waits are instant and exact."""

    def __init__(self) -> None:
        self.calls: list[float] = []
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        self.now += seconds


def error_factory(status: int, payload: Any) -> VenueRejected:
    message = (payload or {}).get("message", "")
    if status == 401:
        return VenueAuthError("test", message, http_status=status, code="clock" if "timestamp" in message else "")
    if status == 404:
        return VenueNotFound("test", message, http_status=status)
    return VenueRejected("test", message, http_status=status)


def make_client(handler: Handler, sleeps: Sleeps, **kwargs: Any) -> VenueHttpClient:
    def signer(request: VenueRequest, now: float) -> SignedRequest:
        return SignedRequest({"X-Sig": f"{now:.0f}"}, request.query, request.body)

    return VenueHttpClient(
        venue="test",
        base_url="http://venue.invalid",
        signer=signer,
        error_factory=error_factory,
        bucket=TokenBucket(RateLimitSpec(1000, 1000), clock=sleeps.clock, sleep=sleeps),
        retry=RetryPolicy(max_attempts=3, base_delay_s=0.01),
        clock=ClockSkewEstimator(),
        rng=random.Random(3),
        sleep=sleeps,
        transport=httpx.MockTransport(handler),
        **kwargs,
    )


def scripted(*responses: httpx.Response | Exception) -> tuple[Handler, list[httpx.Request]]:
    seen: list[httpx.Request] = []
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        item = queue.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    return handler, seen


SUBMIT = VenueRequest("POST", "/v1/order", "create_order", body=b"{}", idempotent=False)
READ = VenueRequest("GET", "/v1/order/1", "get_order")


async def test_numbers_parse_to_decimal() -> None:
    handler, _ = scripted(httpx.Response(200, content=b'{"balance": 187.62, "qty": "0.1"}'))
    client = make_client(handler, Sleeps())
    assert await client.send(READ) == {"balance": Decimal("187.62"), "qty": "0.1"}
    await client.aclose()


async def test_429_is_retried_after_retry_after_even_for_submits() -> None:
    sleeps = Sleeps()
    handler, seen = scripted(httpx.Response(429, headers={"Retry-After": "2"}), httpx.Response(200, json={"ok": 1}))
    client = make_client(handler, sleeps)
    assert await client.send(SUBMIT) == {"ok": 1}
    assert len(seen) == 2
    assert sum(sleeps.calls) >= 2.0
    assert client.bucket.usage().penalties_total == 1


async def test_5xx_on_submit_is_unknown_at_once() -> None:
    handler, seen = scripted(httpx.Response(500, json={"message": "boom"}))
    client = make_client(handler, Sleeps())
    with pytest.raises(VenueUnknown):
        await client.send(SUBMIT)
    assert len(seen) == 1
    assert client.stats.unknown_outcomes == 1


async def test_5xx_on_read_is_retried() -> None:
    handler, seen = scripted(httpx.Response(503), httpx.Response(200, json={"ok": 1}))
    client = make_client(handler, Sleeps())
    assert await client.send(READ) == {"ok": 1}
    assert len(seen) == 2


async def test_read_timeout_on_submit_is_unknown_not_resent() -> None:
    handler, seen = scripted(httpx.ReadTimeout("slow"))
    client = make_client(handler, Sleeps())
    with pytest.raises(VenueUnknown):
        await client.send(SUBMIT)
    assert len(seen) == 1


async def test_connect_error_is_retried_even_for_submits() -> None:
    handler, seen = scripted(httpx.ConnectError("refused"), httpx.Response(200, json={"ok": 1}))
    client = make_client(handler, Sleeps())
    assert await client.send(SUBMIT) == {"ok": 1}
    assert len(seen) == 2


async def test_a_submit_that_never_connects_is_unreachable_a_read_only_unknown() -> None:
    """Unreachable = nothing reached the venue: the order is certainly not there (the bridge holds it again)."""
    handler, seen = scripted(*(httpx.ConnectError("refused") for _ in range(6)))
    client = make_client(handler, Sleeps())
    with pytest.raises(VenueUnreachable, match="retries exhausted: cannot connect"):
        await client.send(SUBMIT)
    with pytest.raises(VenueUnknown) as read_error:
        await client.send(READ)
    assert not isinstance(read_error.value, VenueUnreachable)
    assert len(seen) == 6


async def test_a_submit_that_connects_once_is_not_unreachable() -> None:
    handler, _ = scripted(httpx.ConnectError("refused"), httpx.Response(429), httpx.ConnectError("refused"))
    client = make_client(handler, Sleeps())
    with pytest.raises(VenueUnknown) as error:
        await client.send(SUBMIT)
    assert not isinstance(error.value, VenueUnreachable)


async def test_persistent_failure_exhausts_into_unknown() -> None:
    handler, seen = scripted(*(httpx.Response(502) for _ in range(3)))
    client = make_client(handler, Sleeps())
    with pytest.raises(VenueUnknown, match="retries exhausted"):
        await client.send(READ)
    assert len(seen) == 3


@pytest.mark.parametrize("status, error", [(400, VenueRejected), (404, VenueNotFound), (401, VenueAuthError)])
async def test_4xx_is_a_typed_rejection(status: int, error: type[Exception]) -> None:
    handler, seen = scripted(httpx.Response(status, json={"message": "no"}))
    client = make_client(handler, Sleeps())
    with pytest.raises(error):
        await client.send(SUBMIT)
    assert len(seen) == 1


async def test_clock_rejection_resyncs_once_and_retries() -> None:
    resyncs: list[int] = []

    async def resync() -> None:
        resyncs.append(1)

    handler, seen = scripted(
        httpx.Response(401, json={"message": "request timestamp expired"}), httpx.Response(200, json={"ok": 1})
    )
    client = make_client(handler, Sleeps(), is_clock_error=lambda e: e.code == "clock", resync_clock=resync)
    assert await client.send(SUBMIT) == {"ok": 1}
    assert resyncs == [1]
    assert len(seen) == 2


async def test_date_header_feeds_the_skew_estimate() -> None:
    import time

    handler, _ = scripted(httpx.Response(200, json={}, headers={"Date": formatdate(time.time() + 60, usegmt=True)}))
    client = make_client(handler, Sleeps())
    await client.send(READ)
    assert 58 < client.clock.offset_s < 62


def test_retry_after_parses_seconds_and_dates() -> None:
    assert parse_retry_after("3", 0.0) == 3.0
    assert parse_retry_after(formatdate(100, usegmt=True), 90.0) == pytest.approx(10.0)
    assert parse_retry_after("soon", 0.0) is None
    assert parse_retry_after(None, 0.0) is None


async def test_a_closed_send_gate_lets_no_request_leave() -> None:
    """HA: an active woken after its lease ran out sends nothing to a REST venue, not even a retry under way."""
    from fixgw.venues.bridge.common.errors import NotSent

    handler, seen = scripted(httpx.Response(503), httpx.Response(200, json={"ok": 1}))
    client = make_client(handler, Sleeps())
    gate = iter([True, False])  # the first attempt leaves; the node is fenced before the retry
    client.send_gate = lambda: next(gate)
    with pytest.raises(NotSent):
        await client.send(READ)
    assert len(seen) == 1 and client.stats.requests == 1
    client.send_gate = lambda: False
    with pytest.raises(NotSent):
        await client.send(SUBMIT)
    assert len(seen) == 1
    await client.aclose()
