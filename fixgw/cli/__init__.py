"""The `fixgw` command line. Thin: parses arguments and calls into the packages.

One module per command group; each adds its commands to `common.app` when imported, and is imported here by
name (a new group: its module in this package and one line below; ARCHITECTURE.md "Where to add").
Exit codes: 0 success; 1 failure (invalid configuration, failed run, recon breaks); 2 usage error;
130 interrupted.
"""

from __future__ import annotations

import sys

import typer

from fixgw.cli.common import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, app

# isort: off
# Imported for their commands, in the order `fixgw --help` lists them.
from fixgw.cli import check, run, demo, sim, bridge, venues, risk, ops, audit, security, recon, marketdata, margin, ha  # noqa: F401
# isort: on

__all__ = ["EXIT_FAILURE", "EXIT_OK", "EXIT_USAGE", "app", "main"]


def main(argv: list[str] | None = None) -> int:
    """Run the CLI in-process and return its exit code (usage errors print the usage and return 2)."""
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
