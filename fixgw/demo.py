"""`fixgw demo`: the gateway, a FIX broker simulator and a scripted EMS, all on loopback.

The EMS sends: a limit order that fills in slices, an order it cancels, an order it replaces (then filled),
an order the broker rejects, an order fixgw itself denies, and a BTC/USD order that the routing rules send to
a Coinbase Prime venue (the crypto prime-broker simulator, reached over REST through the bridge). The blotter
is printed at the end.
"""

from __future__ import annotations

import os
import secrets
import tempfile
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from fixgw.config import PACKAGE_DIR, GatewayConfig, parse_config
from fixgw.logs import configure_logging

DEMO_CONFIG = PACKAGE_DIR.parent / "sessions" / "demo.toml"
EMS_ACCOUNT = "DEMO-ACC"
WAIT = 15.0


@dataclass
class Step:
    name: str
    ok: bool
    detail: str


def demo_config(state_dir: Path, acceptor_port: int, broker_port: int, crypto_url: str) -> GatewayConfig:
    data = tomllib.loads(DEMO_CONFIG.read_text(encoding="utf-8"))
    data["state_dir"] = str(state_dir)
    data["acceptor"]["port"] = acceptor_port
    data["brokers"]["equities"]["port"] = broker_port
    data["venues"]["crypto"]["base_url"] = crypto_url
    sources = data["marketdata"]["sources"]
    sources["binance-book"]["url"] = f"{crypto_url}/binance"
    sources["crypto-l2"]["url"] = crypto_url.replace("http://", "ws://") + "/ws"
    sources["oracle"]["url"] = f"{crypto_url}/_sim/oracle"
    return parse_config(data, source=str(DEMO_CONFIG))


CRYPTO_CREDENTIAL_ENV = ("FIXGW_DEMO_CB_ACCESS_KEY", "FIXGW_DEMO_CB_PASSPHRASE", "FIXGW_DEMO_CB_SIGNING_KEY")
"""The environment variables demo.toml's crypto venue takes its credentials from (set here, per run)."""


def _throwaway_crypto_credentials() -> tuple[str, str, str]:
    """Fresh random credentials for this run, shared by the simulator and (through the environment) the venue."""
    values = (f"demo-{secrets.token_hex(8)}", secrets.token_hex(8), secrets.token_urlsafe(24))
    for name, value in zip(CRYPTO_CREDENTIAL_ENV, values, strict=True):
        os.environ[name] = value
    return values


def _now() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H:%M:%S.%f")[:-3]


def _order(cl_ord_id: str, symbol: str, side: str, qty: str, price: str) -> list[tuple[int, str]]:
    """A limit order; a market order without `price`."""
    priced = [(40, "2"), (44, price)] if price else [(40, "1")]
    return [(35, "D"), (11, cl_ord_id), (1, EMS_ACCOUNT), (55, symbol), (54, side), (60, _now()), (38, qty),
            *priced, (59, "0")]


def _wait_for_reference(gateway: object, instrument_id: str) -> Decimal | None:
    import time

    market = gateway.risk.checks.market  # type: ignore[attr-defined]
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        price: Decimal | None = market.reference(instrument_id).price
        if price is not None:
            return price
        time.sleep(0.05)
    return None


def _reference_line(gateway: object, instrument_id: str) -> str:
    reference = gateway.risk.checks.market.reference(instrument_id)  # type: ignore[attr-defined]
    sources = ", ".join(f"{v.quote.source} {_d(v.quote.mid)}" for v in reference.sources if v.fresh)
    return (f"reference price {instrument_id}: {_d(reference.price) or '-'} ({reference.state.value}; "
            f"{sources or reference.why})")


def _pnl_line(gateway: object, account: str) -> str:
    from fixgw.ops.view import call_on_router

    market = gateway.risk.checks.market  # type: ignore[attr-defined]
    totals = call_on_router(gateway.runner, lambda _core, _fx: market.snapshot(account)["accounts"])  # type: ignore[attr-defined]
    return "; ".join(f"P&L today {a.account}: total {_d(a.total)} {a.currency} (realized {_d(a.realized)}, "
                     f"unrealized {_d(a.unrealized)}, fees {_d(a.fees)}, drawdown {_d(a.drawdown)}"
                     + (f"; no reference for {', '.join(a.unpriced)}: not valued)" if a.unpriced else ")")
                     for a in totals) or f"P&L today {account}: no fills"


