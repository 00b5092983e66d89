"""Secret references in configuration: `env:NAME`, `file:/path` or `cred:NAME`, resolved at load time into a
SecretStr that never prints. A leaf module, so every section's model (core or venue plugin) can use it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, SecretStr


class SecretReferenceError(ValueError):
    pass


def resolve_secret(value: Any) -> Any:
    """Turn `env:NAME`, `file:PATH` or `cred:NAME` into the secret's value; anything else passes as is."""
    if isinstance(value, SecretStr) or not isinstance(value, str):
        return value
    scheme, _, ref = value.partition(":")
    if scheme == "env" and ref:
        if ref not in os.environ:
            raise SecretReferenceError(f"environment variable {ref} is not set")
        return os.environ[ref]
    if scheme == "file" and ref:
        try:
            return Path(ref).read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise SecretReferenceError(f"cannot read secret file {ref}: {exc.strerror}") from None
    if scheme == "cred" and ref:
        directory = os.environ.get("CREDENTIALS_DIRECTORY")
        if not directory:
            raise SecretReferenceError(f"credential {ref}: CREDENTIALS_DIRECTORY is not set (not under systemd?)")
        try:
            return (Path(directory) / ref).read_text(encoding="utf-8").rstrip("\r\n")
        except OSError:
            raise SecretReferenceError(f"credential {ref} not found in $CREDENTIALS_DIRECTORY") from None
    return value


Secret = Annotated[SecretStr, BeforeValidator(resolve_secret)]


def resolve_path_reference(value: Any) -> Any:
    """`cred:NAME` names a file among the systemd credentials ($CREDENTIALS_DIRECTORY/NAME); other paths pass."""
    if isinstance(value, str) and value.startswith("cred:"):
        directory = os.environ.get("CREDENTIALS_DIRECTORY")
        if not directory:
            raise SecretReferenceError(f"credential {value[5:]}: CREDENTIALS_DIRECTORY is not set (not under systemd?)")
        return Path(directory) / value[5:]
    return value


CredentialPath = Annotated[Path, BeforeValidator(resolve_path_reference)]
"""A file path, or `cred:NAME` for a systemd credential file (e.g. a TLS private key)."""

