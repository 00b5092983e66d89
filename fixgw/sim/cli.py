"""`fixgw sim ...`: run a simulated counterparty in the foreground until SIGINT/SIGTERM (exit 0).

Exit codes: 0 stopped by a signal; 1 the simulator failed to start (e.g. port in use); 2 invalid options.
"""

from __future__ import annotations

import signal
import threading
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from fixgw.sim.crypto_pb.cli import crypto_pb

sim_app = typer.Typer(
    help="Simulated counterparties (FIX broker, crypto prime broker) for demos, tests and benchmarks.",
    no_args_is_help=True,
    add_completion=False,
)


@sim_app.callback()
def _simulators() -> None:
    """Simulated counterparties: each command runs one in the foreground."""  # keeps sim_app a command group


sim_app.command("crypto-pb")(crypto_pb)


@sim_app.command("fix-broker")
def fix_broker(
    port: Annotated[int, typer.Option(help="Port to accept FIX sessions on (QuickFIX binds every interface).")] = 9879,
    host: Annotated[str, typer.Option(help="Address clients should use (shown in the banner).")] = "127.0.0.1",
    sender_comp_id: Annotated[str, typer.Option(help="The broker's CompID.")] = "BROKER",
    target_comp_id: Annotated[
        list[str] | None, typer.Option(help="CompID of a client (repeatable; default FIXGW).", show_default=False)
    ] = None,
    begin_string: Annotated[
        list[str] | None,
        typer.Option(
            help="FIX.4.2, FIX.4.4 or FIXT.1.1 (repeatable; default FIX.4.2 and FIX.4.4).", show_default=False
        ),
    ] = None,
    fill_slices: Annotated[int, typer.Option(help="Fill each order in this many partial fills.")] = 2,
    fill_delay_ms: Annotated[int, typer.Option(help="Delay before each fill slice.")] = 5,
    ack_delay_ms: Annotated[int, typer.Option(help="Delay before answering any request.")] = 0,
    reject_symbol: Annotated[list[str] | None, typer.Option(help="Reject orders in this symbol (repeatable).")] = None,
    max_qty: Annotated[str | None, typer.Option(help="Reject orders above this quantity.")] = None,
    reference_price: Annotated[str, typer.Option(help="Fill price of market orders.")] = "100",
    state_dir: Annotated[
        Path | None,
        typer.Option(help="Keep sequence numbers (store/) and message logs (log/) here; omit for memory only."),
    ] = None,
    no_auto_fill: Annotated[bool, typer.Option("--no-auto-fill", help="Only acknowledge orders; never fill.")] = False,
) -> None:
    """Run the FIX broker simulator (equities / fixed income) until SIGINT or SIGTERM."""
    # Imported here: importing quickfix resets SIGINT, so it must happen before our handlers go in.
    from fixgw.sim.fix_broker import FixBrokerSimConfig, FixBrokerSimulator

    try:
        config = FixBrokerSimConfig(
            host=host,
            port=port,
            sender_comp_id=sender_comp_id,
            target_comp_ids=tuple(target_comp_id or ("FIXGW",)),
            begin_strings=tuple(begin_string or ("FIX.4.2", "FIX.4.4")),
            store_dir=state_dir / "store" if state_dir is not None else None,
            log_dir=state_dir / "log" if state_dir is not None else None,
            fill_slices=fill_slices,
            fill_delay_ms=fill_delay_ms,
            ack_delay_ms=ack_delay_ms,
            auto_fill=not no_auto_fill,
            reject_symbols=tuple(reject_symbol or ()),
            max_order_qty=_decimal_option("--max-qty", max_qty) if max_qty is not None else None,
            reference_price=_decimal_option("--reference-price", reference_price),
        )
    except ValidationError as error:
        typer.echo(f"invalid options:\n{error}", err=True)
        raise typer.Exit(2) from None

    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda signum, frame: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    simulator = FixBrokerSimulator(config)
    try:
        try:
            simulator.start()
        except Exception as error:  # QuickFIX reports a busy port or bad settings as its own RuntimeError
            typer.echo(f"FIX broker simulator failed to start: {error}", err=True)
            raise typer.Exit(1) from None
        sessions = ", ".join(simulator.session_ids())
        typer.echo(f"FIX broker simulator on {host}:{port}: {sessions}", err=False)
        stop.wait()
    finally:
        simulator.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _decimal_option(name: str, value: str) -> Decimal:
    try:
        return Decimal(value)
    except InvalidOperation:
        typer.echo(f"{name}: not a decimal number: {value!r}", err=True)
        raise typer.Exit(2) from None


if __name__ == "__main__":  # `python -m fixgw.sim.cli fix-broker ...`
    sim_app()
