"""Names of the FIX tags the translation layer reads and writes (for error texts), and the header tags.

The codec writes tag numbers as literals (11, 38, 44 ...): that is how FIX people read them, and it is faster.
"""

from __future__ import annotations

from typing import Final

HEADER_TAGS: Final = frozenset({8, 9, 35, 49, 56, 34, 52, 43, 97, 122, 115, 128, 1128, 50, 57, 116, 129, 142, 143})
"""Standard header tags; the session layer owns them (the body field lists we encode start at 35)."""

TAG_NAMES: Final[dict[int, str]] = {
    1: "Account", 6: "AvgPx", 8: "BeginString", 11: "ClOrdID", 12: "Commission", 14: "CumQty", 17: "ExecID",
    19: "ExecRefID", 20: "ExecTransType", 21: "HandlInst", 22: "SecurityIDSource", 30: "LastMkt", 31: "LastPx",
    32: "LastQty", 34: "MsgSeqNum", 35: "MsgType", 37: "OrderID", 38: "OrderQty", 39: "OrdStatus",
    40: "OrdType", 41: "OrigClOrdID", 44: "Price", 45: "RefSeqNum", 48: "SecurityID", 54: "Side",
    55: "Symbol", 58: "Text", 59: "TimeInForce", 60: "TransactTime", 65: "SymbolSfx", 97: "PossResend",
    99: "StopPx", 102: "CxlRejReason", 103: "OrdRejReason", 126: "ExpireTime", 150: "ExecType",
    151: "LeavesQty", 371: "RefTagID", 372: "RefMsgType", 373: "SessionRejectReason",
    379: "BusinessRejectRefID", 380: "BusinessRejectReason", 434: "CxlRejResponseTo", 453: "NoPartyIDs",
    847: "TargetStrategy", 849: "ParticipationRate", 957: "NoStrategyParameters",
    958: "StrategyParameterName", 959: "StrategyParameterType", 960: "StrategyParameterValue",
    1128: "ApplVerID",
}


def tag_name(tag: int) -> str:
    """'ClOrdID(11)' for a known tag, 'tag 6401' otherwise."""
    name = TAG_NAMES.get(tag)
    return f"{name}({tag})" if name else f"tag {tag}"
