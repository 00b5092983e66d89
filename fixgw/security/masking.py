"""Credential fields masked out of FIX messages before they are journaled or exported."""

from __future__ import annotations

from collections.abc import Sequence

MASK = "***"
SECRET_TAGS = frozenset({554, 925, 96})
"""Password, NewPassword, RawData (some counterparties put credentials in RawData)."""
_RAW_DATA_LENGTH, _RAW_DATA = 95, 96


def mask_secret_fields(fields: Sequence[tuple[int, str]]) -> list[tuple[int, str]]:
    """`fields` with the value of every credential tag replaced by "***" (RawDataLength kept consistent).

    Returns the same list object when there is nothing to mask (the usual case: no copy on the hot path).
    """
    if not any(tag in SECRET_TAGS for tag, _ in fields):
        return fields if isinstance(fields, list) else list(fields)
    masked = [(tag, MASK if tag in SECRET_TAGS else value) for tag, value in fields]
    if any(tag == _RAW_DATA for tag, _ in fields):
        masked = [(tag, str(len(MASK)) if tag == _RAW_DATA_LENGTH else value) for tag, value in masked]
    return masked
