"""The open-orders sweep and the rate headroom of a REST venue, against the crypto PB simulator on loopback:

- under `unknown_orders = "cancel"` an order placed around fixgw is alerted once and cancelled at the venue, while
  a create of ours that commits late, inside its settle window, is accepted, never taken for unknown;
- a burst of requests above `headroom_alert_share` of the documented rate over the window is one episode of low
  headroom in the venue's stats (the ops rule `rate_headroom:<venue>` fires on it and resolves when it ends).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from bridge_harness import Recorder, new_order, symbol_master
from pydantic import SecretStr
from waiting import wait_until

from fixgw.model.enums import OrdStatus, Side
from fixgw.model.events import EventName
from fixgw.model.orders import StatusRequest
from fixgw.sim.crypto_pb import CryptoPbSimulator
from fixgw.venues.bridge.coinbase_prime import mapping
from fixgw.venues.bridge.coinbase_prime.config import CoinbasePrimeConfig
from fixgw.venues.bridge.coinbase_prime.execution import coinbase_prime_venue
from fixgw.venues.bridge.coinbase_prime.http import CoinbasePrimeHttp
from fixgw.venues.bridge.common.alerts import VenueAlert
from fixgw.venues.bridge.common.execution import RestExecutionClient
from fixgw.venues.bridge.common.plugin import attach_health, rest_stats
from fixgw.venues.plugin import VenueStats

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def sim() -> Iterator[CryptoPbSimulator]:
    with CryptoPbSimulator() as simulator:
        yield simulator


def make_config(sim: CryptoPbSimulator, **overrides: Any) -> CoinbasePrimeConfig:
    sim.clear_faults()
    creds = sim.credentials
    values: dict[str, Any] = {
        "base_url": sim.coinbase_url, "portfolio_id": f"pf-{uuid.uuid4().hex[:8]}",
        "access_key": SecretStr(creds.access_key), "passphrase": SecretStr(creds.passphrase),
        "signing_key": SecretStr(creds.signing_key), "poll_interval_s": 0.1, "timeout_s": 1.0,
        "retry_attempts": 1, "retry_base_delay_s": 0.01, "retry_max_delay_s": 0.05,
    }
    values.update(overrides)
    return CoinbasePrimeConfig.model_validate(values)


def started(config: CoinbasePrimeConfig) -> tuple[RestExecutionClient, Recorder, list[VenueAlert]]:
    client = coinbase_prime_venue(config, symbol_master(), lookup_delay_s=0.05)
    attach_health(client, client.adapter.http.client, lambda adapter: adapter.http.balances())  # type: ignore[attr-defined]
    recorder = Recorder()
    alerts: list[VenueAlert] = []
    client.bind(recorder)
    client.on_alert = alerts.append
    client.start()
    return client, recorder, alerts


def place_by_hand(config: CoinbasePrimeConfig, cl_ord_id: str) -> str:
    """A resting order in the same portfolio, placed around fixgw (a trader on the venue's own screen)."""
    order = new_order(cl_ord_id, qty="0.1", price="60000")

    async def place() -> str:
        http = CoinbasePrimeHttp(config)
        try:
            request = mapping.create_order_request(order, symbol_master().get("BTC/USD"), config.portfolio_id)
            return (await http.create_order(request)).order_id
        finally:
            await http.aclose()

    return asyncio.run(place())


def statuses(sim: CryptoPbSimulator, portfolio_id: str) -> dict[str, tuple[str, str]]:
    return {o["order_id"]: (o["client_order_id"], o["status"])
            for o in sim.orders("coinbase")["orders"] if o["account"] == portfolio_id}


def test_cancel_policy_cancels_an_unknown_order_once_and_leaves_a_late_commit_of_ours_alone(
        sim: CryptoPbSimulator) -> None:
    config = make_config(sim, unknown_orders="cancel", open_orders_sweep_s=0.1, create_settle_s=20.0)
    client, recorder, alerts = started(config)
    try:
        # Ours: the create hangs past the 1 s timeout, then commits 2.5 s after it arrived - inside its window.
        sim.inject_fault("coinbase.create_order", "hang_then_commit", 1, delay_s=2.5)
        client.send_new(new_order("OWN-1", qty="0.2", price="60000"))
        wait_until(lambda: recorder.unknown, what="the create's outcome unknown")
        manual = place_by_hand(config, "BY-HAND-1")
        wait_until(lambda: statuses(sim, config.portfolio_id).get(manual, ("", ""))[1] == "CANCELLED",
                   what="the unknown order cancelled at the venue")
        wait_until(lambda: recorder.last_status("OWN-1") is OrdStatus.NEW, what="our late commit accepted")
        sweeps = sim.request_counts().get("coinbase.open_orders", 0)
        wait_until(lambda: sim.request_counts().get("coinbase.open_orders", 0) >= sweeps + 3, what="more sweeps")
        (alert,) = alerts
        assert alert.kind == EventName.UNKNOWN_VENUE_ORDER and alert.detail["venue_order_id"] == manual
        assert alert.detail["canceled"] == "true" and "cancelled at the venue" in alert.message
        ours = [oid for oid, _ in statuses(sim, config.portfolio_id).items() if oid != manual]
        assert len(ours) == 1 and statuses(sim, config.portfolio_id)[ours[0]][1] == "OPEN"
        assert sim.request_counts().get("coinbase.cancel_order", 0) >= 1
    finally:
        client.stop()


def test_a_request_rate_above_the_headroom_share_is_one_episode_in_the_venue_stats(sim: CryptoPbSimulator) -> None:
    # 10 requests/s documented, averaged over 1 s: 7 requests inside a second reach the 70 % alert share.
    config = make_config(sim, documented_rate=10, documented_burst=20, rate_fraction=1.0, headroom_window_s=1.0,
                         probe_interval_s=30.0)
    client, _recorder, alerts = started(config)
    http = client.adapter.http.client  # type: ignore[attr-defined]

    def stats() -> VenueStats | None:
        return rest_stats(client, lambda _adapter: http)

    try:
        first = stats()
        assert first is not None and not first.rate_headroom_low and first.rate_alert_share == 0.7
        for n in range(6):  # each looks an unseen order up: open orders and the order list, 12 requests
            client.send_status_request(StatusRequest(cl_ord_id=f"NONE-{n}", instrument_id="BTC/USD", side=Side.BUY))
        during = wait_until(lambda: (s := stats()) is not None and s.rate_headroom_low and s, what="low headroom")
        assert during.rate_used_share is not None and during.rate_used_share >= 0.7
        wait_until(lambda: not client.headroom.above, what="the episode over once the burst left the window")
        assert client.headroom.episodes == 1 and not alerts  # the ops rule alerts on the stats, not the venue
    finally:
        client.stop()
