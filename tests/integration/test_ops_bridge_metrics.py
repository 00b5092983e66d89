"""A REST venue (the crypto PB simulator) behind the gateway: rate-limit usage and HTTP counts reach /metrics."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from gateway_stack import WAIT, new_order, report, status
from prometheus_client.parser import text_string_to_metric_families

from fixgw.config import parse_config
from fixgw.engine.gateway import Gateway
from fixgw.engine.quickfix_support import free_port
from fixgw.ops.console import Console
from fixgw.ops.runtime import OpsRuntime
from fixgw.sim.crypto_pb import CryptoPbSimulator
from fixgw.sim.fix_client import FixClient

pytestmark = pytest.mark.timeout(60)
ENV = {"access_key": "FIXGW_TEST_OPS_CB_ACCESS_KEY", "passphrase": "FIXGW_TEST_OPS_CB_PASSPHRASE",
       "signing_key": "FIXGW_TEST_OPS_CB_SIGNING_KEY"}


def test_rest_venue_rate_limits_and_requests_are_exposed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with CryptoPbSimulator() as sim:
        sim.configure(limit_slices=1, slice_interval_s="0.05")
        for field, variable in ENV.items():
            monkeypatch.setenv(variable, getattr(sim.credentials, field))
        port = free_port()
        venue = {"kind": "coinbase_prime", "base_url": sim.coinbase_url, "portfolio_id": f"pf-{uuid.uuid4().hex[:8]}",
                 **{field: f"env:{variable}" for field, variable in ENV.items()}, "poll_interval_s": 0.1}
        gateway = Gateway(parse_config({
            "name": "ops-bridge", "state_dir": str(tmp_path / "gw"), "acceptor": {"port": port},
            "ems": {"ems-a": {"target_comp_id": "EMS-A"}}, "venues": {"crypto": venue},
            "routing": {"default": "crypto"}}))
        client = FixClient(port=port, begin_string="FIX.4.4", sender_comp_id="EMS-A", target_comp_id="FIXGW",
                           store_dir=tmp_path / "ems-store")
        gateway.start()
        ops = OpsRuntime(gateway)
        ops.start()
        client.start()
        console = Console(ops)
        try:
            assert client.wait_logged_on(WAIT)
            console.sample()
            client.send(new_order("X1", symbol="BTC/USD", qty="0.25", price=None))
            report(client, "X1", status("2"))
            chart_point = console.sample()  # the console's "requests against the limit" chart
            found = {(s.name, tuple(sorted(s.labels.items()))): s.value
                     for family in text_string_to_metric_families(ops.metrics.render().decode())
                     for s in family.samples}
        finally:
            client.stop()
            ops.stop()
            gateway.stop()
    acquired = [value for (name, labels), value in found.items()
                if name == "fixgw_ratelimit_acquired_total" and ("venue", "crypto") in labels]
    assert acquired and sum(acquired) >= 1
    assert found[("fixgw_venue_http_requests_total", (("venue", "crypto"),))] >= 1
    assert chart_point["venues"]["crypto"]["rate"] > 0 and chart_point["venues"]["crypto"]["limit"] > 0
    assert ("fixgw_venue_http_retries_total", (("venue", "crypto"),)) in found
    assert any(name == "fixgw_ratelimit_burst_tokens" and ("venue", "crypto") in labels for name, labels in found)
    assert found[("fixgw_session_up", (("role", "venue"), ("session", "crypto")))] == 1
    assert 0 < found[("fixgw_venue_rate_used_share", (("venue", "crypto"),))] < 1  # requests / documented rate
    assert found[("fixgw_hop_latency_seconds_count", (("hop", "ems_to_venue"),))] >= 1
    assert found[("fixgw_hop_latency_seconds_count", (("hop", "venue_to_ems"),))] >= 1


def test_a_rest_venue_clock_45_s_ahead_is_measured_alerted_and_does_not_order_prices(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with CryptoPbSimulator() as sim:
        sim.set_clock_offset(45.0)
        for field, variable in ENV.items():
            monkeypatch.setenv(variable, getattr(sim.credentials, field))
        port = free_port()
        venue = {"kind": "coinbase_prime", "base_url": sim.coinbase_url, "portfolio_id": f"pf-{uuid.uuid4().hex[:8]}",
                 **{field: f"env:{variable}" for field, variable in ENV.items()}, "poll_interval_s": 0.1,
                 "clock_alert_threshold_s": 5}
        gateway = Gateway(parse_config({
            "name": "ops-skew", "state_dir": str(tmp_path / "gw"), "acceptor": {"port": port},
            "ems": {"ems-a": {"target_comp_id": "EMS-A"}}, "venues": {"crypto": venue},
            "routing": {"default": "crypto"}, "alerts": {"evaluate_every_s": 3600}}))
        client = FixClient(port=port, begin_string="FIX.4.4", sender_comp_id="EMS-A", target_comp_id="FIXGW",
                           store_dir=tmp_path / "ems-store")
        gateway.start()
        ops = OpsRuntime(gateway)
        ops.start()
        client.start()
        try:
            assert client.wait_logged_on(WAIT)
            client.send(new_order("S1", symbol="BTC/USD", qty="0.25", price=None))
            report(client, "S1", status("2"))
            found = {(s.name, tuple(sorted(s.labels.items()))): s.value
                     for family in text_string_to_metric_families(ops.metrics.render().decode())
                     for s in family.samples}
            fired = {alert.key: alert for alert in ops.evaluate_alerts()}
            assert gateway.risk is not None
            reference = gateway.risk.checks.exposure.price("BTC/USD")
        finally:
            client.stop()
            ops.stop()
            gateway.stop()
    skew = found[("fixgw_clock_skew_seconds", (("session", "crypto"),))]
    assert -46 < skew < -44   # our clock minus the venue's
    assert fired["clock_skew:crypto"].details["skew_s"].startswith("-4")
    # The skewed venue's fill is not a reference price at all (fills never move it; no market data configured).
    assert reference is None
