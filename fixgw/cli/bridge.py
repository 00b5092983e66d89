"""`fixgw bridge`: one REST prime broker exposed as a FIX acceptor (standalone bridge mode).

It is the gateway with nothing else in it: the config's EMS sessions, acceptor, journal and state, the one REST
venue named by --venue, no FIX brokers, and every order routed to that venue. Any FIX 4.4 client configured as
an `ems.<name>` session logs on and trades through it; reports come back as ExecutionReports.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fixgw.cli.common import app, config_or_exit
from fixgw.config import ConfigError, GatewayConfig, parse_config


def bridge_config(config: GatewayConfig, venue: str) -> GatewayConfig:
    """`config` reduced to one REST venue that every order routes to; ConfigError when there is no such venue."""
    if venue not in config.venues:
        known = ", ".join(sorted(config.venues)) or "none configured"
        raise ConfigError([(f"venues.{venue}", f"no such REST venue (known: {known})")])
    if not config.ems:
        raise ConfigError([("ems", "no EMS session configured: nobody could log on to the bridge")])
    # Validated again, so that a section naming something now absent (risk limits of a FIX broker, ...) is an error.
    data = config.model_dump()
    data.update(brokers={}, venues={venue: data["venues"][venue]}, routing={"default": venue})
    return parse_config(data)


@app.command()
def bridge(
    config_path: Annotated[Path, typer.Option("--config", "-c", help="Configuration file (TOML) with the venue.")],
    venue: Annotated[str, typer.Option("--venue", help="The venues.<name> section to expose over FIX.")],
) -> None:
    """Expose one REST venue as a FIX acceptor until SIGTERM or SIGINT (exit 0; 1 bad config or start failure)."""
    from fixgw.cli.run import serve_gateway
    from fixgw.config import load_config

    serve_gateway(config_or_exit(config_path, lambda path: bridge_config(load_config(path), venue)))
