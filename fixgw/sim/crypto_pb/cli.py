"""`fixgw sim crypto-pb`: run the crypto prime-broker simulator in the foreground until SIGINT/SIGTERM."""

from __future__ import annotations

import signal
import threading
from decimal import Decimal
from types import FrameType

import typer

from fixgw.sim.crypto_pb.settings import ENV_ACCESS_KEY, ENV_PASSPHRASE, ENV_SIGNING_KEY


def crypto_pb(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8790, "--port", help="Port to listen on (0 picks a free one)."),
    access_key: str | None = typer.Option(None, "--access-key", envvar=ENV_ACCESS_KEY, show_default=False),
    passphrase: str | None = typer.Option(None, "--passphrase", envvar=ENV_PASSPHRASE, show_default=False),
    signing_key: str | None = typer.Option(None, "--signing-key", envvar=ENV_SIGNING_KEY, show_default=False),
    vol_bps: str = typer.Option("0", "--vol-bps", help="Random walk of the prices: one step's standard deviation "
                                "in basis points (0: prices move only through POST /_sim/market)."),
    step_s: float = typer.Option(0.5, "--step-s", help="Seconds between steps of the random walk."),
    seed: int = typer.Option(17, "--seed", help="Seed of the random walk (a run is repeatable)."),
) -> None:
    """Serve Coinbase Prime (/v1, /ws), FalconX (/falconx) and Binance (/binance) simulations until SIGINT/SIGTERM."""
    from fixgw.sim.crypto_pb.server import CryptoPbSimulator  # the server stack loads only when it runs

    try:
        volatility = Decimal(vol_bps)
    except ArithmeticError:
        raise typer.BadParameter(f"not a decimal: {vol_bps!r}", param_hint="--vol-bps") from None

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    simulator = CryptoPbSimulator(host, port, access_key=access_key, passphrase=passphrase, signing_key=signing_key)
    walk = simulator.state.price_process
    walk.vol_bps, walk.step_s = volatility, step_s
    walk.reseed(seed)
    try:
        try:
            simulator.start()
        except (OSError, RuntimeError, TimeoutError) as error:  # e.g. the port is in use
            typer.echo(f"crypto PB simulator failed to start: {error}", err=True)
            raise typer.Exit(1) from None
        typer.echo(f"crypto PB simulator listening on {simulator.base_url} (control API at /_sim)")
        stop.wait()
    finally:
        simulator.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


if __name__ == "__main__":  # pragma: no cover - manual runs
    typer.run(crypto_pb)
