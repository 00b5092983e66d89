"""FIX value types <-> Python: decimals (never float), UTCTimestamps, and the typed errors a bad value raises."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Context, Decimal
from typing import Final

from fixgw.fix.tags import tag_name
from fixgw.model.decimals import SCALE, DecimalFormatError, is_multiple_of, to_decimal
from fixgw.model.decimals import fmt_decimal as _fmt_decimal
from fixgw.model.enums import BusinessRejectReason, OrdRejReason, SessionRejectReason
from fixgw.model.errors import MessageRejected

_QUANTUM: Final = Decimal(1).scaleb(-SCALE)
_CONTEXT: Final = Context(prec=38)
_MAX_INTEGER_DIGITS: Final = 38 - SCALE - 1  # sign included: quantizing to SCALE places stays within prec
_fromisoformat = datetime.fromisoformat
# Decimal texts seen recently, both ways (Decimals are immutable; equal values format alike). Bounded: cleared
# when full, which costs one miss per value.
_CACHE_SIZE: Final = 65536
_PARSED: dict[str, Decimal] = {}
_FORMATTED: dict[Decimal, str] = {}
# printf-style formatting is the fastest way to the fixed-width FIX form (2-3x f-strings with format specs).
_TIMESTAMP_PATTERNS: Final = {
    0: "%04d%02d%02d-%02d:%02d:%02d.%06d", 3: "%04d%02d%02d-%02d:%02d:%02d.%03d", 6: "%04d%02d%02d-%02d:%02d:%02d.%06d"}

__all__ = [
    "bad_format",
    "bad_value",
    "check_increment",
    "clear_caches",
    "conditionally_missing",
    "fmt_decimal",
    "fmt_utc_timestamp",
    "missing_tag",
    "order_rejected",
    "parse_decimal",
    "parse_utc_timestamp",
]


def missing_tag(tag: int, msg_type: str | None, counterparty: str | None = None) -> MessageRejected:
    return MessageRejected(
        f"Required tag missing: {tag_name(tag)}", kind="session", ref_tag_id=tag, ref_msg_type=msg_type,
        session_reason=SessionRejectReason.REQUIRED_TAG_MISSING, counterparty=counterparty,
    )


def conditionally_missing(tag: int, msg_type: str | None, why: str, counterparty: str | None = None
                          ) -> MessageRejected:
    return MessageRejected(
        f"Conditionally required field missing: {tag_name(tag)} ({why})", kind="business", ref_tag_id=tag,
        ref_msg_type=msg_type, business_reason=BusinessRejectReason.CONDITIONALLY_REQUIRED_FIELD_MISSING,
        counterparty=counterparty,
    )


def bad_value(tag: int, value: str, counterparty: str | None = None) -> MessageRejected:
    return MessageRejected(
        f"Value is incorrect (out of range) for this tag: {tag_name(tag)}={value!r}", kind="session",
        ref_tag_id=tag, session_reason=SessionRejectReason.VALUE_OUT_OF_RANGE, counterparty=counterparty,
    )


def bad_format(tag: int, value: str, expected: str, counterparty: str | None = None) -> MessageRejected:
    return MessageRejected(
        f"Incorrect data format for value: {tag_name(tag)}={value!r} is not {expected}", kind="session",
        ref_tag_id=tag, session_reason=SessionRejectReason.INCORRECT_DATA_FORMAT, counterparty=counterparty,
    )


def order_rejected(text: str, tag: int | None = None, reason: OrdRejReason = OrdRejReason.OTHER,
                   counterparty: str | None = None) -> MessageRejected:
    return MessageRejected(text, kind="order", ref_tag_id=tag, ord_rej_reason=reason, counterparty=counterparty)


def parse_decimal(text: str, tag: int, counterparty: str | None = None) -> Decimal:
    """A FIX Qty/Price/Amt/Percentage value as an exact Decimal at the canonical scale; else 373=6."""
    number = _PARSED.get(text)
    if number is not None:
        return number
    # FIX numbers are digits with at most one '.' and an optional leading '-' (Decimal() would also take
    # "NaN", "1e3", "1_000", " 5", ...).
    digits = text[1:] if text[:1] == "-" else text
    if not (digits.replace(".", "", 1).isdigit() and text.isascii()):
        raise bad_format(tag, text, "a decimal number", counterparty)
    dot = text.find(".")
    if (dot < 0 and len(text) <= _MAX_INTEGER_DIGITS) or (0 <= dot <= _MAX_INTEGER_DIGITS
                                                          and len(text) - dot <= SCALE + 1):
        # Few enough digits that quantizing is exact: the same value the model's Dec type makes, faster.
        number = _CONTEXT.quantize(Decimal(text), _QUANTUM)
    else:
        try:
            number = to_decimal(text)
        except DecimalFormatError:
            raise bad_format(tag, text, f"a decimal with at most {SCALE} places", counterparty) from None
    if len(_PARSED) >= _CACHE_SIZE:
        _PARSED.clear()
    _PARSED[text] = number
    return number


def fmt_decimal(value: Decimal) -> str:
    """`fixgw.model.decimals.fmt_decimal`, remembered: the same quantities and prices recur in every report."""
    text = _FORMATTED.get(value)
    if text is None:
        text = _fmt_decimal(value)
        if len(_FORMATTED) >= _CACHE_SIZE:
            _FORMATTED.clear()
        _FORMATTED[value] = text
    return text


def clear_caches() -> None:
    """Forget remembered decimal texts (benchmarks measure the cold path with this)."""
    _PARSED.clear()
    _FORMATTED.clear()


def check_increment(value: Decimal, increment: Decimal, tag: int, what: str, counterparty: str | None = None
                    ) -> None:
    """Refuse (never round) a price or quantity that is not a multiple of the instrument's tick or lot size."""
    if not is_multiple_of(value, increment):
        reason = OrdRejReason.INVALID_PRICE_INCREMENT if what == "tick size" else OrdRejReason.OTHER
        raise order_rejected(
            f"{tag_name(tag)}={fmt_decimal(value)} is not a multiple of the {what} {fmt_decimal(increment)}",
            tag, reason, counterparty,
        )


def parse_utc_timestamp(text: str, tag: int, counterparty: str | None = None) -> datetime:
    """UTCTimestamp "YYYYMMDD-HH:MM:SS[.sss|.ssssss|.sssssssss]" -> aware UTC datetime.

    Nanosecond (and finer) digits are truncated to microseconds, the finest a datetime holds.
    """
    size = len(text)
    if (size >= 17 and text[8] == "-" and text[11] == ":" and text[14] == ":" and size != 18
            and (size == 17 or text[17] == ".") and text.isascii()):
        try:
            # fromisoformat (C) checks digits and ranges; the shape above keeps it to the FIX form.
            return _fromisoformat(f"{text[:8]}T{text[9:]}+00:00")
        except ValueError:
            pass
    raise bad_format(tag, text, "a UTCTimestamp", counterparty)


def fmt_utc_timestamp(moment: datetime, precision: int = 3) -> str:
    """Wire text of an aware datetime in UTC with 0, 3 (ms) or 6 (us) fractional digits (truncated)."""
    if moment.tzinfo is not UTC:
        if moment.tzinfo is None:
            raise ValueError(f"refusing naive datetime {moment!r}: canonical times are timezone-aware UTC")
        moment = moment.astimezone(UTC)
    pattern = _TIMESTAMP_PATTERNS.get(precision)
    if pattern is None:
        raise ValueError(f"unsupported timestamp precision {precision}")
    text = pattern % (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second,
                      moment.microsecond // 1000 if precision == 3 else moment.microsecond)
    return text if precision else text[:17]

