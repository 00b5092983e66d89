"""Issue 18 outage test, end to end: a REST venue killed mid-flow behind a real gateway.

A FIX EMS trades crypto through one gateway (admin API and alert engine running) routed to a PRIMARY
Coinbase-Prime venue with a BACKUP, each served by its own crypto PB simulator. The primary's HTTP server is
stopped while orders flow: the market order caught by the outage is rejected after `max_market_order_age_s`
(never sent late), `/readyz` turns not-ready naming the venue, `session_down` fires to the webhook,
`fixgw_session_up` reads 0, new orders fill at the backup; the primary comes back on the same port, is seen up
again (readiness, alert resolved) and takes the next order. Every EMS order ends in exactly one final state.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from gateway_stack import FINAL, WAIT, new_order, report, status
from prometheus_client.parser import text_string_to_metric_families
from waiting import wait_until
from webhook_receiver import WebhookReceiver

from fixgw.config import parse_config
from fixgw.engine.gateway import Gateway
from fixgw.engine.quickfix_support import free_port
from fixgw.ops.runtime import OpsRuntime
from fixgw.sim.crypto_pb import CryptoPbSimulator
from fixgw.sim.fix_client import FixClient

pytestmark = pytest.mark.timeout(90)
ENV = {"access_key": "FIXGW_TEST_OUTAGE_ACCESS_KEY", "passphrase": "FIXGW_TEST_OUTAGE_PASSPHRASE",
       "signing_key": "FIXGW_TEST_OUTAGE_SIGNING_KEY"}
TOKEN = "outage-admin-token"
MAX_MARKET_AGE_S = 1.0
PRIMARY_PROBE_S = 0.5
"""With down_after = 3 the gateway takes a second or more to call the dead primary down from its probes alone:
the order sent right after the kill reaches the primary first (its own failed submit is one of the three)."""


def venue(sim: CryptoPbSimulator, probe_interval_s: float) -> dict[str, Any]:
    return {"kind": "coinbase_prime", "base_url": sim.coinbase_url, "portfolio_id": f"pf-{uuid.uuid4().hex[:8]}",
            **{field: f"env:{variable}" for field, variable in ENV.items()},
            "poll_interval_s": 0.1, "timeout_s": 1.0, "retry_attempts": 1, "retry_base_delay_s": 0.01,
            "retry_max_delay_s": 0.05, "probe_interval_s": probe_interval_s, "down_after": 3, "up_after": 2,
            "max_market_order_age_s": MAX_MARKET_AGE_S}


@contextmanager
def outage_stack(tmp_path: Path, primary: CryptoPbSimulator, backup: CryptoPbSimulator,
                 webhook: WebhookReceiver) -> Iterator[tuple[Gateway, OpsRuntime, FixClient]]:
    port = free_port()
    rule = {"name": "crypto", "match": {"asset_class": ["crypto_spot"]}, "destination": "primary",
            "backup": "backup"}
    data: dict[str, Any] = {
        "name": "outage-gw", "state_dir": str(tmp_path / "gw"), "acceptor": {"port": port},
        "ems": {"ems-a": {"target_comp_id": "EMS-A", "allowed_accounts": ["ACC1"]}},
        "venues": {"primary": venue(primary, PRIMARY_PROBE_S), "backup": venue(backup, 0.05)},
        "routing": {"rules": [rule]},
        "admin": {"enabled": True, "port": 0, "token": TOKEN},
        "alerts": {"evaluate_every_s": 0.1, "session_down_after_s": 0,
                   "sinks": {"ops": {"kind": "json", "url": webhook.url}}}}
    gateway = Gateway(parse_config(data))
    client = FixClient(port=port, begin_string="FIX.4.4", sender_comp_id="EMS-A", target_comp_id="FIXGW",
                       store_dir=tmp_path / "ems-store")
    with ExitStack() as stack:
        gateway.start()
        stack.callback(gateway.stop)
        ops = OpsRuntime(gateway)
        ops.start()
        stack.callback(ops.stop)
        client.start()
        stack.callback(client.stop)
        assert client.wait_logged_on(WAIT)
        yield gateway, ops, client


def market(cl_ord_id: str) -> list[tuple[int, str]]:
    return new_order(cl_ord_id, symbol="BTC/USD", qty="0.1", price=None)


def admin_get(ops: OpsRuntime, path: str) -> httpx.Response:
    assert ops.admin is not None
    return httpx.get(f"http://127.0.0.1:{ops.admin.port}{path}", headers={"Authorization": f"Bearer {TOKEN}"},
                     timeout=5.0)


def session_up(ops: OpsRuntime, name: str) -> float | None:
    for family in text_string_to_metric_families(admin_get(ops, "/metrics").text):
        for sample in family.samples:
            if sample.name == "fixgw_session_up" and sample.labels.get("session") == name:
                return sample.value
    return None


def alerts(webhook: WebhookReceiver, key: str, state: str) -> list[dict[str, Any]]:
    return [body for body in webhook.bodies if body.get("key") == key and body.get("status") == state]


def venue_order_count(sim: CryptoPbSimulator) -> int:
    return len(sim.orders("coinbase")["orders"])


def test_a_venue_killed_mid_flow_fails_over_alerts_rejects_its_held_market_order_and_comes_back(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with ExitStack() as stack:
        primary = stack.enter_context(CryptoPbSimulator())
        backup = stack.enter_context(CryptoPbSimulator())
        for field, variable in ENV.items():
            monkeypatch.setenv(variable, getattr(primary.credentials, field))
        webhook = stack.enter_context(WebhookReceiver())
        gateway, ops, client = stack.enter_context(outage_stack(tmp_path, primary, backup, webhook))
        wait_until(lambda: gateway.venues_connected() == {"primary": True, "backup": True}, WAIT, "both venues up")
        assert admin_get(ops, "/readyz").status_code == 200

        # Orders flow and fill on the primary.
        for cl_ord_id in ("P1", "P2"):
            client.send(market(cl_ord_id))
            report(client, cl_ord_id, status("2"))
        assert venue_order_count(primary) == 2 and venue_order_count(backup) == 0

        # The primary dies; a market order goes out right as it does.
        primary.stop()
        client.send(market("H1"))
        held = report(client, "H1", status("8"), timeout=WAIT)
        text = held.get(58) or ""
        assert text.startswith("not sent: held") and "while primary was down" in text, text
        assert f"a market order older than {MAX_MARKET_AGE_S:g} s is not sent late" in text, text

        # Seen down everywhere an operator looks.
        wait_until(lambda: gateway.venues_connected() == {"primary": False, "backup": True}, WAIT, "primary down")
        readyz = admin_get(ops, "/readyz")
        assert readyz.status_code == 503 and readyz.json()["ready"] is False
        assert readyz.json()["sessions_down"] == ["primary"]
        assert session_up(ops, "primary") == 0 and session_up(ops, "backup") == 1
        assert webhook.wait_for(lambda _b: bool(alerts(webhook, "session_down:primary", "firing"))), webhook.bodies
        (fired,) = alerts(webhook, "session_down:primary", "firing")
        assert "primary" in fired["summary"] and fired["severity"] == "critical"

        # New orders go to the backup and fill there.
        for cl_ord_id in ("B1", "B2"):
            client.send(market(cl_ord_id))
            report(client, cl_ord_id, status("2"))
        assert venue_order_count(backup) == 2

        # The primary returns on the same port with its state; it is seen up again and takes new orders.
        primary.start()
        wait_until(lambda: gateway.venues_connected() == {"primary": True, "backup": True}, WAIT, "primary up again")
        wait_until(lambda: admin_get(ops, "/readyz").status_code == 200, WAIT, "ready again")
        assert session_up(ops, "primary") == 1
        assert webhook.wait_for(lambda _b: bool(alerts(webhook, "session_down:primary", "resolved"))), webhook.bodies
        client.send(market("P3"))
        report(client, "P3", status("2"))

        assert gateway.core is not None and gateway.runner is not None and gateway.runner.drain(WAIT)
        venues = {order.cl_ord_id: order.venue for order in gateway.core.book}
        assert venues == {"P1": "primary", "P2": "primary", "H1": "primary", "B1": "backup", "B2": "backup",
                          "P3": "primary"}, venues
        # The held market order never reached the primary, not even once it was back.
        assert venue_order_count(primary) == 3 and venue_order_count(backup) == 2
        assert primary.request_counts().get("coinbase.create_order") == 3
        finals = {cl_ord_id: [m.get(39) for m in client.received
                              if m.msg_type == "8" and m.get(11) == cl_ord_id and m.get(39) in FINAL]
                  for cl_ord_id in venues}
        assert finals == {"P1": ["2"], "P2": ["2"], "H1": ["8"], "B1": ["2"], "B2": ["2"], "P3": ["2"]}, finals
