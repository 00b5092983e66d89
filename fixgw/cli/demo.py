"""`fixgw demo`: gateway, broker simulator and a scripted EMS on loopback."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fixgw.cli.common import app


@app.command()
def demo(
    state_dir: Annotated[Path | None, typer.Option(help="Keep state here instead of a temporary folder.")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show the gateway's log on stderr.")] = False,
) -> None:
    """Start gateway + broker simulator on loopback, drive a scripted EMS flow, print the blotter."""
    from fixgw.demo import run_demo

    raise typer.Exit(run_demo(state_dir=state_dir, verbose=verbose))