def run_demo(*, state_dir: Path | None = None, verbose: bool = False) -> int:
    from fixgw.engine.gateway import Gateway
    from fixgw.engine.quickfix_support import free_port
    from fixgw.sim.crypto_pb import CryptoPbSimulator
    from fixgw.sim.fix_broker import FixBrokerSimConfig, FixBrokerSimulator
    from fixgw.sim.fix_client import FixClient, ReceivedMessage

    console = Console() if Console().is_terminal else Console(width=170)
    temp = None
    if state_dir is None:
        temp = tempfile.TemporaryDirectory(prefix="fixgw-demo-")
        state_dir = Path(temp.name)
    state_dir.mkdir(parents=True, exist_ok=True)
    log_path = state_dir / "fixgw.log"
    log_file = open(log_path, "a", encoding="utf-8")  # noqa: SIM115 - kept open for the whole run
    configure_logging("INFO", "json" if not verbose else "auto", None if verbose else log_file)
    acceptor_port, broker_port, crypto_port = free_port(), free_port(), free_port()
    access_key, passphrase, signing_key = _throwaway_crypto_credentials()
    crypto = CryptoPbSimulator(port=crypto_port, access_key=access_key, passphrase=passphrase,
                               signing_key=signing_key)
    config = demo_config(state_dir / "gateway", acceptor_port, broker_port, f"http://127.0.0.1:{crypto_port}")
    broker = FixBrokerSimulator(FixBrokerSimConfig(
        port=broker_port, sender_comp_id="BROKER", target_comp_ids=("FIXGW",), begin_strings=("FIX.4.2",),
        store_dir=state_dir / "broker-sim", fill_slices=2, fill_delay_ms=20, max_order_qty=Decimal("10000")))
    gateway = Gateway(config)
    ems = FixClient(port=acceptor_port, begin_string="FIX.4.4", sender_comp_id="DEMO-EMS", target_comp_id="FIXGW",
                    store_dir=state_dir / "ems-client")
    steps: list[Step] = []

    def expect(name: str, cl_ord_id: str, predicate: Callable[[ReceivedMessage], bool], what: str) -> bool:
        try:
            ems.wait_for(lambda m: m.msg_type in ("8", "9") and m.get(11) == cl_ord_id and predicate(m), WAIT)
        except TimeoutError:
            steps.append(Step(name, False, f"no {what} for {cl_ord_id}"))
            return False
        steps.append(Step(name, True, what))
        return True

    console.print(f"[bold]fixgw demo[/] - state and logs in {state_dir}")
    try:
        crypto.start()
        # The crypto portfolio is a margin account: 5 BTC bought with 150,000 USD borrowed from the PB.
        crypto.set_margin("coinbase", "demo-portfolio", balances={"BTC": "5", "USD": "-150000"})
        broker.start()
        gateway.start()
        ems.start()
        if not (ems.wait_logged_on(WAIT) and broker.wait_logged_on(1, WAIT)):
            console.print("[red]sessions did not log on[/]")
            return 1
        console.print(f"EMS logged on to fixgw at 127.0.0.1:{acceptor_port}; fixgw logged on to the broker "
                      f"simulator at 127.0.0.1:{broker_port}; crypto PB simulator (Coinbase Prime REST) at "
                      f"{crypto.coinbase_url}")
        # 1. A limit order filled in two slices.
        ems.send(_order("DEMO-1", "AAPL", "1", "500", "190.25"))
        expect("limit order partially filled, then filled", "DEMO-1", lambda m: m.get(39) == "2",
               "ExecutionReport Filled (39=2) after a partial fill")
        # 2. and 3. need resting orders: the simulator stops filling by itself for a while.
        broker.auto_fill = False
        ems.send(_order("DEMO-2", "MSFT", "1", "300", "410.10"))
        if expect("order acknowledged", "DEMO-2", lambda m: m.get(39) == "0", "ExecutionReport New"):
            ems.send([(35, "F"), (11, "DEMO-2-C"), (41, "DEMO-2"), (55, "MSFT"), (54, "1"), (60, _now()),
                      (38, "300")])
            expect("order cancelled", "DEMO-2-C", lambda m: m.get(39) == "4", "ExecutionReport Canceled")
        ems.send(_order("DEMO-3", "SPY", "2", "200", "520.00"))
        if expect("order acknowledged", "DEMO-3", lambda m: m.get(39) == "0", "ExecutionReport New"):
            ems.send([(35, "G"), (11, "DEMO-3-R"), (41, "DEMO-3"), (1, EMS_ACCOUNT), (55, "SPY"), (54, "2"),
                      (60, _now()), (38, "300"), (40, "2"), (44, "519.50"), (59, "0")])
            if expect("order replaced (qty 200 -> 300, px 520.00 -> 519.50)", "DEMO-3-R",
                      lambda m: m.get(150) == "5", "ExecutionReport Replaced"):
                for broker_order_id, snapshot in broker.orders.items():
                    if snapshot.cl_ord_id.startswith(_venue_prefix(gateway, "DEMO-3")):
                        broker.fill(broker_order_id, "300")
                expect("replaced order filled", "DEMO-3-R", lambda m: m.get(39) == "2", "ExecutionReport Filled")
        broker.auto_fill = True
        # 4. Over the broker's max order quantity: the broker rejects it.
        ems.send(_order("DEMO-4", "AAPL", "1", "20000", "190.00"))
        expect("order rejected by the broker", "DEMO-4", lambda m: m.get(39) == "8",
               "ExecutionReport Rejected from the broker")
        # 5. A price off the tick size: fixgw denies it, nothing is sent.
        ems.send(_order("DEMO-5", "AAPL", "1", "100", "190.123"))
        expect("order denied by validation", "DEMO-5", lambda m: m.get(39) == "8",
               "ExecutionReport Rejected by fixgw (price off tick)")
        # 6. BTC/USD is crypto: routed to the Coinbase Prime venue over REST; a marketable limit fills in slices.
        #    The EMS sends DAY (59=0); the venue's day_orders = "as_gtc" sends it as GTC.
        ems.send(_order("DEMO-6", "BTC/USD", "1", "0.5", "65100.00"))
        expect("crypto order routed to Coinbase Prime (REST), partially filled", "DEMO-6",
               lambda m: m.get(39) == "1", "ExecutionReport Partially filled from the crypto venue")
        if expect("crypto order filled", "DEMO-6", lambda m: m.get(39) == "2", "ExecutionReport Filled (39=2)"):
            held = crypto.orders("coinbase")["orders"]
            steps.append(Step("crypto venue holds exactly one order, filled", len(held) == 1 and all(
                o["status"] == "FILLED" for o in held), f"{len(held)} order(s) at the simulated Coinbase Prime"))
        # 7. A market order is valued at the reference price (market data, never our own fills): it needs one.
        reference = _wait_for_reference(gateway, "BTC/USD")
        steps.append(Step("reference price from market data", reference is not None,
                          _reference_line(gateway, "BTC/USD")))
        ems.send(_order("DEMO-7", "BTC/USD", "2", "0.25", ""))
        expect("crypto market order valued at the reference, filled", "DEMO-7", lambda m: m.get(39) == "2",
               "ExecutionReport Filled (39=2)")
        # 8. Margin at the crypto PB after the fill, valued at the PB's marks (`fixgw margin status` prints the same).
        margin = gateway.margin
        if margin is not None:
            from fixgw.margin.report import status_lines

            status = margin.refresh()["venues"].get("crypto", {})
            lines = status_lines(margin.last)
            steps.append(Step("margin at the crypto PB", status.get("state") == "ok", lines[0] if lines else "none"))
            for line in lines:
                console.print(f"margin: {line}", markup=False)
        assert gateway.runner is not None
        gateway.runner.drain()
        _print_blotter(console, gateway)
        console.print(_reference_line(gateway, "BTC/USD"))
        console.print(_pnl_line(gateway, EMS_ACCOUNT))
    finally:
        ems.stop()
        gateway.stop()
        broker.stop()
        crypto.stop()
        log_file.close()
    table = Table(title="demo steps", show_lines=False)
    table.add_column("step")
    table.add_column("result")
    table.add_column("detail")
    for step in steps:
        table.add_row(step.name, "[green]ok[/]" if step.ok else "[red]FAILED[/]", escape(step.detail))
    console.print(table)
    console.print(f"gateway log (QuickFIX's session events included): {log_path}; journal: {config.journal_url}; "
                  f"QuickFIX stores: {config.state_dir / 'quickfix'}")
    if temp is not None:
        console.print("(temporary state folder removed; run with --state-dir DIR to keep it)")
        temp.cleanup()
    return 0 if steps and all(step.ok for step in steps) else 1


def _venue_prefix(gateway: object, ems_cl_ord_id: str) -> str:
    core = gateway.core  # type: ignore[attr-defined]
    for order in core.book:
        if ems_cl_ord_id in order.cl_ord_id_chain:
            return str(order.order_id) + "."
    return "?"


def _print_blotter(console: Console, gateway: object) -> None:
    core = gateway.core  # type: ignore[attr-defined]
    table = Table(title="blotter (order book of record)")
    for column in ("order id", "ClOrdID", "symbol", "side", "qty", "price", "status", "cum", "avg px", "venue",
                   "text"):
        table.add_column(column)
    for order in sorted(core.book, key=lambda o: o.created_at):
        table.add_row(order.order_id, order.cl_ord_id, order.instrument_id, order.side.name,
                      _d(order.order_qty), _d(order.price), order.status.name, _d(order.cum_qty),
                      _d(order.avg_px) if order.cum_qty else "", order.venue or "", order.text or "")
    console.print(table)


def _d(value: Decimal | None) -> str:
    from fixgw.model.decimals import fmt_decimal

    return "" if value is None else fmt_decimal(value)
