"""REST venue health against the HTTP simulator: a failing authenticated probe takes the venue down (not
connected, so readiness, session metrics and routing see it), good probes bring it back."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from bridge_harness import Recorder, symbol_master
from pydantic import SecretStr
from structlog.testing import capture_logs
from waiting import wait_until

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
            wait_until(lambda: client.connected, timeout=10, what="the venue up again")
            assert recorder.connectivity == [True, False, True]
        finally:
            client.stop()
    (down,) = [e for e in logs if e["event"] == "bridge_venue_down"]
    assert down["failures"] == config.down_after
    assert [e["event"] for e in logs if e["event"] in ("bridge_venue_up", "bridge_venue_down")] == [
        "bridge_venue_down", "bridge_venue_up"]
    probes = [e for e in logs if e["event"] == "bridge_probe_failed"]
    assert len(probes) >= config.down_after
