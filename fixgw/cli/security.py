"""`fixgw hash-password`: the Argon2 hash an EMS session's `password_hash` secret refers to."""

from __future__ import annotations

import getpass
import sys

import typer

from fixgw.cli.common import EXIT_FAILURE, app


@app.command("hash-password")
def hash_password_command() -> None:
    """Read a password (prompted twice on a terminal, else the first line of stdin) and print its Argon2 hash.

    Store the hash where the config's `ems.<name>.password_hash` reference points (env:, file: or cred:);
    the password itself is never stored or printed. Exit 0, or 1 for an empty or unconfirmed password.
    """
    from fixgw.security.passwords import hash_password

    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            typer.echo("the passwords differ", err=True)
            raise typer.Exit(EXIT_FAILURE)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        typer.echo("an empty password cannot be hashed", err=True)
        raise typer.Exit(EXIT_FAILURE)
    typer.echo(hash_password(password))
