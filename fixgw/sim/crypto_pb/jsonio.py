"""Decimal-exact JSON for the simulator: numbers parse to Decimal, Decimals render as strings or numbers."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from starlette.responses import Response


class Num(Decimal):
    """A Decimal the wire wants as a JSON number (FalconX v3 quantities, balances), not a string."""


def _encode(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, Num):
        return format(value, "f")
    if isinstance(value, Decimal):
        return json.dumps(format(value, "f"))
    if isinstance(value, int | str):
        return json.dumps(value)
    if isinstance(value, datetime):
        return json.dumps(value.isoformat().replace("+00:00", "Z"))
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))}: {_encode(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_encode(v) for v in value) + "]"
    raise TypeError(f"cannot encode {type(value).__name__} (floats are not allowed on the wire)")


def dumps(value: Any) -> str:
    return _encode(value)


def loads(text: str | bytes) -> Any:
    return json.loads(text, parse_float=Decimal)


class DecimalJSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content).encode()
