"""`fixgw run` and `fixgw demo`, and the simulators under `fixgw sim`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from fixgw.cli import EXIT_FAILURE, app

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
    serve_gateway(config, config_path)


def serve_gateway(config: GatewayConfig, config_path: Path | None = None) -> None:
    """Run a gateway built from `config` until SIGTERM/SIGINT; raises typer.Exit (0 clean stop, 1 start failure).

    SIGHUP reloads `config_path` (fixgw.ops.reload); systemd notify, watchdog and the admin server: fixgw.ops.
    """
    from fixgw.logs import configure_logging

    configure_logging(config.log.level, config.log.format)
    from fixgw.engine.gateway import Gateway  # imports quickfix, which resets SIGINT: handlers come after
    from fixgw.ops.daemon import Daemon

    daemon = Daemon(config, config_path)  # SIGTERM/SIGINT: graceful stop; SIGHUP: reload
    gateway = Gateway(config)
    raise typer.Exit(daemon.run(gateway))


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
