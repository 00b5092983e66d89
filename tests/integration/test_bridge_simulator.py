"""The simulator as a venue: it refuses bad signatures and stale timestamps, rate-limits, paginates."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest
import websockets
from pydantic import SecretStr

from fixgw.sim.crypto_pb import CryptoPbSimulator
from fixgw.sim.crypto_pb.auth import coinbase_signature
from fixgw.venues.bridge.coinbase_prime.config import CoinbasePrimeConfig
from fixgw.venues.bridge.coinbase_prime.http import CoinbasePrimeHttp
from fixgw.venues.bridge.coinbase_prime.schemas import CreateOrderRequest
from fixgw.venues.bridge.common.factory import ClientDeps

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def sim() -> Iterator[CryptoPbSimulator]:
    with CryptoPbSimulator(access_key="ak-test", passphrase="pp-test") as simulator:
        yield simulator


def signed_get(sim: CryptoPbSimulator, path: str, *, key: str | None = None, ts: int | None = None) -> httpx.Response:
    creds = sim.credentials
    timestamp = str(ts if ts is not None else int(time.time()))
    signature = coinbase_signature(key or creds.signing_key, timestamp, "GET", path.split("?")[0], b"")
    headers = {
        "X-CB-ACCESS-KEY": creds.access_key,
        "X-CB-ACCESS-PASSPHRASE": creds.passphrase,
        "X-CB-ACCESS-TIMESTAMP": timestamp,
        "X-CB-ACCESS-SIGNATURE": signature,
    }
    return httpx.get(sim.base_url + path, headers=headers)


def test_signature_and_timestamp_window_are_enforced(sim: CryptoPbSimulator) -> None:
    sim.reset()
    path = "/v1/portfolios/p-1/balances"
    assert signed_get(sim, path).status_code == 200
    bad = signed_get(sim, path, key="wrong-key")
    assert bad.status_code == 401 and bad.json()["message"] == "invalid signature"
    stale = signed_get(sim, path, ts=int(time.time()) - 31)
    assert stale.status_code == 401 and "timestamp" in stale.json()["message"]


def test_per_portfolio_rate_limit_answers_429(sim: CryptoPbSimulator) -> None:
    sim.reset()
    sim.configure(coinbase_bucket={"rate": 1, "burst": 3})
    try:
        statuses = [signed_get(sim, "/v1/portfolios/p-rl/products").status_code for _ in range(5)]
        other = signed_get(sim, "/v1/portfolios/p-other/products").status_code
    finally:
        sim.configure(coinbase_bucket={"rate": 25, "burst": 50})
    assert statuses[:3] == [200, 200, 200] and statuses[3:] == [429, 429]
    assert other == 200  # buckets are per portfolio


async def test_client_reads_products_balances_and_paginated_fills(sim: CryptoPbSimulator) -> None:
    sim.reset()
    sim.configure(limit_slices=4, slice_interval_s="0.02")
    creds = sim.credentials
    config = CoinbasePrimeConfig(
        base_url=sim.base_url,
        portfolio_id="p-page",
        access_key=SecretStr(creds.access_key),
        passphrase=SecretStr(creds.passphrase),
        signing_key=SecretStr(creds.signing_key),
    )
    http = CoinbasePrimeHttp(config)
    try:
        products = {p.id: p for p in await http.products()}
        assert products["SOL-USD"].base_increment == Decimal("0.001")
        created = await http.create_order(
            CreateOrderRequest(
                portfolio_id="p-page",
                product_id="ETH-USD",
                side="BUY",
                client_order_id="pg-1",
                type="LIMIT",
                base_quantity=Decimal("0.4"),
                limit_price=Decimal("3600"),
            )
        )
        deadline = time.monotonic() + 5
        while (await http.get_order(created.order_id)).status != "FILLED" and time.monotonic() < deadline:
            time.sleep(0.02)
        page = signed_get(sim, f"/v1/portfolios/p-page/orders/{created.order_id}/fills?limit=1").json()
        assert len(page["fills"]) == 1 and page["pagination"]["has_next"] is True
        fills = await http.order_fills(created.order_id)
        assert len(fills) == 4 and sum(f.filled_quantity for f in fills) == Decimal("0.4")
        balances = {b.symbol: b.amount for b in await http.balances()}
        assert balances["eth"] == Decimal("1000.4")
    finally:
        await http.aclose()


async def test_websocket_refuses_a_bad_subscription(sim: CryptoPbSimulator) -> None:
    async with websockets.connect(sim.ws_url) as socket:
        await socket.send(
            json.dumps(
                {
                    "type": "subscribe",
                    "channel": "orders",
                    "access_key": "ak-test",
                    "passphrase": "pp-test",
                    "timestamp": str(int(time.time())),
                    "signature": "forged",
                    "portfolio_id": "p",
                    "product_ids": [],
                }
            )
        )
        reply = json.loads(await socket.recv())
    assert reply == {"type": "error", "message": "invalid signature"}


async def test_coinbase_client_recovers_from_venue_clock_skew(sim: CryptoPbSimulator) -> None:
    sim.reset()
    sim.set_clock_offset(45.0)  # beyond the 30 s window: the first request is refused
    alerts: list[float] = []
    creds = sim.credentials
    config = CoinbasePrimeConfig(
        base_url=sim.base_url,
        portfolio_id="p-skew",
        access_key=SecretStr(creds.access_key),
        passphrase=SecretStr(creds.passphrase),
        signing_key=SecretStr(creds.signing_key),
    )
    http = CoinbasePrimeHttp(config, ClientDeps(on_clock_alert=alerts.append))
    try:
        assert await http.balances()  # 401 -> Date header corrects the offset -> one resend succeeds
        assert http.client.clock.offset_s == pytest.approx(45.0, abs=1.5)
        assert len(alerts) == 1 and alerts[0] > 40
    finally:
        await http.aclose()
        sim.set_clock_offset(0.0)
