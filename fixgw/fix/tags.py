"""FIX tag numbers used by the translation layer, and their names for error texts."""

from __future__ import annotations

from typing import Final

BEGIN_STRING: Final = 8
BODY_LENGTH: Final = 9
MSG_TYPE: Final = 35
SENDER_COMP_ID: Final = 49
TARGET_COMP_ID: Final = 56
MSG_SEQ_NUM: Final = 34
SENDING_TIME: Final = 52
POSS_DUP_FLAG: Final = 43
POSS_RESEND: Final = 97
APPL_VER_ID: Final = 1128

ACCOUNT: Final = 1
AVG_PX: Final = 6
COMMISSION: Final = 12
CUM_QTY: Final = 14
EXEC_ID: Final = 17
EXEC_REF_ID: Final = 19
EXEC_TRANS_TYPE: Final = 20
HANDL_INST: Final = 21
SECURITY_ID_SOURCE: Final = 22
LAST_MKT: Final = 30
LAST_PX: Final = 31
LAST_QTY: Final = 32
CL_ORD_ID: Final = 11
ORDER_ID: Final = 37
ORDER_QTY: Final = 38
ORD_STATUS: Final = 39
ORD_TYPE: Final = 40
ORIG_CL_ORD_ID: Final = 41
PRICE: Final = 44
REF_SEQ_NUM: Final = 45
SECURITY_ID: Final = 48
SIDE: Final = 54
SYMBOL: Final = 55
TEXT: Final = 58
TIME_IN_FORCE: Final = 59
TRANSACT_TIME: Final = 60
SYMBOL_SFX: Final = 65
STOP_PX: Final = 99
CXL_REJ_REASON: Final = 102
ORD_REJ_REASON: Final = 103
EXPIRE_TIME: Final = 126
EXEC_TYPE: Final = 150
LEAVES_QTY: Final = 151
REF_TAG_ID: Final = 371
REF_MSG_TYPE: Final = 372
SESSION_REJECT_REASON: Final = 373
BUSINESS_REJECT_REF_ID: Final = 379
BUSINESS_REJECT_REASON: Final = 380
CXL_REJ_RESPONSE_TO: Final = 434
TARGET_STRATEGY: Final = 847
PARTICIPATION_RATE: Final = 849
NO_STRATEGY_PARAMETERS: Final = 957
STRATEGY_PARAMETER_NAME: Final = 958
STRATEGY_PARAMETER_TYPE: Final = 959
STRATEGY_PARAMETER_VALUE: Final = 960

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
