"""Decoders: a FIX field list from a counterparty -> a canonical value, validating as they go.

EMS clients send D/F/G/H; brokers send 8/9; anyone may send j/3. Every refusal is a typed
`MessageRejected` (session / business / order, with RefTagID) or its subclasses `DialectMappingError` and
`UnknownSymbolError`; `fixgw.fix.rejects.reject_reply` turns one into the answer to send. In reports, codes
that only echo the order (OrdType, TimeInForce, TargetStrategy) or explain a reject (OrdRejReason,
CxlRejReason) are read leniently: an unmappable one must never lose an execution.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Final, TypeVar

from pydantic import ValidationError

from fixgw.fix.codec import Codec
from fixgw.fix.dialect import DialectMappingError
from fixgw.fix.fields import Field, FieldView
from fixgw.fix.messages import BusinessReject, SessionReject
from fixgw.fix.values import (
    bad_format,
    bad_value,
    conditionally_missing,
    missing_tag,
    order_rejected,
    parse_decimal,
    parse_utc_timestamp,
)
from fixgw.fix.versions import APPL_VER_ID_FIX50SP2
from fixgw.model.enums import (
    BusinessRejectReason,
    CxlRejReason,
    CxlRejResponseTo,
    ExecType,
    OrdRejReason,
    OrdType,
    SessionRejectReason,
    TimeInForce,
)
from fixgw.model.errors import MessageRejected
from fixgw.model.orders import (
    AlgoParams,
    CancelOrder,
    CancelRejectEvent,
    ExecutionEvent,
    NewOrder,
    ReplaceOrder,
    StatusRequest,
)
from fixgw.model.trusted import trusted

Inbound = (NewOrder | CancelOrder | ReplaceOrder | StatusRequest | ExecutionEvent | CancelRejectEvent
           | BusinessReject | SessionReject)


# Enum members as module constants: attribute access on an Enum class is slow on the hot path.
_DAY, _GTD = TimeInForce.DAY, TimeInForce.GTD
_MARKET, _LIMIT, _STOP, _STOP_LIMIT = OrdType.MARKET, OrdType.LIMIT, OrdType.STOP, OrdType.STOP_LIMIT
_ORDER_STATUS = ExecType.ORDER_STATUS
_OTHER_ORD_REJ, _OTHER_CXL_REJ = OrdRejReason.OTHER, CxlRejReason.OTHER
_FIX42_TRANS_TYPES: Final[dict[str, ExecType]] = {
    "1": ExecType.TRADE_CANCEL, "2": ExecType.TRADE_CORRECT, "3": ExecType.ORDER_STATUS,
}


def decode(fields: Sequence[Field], codec: Codec) -> Inbound:
    """Decode any supported inbound message; a MsgType this counterparty may not send is a 380=3 reject."""
    view = FieldView(fields)
    first = view.first
    msg_type = first.get(35)
    begin_string = first.get(8)
    if begin_string is not None and begin_string != codec.begin_string:
        raise bad_value(8, begin_string, codec.name)  # a codec reads one version: 4.2 and 4.4 differ in meaning
    appl_ver_id = first.get(1128)
    if appl_ver_id is not None and appl_ver_id != APPL_VER_ID_FIX50SP2:
        raise bad_value(1128, appl_ver_id, codec.name)
    decoder = _DECODERS_BY_ROLE[codec.dialect.role].get(msg_type or "")
    if decoder is None:
        raise MessageRejected(
            f"Unsupported message type {msg_type!r} from {codec.name}", kind="business", ref_msg_type=msg_type,
            business_reason=BusinessRejectReason.UNSUPPORTED_MESSAGE_TYPE, counterparty=codec.name,
        )
    return decoder(view, codec)


# --- orders (from EMS clients) -------------------------------------------------------------------------


def decode_new_order(view: FieldView, codec: Codec) -> NewOrder:
    first = view.first
    codec.check_required(first, "D")
    name = codec.name
    instrument = codec.resolve_instrument(first, "D")
    ord_type, base_type = _ord_type(first, codec)
    order_qty = _required_qty(first, "NewOrderSingle", name)
    price, stop_price = _prices(first, base_type, name)
    tif_code = first.get(59)
    time_in_force = codec.decode_enum(codec.tif_in, 59, tif_code) if tif_code else _DAY
    expire_time = _timestamp(first, codec.expire_time_tag, name)
    if time_in_force is _GTD and expire_time is None:
        raise order_rejected(f"ExpireTime({codec.expire_time_tag}) is required for a GTD order",
                             codec.expire_time_tag, counterparty=name)
    passthrough = codec.passthrough
    custom = () if passthrough.isdisjoint(first) else tuple(field for field in view.fields if field[0] in passthrough)
    return trusted(NewOrder, {
        "cl_ord_id": first[11],
        "instrument_id": instrument.id,
        "side": codec.decode_enum(codec.side_in, 54, first[54]),
        "order_qty": order_qty,
        "ord_type": ord_type,
        "price": price,
        "stop_price": stop_price,
        "time_in_force": time_in_force,
        "expire_time": expire_time,
        "account": first.get(codec.account_tag),
        "algo": _algo_params(view, codec) if ord_type is not base_type else None,
        "transact_time": _timestamp(first, 60, name),
        "text": first.get(codec.text_tag),
        "custom_fields": custom,
    })


def decode_cancel(view: FieldView, codec: Codec) -> CancelOrder:
    first = view.first
    _check_cancel_or_replace(first, "F", codec)
    name = codec.name
    return trusted(CancelOrder, {
        "cl_ord_id": first[11],
        "orig_cl_ord_id": first[41],
        "instrument_id": codec.resolve_instrument(first, "F").id,
        "side": codec.decode_enum(codec.side_in, 54, first[54]),
        "order_qty": _decimal(first, 38, name),
        "order_id": _order_id(first),
        "account": first.get(codec.account_tag),
        "transact_time": _timestamp(first, 60, name),
    })


def decode_replace(view: FieldView, codec: Codec) -> ReplaceOrder:
    first = view.first
    _check_cancel_or_replace(first, "G", codec)
    name = codec.name
    instrument = codec.resolve_instrument(first, "G")
    ord_type, base_type = _ord_type(first, codec)
    order_qty = _required_qty(first, "OrderCancelReplaceRequest", name)
    price, stop_price = _prices(first, base_type, name)
    tif_code = first.get(59)
    return trusted(ReplaceOrder, {
        "cl_ord_id": first[11],
        "orig_cl_ord_id": first[41],
        "instrument_id": instrument.id,
        "side": codec.decode_enum(codec.side_in, 54, first[54]),
        "order_qty": order_qty,
        "ord_type": ord_type,
        "price": price,
        "stop_price": stop_price,
        "time_in_force": codec.decode_enum(codec.tif_in, 59, tif_code) if tif_code else None,
        "order_id": _order_id(first),
        "account": first.get(codec.account_tag),
        "transact_time": _timestamp(first, 60, name),
    })


def decode_status_request(view: FieldView, codec: Codec) -> StatusRequest:
    first = view.first
    codec.check_required(first, "H")
    if not first.get(11):
        raise conditionally_missing(11, "H", "status requests are by ClOrdID", codec.name)
    side = first.get(54)
    return trusted(StatusRequest, {
        "cl_ord_id": first[11],
        "instrument_id": codec.resolve_instrument(first, "H").id if codec.has_instrument(first) else None,
        "side": codec.decode_enum(codec.side_in, 54, side) if side else None,
        "order_id": _order_id(first),
    })


# --- reports (from brokers) ----------------------------------------------------------------------------


def decode_execution(view: FieldView, codec: Codec) -> ExecutionEvent:
    first = view.first
    codec.check_required(first, "8")
    name = codec.name
    exec_type = codec.decode_enum(codec.exec_type_in, 150, first[150])
    if codec.is_fix42 and first[20] != "0":
        # FIX 4.2 says bust / correction / status answer in ExecTransType(20); ExecType(150) then shows the status.
        by_trans_type = _FIX42_TRANS_TYPES.get(first[20])
        if by_trans_type is None:
            raise bad_value(20, first[20], name)
        exec_type = by_trans_type
    # OrdType/TimeInForce/TargetStrategy only echo the order: a code we cannot map must not lose the report.
    ord_code, tif_code, strategy = first.get(40), first.get(59), first.get(codec.strategy_tag)
    ord_type = codec.strategy_in.get(strategy) if strategy else None
    if ord_type is None and ord_code:
        ord_type = codec.ord_type_in.get(ord_code)
    reason_code = first.get(103)
    return trusted(ExecutionEvent, {
        "exec_id": first[17],
        "exec_type": exec_type,
        "ord_status": codec.decode_enum(codec.ord_status_in, 39, first[39]),
        "cl_ord_id": first.get(11),
        "orig_cl_ord_id": first.get(41),
        "order_id": _order_id(first),
        "instrument_id": codec.resolve_instrument(first, "8").id if codec.has_instrument(first) else None,
        "side": codec.decode_enum(codec.side_in, 54, first[54]),
        "account": first.get(codec.account_tag),
        "ord_type": ord_type,
        "order_qty": _decimal(first, 38, name),
        "price": _decimal(first, 44, name),
        "stop_price": _decimal(first, 99, name),
        "time_in_force": codec.tif_in.get(tif_code) if tif_code else None,
        "last_qty": _decimal(first, 32, name),
        "last_px": _decimal(first, 31, name),
        "cum_qty": _decimal(first, 14, name),
        "leaves_qty": _decimal(first, 151, name),
        "avg_px": _decimal(first, 6, name),
        "exec_ref_id": first.get(19),
        # Reason codes only explain a reject; an unknown one must never lose the reject itself.
        "ord_rej_reason": codec.ord_rej_in.get(reason_code, _OTHER_ORD_REJ) if reason_code else None,
        "text": first.get(codec.text_tag),
        "transact_time": _timestamp(first, 60, name),
        "last_mkt": first.get(codec.last_mkt_tag),
        "commission": _decimal(first, codec.commission_tag, name),
        "is_status_response": exec_type is _ORDER_STATUS,
        "poss_resend": first.get(97) == "Y",
    })


def decode_cancel_reject(view: FieldView, codec: Codec) -> CancelRejectEvent:
    first = view.first
    codec.check_required(first, "9")
    name = codec.name
    response_to = first[434]
    if response_to not in ("1", "2"):
        raise bad_value(434, response_to, name)
    reason = first.get(102)
    return trusted(CancelRejectEvent, {
        "cl_ord_id": first[11],
        "orig_cl_ord_id": first.get(41),
        "order_id": _order_id(first),
        "ord_status": codec.decode_enum(codec.ord_status_in, 39, first[39]),
        "response_to": CxlRejResponseTo(response_to),
        "reason": codec.cxl_rej_in.get(reason, _OTHER_CXL_REJ) if reason else _OTHER_CXL_REJ,
        "text": first.get(codec.text_tag),
        "account": first.get(codec.account_tag),
        "transact_time": _timestamp(first, 60, name),
    })


# --- rejects (from anyone) -----------------------------------------------------------------------------


def decode_business_reject(view: FieldView, codec: Codec) -> BusinessReject:
    first = view.first
    codec.check_required(first, "j")
    reason = first[380]
    return BusinessReject(
        ref_msg_type=first[372],
        reason=_known(BusinessRejectReason, reason, BusinessRejectReason.OTHER),
        ref_seq_num=_int(first, 45, codec.name),
        ref_id=first.get(379),
        text=first.get(58),
    )


def decode_session_reject(view: FieldView, codec: Codec) -> SessionReject:
    first = view.first
    codec.check_required(first, "3")
    reason = first.get(373)
    return SessionReject(
        ref_seq_num=_int(first, 45, codec.name) or 0,
        ref_tag_id=_int(first, 371, codec.name),
        ref_msg_type=first.get(372),
        reason=_known(SessionRejectReason, reason, SessionRejectReason.OTHER) if reason else None,
        text=first.get(58),
    )


_DECODERS: Final[dict[str, Callable[[FieldView, Codec], Inbound]]] = {
    "D": decode_new_order,
    "F": decode_cancel,
    "G": decode_replace,
    "H": decode_status_request,
    "8": decode_execution,
    "9": decode_cancel_reject,
    "j": decode_business_reject,
    "3": decode_session_reject,
}
_DECODERS_BY_ROLE: Final = {
    "client": {msg_type: _DECODERS[msg_type] for msg_type in ("D", "F", "G", "H", "j", "3")},
    "broker": {msg_type: _DECODERS[msg_type] for msg_type in ("8", "9", "j", "3")},
}


# --- helpers -------------------------------------------------------------------------------------------


def _check_cancel_or_replace(first: Mapping[int, str], msg_type: str, codec: Codec) -> None:
    codec.check_required(first, msg_type)
    if not first.get(41):  # optional since FIX 5.0 (OrderID may do); our orders of record are found by it
        raise conditionally_missing(41, msg_type, "orders are cancelled and replaced by OrigClOrdID", codec.name)


def _ord_type(first: Mapping[int, str], codec: Codec) -> tuple[OrdType, OrdType]:
    """(canonical OrdType, the OrdType(40) it travels as): an algo strategy makes TWAP/VWAP of a market/limit."""
    base = codec.decode_enum(codec.ord_type_in, 40, first[40])
    strategy = first.get(codec.strategy_tag)
    if strategy is None:
        return base, base
    if codec.algo is None:
        raise DialectMappingError(codec.name, codec.strategy_tag, strategy, inbound=True,
                                  detail="no algo mapping for this counterparty")
    algo = codec.decode_enum(codec.strategy_in, codec.strategy_tag, strategy)
    if base is not _MARKET and base is not _LIMIT:
        raise order_rejected(f"{algo.value} orders must be market or limit orders, not OrdType(40)={first[40]}",
                             40, counterparty=codec.name)
    return algo, base


def _required_qty(first: Mapping[int, str], message: str, counterparty: str) -> Decimal:
    return _required_positive(first, 38, "OrderQty", f"in {message}", counterparty)


def _prices(first: Mapping[int, str], base_type: OrdType, counterparty: str) -> tuple[Decimal | None, Decimal | None]:
    """Price(44) and StopPx(99) as the order type needs them; ones it does not use are ignored."""
    needed_by = f"for a {base_type.name} order"
    price = (_required_positive(first, 44, "Price", needed_by, counterparty)
             if base_type is _LIMIT or base_type is _STOP_LIMIT else None)
    stop_price = (_required_positive(first, 99, "StopPx", needed_by, counterparty)
                  if base_type is _STOP or base_type is _STOP_LIMIT else None)
    return price, stop_price


def _required_positive(first: Mapping[int, str], tag: int, name: str, needed_by: str, counterparty: str) -> Decimal:
    """The tag's value as a positive Decimal; a missing, malformed or non-positive one rejects the order."""
    text = first.get(tag)
    if not text:
        raise order_rejected(f"{name}({tag}) is required {needed_by}", tag, counterparty=counterparty)
    value = parse_decimal(text, tag, counterparty)
    if value <= 0:
        raise order_rejected(f"{name}({tag}) must be positive, got {text}", tag, counterparty=counterparty)
    return value


