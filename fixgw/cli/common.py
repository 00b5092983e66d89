"""The `fixgw` Typer app, its exit codes, and what every command group shares.

Exit codes: 0 success; 1 failure (invalid configuration, failed run, recon breaks); 2 usage error;
130 interrupted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import typer

from fixgw import __version__

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2

P = TypeVar("P")
T = TypeVar("T")

app = typer.Typer(
    name="fixgw",
    help="fixgw: FIX order router and prime-brokerage gateway.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.command()
def version() -> None:
    """Print the fixgw version."""
    typer.echo(f"fixgw {__version__}")


def fail(message: str) -> typer.Exit:
    """Print `message` on stderr; the caller raises the returned exit (1)."""
    typer.echo(message, err=True)
    return typer.Exit(EXIT_FAILURE)


def config_or_exit(path: P, load: Callable[[P], T]) -> T:
    """`load(path)` (a loader of fixgw.config); on ConfigError every problem as `path: key: reason` on stderr
    and exit 1."""
    from fixgw.config import ConfigError

    try:
        return load(path)
    except ConfigError as exc:
        for key, reason in exc.problems:
            typer.echo(f"{path}: {key}: {reason}", err=True)
        raise typer.Exit(EXIT_FAILURE) from None
