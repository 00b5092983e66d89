"""Field types for venue schemas: exact decimals from strings (or JSON numbers already parsed to Decimal)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict


def _wire_decimal(value: Any) -> Decimal:
    if isinstance(value, bool | float):
        raise ValueError(f"refusing {type(value).__name__}: venue numbers must be parsed exactly")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int | str):
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise ValueError(f"not a decimal: {value!r}") from None
        if not number.is_finite():
            raise ValueError(f"not a finite decimal: {value!r}")
        return number
    raise ValueError(f"not a decimal: {value!r}")


def _optional_wire_decimal(value: Any) -> Decimal | None:
    return None if value in (None, "") else _wire_decimal(value)


WireDecimal = Annotated[Decimal, BeforeValidator(_wire_decimal)]
OptionalWireDecimal = Annotated[Decimal | None, BeforeValidator(_optional_wire_decimal)]


class VenueModel(BaseModel):
    """Venue payloads: unknown fields are tolerated (venues add fields), values are immutable."""

    model_config = ConfigDict(frozen=True, extra="ignore")
