"""`fixgw run` and `fixgw demo`, and the simulators under `fixgw sim`."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from fixgw.cli import EXIT_FAILURE, EXIT_OK, app

if TYPE_CHECKING:
    from fixgw.config import GatewayConfig


@app.command()
def run(
    config_path: Annotated[Path, typer.Option("--config", "-c", help="Gateway configuration file (TOML).")],
) -> None:
    """Run the gateway until SIGTERM or SIGINT (graceful stop, exit 0)."""
    from fixgw.config import ConfigError, load_config

    try:
        config = load_config(config_path)
    except ConfigError as exc:
        for key, reason in exc.problems:
            typer.echo(f"{config_path}: {key}: {reason}", err=True)
        raise typer.Exit(EXIT_FAILURE) from None
    serve_gateway(config)


def serve_gateway(config: GatewayConfig) -> None:
    """Run a gateway built from `config` until SIGTERM/SIGINT; raises typer.Exit (0 clean stop, 1 start failure)."""
    from fixgw.logs import configure_logging, get_logger

    configure_logging(config.log.level, config.log.format)
    log = get_logger("fixgw.run")
    from fixgw.engine.gateway import Gateway  # imports quickfix, which resets SIGINT: handlers come after

    stop = threading.Event()

    def _request_stop(signum: int, _frame: object) -> None:
        log.info("gateway.signal", signal=signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, _request_stop)
    signal.signal(signal.SIGINT, _request_stop)
    gateway = Gateway(config)
    try:
        gateway.start()
    except Exception as exc:
        log.critical("gateway.start_failed", error=repr(exc))
        gateway.stop()
        raise typer.Exit(EXIT_FAILURE) from None
    while not stop.wait(0.5):
        pass
    gateway.stop()
    raise typer.Exit(EXIT_OK)


@app.command()
def demo(
    state_dir: Annotated[Path | None, typer.Option(help="Keep state here instead of a temporary folder.")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show the gateway's log on stderr.")] = False,
) -> None:
    """Start gateway + broker simulator on loopback, drive a scripted EMS flow, print the blotter."""
    from fixgw.demo import run_demo

    raise typer.Exit(run_demo(state_dir=state_dir, verbose=verbose))


def _mount_simulators() -> None:
    try:
        from fixgw.sim.cli import sim_app
    except ModuleNotFoundError:
        return
    app.add_typer(sim_app, name="sim", help="Simulators: a FIX broker and a crypto prime broker.")


_mount_simulators()
