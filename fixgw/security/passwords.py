"""Salted password hashes for FIX logons (Argon2id, argon2-cffi's RFC 9106 low-memory profile).

The config holds a Secret reference to the *hash* (`env:`, `file:`, `cred:`), never the password itself;
`fixgw hash-password` prints a hash for a password read from stdin.
"""

from __future__ import annotations

import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_HASHER = PasswordHasher()


def hash_password(password: str) -> str:
    """A new salted Argon2id hash of `password` (PHC string format, "$argon2id$...")."""
    if not password:
        raise ValueError("an empty password cannot be hashed")
    return _HASHER.hash(password)


def is_password_hash(text: str) -> bool:
    """True when `text` is a well-formed Argon2 hash this module can verify against."""
    try:
        from argon2 import extract_parameters

        extract_parameters(text)
    except (InvalidHashError, ValueError, IndexError):
        return False
    return text.startswith("$argon2")


def verify_password(stored_hash: str, password: str) -> bool:
    """True when `password` matches `stored_hash`; False on a mismatch or a malformed hash."""
    try:
        return bool(_HASHER.verify(stored_hash, password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@functools.cache
def _decoy_hash() -> str:
    return _HASHER.hash("decoy password for a logon without credentials")


def burn_verify_time(password: str) -> None:
    """Spend the time of one verification: a refused logon costs the same whatever made it fail."""
    verify_password(_decoy_hash(), password)
