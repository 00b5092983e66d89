"""Exact decimal values for prices, quantities and money: never float, one fixed scale."""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Context, Decimal, Inexact, InvalidOperation
from functools import lru_cache
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

SCALE = 10
"""Every canonical price/quantity carries at most this many decimal places (crypto venues use <= 10)."""

_QUANTUM = Decimal(1).scaleb(-SCALE)
_EXACT = Context(prec=38, traps=[Inexact, InvalidOperation])


class DecimalFormatError(ValueError):
    """A value that is not an exact decimal within the canonical scale."""


def to_decimal(value: Any) -> Decimal:
    """Parse str/int/Decimal to a Decimal at the canonical scale; floats are refused, never rounded."""
    if isinstance(value, (bool, float)):
        raise DecimalFormatError(f"refusing {type(value).__name__} {value!r}: prices and quantities must be exact")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, str):
        text = value.strip()
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise DecimalFormatError(f"not a decimal number: {value!r}") from None
    else:
        raise DecimalFormatError(f"not a decimal number: {value!r}")
    if not number.is_finite():
        raise DecimalFormatError(f"not a finite number: {value!r}")
    try:
        return number.quantize(_QUANTUM, context=_EXACT)
    except (Inexact, InvalidOperation):
        raise DecimalFormatError(f"{value!r} has more than {SCALE} decimal places or too many digits") from None


def fmt_decimal(value: Decimal) -> str:
    """Wire text of a decimal: no exponent, no trailing zeros ("100", "0.00012345")."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def round_to_increment(value: Decimal, increment: Decimal, *, rounding: str = ROUND_HALF_EVEN) -> Decimal:
    """Round to a multiple of `increment` (a tick or lot size) with an explicit rounding mode."""
    if increment <= 0:
        raise DecimalFormatError(f"increment must be positive, got {increment}")
    units = (value / increment).to_integral_value(rounding=rounding)
    return to_decimal(units * increment)


def floor_to_increment(value: Decimal, increment: Decimal) -> Decimal:
    """Round down to the increment (quantities: never send more than asked)."""
    return round_to_increment(value, increment, rounding=ROUND_DOWN)


def is_multiple_of(value: Decimal, increment: Decimal) -> bool:
    return increment > 0 and (value % increment) == 0


def _validate(value: Any) -> Decimal:
    # Text (JSON snapshots, API input) repeats the same prices and quantities: parse each string once.
    return _text_to_decimal(value) if type(value) is str else to_decimal(value)


@lru_cache(maxsize=65_536)
def _text_to_decimal(text: str) -> Decimal:
    return to_decimal(text)  # an error is raised again each time: lru_cache keeps only results


Dec = Annotated[Decimal, BeforeValidator(_validate), PlainSerializer(fmt_decimal, return_type=str)]
"""A pydantic field type: exact Decimal at the canonical scale, serialised as a plain decimal string."""

ZERO = to_decimal(0)
