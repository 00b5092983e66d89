"""The `fixgw` Typer app, its exit codes, and what every command group shares.

Exit codes: 0 success; 1 failure (invalid configuration, failed run, recon breaks); 2 usage error;
130 interrupted.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

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


def ask_admin(config_path: Path, path: str, params: dict[str, str] | None = None, timeout: float = 5.0) -> Any:
    """GET `path` of the running gateway's admin API (address and token from the config's [admin]); its JSON
    answer, or a message on stderr and exit 1 when it cannot be asked or does not answer 200."""
    import httpx

    from fixgw.config import load_admin_config

    _name, admin = config_or_exit(config_path, load_admin_config)  # not the venues' or brokers' secrets
    if not admin.enabled or admin.token is None:
        typer.echo("the admin server is not enabled in this configuration ([admin] enabled = true)", err=True)
        raise typer.Exit(EXIT_FAILURE)
    host = "127.0.0.1" if admin.host in ("0.0.0.0", "::", "") else admin.host
    url = f"http://{host}:{admin.port}{path}"
    try:
        answer = httpx.get(url, params=params or {}, timeout=timeout,
                           headers={"Authorization": f"Bearer {admin.token.get_secret_value()}"})
        body = answer.json()
    except (httpx.HTTPError, ValueError) as exc:
        typer.echo(f"{url}: unreachable ({type(exc).__name__})", err=True)
        raise typer.Exit(EXIT_FAILURE) from None
    if answer.status_code != 200:
        typer.echo(f"{url}: {answer.status_code} {body.get('detail', '') if isinstance(body, dict) else ''}",
                   err=True)
        raise typer.Exit(EXIT_FAILURE)
    return body
