"""`fixgw ha status` and `fixgw ha step-down`: the HA lease of a pair, read and asked straight from PostgreSQL
(both work from either node, or any host that reaches the journal, with no admin server up)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from fixgw.cli.common import EXIT_FAILURE, EXIT_OK, app, config_or_exit

if TYPE_CHECKING:
    from fixgw.config import GatewayConfig

ha_app = typer.Typer(help="High availability: who is active, planned switch-over.", no_args_is_help=True)
app.add_typer(ha_app, name="ha")

ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="A node's configuration file (TOML).")]


def _config(path: Path) -> GatewayConfig:
    from fixgw.config import load_config

    config = config_or_exit(path, load_config)
    if not config.ha.enabled:
        typer.echo(f"{path}: [ha] is not enabled in this configuration", err=True)
        raise typer.Exit(EXIT_FAILURE)
    return config


@ha_app.command("status")
def status(config_path: ConfigOption,
           as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False) -> None:
    """Who is active, its epoch, the age of its lease, each standby's lag behind the journal. Exit 0 when a node
    holds the lease, 1 when none does."""
    from fixgw.store.database import make_engine
    from fixgw.store.haview import read_views, standby_lag
    from fixgw.store.lease import read_state
    from fixgw.store.records import JournalError

    config = _config(config_path)
    engine = make_engine(config.journal_url)
    try:
        state = read_state(engine, config.ha.cluster)
        views = read_views(engine, config.ha.cluster, exclude=state.holder if state.held else None)
    except JournalError as exc:
        typer.echo(f"journal unreachable: {str(exc).splitlines()[0]}", err=True)
        raise typer.Exit(EXIT_FAILURE) from None
    finally:
        engine.dispose()
    expires_in = (state.expires_at - state.now).total_seconds() if state.expires_at is not None else None
    answer = {"cluster": state.cluster, "active": state.holder if state.held else None, "epoch": state.epoch,
              "lease_age_s": None if state.age_s is None else round(state.age_s, 3),
              "expires_in_s": None if expires_in is None else round(expires_in, 3),
              "standby_lag_s": standby_lag(views), "standbys": [view.to_json() for view in views]}
    if as_json:
        typer.echo(json.dumps(answer))
    else:
        who = answer["active"] or "none (the lease is free or expired)"
        typer.echo(f"cluster {state.cluster}: active {who}, epoch {state.epoch}, lease age {answer['lease_age_s']} s, "
                   f"expires in {answer['expires_in_s']} s")
        for view in views:
            typer.echo(f"  {view.role} {view.node}: lag {view.lag_s:.3f} s ({view.rows_behind} journal rows behind), "
                       f"last read {view.age_s:.3f} s ago")
        if not views:
            typer.echo("  no standby is waiting")
    raise typer.Exit(EXIT_OK if state.held else EXIT_FAILURE)


@ha_app.command("step-down")
def step_down(config_path: ConfigOption) -> None:
    """Ask the active node to hand over: at its next renewal it stops taking orders, finishes and journals what is
    in flight, logs its sessions out, releases the lease and exits 0; the standby takes over at once."""
    from fixgw.store.database import make_engine
    from fixgw.store.lease import request_step_down
    from fixgw.store.records import JournalError

    config = _config(config_path)
    engine = make_engine(config.journal_url)
    try:
        asked = request_step_down(engine, config.ha.cluster)
    except JournalError as exc:
        typer.echo(f"journal unreachable: {str(exc).splitlines()[0]}", err=True)
        raise typer.Exit(EXIT_FAILURE) from None
    finally:
        engine.dispose()
    if asked is None:
        typer.echo(f"cluster {config.ha.cluster}: no node holds the lease", err=True)
        raise typer.Exit(EXIT_FAILURE)
    typer.echo(f"cluster {config.ha.cluster}: asked {asked[0]} (epoch {asked[1]}) to step down")
