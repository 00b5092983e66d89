"""`fixgw prices` and `fixgw pnl`: reference prices and the day's P&L of a running gateway, read from its admin
API (`/api/prices`, `/api/pnl`). Exit 0 with the answer, 1 when the gateway cannot be asked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from fixgw.cli.common import EXIT_FAILURE, app, config_or_exit

ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="The running gateway's configuration.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the admin API's JSON as it is.")]


def _ask(config_path: Path, path: str, params: dict[str, str], timeout: float = 5.0) -> Any:
    import httpx

    from fixgw.config import load_config

    admin = config_or_exit(config_path, load_config).admin
    if not admin.enabled or admin.token is None:
        typer.echo("the admin server is not enabled in this configuration ([admin] enabled = true)", err=True)
        raise typer.Exit(EXIT_FAILURE)
    host = "127.0.0.1" if admin.host in ("0.0.0.0", "::", "") else admin.host
    url = f"http://{host}:{admin.port}{path}"
    try:
        answer = httpx.get(url, params=params, timeout=timeout,
                           headers={"Authorization": f"Bearer {admin.token.get_secret_value()}"})
        body = answer.json()
    except (httpx.HTTPError, ValueError) as exc:
        typer.echo(f"{url}: unreachable ({type(exc).__name__})", err=True)
        raise typer.Exit(EXIT_FAILURE) from None
    if answer.status_code != 200:
        typer.echo(f"{url}: {answer.status_code} {body.get('detail', '')}", err=True)
        raise typer.Exit(EXIT_FAILURE)
    return body


@app.command("prices")
def prices(config_path: ConfigOption, as_json: JsonOption = False) -> None:
    """Per instrument: the reference price and its state, and each source with bid/ask/mid/age."""
    from fixgw.marketdata.report import prices_text

    body = _ask(config_path, "/api/prices", {})
    typer.echo(json.dumps(body, indent=2) if as_json else "\n".join(prices_text(body)))


@app.command("pnl")
def pnl(config_path: ConfigOption,
        account: Annotated[str | None, typer.Option(help="Only this account.")] = None,
        as_json: JsonOption = False) -> None:
    """The day's P&L per account (realized, unrealized, fees, high-water mark, drawdown) and per position."""
    from fixgw.marketdata.report import pnl_text

    body = _ask(config_path, "/api/pnl", {"account": account} if account else {})
    typer.echo(json.dumps(body, indent=2) if as_json else "\n".join(pnl_text(body)))
