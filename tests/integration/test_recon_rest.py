"""Recon against the crypto PB simulator's real REST endpoints (Coinbase Prime flavour): a trade the venue has
and we do not shows up as missing internally at end of day and as drift intraday, which pauses the venue
through the risk kill switch; once our journal has that trade, the day reconciles clean and the drift is gone."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from gateway_stack import WAIT, new_order, report, status
from structlog.testing import capture_logs

from fixgw.config import parse_config
from fixgw.engine.gateway import Gateway
from fixgw.engine.quickfix_support import free_port
from fixgw.model.enums import OrdType, Side
from fixgw.model.instruments import SymbolMaster
from fixgw.model.orders import Fill
from fixgw.model.state import Order, OrderEvent, apply
from fixgw.recon.drift import DriftCheck
from fixgw.recon.rest_source import RestSource
from fixgw.recon.wiring import reconciler_for
from fixgw.risk.control import read_switches
from fixgw.sim.crypto_pb import CryptoPbSimulator
from fixgw.sim.fix_client import FixClient
from fixgw.store import Journal, JournalBatch
from fixgw.store.recon import ReconStore
from fixgw.venues.bridge.coinbase_prime.http import CoinbasePrimeHttp
from fixgw.venues.bridge.coinbase_prime.schemas import CreateOrderRequest

pytestmark = pytest.mark.timeout(60)
REPO = Path(__file__).resolve().parents[2]
ENV = {"access_key": "FIXGW_TEST_RECON_CB_ACCESS_KEY", "passphrase": "FIXGW_TEST_RECON_CB_PASSPHRASE",
       "signing_key": "FIXGW_TEST_RECON_CB_SIGNING_KEY"}


@pytest.fixture(scope="module")
def sim() -> Iterator[CryptoPbSimulator]:
    with CryptoPbSimulator() as simulator:
        yield simulator


def test_rest_venue_recon_and_drift(sim: CryptoPbSimulator, journal: Journal, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    for field, variable in ENV.items():
        monkeypatch.setenv(variable, getattr(sim.credentials, field))
    section = {"kind": "coinbase_prime", "base_url": sim.coinbase_url, "portfolio_id": f"pf-{uuid.uuid4().hex[:8]}",
               **{field: f"env:{variable}" for field, variable in ENV.items()},
               "timeout_s": 2.0, "retry_base_delay_s": 0.01, "retry_max_delay_s": 0.05}
    config = parse_config({"state_dir": str(tmp_path), "journal": {"url": journal.url}, "venues": {"cbp": section},
                           "recon": {"timezone": "UTC"}})
    venue = config.venues["cbp"]
    symbols = SymbolMaster.from_toml((REPO / "specs" / "symbols.toml").read_text(encoding="utf-8"))
    source = RestSource(venue, symbols, ReconStore(journal))
    drift = DriftCheck(journal, symbols, Decimal("0.0001"))
    assert drift.check("cbp", source.balances()) is None                  # the first look sets the baseline

    # A trade at the venue that never went through us.
    http = CoinbasePrimeHttp(venue)

    async def rogue_trade() -> tuple[str, list[object]]:
        try:
            created = await http.create_order(CreateOrderRequest(
                portfolio_id=venue.portfolio_id, product_id="BTC-USD", side="BUY", client_order_id="rogue-1",
                type="MARKET", base_quantity=Decimal("0.5")))
            return created.order_id, list(await http.order_fills(created.order_id))
        finally:
            await http.aclose()

    order_id, fills = asyncio.run(rogue_trade())
    assert len(fills) == 1
    day = datetime.now(UTC).date()
    recon = reconciler_for(config, journal, symbols, out=tmp_path / "out")
    outcome = recon.run("cbp", day, source)
    assert [(b.kind.value, b.ref) for b in outcome.breaks] == [("missing_internally", fills[0].id)]  # type: ignore[attr-defined]

    with capture_logs() as logs:
        reading = drift.check("cbp", source.balances())
    assert reading is not None and reading.breached and set(reading.drifts) == {"BTC", "USD"}
    [kill] = [s for s in read_switches(journal) if s.scope == "venue:cbp"]
    assert kill.kind == "kill" and kill.active and kill.who == "recon-drift"
    assert [log for log in logs if log["event"] == "alert" and log["kind"] == "recon_drift"]

    # Our journal learns of the trade (as the bridge would have reported it): clean day, no drift.
    fill = fills[0]
    at = fill.time  # type: ignore[attr-defined]
    order = Order(order_id="ORD-rogue", ems_session="EMS1", cl_ord_id="C-rogue", instrument_id="BTC/USD",
                  side=Side.BUY, ord_type=OrdType.MARKET, order_qty=Decimal("0.5"), venue="cbp",
                  venue_cl_ord_id="rogue-1", venue_order_id=order_id, created_at=at, updated_at=at)
    apply(order, OrderEvent.ACK, at=at)
    ours = Fill(exec_id=fill.id, venue="cbp", qty=fill.filled_quantity, price=fill.price,  # type: ignore[attr-defined]
                commission=fill.commission, time=at)  # type: ignore[attr-defined]
    apply(order, OrderEvent.FILL, fill=ours, at=at)
    journal.write(JournalBatch(orders={order.order_id: order}, fills=[(order.order_id, ours)]))
    assert recon.run("cbp", day, source).clean
    settled = drift.check("cbp", source.balances())
    assert settled is not None and not settled.breached and settled.drifts == {}


def test_crypto_trades_through_the_gateway_reconcile_clean_against_the_venue(
        sim: CryptoPbSimulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for field, variable in ENV.items():
        monkeypatch.setenv(variable, getattr(sim.credentials, field))
    sim.clear_faults()
    sim.configure(limit_slices=2, slice_interval_s="0.05")
    port = free_port()
    section = {"kind": "coinbase_prime", "base_url": sim.coinbase_url, "portfolio_id": f"pf-{uuid.uuid4().hex[:8]}",
               **{field: f"env:{variable}" for field, variable in ENV.items()}, "day_orders": "as_gtc",
               "poll_interval_s": 0.1, "timeout_s": 2.0, "retry_base_delay_s": 0.01, "retry_max_delay_s": 0.05}
    config = parse_config({"name": "recon-rest", "state_dir": str(tmp_path / "gw"), "acceptor": {"port": port},
                           "ems": {"ems-a": {"target_comp_id": "EMS-A", "allowed_accounts": ["ACC1"]}},
                           "venues": {"cbp": section}, "routing": {"default": "cbp"}, "recon": {"timezone": "UTC"}})
    gateway = Gateway(config)
    client = FixClient(port=port, begin_string="FIX.4.4", sender_comp_id="EMS-A", target_comp_id="FIXGW",
                       store_dir=tmp_path / "ems-store")
    try:
        gateway.start()
        client.start()
        assert client.wait_logged_on(WAIT)
        client.send(new_order("CR-1", symbol="BTC/USD", qty="0.25", price=None))                 # market
        client.send(new_order("CR-2", symbol="BTC/USD", side="2", qty="0.2", price="64000.00"))  # marketable
        for cl_ord_id in ("CR-1", "CR-2"):
            report(client, cl_ord_id, status("2"))
        assert gateway.runner is not None
        gateway.runner.drain()
        day = datetime.now(UTC).date()
        from rich.console import Console

        from fixgw.cli.recon import run_recon

        console = Console(file=open(tmp_path / "summary.txt", "w"), width=160)  # noqa: SIM115
        assert run_recon(config, day, venue="cbp", out=tmp_path / "out", console=console) == 0
        console.file.close()
        with Journal(config.journal_url) as journal:
            [run] = ReconStore(journal).runs(recon_date=day.isoformat(), venue="cbp")
            assert run.result == "clean" and run.counts["matched"] == run.counts["ours"] == 3   # 1 + 2 slices
            assert run.source.startswith("rest:cbp")
    finally:
        client.stop()
        gateway.stop()
