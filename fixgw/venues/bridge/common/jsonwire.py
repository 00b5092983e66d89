"""Exact JSON on the wire: Decimals out as strings (or as numbers where a venue wants numbers), in as Decimal."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from fixgw.model.decimals import fmt_decimal


class JsonNumber(Decimal):
    """A Decimal written as a JSON number (e.g. FalconX v3 `quantity.value`), digits exactly as held."""


def _encode(value: Any) -> str:
    if isinstance(value, JsonNumber):
        return fmt_decimal(value)
    if isinstance(value, Decimal):
        return json.dumps(fmt_decimal(value))
    if isinstance(value, float):
        raise TypeError("floats are not allowed on the wire")
    if isinstance(value, dict):
        # Same separators as json.dumps defaults, which is what the venues' official SDKs send.
        return "{" + ", ".join(f"{json.dumps(str(k))}: {_encode(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_encode(v) for v in value) + "]"
    return json.dumps(value)


def dumps(value: Any) -> str:
    return _encode(value)


def loads(text: str | bytes) -> Any:
    return json.loads(text, parse_float=Decimal)
