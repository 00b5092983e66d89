"""`fixgw check-config`: validate a configuration file, or name every invalid key."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from fixgw.cli.common import EXIT_FAILURE, app


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
