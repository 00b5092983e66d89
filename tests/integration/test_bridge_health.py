"""REST venue health against the HTTP simulator: a failing authenticated probe takes the venue down (not
connected, so readiness, session metrics and routing see it), good probes bring it back."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from bridge_harness import Recorder, new_order, symbol_master
from pydantic import SecretStr
from structlog.testing import capture_logs
from waiting import wait_until

from fixgw.model.enums import OrdStatus, OrdType
from fixgw.sim.crypto_pb import CryptoPbSimulator
from fixgw.venues.bridge.coinbase_prime.config import CoinbasePrimeConfig
from fixgw.venues.bridge.coinbase_prime.plugin import PLUGIN
from fixgw.venues.bridge.common.execution import RestExecutionClient
from fixgw.venues.plugin import BuildContext

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def sim() -> Iterator[CryptoPbSimulator]:
    with CryptoPbSimulator() as simulator:
        yield simulator


def make_config(sim: CryptoPbSimulator) -> CoinbasePrimeConfig:
    creds = sim.credentials
    return CoinbasePrimeConfig.model_validate({
        "base_url": sim.coinbase_url,
        "portfolio_id": f"pf-{uuid.uuid4().hex[:8]}",
        "access_key": SecretStr(creds.access_key),
        "passphrase": SecretStr(creds.passphrase),
        "signing_key": SecretStr(creds.signing_key),
        "probe_interval_s": 0.05,
        "retry_attempts": 1,  # each failed probe is one failure
        "timeout_s": 2.0,
    })


def test_failed_probes_take_the_venue_down_and_good_ones_bring_it_back(sim: CryptoPbSimulator) -> None:
    sim.reset()
    config = make_config(sim)
    client = PLUGIN.build(config.name, config, BuildContext(symbols=symbol_master()))
    assert isinstance(client, RestExecutionClient)
    recorder = Recorder()
    client.bind(recorder)
    with capture_logs() as logs:
        client.start()
        try:
            wait_until(lambda: client.health.probe_rtt_s is not None, timeout=10, what="a good probe")
            assert client.connected
            sim.inject_fault("coinbase.balances", "error_500", 1000)
            wait_until(lambda: not client.connected, timeout=10, what="the venue down")
            assert recorder.connectivity == [True, False]
            sim.clear_faults()
            wait_until(lambda: recorder.connectivity[:3] == [True, False, True], timeout=30, what="the venue up again")
        finally:
            client.stop()
    (down,) = [e for e in logs if e["event"] == "bridge_venue_down"]
    assert down["failures"] == config.down_after
    probes = [e for e in logs if e["event"] == "bridge_probe_failed"]
    assert len(probes) >= config.down_after


def _down_venue(sim: CryptoPbSimulator, **overrides: object) -> tuple[RestExecutionClient, Recorder]:
    sim.reset()
    config = make_config(sim).model_copy(update=overrides)
    client = PLUGIN.build(config.name, config, BuildContext(symbols=symbol_master()))
    assert isinstance(client, RestExecutionClient)
    recorder = Recorder()
    client.bind(recorder)
    client.start()
    sim.inject_fault("coinbase.balances", "error_500", 1000)
    wait_until(lambda: not client.connected, timeout=10, what="the venue down")
    return client, recorder


def test_a_market_order_held_while_the_venue_is_down_is_rejected_not_sent_late(sim: CryptoPbSimulator) -> None:
    client, recorder = _down_venue(sim, max_market_order_age_s=0.3)
    try:
        client.send_new(new_order("stale-mkt", ord_type=OrdType.MARKET, qty="0.01"))
        client.send_new(new_order("held-lmt", qty="0.01", price="60000"))  # stale_limit_orders = "send"
        wait_until(lambda: recorder.last_status("stale-mkt") is OrdStatus.REJECTED, timeout=10, what="a reject")
        (reject,) = recorder.events_for("stale-mkt")
        assert (reject.text or "").startswith("not sent: held") and "market order older than 0.3 s" in reject.text
        assert recorder.last_status("held-lmt") is None, "the limit order is still held"
        sim.clear_faults()
        wait_until(lambda: recorder.last_status("held-lmt") is OrdStatus.NEW, timeout=10, what="sent once up")
        held = [o for o in sim.orders("coinbase")["orders"] if o["client_order_id"] != "held-lmt"]
        assert not held, "the stale market order never reached the venue"
    finally:
        client.stop()


def test_stale_limit_orders_reject_refuses_a_limit_order_held_too_long(sim: CryptoPbSimulator) -> None:
    client, recorder = _down_venue(sim, max_market_order_age_s=0.3, stale_limit_orders="reject")
    try:
        client.send_new(new_order("stale-lmt", qty="0.01", price="60000"))
        wait_until(lambda: recorder.last_status("stale-lmt") is OrdStatus.REJECTED, timeout=10, what="a reject")
        (reject,) = recorder.events_for("stale-lmt")
        assert "limit order older than 0.3 s" in (reject.text or "")
        assert not sim.orders("coinbase")["orders"]
    finally:
        client.stop()


def test_a_submit_that_cannot_connect_is_held_and_sent_once_the_venue_is_back() -> None:
    """The venue dies as the order goes out: nothing reached it, so the order is held like one for a down venue
    (not left "outcome unknown" for create_settle_s) and sent once, on the same port, when the venue returns."""
    with CryptoPbSimulator() as own:
        # Slow probes: the order's own submit finds the server gone before the probes call the venue down.
        config = make_config(own).model_copy(update={"probe_interval_s": 0.5, "down_after": 3})
        client = PLUGIN.build(config.name, config, BuildContext(symbols=symbol_master()))
        assert isinstance(client, RestExecutionClient)
        recorder = Recorder()
        client.bind(recorder)
        with capture_logs() as logs:
            client.start()
            try:
                wait_until(lambda: client.health.probe_rtt_s is not None, timeout=10, what="a good probe")
                own.stop()
                client.send_new(new_order("caught-lmt", qty="0.01", price="60000"))
                wait_until(lambda: not client.connected, timeout=10, what="the venue down")
                assert recorder.last_status("caught-lmt") is None and recorder.unknown == []
                own.start()
                wait_until(lambda: recorder.last_status("caught-lmt") is OrdStatus.NEW, timeout=10, what="sent")
                assert [o["client_order_id"] for o in own.orders("coinbase")["orders"]] == ["caught-lmt"]
                assert recorder.unknown == []
            finally:
                client.stop()
    assert any(e["event"] == "bridge_submit_unreachable" for e in logs)
