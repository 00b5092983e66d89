"""Enumerations of the canonical model. Values are the FIX 4.4 codes where FIX has one."""

from __future__ import annotations

from enum import Enum


class Side(str, Enum):
    BUY = "1"
    SELL = "2"
    SELL_SHORT = "5"
    SELL_SHORT_EXEMPT = "6"

    @property
    def is_buy(self) -> bool:
        return self is Side.BUY

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1


class OrdType(str, Enum):
    MARKET = "1"
    LIMIT = "2"
    STOP = "3"
    STOP_LIMIT = "4"
    # Algorithmic orders travel as limit/market orders plus TargetStrategy(847); canonically they are their own type.
    TWAP = "TWAP"
    VWAP = "VWAP"

    @property
    def needs_price(self) -> bool:
        return self in (OrdType.LIMIT, OrdType.STOP_LIMIT)

    @property
    def needs_stop_price(self) -> bool:
        return self in (OrdType.STOP, OrdType.STOP_LIMIT)

    @property
    def is_algo(self) -> bool:
        return self in (OrdType.TWAP, OrdType.VWAP)


class TimeInForce(str, Enum):
    DAY = "0"
    GTC = "1"
    OPG = "2"
    IOC = "3"
    FOK = "4"
    GTD = "6"
    CLS = "7"


class OrdStatus(str, Enum):
    """Status of an order of record. FIX codes, plus local states that never go on the wire as such."""

    PENDING_NEW = "A"
    NEW = "0"
    PARTIALLY_FILLED = "1"
    FILLED = "2"
    DONE_FOR_DAY = "3"
    CANCELED = "4"
    REPLACED = "5"
    PENDING_CANCEL = "6"
    REJECTED = "8"
    EXPIRED = "C"
    PENDING_REPLACE = "E"
    # Local: refused by our own validation or risk checks; nothing was sent (reported to the EMS as 39=8).
    DENIED = "DENIED"
    # Local: a command's outcome at the venue is not known (timeout, disconnect); settled by status query.
    UNKNOWN = "UNKNOWN"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES

    @property
    def fix_code(self) -> str:
        """The OrdStatus(39) to show a FIX counterparty."""
        if self is OrdStatus.DENIED:
            return OrdStatus.REJECTED.value
        if self is OrdStatus.UNKNOWN:
            return OrdStatus.PENDING_NEW.value
        return str(self.value)


TERMINAL_STATUSES = frozenset(
    {OrdStatus.FILLED, OrdStatus.CANCELED, OrdStatus.REJECTED, OrdStatus.EXPIRED, OrdStatus.DENIED,
     OrdStatus.DONE_FOR_DAY}
)


class ExecType(str, Enum):
    """ExecType(150) as of FIX 4.4; FIX 4.2's PARTIAL_FILL/FILL (1/2) are mapped to TRADE by the translator."""

    NEW = "0"
    DONE_FOR_DAY = "3"
    CANCELED = "4"
    REPLACED = "5"
    PENDING_CANCEL = "6"
    STOPPED = "7"
    REJECTED = "8"
    SUSPENDED = "9"
    PENDING_NEW = "A"
    CALCULATED = "B"
    EXPIRED = "C"
    RESTATED = "D"
    PENDING_REPLACE = "E"
    TRADE = "F"
    TRADE_CORRECT = "G"
    TRADE_CANCEL = "H"
    ORDER_STATUS = "I"


class AssetClass(str, Enum):
    EQUITY = "equity"
    ETF = "etf"
    OPTION = "option"
    FUTURE = "future"
    SPOT_FX = "spot_fx"
    FIXED_INCOME = "fixed_income"
    CRYPTO_SPOT = "crypto_spot"


class OrdRejReason(str, Enum):
    """OrdRejReason(103)."""

    BROKER_OPTION = "0"
    UNKNOWN_SYMBOL = "1"
    EXCHANGE_CLOSED = "2"
    ORDER_EXCEEDS_LIMIT = "3"
    TOO_LATE_TO_ENTER = "4"
    UNKNOWN_ORDER = "5"
    DUPLICATE_ORDER = "6"
    STALE_ORDER = "8"
    UNKNOWN_ACCOUNT = "15"
    PRICE_EXCEEDS_CURRENT_PRICE_BAND = "16"
    INVALID_PRICE_INCREMENT = "18"
    OTHER = "99"


class CxlRejReason(str, Enum):
    """CxlRejReason(102)."""

    TOO_LATE_TO_CANCEL = "0"
    UNKNOWN_ORDER = "1"
    BROKER_OPTION = "2"
    ALREADY_PENDING = "3"
    DUPLICATE_CLORDID = "6"
    OTHER = "99"


class CxlRejResponseTo(str, Enum):
    """CxlRejResponseTo(434)."""

    CANCEL = "1"
    REPLACE = "2"


class SessionRejectReason(str, Enum):
    """SessionRejectReason(373)."""

    INVALID_TAG_NUMBER = "0"
    REQUIRED_TAG_MISSING = "1"
    TAG_NOT_DEFINED_FOR_MESSAGE = "2"
    UNDEFINED_TAG = "3"
    TAG_WITHOUT_VALUE = "4"
    VALUE_OUT_OF_RANGE = "5"
    INCORRECT_DATA_FORMAT = "6"
    INVALID_MSGTYPE = "11"
    OTHER = "99"


class BusinessRejectReason(str, Enum):
    """BusinessRejectReason(380)."""

    OTHER = "0"
    UNKNOWN_ID = "1"
    UNKNOWN_SECURITY = "2"
    UNSUPPORTED_MESSAGE_TYPE = "3"
    APPLICATION_NOT_AVAILABLE = "4"
    CONDITIONALLY_REQUIRED_FIELD_MISSING = "5"
    NOT_AUTHORIZED = "6"
