"""Reference prices and P&L stops inside a running gateway: a real EMS session over FIX, the real crypto-PB
simulator as venue and as the three market-data sources (Binance bookTicker, Coinbase Prime l2_data, a JSON
oracle), its price process jumped through the control API."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from gateway_stack import WAIT, new_order, report
from waiting import wait_until

from fixgw.cli import main
from fixgw.config import parse_config
from fixgw.engine.gateway import Gateway
from fixgw.engine.quickfix_support import free_port
from fixgw.marketdata.reference import ReferenceState
from fixgw.ops.runtime import OpsRuntime
from fixgw.risk.control import read_switches
from fixgw.sim.crypto_pb import CryptoPbSimulator
from fixgw.sim.fix_client import FixClient, ReceivedMessage
from fixgw.store.references import read_references

pytestmark = pytest.mark.timeout(90)
D = Decimal
BTC = "BTC/USD"
ENV = {"access_key": "FIXGW_TEST_CB_ACCESS_KEY", "passphrase": "FIXGW_TEST_CB_PASSPHRASE",
       "signing_key": "FIXGW_TEST_CB_SIGNING_KEY"}


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch) -> Iterator[CryptoPbSimulator]:
    with CryptoPbSimulator() as simulator:
        simulator.set_prices({"BTC": "65000.00"})
        simulator.configure(limit_slices=1, slice_interval_s="0.05")
        for field, variable in ENV.items():
            monkeypatch.setenv(variable, getattr(simulator.credentials, field))
        yield simulator


TOKEN = "md-admin-token"
Stack = tuple[Gateway, FixClient, OpsRuntime]


@pytest.fixture
def stack(tmp_path: Path, sim: CryptoPbSimulator,
          request: pytest.FixtureRequest) -> Iterator[Stack]:
    port = free_port()
    risk: dict[str, Any] = getattr(request, "param", {})
    data = {
        "name": "md-test", "state_dir": str(tmp_path / "gw"), "acceptor": {"port": port},
        "ems": {"ems-a": {"target_comp_id": "EMS-A", "allowed_accounts": ["ACC1", "ACC2"]}},
        "venues": {"cbp": {"kind": "coinbase_prime", "base_url": sim.coinbase_url, "ws_url": None,
                           "portfolio_id": f"pf-{uuid.uuid4().hex[:8]}", "day_orders": "as_gtc",
                           **{field: f"env:{variable}" for field, variable in ENV.items()},
                           "poll_interval_s": 0.1, "timeout_s": 2.0}},
        "routing": {"default": "cbp"},
        "risk": {**risk},
        "marketdata": {
            "sources": {
                "binance": {"kind": "binance_book_ticker", "url": sim.binance_url, "poll_s": 0.1,
                            "instruments": {BTC: "BTCUSDT"}},
                "cbp_l2": {"kind": "coinbase_prime_l2", "url": sim.ws_url, "venue": "cbp",
                           "instruments": {BTC: "BTC-USD"}},
                "oracle": {"kind": "http_json", "url": sim.oracle_url, "poll_s": 0.1,
                           "instruments": {BTC: "prices.BTC.usd"}},
            },
            "defaults": {"max_age_s": "3", "divergence_pct": "1"},
            "journal_period_s": 1,
        },
    }
    data["admin"] = {"enabled": True, "port": 0, "token": TOKEN}
    gateway = Gateway(parse_config(data))
    client = FixClient(port=port, begin_string="FIX.4.4", sender_comp_id="EMS-A", target_comp_id="FIXGW",
                       store_dir=tmp_path / "ems-store")
    ops = OpsRuntime(gateway)
    try:
        gateway.start()
        ops.start()
        client.start()
        assert client.wait_logged_on(WAIT)
        yield gateway, client, ops
    finally:
        client.stop()
        ops.stop()
        gateway.stop()


def reference(gateway: Gateway) -> Any:
    assert gateway.risk is not None
    return gateway.risk.checks.market.reference(BTC)


def fresh_sources(gateway: Gateway) -> int:
    """Fresh sources the reference is made of (a diverging one is fresh but left out)."""
    return sum(1 for view in reference(gateway).sources if view.fresh and not view.flagged)


def is_(value: str) -> Callable[[ReceivedMessage], bool]:
    return lambda m: m.get(39) == value


def sent_to_venue(sim: CryptoPbSimulator) -> set[str]:
    return {o["client_order_id"] for o in sim.orders("coinbase")["orders"]}


def test_the_10pct_halt_denies_before_sending_after_a_real_price_jump(
        stack: Stack, sim: CryptoPbSimulator) -> None:
    gateway, client, _ops = stack
    wait_until(lambda: fresh_sources(gateway) == 3 and reference(gateway).price == D("65000.00"), what="three sources")
    client.send(new_order("L1", symbol=BTC, qty="0.1", price="65000.00"))
    report(client, "L1", is_("0"))
    before = sent_to_venue(sim)
    sim.market(jump={"BTC": "12"})                                   # 65000 -> 72800
    wait_until(lambda: reference(gateway).price == D("72800.00") and fresh_sources(gateway) == 3, what="the jump")
    client.send(new_order("L2", symbol=BTC, qty="0.1", price="65000.00"))
    denied = report(client, "L2", is_("8"))
    assert "price_collar_pct: price 65000 is 10.71% from the reference 72800 (median of binance, cbp_l2, " \
           "oracle)" in (denied.get(58) or "")
    assert sent_to_venue(sim) == before                              # nothing left for the venue
    client.send(new_order("M1", symbol=BTC, qty="0.1", price=None))  # a market order is valued and goes
    filled = report(client, "M1", is_("2"))
    assert D(filled.get(6) or "0") > D("72000")                      # filled at the simulator's new price


def test_no_reference_denies_market_orders_naming_why_and_journals_the_state(
        stack: Stack, sim: CryptoPbSimulator) -> None:
    gateway, client, _ops = stack
    wait_until(lambda: fresh_sources(gateway) == 3, what="three sources")
    sim.market(silence=["BTC"])                                      # every feed goes quiet
    wait_until(lambda: reference(gateway).state is ReferenceState.STALE, what="stale")
    client.send(new_order("M1", symbol=BTC, qty="0.1", price=None))
    text = report(client, "M1", is_("8")).get(58) or ""
    assert "no reference price for BTC/USD: no source younger than 3s" in text
    client.send(new_order("L1", symbol=BTC, qty="0.1", price="60000.00"))   # limit orders still flow
    report(client, "L1", is_("0"))
    wait_until(lambda: any(row.state == "stale" for row in read_references(gateway.journal, instrument_id=BTC)),
               what="a journaled stale reference")
    sim.market(resume=["BTC"])
    wait_until(lambda: reference(gateway).state is ReferenceState.OK, what="fresh again")
    client.send(new_order("M2", symbol=BTC, qty="0.1", price=None))
    report(client, "M2", is_("2"))
    wait_until(lambda: {row.state for row in read_references(gateway.journal, instrument_id=BTC)}
               >= {"ok", "stale"}, what="journaled reference rows")
    row = next(r for r in read_references(gateway.journal, instrument_id=BTC) if r.state == "ok")
    assert row.price is not None and {s["source"] for s in row.sources} == {"binance", "cbp_l2", "oracle"}


@pytest.mark.parametrize("stack", [{"accounts": {"ACC1": {"max_drawdown": "300"}}}], indirect=True)
def test_the_drawdown_stop_engages_the_kill_switch_through_the_running_gateway(
        stack: Stack, sim: CryptoPbSimulator) -> None:
    gateway, client, _ops = stack
    assert gateway.risk is not None
    wait_until(lambda: fresh_sources(gateway) == 3, what="three sources")
    client.send(new_order("B1", symbol=BTC, qty="1", price=None))
    report(client, "B1", is_("2"))                                   # long 1 BTC near 65000
    client.send(new_order("R1", symbol=BTC, qty="0.1", price="60000.00"))
    report(client, "R1", is_("0"))                                   # resting
    sim.market(jump={"BTC": "-1"})                                   # about -650 on the position
    client.wait_for(lambda m: m.msg_type == "8" and m.get(41) == "R1" and m.get(39) == "4", WAIT)  # cancelled
    switches = [s for s in read_switches(gateway.journal) if s.scope == "account:ACC1"]
    assert switches and switches[0].active and "max_drawdown" in switches[0].reason
    client.send(new_order("B2", symbol=BTC, qty="0.1", price=None))
    assert "kill switch in force for account:ACC1" in (report(client, "B2", is_("8")).get(58) or "")
    client.send(new_order("B3", symbol=BTC, qty="0.1", price=None, account="ACC2"))
    report(client, "B3", is_("2"))                                   # other accounts trade on
    [account] = [a for a in gateway.risk.checks.market.snapshot()["accounts"] if a.account == "ACC1"]  # type: ignore[attr-defined]
    assert account.drawdown > D(300) and account.currency == "USD"


def test_operators_see_prices_and_pnl_in_the_api_the_cli_the_status_page_and_metrics(
        stack: Stack, sim: CryptoPbSimulator, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    gateway, client, ops = stack
    wait_until(lambda: fresh_sources(gateway) == 3, what="three sources")
    client.send(new_order("B1", symbol=BTC, qty="2", price=None))
    fill = report(client, "B1", is_("2"))
    paid = D(fill.get(6) or "0")
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=ops.admin.url, headers=headers, timeout=10) as admin:
        prices = admin.get("/api/prices").json()
        [btc] = [item for item in prices["instruments"] if item["instrument"] == BTC]
        assert btc["state"] == "ok" and btc["price"] == "65000" and not btc["static"]
        assert {s["source"]: (s["bid"], s["ask"]) for s in btc["sources"]} == {
            "binance": ("64967.5", "65032.5"), "cbp_l2": ("64967.5", "65032.5"), "oracle": (None, None)}
        day = admin.get("/api/pnl", params={"account": "ACC1"}).json()
        [line] = day["lines"]
        assert (line["instrument"], line["venue"], line["position"], line["mark"]) == (BTC, "cbp", "2", "65000")
        assert D(line["unrealized"]) == 2 * (D(65000) - paid)
        [account] = day["accounts"]
        assert account["account"] == "ACC1" and account["currency"] == "USD"
        assert D(account["total"]) == D(line["unrealized"]) - D(line["fees"])
        metrics = admin.get("/metrics").text
        assert 'fixgw_reference_price{instrument="BTC/USD",static="false"} 65000.0' in metrics
        assert 'fixgw_reference_state{instrument="BTC/USD",state="ok"} 1.0' in metrics
        assert 'fixgw_reference_divergence_pct{instrument="BTC/USD",source="binance"} 0.0' in metrics
        assert 'fixgw_pnl{account="ACC1",currency="USD",kind="total"}' in metrics
        assert "fixgw_reference_age_seconds" in metrics
        page = admin.get("/status").text
        assert '<table id="prices">' in page and "binance, cbp_l2, oracle" in page and '<table id="pnl">' in page
    monkeypatch.setenv("FIXGW_TEST_MD_TOKEN", TOKEN)
    config = tmp_path / "cli.toml"
    config.write_text(f'[admin]\nenabled = true\nport = {ops.admin.port}\ntoken = "env:FIXGW_TEST_MD_TOKEN"\n')
    capsys.readouterr()
    assert main(["prices", "--config", str(config), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["instruments"][0]["instrument"] == BTC
    assert main(["prices", "--config", str(config)]) == 0
    text = capsys.readouterr().out
    assert "BTC/USD" in text and "ok" in text and "cbp_l2" in text
    assert main(["pnl", "--config", str(config), "--account", "ACC1"]) == 0
    text = capsys.readouterr().out
    assert "ACC1" in text and "USD" in text and "cbp" in text
    assert main(["pnl", "--config", str(config), "--account", "NOBODY", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["accounts"] == []
