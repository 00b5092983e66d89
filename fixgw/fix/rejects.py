"""`reject_reply`: the one answer to send for an inbound message we refused (a `MessageRejected`).

- kind "session"  -> Reject (35=3) with RefSeqNum(45), RefTagID(371), RefMsgType(372), SessionRejectReason(373);
- kind "business" -> BusinessMessageReject (35=j) with 45, 372, BusinessRejectRefID(379), reason(380);
- kind "order"    -> for a NewOrderSingle a rejected ExecutionReport (39=8/150=8) with OrdRejReason(103),
  echoing ClOrdID/Symbol/Side/OrderQty; for a cancel/replace an OrderCancelReject (35=9); for anything
  else a BusinessMessageReject.
Every reply carries the error's text in Text(58).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final

from fixgw.fix.codec import Codec
from fixgw.fix.encode import encode_business_reject, encode_cancel_reject, encode_session_reject
from fixgw.fix.fields import Field, Fields, FieldView
from fixgw.fix.messages import BusinessReject, SessionReject
from fixgw.fix.values import fmt_utc_timestamp
from fixgw.model.enums import (
    BusinessRejectReason,
    CxlRejReason,
    CxlRejResponseTo,
    OrdRejReason,
    OrdStatus,
    SessionRejectReason,
)
from fixgw.model.errors import MessageRejected
from fixgw.model.orders import CancelRejectEvent, utc_now

_CXL_REJ_REASONS: Final = {
    OrdRejReason.UNKNOWN_ORDER: CxlRejReason.UNKNOWN_ORDER,
    OrdRejReason.DUPLICATE_ORDER: CxlRejReason.DUPLICATE_CLORDID,
    OrdRejReason.TOO_LATE_TO_ENTER: CxlRejReason.TOO_LATE_TO_CANCEL,
    OrdRejReason.BROKER_OPTION: CxlRejReason.BROKER_OPTION,
}
_BUSINESS_REASONS: Final = {
    OrdRejReason.UNKNOWN_SYMBOL: BusinessRejectReason.UNKNOWN_SECURITY,
    OrdRejReason.UNKNOWN_ORDER: BusinessRejectReason.UNKNOWN_ID,
}
_ECHOED_ORDER_TAGS: Final = (55, 65, 48, 22, 54, 38, 40, 44, 99, 59)


def reject_reply(
    error: MessageRejected,
    inbound: FieldView | Sequence[Field],
    codec: Codec,
    *,
    exec_id: str,
    ref_seq_num: int | None = None,
    order_id: str | None = None,
    ord_status: OrdStatus = OrdStatus.REJECTED,
    transact_time: datetime | None = None,
) -> Fields:
    """The body field list answering `inbound` (as received, header included) refused with `error`.

    `exec_id` names the rejected ExecutionReport when one is built; `ref_seq_num` defaults to the inbound
    MsgSeqNum(34); `ord_status` is what an OrderCancelReject reports for the order (REJECTED when unknown).
    """
    view = inbound if isinstance(inbound, FieldView) else FieldView(inbound)
    first = view.first
    msg_type = error.ref_msg_type or first.get(35) or ""
    seq_text = first.get(34)
    if ref_seq_num is None and seq_text and seq_text.isdigit():
        ref_seq_num = int(seq_text)
    if error.kind == "session":
        return encode_session_reject(SessionReject(
            ref_seq_num=ref_seq_num or 0, ref_tag_id=error.ref_tag_id, ref_msg_type=msg_type or None,
            reason=error.session_reason or SessionRejectReason.OTHER, text=error.text,
        ), codec)
    if error.kind == "order" and msg_type == "D":
        return _rejected_execution(error, first, codec, exec_id, order_id, transact_time)
    if error.kind == "order" and msg_type in ("F", "G"):
        return encode_cancel_reject(CancelRejectEvent(
            cl_ord_id=first.get(11) or "NONE",
            orig_cl_ord_id=first.get(41),
            order_id=order_id or first.get(37),
            ord_status=ord_status,
            response_to=CxlRejResponseTo.CANCEL if msg_type == "F" else CxlRejResponseTo.REPLACE,
            reason=_CXL_REJ_REASONS.get(error.ord_rej_reason, CxlRejReason.OTHER),
            text=error.text,
            account=first.get(codec.account_tag),
            transact_time=transact_time or utc_now(),
        ), codec)
    if error.kind == "order":
        reason = _BUSINESS_REASONS.get(error.ord_rej_reason, BusinessRejectReason.OTHER)
    else:
        reason = error.business_reason or BusinessRejectReason.OTHER
    return encode_business_reject(BusinessReject(
        ref_msg_type=msg_type, reason=reason, ref_seq_num=ref_seq_num, ref_id=first.get(11) or first.get(17),
        text=error.text,
    ), codec)


def _rejected_execution(error: MessageRejected, first: dict[int, str], codec: Codec, exec_id: str,
                        order_id: str | None, transact_time: datetime | None) -> Fields:
    """ExecutionReport 39=8/150=8 echoing the order as the client sent it (its symbol may be unknown to us)."""
    fields: Fields = [(35, "8"), (37, order_id or "NONE"), (11, first.get(11) or "NONE"), (17, exec_id)]
    if codec.is_fix42:
        fields.append((20, "0"))
    fields += [(150, "8"), (39, "8"), (103, codec.encode_enum(codec.ord_rej_out, 103, error.ord_rej_reason))]
    account = first.get(codec.account_tag)
    if account is not None:
        fields.append((codec.account_tag, account))
    fields += [(tag, first[tag]) for tag in _ECHOED_ORDER_TAGS if first.get(tag)]
    when = fmt_utc_timestamp(transact_time or utc_now(), codec.precision)
    fields += [(151, "0"), (14, "0"), (6, "0"), (60, when), (58, error.text)]
    return fields
