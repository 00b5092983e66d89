"""The `fixgw` command line. Thin: parses arguments and calls into the packages.

Exit codes: 0 success; 1 failure (invalid configuration, failed run, recon breaks); 2 usage error;
130 interrupted.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from fixgw import __version__

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2

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


@app.command("check-config")
def check_config(
    path: Annotated[Path, typer.Argument(help="Gateway configuration file (TOML).")],
) -> None:
    """Validate a configuration file: print a summary, or every error with its key. Exit 0 valid, 1 invalid."""
    from fixgw.config import ConfigError, load_config
    from fixgw.configcheck import deep_check, summarize

    console = Console(stderr=False, highlight=False, soft_wrap=True)
    try:
        config = load_config(path)
        problems = deep_check(config)
    except ConfigError as exc:
        problems = exc.problems
        config = None
    if problems:
        console.print(f"[bold red]{path}: {len(problems)} error(s)[/]")
        for key, reason in problems:
            console.print(f"  [bold]{key}[/]: {reason}", markup=True)
        raise typer.Exit(EXIT_FAILURE)
    assert config is not None
    console.print(f"[green]{path}: valid[/]")
    for line in summarize(config):
        console.print(f"  {line}", markup=False)


def _register_subcommands() -> None:
    """Subcommands live beside the code they drive; each module adds itself to `app` when imported."""
    import importlib

    for module in ("fixgw.cli_run", "fixgw.cli_bridge", "fixgw.cli_risk", "fixgw.cli_ops", "fixgw.cli_audit",
                   "fixgw.cli_security", "fixgw.cli_recon", "fixgw.cli_marketdata", "fixgw.cli_margin"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


def main(argv: list[str] | None = None) -> int:
    """Run the CLI in-process and return its exit code (usage errors print the usage and return 2)."""
    _register_subcommands()
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        app(args=args, prog_name="fixgw", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code
        if code is None:
            return EXIT_OK
        if isinstance(code, int):
            return code
        typer.echo(str(code), err=True)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return 130
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
