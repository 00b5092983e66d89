"""`fixgw run`: the gateway in the foreground until SIGTERM or SIGINT."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from fixgw.cli.common import app, config_or_exit

if TYPE_CHECKING:
    from fixgw.config import GatewayConfig


@app.command()
def run(
    config_path: Annotated[Path, typer.Option("--config", "-c", help="Gateway configuration file (TOML).")],
) -> None:
    """Run the gateway until SIGTERM or SIGINT (graceful stop, exit 0)."""
    from fixgw.config import load_config

    serve_gateway(config_or_exit(config_path, load_config), config_path)


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
