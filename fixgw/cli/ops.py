"""`fixgw ops ...`: health check of a running gateway (exit code for scripts and monitors), admin tokens."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated

import typer

from fixgw.cli.common import EXIT_FAILURE, EXIT_OK, app, config_or_exit

ops_app = typer.Typer(help="Operations: health check of a running gateway, admin tokens.", no_args_is_help=True)
app.add_typer(ops_app, name="ops")


@ops_app.command("health")
def health(
    config_path: Annotated[Path, typer.Option("--config", "-c", help="The running gateway's configuration.")],
    timeout: Annotated[float, typer.Option(help="Seconds to wait for an answer.")] = 5.0,
) -> None:
    """Ask the running gateway's admin server whether it is ready. Exit 0 ready, 1 not ready or unreachable."""
    import httpx

    from fixgw.config import load_admin_config

    name, admin = config_or_exit(config_path, load_admin_config)  # not the venues' or brokers' secrets
    if not admin.enabled or admin.token is None:
        typer.echo("the admin server is not enabled in this configuration ([admin] enabled = true)", err=True)
        raise typer.Exit(EXIT_FAILURE)
    host = "127.0.0.1" if admin.host in ("0.0.0.0", "::", "") else admin.host
    url = f"http://{host}:{admin.port}/readyz"
    try:
        answer = httpx.get(url, headers={"Authorization": f"Bearer {admin.token.get_secret_value()}"},
                           timeout=timeout)
        body = answer.json()
    except (httpx.HTTPError, ValueError) as exc:
        typer.echo(f"{url}: unreachable ({type(exc).__name__})", err=True)
        raise typer.Exit(EXIT_FAILURE) from None
    if body.get("ready"):
        typer.echo(f"{name}: ready")
        raise typer.Exit(EXIT_OK)
    down = ", ".join(body.get("sessions_down") or []) or "-"
    typer.echo(f"{name}: not ready (journal open: {body.get('journal_open')}, "
               f"router alive: {body.get('router_alive')}, sessions down: {down})")
    raise typer.Exit(EXIT_FAILURE)


@ops_app.command("new-token")
def new_token() -> None:
    """Print a new random admin token (for /etc/fixgw/credentials/admin-token)."""
    typer.echo(secrets.token_urlsafe(32))
