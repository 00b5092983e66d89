"""FIX value types <-> Python: decimals (never float), UTCTimestamps, and the typed errors a bad value raises."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from fixgw.fix.tags import tag_name
from fixgw.model.decimals import fmt_decimal, is_multiple_of
from fixgw.model.enums import BusinessRejectReason, OrdRejReason, SessionRejectReason
from fixgw.model.errors import MessageRejected

__all__ = [
    "bad_format",
    "bad_value",
    "check_increment",
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
    """A FIX Qty/Price/Amt/Percentage value as an exact Decimal; anything else raises 373=6.

    Scale normalisation happens in the model (its `Dec` type); this only refuses what is not a plain number.
    """
    # FIX numbers are digits with at most one '.' and an optional leading '-' (Decimal() would also take
    # "NaN", "1e3", "1_000", " 5", ...).
    digits = text[1:] if text[:1] == "-" else text
    if not (digits.replace(".", "", 1).isdigit() and text.isascii()):
        raise bad_format(tag, text, "a decimal number", counterparty)
    return Decimal(text)


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
    if (size < 17 or text[8] != "-" or text[11] != ":" or text[14] != ":" or not text.isascii()
            or not (text[:8].isdigit() and text[9:11].isdigit() and text[12:14].isdigit() and text[15:17].isdigit())):
        raise bad_format(tag, text, "a UTCTimestamp", counterparty)
    micros = 0
    if size > 17:
        fraction = text[18:]
        if text[17] != "." or not fraction.isdigit() or len(fraction) > 12:
            raise bad_format(tag, text, "a UTCTimestamp", counterparty)
        micros = int(fraction[:6].ljust(6, "0"))
    try:
        return datetime(int(text[:4]), int(text[4:6]), int(text[6:8]), int(text[9:11]), int(text[12:14]),
                        int(text[15:17]), micros, tzinfo=UTC)
    except ValueError:
        raise bad_format(tag, text, "a UTCTimestamp", counterparty) from None


def fmt_utc_timestamp(moment: datetime, precision: int = 3) -> str:
    """Wire text of an aware datetime in UTC with 0, 3 (ms) or 6 (us) fractional digits (truncated)."""
    if moment.tzinfo is None:
        raise ValueError(f"refusing naive datetime {moment!r}: canonical times are timezone-aware UTC")
    if moment.utcoffset():
        moment = moment.astimezone(UTC)
    text = (f"{moment.year:04d}{moment.month:02d}{moment.day:02d}-"
            f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}")
    if precision == 3:
        return f"{text}.{moment.microsecond // 1000:03d}"
    if precision == 6:
        return f"{text}.{moment.microsecond:06d}"
    if precision == 0:
        return text
    raise ValueError(f"unsupported timestamp precision {precision}")