def _algo_params(view: FieldView, codec: Codec) -> AlgoParams:
    """Start/end time and participation from the StrategyParameters group or the counterparty's own tags."""
    name = codec.name
    values: dict[str, Any] = {}
    if codec.algo_param_tags:
        first = view.first
        for param, tag in codec.algo_param_tags.items():
            text = first.get(tag)
            if text:
                values[param] = _param_value(param, text, tag, name)
    else:
        by_name = codec.algo_param_by_name
        extra: list[tuple[str, str]] = []
        for entry in view.group(957, counterparty=name):
            param_name, text = entry[958], entry.get(960)
            if text is None:
                raise missing_tag(960, "D", name)
            known = by_name.get(param_name)
            if known is None:
                extra.append((param_name, text))
            else:
                values[known] = _param_value(known, text, 960, name)
        values["strategy_parameters"] = tuple(extra)
    try:
        return AlgoParams(**values)
    except ValidationError as exc:
        raise order_rejected(f"invalid algo parameters: {exc.errors()[0]['msg']}", codec.strategy_tag,
                             counterparty=name) from None


def _param_value(param: str, text: str, tag: int, counterparty: str) -> datetime | Decimal:
    if param == "participation_rate":
        return parse_decimal(text, tag, counterparty)
    return parse_utc_timestamp(text, tag, counterparty)


def _decimal(first: Mapping[int, str], tag: int, counterparty: str) -> Decimal | None:
    text = first.get(tag)
    return parse_decimal(text, tag, counterparty) if text else None


def _timestamp(first: Mapping[int, str], tag: int, counterparty: str) -> datetime | None:
    text = first.get(tag)
    return parse_utc_timestamp(text, tag, counterparty) if text else None


def _order_id(first: Mapping[int, str]) -> str | None:
    order_id = first.get(37)
    return None if not order_id or order_id == "NONE" else order_id


def _int(first: Mapping[int, str], tag: int, counterparty: str) -> int | None:
    text = first.get(tag)
    if not text:
        return None
    if not text.isdigit():
        raise bad_format(tag, text, "an integer", counterparty)
    return int(text)


E = TypeVar("E", SessionRejectReason, BusinessRejectReason)


def _known(enum_type: type[E], code: str, fallback: E) -> E:
    try:
        return enum_type(code)
    except ValueError:
        return fallback

