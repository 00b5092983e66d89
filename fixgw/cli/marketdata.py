"""`fixgw prices` and `fixgw pnl`: reference prices and the day's P&L of a running gateway, read from its admin
API (`/api/prices`, `/api/pnl`). Exit 0 with the answer, 1 when the gateway cannot be asked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from fixgw.cli.common import app, ask_admin

ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="The running gateway's configuration.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the admin API's JSON as it is.")]


@app.command("prices")
def prices(config_path: ConfigOption, as_json: JsonOption = False) -> None:
    """Per instrument: the reference price and its state, and each source with bid/ask/mid/age."""
    from fixgw.marketdata.report import prices_text

    body = ask_admin(config_path, "/api/prices", {})
    typer.echo(json.dumps(body, indent=2) if as_json else "\n".join(prices_text(body)))


@app.command("pnl")
def pnl(config_path: ConfigOption,
        account: Annotated[str | None, typer.Option(help="Only this account.")] = None,
        as_json: JsonOption = False) -> None:
    """The day's P&L per account (realized, unrealized, fees, high-water mark, drawdown) and per position."""
    from fixgw.marketdata.report import pnl_text

    body = ask_admin(config_path, "/api/pnl", {"account": account} if account else {})
    typer.echo(json.dumps(body, indent=2) if as_json else "\n".join(pnl_text(body)))
