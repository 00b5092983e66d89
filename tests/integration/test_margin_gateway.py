"""Margin end to end: a running gateway with [margin] on a Coinbase Prime venue of the crypto-PB simulator and a
real EMS over FIX. A price walk drives the desk ok -> warn -> reduce_only -> critical -> the venue's liquidation,
alerts come once per state change in that order, a reduce-only denial reaches the EMS with the ratio in Text while
a reducing order passes, the venue's liquidation reaches the EMS and the drop copy, and the snapshots are
journaled and readable by `fixgw margin status --json`, /api/margin, the status page and the metrics."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from gateway_stack import WAIT, new_order, report
from prometheus_client.parser import text_string_to_metric_families
from test_bridge_gateway import ENV, ems_client, wait_until

from fixgw.config import parse_config
from fixgw.engine.gateway import Gateway
from fixgw.engine.quickfix_support import free_port
from fixgw.ops.runtime import OpsRuntime
from fixgw.risk.telemetry import Alert
from fixgw.sim.crypto_pb import CryptoPbSimulator
from fixgw.sim.fix_client import FixClient
from fixgw.store.margin import MarginStore

pytestmark = pytest.mark.timeout(90)
TOKEN = "margin-admin-token"

HAIRCUTS = """
[asset.USD]
cash = true
[asset.BTC]
haircut = "0.10"
maintenance = "0.10"
initial = "0.20"
"""


@pytest.fixture(scope="module")
def sim() -> Iterator[CryptoPbSimulator]:
    with CryptoPbSimulator() as simulator:
        yield simulator


def order(cl_ord_id: str, side: str, qty: str, price: str) -> list[tuple[int, str]]:
    return [(tag, "1" if tag == 59 else value)
            for tag, value in new_order(cl_ord_id, symbol="BTC/USD", side=side, qty=qty, price=price)]


def test_price_walk_to_liquidation(tmp_path: Path, sim: CryptoPbSimulator, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    for field, variable in ENV.items():
        monkeypatch.setenv(variable, getattr(sim.credentials, field))
    sim.reset()
    sim.set_prices({"BTC": "65000"})
    portfolio = f"pf-{uuid.uuid4().hex[:8]}"
    # the simulator's own ratio 10 - 450,000 / p: a margin call under 1.10, liquidation under 1.05 (p < 50,279)
    sim.set_margin("coinbase", portfolio, balances={"BTC": "10", "USD": "-450000"}, borrow_rate="0")
    haircuts = tmp_path / "haircuts.toml"
    haircuts.write_text(HAIRCUTS)
    port, dc_port = free_port(), free_port()
    config = parse_config({
        "name": "margin-test", "state_dir": str(tmp_path / "gw"), "acceptor": {"port": port},
        "ems": {"ems-a": {"target_comp_id": "EMS-A", "allowed_accounts": ["ACC1"]}},
        "venues": {"cbp": {"kind": "coinbase_prime", "base_url": sim.coinbase_url, "portfolio_id": portfolio,
                           **{field: f"env:{variable}" for field, variable in ENV.items()},
                           "poll_interval_s": 0.1, "timeout_s": 2.0, "retry_base_delay_s": 0.01,
                           "retry_max_delay_s": 0.05}},
        "routing": {"default": "cbp"}, "admin": {"enabled": True, "token": TOKEN, "port": 0},
        "dropcopy": {"compliance": {"target_comp_id": "COMPLIANCE", "port": dc_port}},
        "margin": {"enabled": True, "snapshot_s": 0.2, "haircuts_file": str(haircuts), "drift_pause_pct": "100",
                   "venues": {"cbp": {"entity_id": portfolio, "report_to": "ems-a", "account": "ACC1"}}},
    })
    gateway = Gateway(config)
    client = ems_client(tmp_path, port)
    compliance = FixClient(port=dc_port, begin_string="FIX.4.4", sender_comp_id="COMPLIANCE", target_comp_id="FIXGW",
                           store_dir=tmp_path / "dc")
    alerts: list[Alert] = []
    ops: OpsRuntime | None = None
    try:
        gateway.start()
        ops = OpsRuntime(gateway)
        ops.start()
        assert gateway.risk is not None
        gateway.risk.checks.alerts.sinks.append(lambda alert: alerts.append(alert) if alert.kind == "margin" else None)
        client.start()
        compliance.start()
        assert client.wait_logged_on(WAIT) and compliance.wait_logged_on(WAIT)

        def state() -> str | None:
            last = gateway.margin.last if gateway.margin is not None else None
            return None if last is None or "cbp" not in last["venues"] else str(last["venues"]["cbp"]["state"])

        # ours: C = 9p, L = 450,000, M = p -> ratio 9 - 450,000 / p
        assert wait_until(lambda: state() == "ok"), state()
        status = gateway.margin.last["venues"]["cbp"]
        assert status["margin_ratio"] == "2.0769" and status["equity"] == "135000"
        assert Decimal(status["venue_reported"]["margin_equity"]) == 200_000 and status["drift_pct"] == "0"
        sim.set_prices({"BTC": "59000"})        # 1.3729
        assert wait_until(lambda: state() == "warn"), state()
        sim.set_prices({"BTC": "57500"})        # 1.1739
        assert wait_until(lambda: state() == "reduce_only"), state()

        client.send(order("M-BUY", "1", "0.1", "58000.00"))
        denied = report(client, "M-BUY", lambda m: m.get(39) == "8")
        assert "margin reduce_only at cbp: margin ratio 1.1739 is below 1.25" in (denied.get(58) or "")
        assert not [o for o in sim.orders("coinbase")["orders"] if o["client_order_id"].startswith("M-BUY")]
        client.send(order("M-SELL", "2", "0.1", "57000.00"))   # reducing the long: passes and fills
        report(client, "M-SELL", lambda m: m.get(39) == "2")

        sim.set_prices({"BTC": "56000"})        # 0.96
        assert wait_until(lambda: state() == "critical"), state()
        with httpx.Client(base_url=ops.admin.url, headers={"Authorization": f"Bearer {TOKEN}"}) as admin:
            api = admin.get("/api/margin").json()
            assert api["venues"]["cbp"]["state"] == "critical" and set(api["desk"]) >= {"equity", "excess"}
            fresh = admin.post("/api/margin/refresh").json()       # on demand: pulled, valued and journaled now
            assert fresh["venues"]["cbp"]["state"] == "critical" and fresh["as_of"] > api["as_of"]
            page = admin.get("/status").text
            assert "Margin" in page and "cbp [cross] CRITICAL" in page
        samples = {(s.name, s.labels.get("venue")): s.value
                   for family in text_string_to_metric_families(ops.metrics.render().decode())
                   for s in family.samples}
        assert samples[("fixgw_margin_state", "cbp")] == 3 and samples[("fixgw_margin_ratio", "cbp")] < 1.1
        assert {("fixgw_collateral_value", "cbp"), ("fixgw_margin_excess", "cbp"),
                ("fixgw_liquidation_distance_pct", "cbp")} <= set(samples)
        sim.set_prices({"BTC": "49000"})        # the simulator's ratio 0.82: it sells half the BTC
        assert wait_until(lambda: bool(sim.margin()["liquidations"]))
        liquidation = sim.margin()["liquidations"][0]
        assert liquidation["side"] == "SELL" and Decimal(liquidation["quantity"]) == Decimal("4.95")

        def btc_held() -> str | None:
            last = gateway.margin.last
            lines = {line["asset"]: line for line in last["venues"]["cbp"]["assets"]}
            return lines["BTC"]["quantity"] if "BTC" in lines else None

        assert wait_until(lambda: btc_held() == "4.95"), btc_held()
        # the liquidation reaches the EMS as an order of the venue's own, filled, and the drop copy
        liquidated = report(client, liquidation["client_order_id"], lambda m: m.get(39) == "2")
        assert liquidated.get(54) == "2" and Decimal(liquidated.get(14) or "0") == Decimal("4.95")
        assert liquidated.get(1) == "ACC1"
        copied = compliance.wait_for(lambda m: m.msg_type == "8" and m.get(150) == "F"
                                     and m.get(11) == liquidation["client_order_id"], WAIT)
        assert Decimal(copied.get(32) or "0") == Decimal("4.95")
        assert [(a.detail["previous"], a.detail["state"]) for a in alerts] == [
            ("ok", "warn"), ("warn", "reduce_only"), ("reduce_only", "critical")]
        assert alerts[-1].detail["severity"] == "critical" and "ratio" in alerts[-1].message
    finally:
        client.stop()
        compliance.stop()
        if ops is not None:
            ops.stop()
        gateway.stop()

    rows = list(journaled_rows(config))
    changes = [(r.previous_state, r.state) for r in rows if r.kind == "state_change"]
    assert changes == [("ok", "warn"), ("warn", "reduce_only"), ("reduce_only", "critical")]
    assert sum(1 for r in rows if r.kind == "snapshot") >= 5

    from fixgw.cli import main

    path = tmp_path / "gw.toml"
    path.write_text(f'name = "margin-test"\nstate_dir = "{tmp_path / "gw"}"\n')
    capsys.readouterr()
    assert main(["margin", "status", "--config", str(path), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert set(printed) == {"as_of", "venues", "desk"}
    assert set(printed["venues"]["cbp"]) == {
        "mode", "state", "collateral_value", "liabilities", "equity", "requirement_initial",
        "requirement_maintenance", "margin_ratio", "excess", "liquidation_distance_pct", "venue_reported",
        "drift_pct", "assets"}
    assert printed["venues"]["cbp"]["state"] == "critical"
    assert set(printed["desk"]) == {"collateral_value", "liabilities", "equity", "requirement_maintenance", "excess"}


def journaled_rows(config: Any) -> Iterator[Any]:
    from fixgw.store.journal import Journal

    journal = Journal(config.journal_url)
    journal.open()
    try:
        yield from MarginStore(journal).rows()
    finally:
        journal.close()
