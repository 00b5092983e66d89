"""Encoders: a canonical value -> the FIX body field list for one counterparty, starting with (35, MsgType).

Header (8/9/34/49/52/56, and 1128 under FIXT) and trailer belong to the session layer. D/F/G/H go to brokers;
8/9/j/3 answer EMS clients. Decimals are written with `fmt_decimal` (no exponent, no trailing zeros); a price
or quantity off the instrument's tick or lot size is refused, never rounded here (`round_to_increment` is the
caller's explicit choice).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Final

from pydantic import BaseModel

from fixgw.fix.codec import Codec
from fixgw.fix.dialect import AlgoParam, DialectMappingError
from fixgw.fix.fields import Field, Fields
from fixgw.fix.messages import BusinessReject, SessionReject
from fixgw.fix.values import check_increment, fmt_decimal, fmt_utc_timestamp
from fixgw.model.enums import ExecType, OrdStatus, OrdType
from fixgw.model.orders import (
    AlgoParams,
    CancelOrder,
    CancelRejectEvent,
    ExecutionEvent,
    MassStatusRequest,
    NewOrder,
    ReplaceOrder,
    StatusRequest,
    utc_now,
)

# Enum members as module constants: attribute access on an Enum class is slow on the hot path.
_TRADE, _TWAP, _VWAP = ExecType.TRADE, OrdType.TWAP, OrdType.VWAP
_MARKET, _LIMIT = OrdType.MARKET, OrdType.LIMIT
_FIX42_TRANS_TYPES: Final[dict[ExecType, str]] = {
    ExecType.TRADE_CANCEL: "1", ExecType.TRADE_CORRECT: "2", ExecType.ORDER_STATUS: "3",
}
# FIX 4.2 ExecType that mirrors an order status (status answers, busts and corrections carry one).
_FIX42_EXEC_TYPE_OF_STATUS: Final[dict[OrdStatus, str]] = {
    OrdStatus.PENDING_NEW: "A", OrdStatus.NEW: "0", OrdStatus.PARTIALLY_FILLED: "1", OrdStatus.FILLED: "2",
    OrdStatus.DONE_FOR_DAY: "3", OrdStatus.CANCELED: "4", OrdStatus.REPLACED: "5", OrdStatus.PENDING_CANCEL: "6",
    OrdStatus.REJECTED: "8", OrdStatus.EXPIRED: "C", OrdStatus.PENDING_REPLACE: "E", OrdStatus.DENIED: "8",
    OrdStatus.UNKNOWN: "A",
}
# StrategyParameterType(959): UTCTimestamp, Percentage.
_STRATEGY_PARAMETER_TYPES: Final[dict[AlgoParam, str]] = {
    "start_time": "19", "end_time": "19", "participation_rate": "11"}


def encode(value: BaseModel, codec: Codec) -> Fields:
    """Encode any supported canonical value (dispatch on its type)."""
    encoder = _ENCODERS.get(type(value))
    if encoder is None:
        raise TypeError(f"no FIX encoder for {type(value).__name__}")
    fields: Fields = encoder(value, codec)
    return fields


# --- orders (to brokers) -------------------------------------------------------------------------------


def encode_new_order(order: NewOrder, codec: Codec) -> Fields:
    fields: Fields = [(35, "D"), (11, order.cl_ord_id)]
    if order.account is not None:
        fields.append((codec.account_tag, order.account))
    fields += _order_terms(order, codec)
    fields.append((59, codec.encode_enum(codec.tif_out, 59, order.time_in_force)))
    if order.expire_time is not None:
        fields.append((codec.expire_time_tag, fmt_utc_timestamp(order.expire_time, codec.precision)))
    fields.append((60, _time(order.transact_time, codec)))
    if order.text is not None:
        fields.append((codec.text_tag, order.text))
    if order.algo is not None:
        fields += _algo_fields(order.algo, codec)
    if order.custom_fields:
        fields += _custom_fields(order.custom_fields, codec)
    return _with_defaults(fields, "D", codec)


def encode_cancel(cancel: CancelOrder, codec: Codec) -> Fields:
    fields: Fields = [(35, "F"), (11, cancel.cl_ord_id), (41, cancel.orig_cl_ord_id)]
    if cancel.order_id is not None:
        fields.append((37, cancel.order_id))
    if cancel.account is not None:
        fields.append((codec.account_tag, cancel.account))
    fields += codec.instrument_fields(cancel.instrument_id)
    fields.append((54, codec.encode_enum(codec.side_out, 54, cancel.side)))
    if cancel.order_qty is not None:
        fields.append((38, fmt_decimal(cancel.order_qty)))
    fields.append((60, _time(cancel.transact_time, codec)))
    return _with_defaults(fields, "F", codec)


def encode_replace(replace: ReplaceOrder, codec: Codec) -> Fields:
    fields: Fields = [(35, "G"), (11, replace.cl_ord_id), (41, replace.orig_cl_ord_id)]
    if replace.order_id is not None:
        fields.append((37, replace.order_id))
    if replace.account is not None:
        fields.append((codec.account_tag, replace.account))
    fields += _order_terms(replace, codec)
    if replace.time_in_force is not None:
        fields.append((59, codec.encode_enum(codec.tif_out, 59, replace.time_in_force)))
    fields.append((60, _time(replace.transact_time, codec)))
    return _with_defaults(fields, "G", codec)


def encode_mass_status_request(request: MassStatusRequest, codec: Codec) -> Fields:
    if codec.is_fix42 or not codec.dialect.mass_status:
        raise DialectMappingError(codec.name, 35, "AF", inbound=False, detail="no OrderMassStatusRequest")
    return [(35, "AF"), (584, request.mass_status_req_id), (585, "7")]  # 585=7: status of all orders


def encode_status_request(request: StatusRequest, codec: Codec) -> Fields:
    fields: Fields = [(35, "H"), (11, request.cl_ord_id)]
    if request.order_id is not None:
        fields.append((37, request.order_id))
    if request.instrument_id is not None:
        fields += codec.instrument_fields(request.instrument_id)
    if request.side is not None:
        fields.append((54, codec.encode_enum(codec.side_out, 54, request.side)))
    return _with_defaults(fields, "H", codec)


# --- reports (to EMS clients) --------------------------------------------------------------------------


def encode_execution(event: ExecutionEvent, codec: Codec) -> Fields:
    fields: Fields = [(35, "8"), (37, event.order_id or "NONE")]
    if event.cl_ord_id is not None:
        fields.append((11, event.cl_ord_id))
    if event.orig_cl_ord_id is not None:
        fields.append((41, event.orig_cl_ord_id))
    fields.append((17, event.exec_id))
    fields += _exec_type_fields(event, codec)
    fields.append((39, codec.encode_enum(codec.ord_status_out, 39, event.ord_status)))
    if event.exec_ref_id is not None:
        fields.append((19, event.exec_ref_id))
    if event.ord_rej_reason is not None:
        fields.append((103, codec.encode_enum(codec.ord_rej_out, 103, event.ord_rej_reason)))
    if event.account is not None:
        fields.append((codec.account_tag, event.account))
    if event.instrument_id is not None:
        fields += codec.instrument_fields(event.instrument_id)
    if event.side is not None:
        fields.append((54, codec.encode_enum(codec.side_out, 54, event.side)))
    if event.order_qty is not None:
        fields.append((38, fmt_decimal(event.order_qty)))
    if event.ord_type is not None:
        fields += _ord_type_fields(event.ord_type, event.price, codec)
    if event.price is not None:
        fields.append((44, fmt_decimal(event.price)))
    if event.stop_price is not None:
        fields.append((99, fmt_decimal(event.stop_price)))
    if event.time_in_force is not None:
        fields.append((59, codec.encode_enum(codec.tif_out, 59, event.time_in_force)))
    if event.last_qty is not None:
        fields.append((32, fmt_decimal(event.last_qty)))
    if event.last_px is not None:
        fields.append((31, fmt_decimal(event.last_px)))
    if event.last_mkt is not None:
        fields.append((codec.last_mkt_tag, event.last_mkt))
    # LeavesQty/CumQty (and AvgPx before 5.0) are required in every ExecutionReport.
    fields.append((151, fmt_decimal(event.leaves_qty) if event.leaves_qty is not None else "0"))
    fields.append((14, fmt_decimal(event.cum_qty) if event.cum_qty is not None else "0"))
    fields.append((6, fmt_decimal(event.avg_px) if event.avg_px is not None else "0"))
    if event.commission is not None:
        fields.append((codec.commission_tag, fmt_decimal(event.commission)))
    fields.append((60, _time(event.transact_time, codec)))
    if event.text is not None:
        fields.append((codec.text_tag, event.text))
    if event.poss_resend:
        fields.append((97, "Y"))
    return _with_defaults(fields, "8", codec)


def encode_cancel_reject(event: CancelRejectEvent, codec: Codec) -> Fields:
    fields: Fields = [(35, "9"), (37, event.order_id or "NONE"), (11, event.cl_ord_id)]
    # OrigClOrdID is required before 5.0; "NONE" like an unknown OrderID when we do not know it.
    fields.append((41, event.orig_cl_ord_id or "NONE"))
    fields.append((39, codec.encode_enum(codec.ord_status_out, 39, event.ord_status)))
    fields.append((434, event.response_to.value))
    fields.append((102, codec.encode_enum(codec.cxl_rej_out, 102, event.reason)))
    if event.account is not None:
        fields.append((codec.account_tag, event.account))
    if event.transact_time is not None:
        fields.append((60, fmt_utc_timestamp(event.transact_time, codec.precision)))
    if event.text is not None:
        fields.append((codec.text_tag, event.text))
    return _with_defaults(fields, "9", codec)


def encode_business_reject(reject: BusinessReject, codec: Codec) -> Fields:
    fields: Fields = [(35, "j")]
    if reject.ref_seq_num is not None:
        fields.append((45, str(reject.ref_seq_num)))
    fields.append((372, reject.ref_msg_type))
    if reject.ref_id is not None:
        fields.append((379, reject.ref_id))
    fields.append((380, reject.reason.value))
    if reject.text is not None:
        fields.append((58, reject.text))
    return fields


def encode_session_reject(reject: SessionReject, codec: Codec) -> Fields:
    fields: Fields = [(35, "3"), (45, str(reject.ref_seq_num))]
    if reject.ref_tag_id is not None:
        fields.append((371, str(reject.ref_tag_id)))
    if reject.ref_msg_type is not None:
        fields.append((372, reject.ref_msg_type))
    if reject.reason is not None:
        fields.append((373, reject.reason.value))
    if reject.text is not None:
        fields.append((58, reject.text))
    return fields


_ENCODERS: Final[dict[type[Any], Callable[[Any, Codec], Fields]]] = {
    NewOrder: encode_new_order,
    CancelOrder: encode_cancel,
    ReplaceOrder: encode_replace,
    StatusRequest: encode_status_request,
    MassStatusRequest: encode_mass_status_request,
    ExecutionEvent: encode_execution,
    CancelRejectEvent: encode_cancel_reject,
    BusinessReject: encode_business_reject,
    SessionReject: encode_session_reject,
}


# --- helpers -------------------------------------------------------------------------------------------


def _time(moment: datetime | None, codec: Codec) -> str:
    """TransactTime: required in orders and reports, so stamped now when the value carries none."""
    return fmt_utc_timestamp(moment or utc_now(), codec.precision)


def _order_terms(order: NewOrder | ReplaceOrder, codec: Codec) -> list[Field]:
    """Instrument, side, quantity, order type and prices, checked against the instrument's lot and tick size."""
    instrument = codec.symbols.get(order.instrument_id)
    name = codec.name
    fields = codec.instrument_fields(instrument)
    fields.append((54, codec.encode_enum(codec.side_out, 54, order.side)))
    check_increment(order.order_qty, instrument.lot_size, 38, "lot size", name)
    fields.append((38, fmt_decimal(order.order_qty)))
    fields += _ord_type_fields(order.ord_type, order.price, codec)
    if order.price is not None:
        check_increment(order.price, instrument.tick_size, 44, "tick size", name)
        fields.append((44, fmt_decimal(order.price)))
    if order.stop_price is not None:
        check_increment(order.stop_price, instrument.tick_size, 99, "tick size", name)
        fields.append((99, fmt_decimal(order.stop_price)))
    return fields


def _exec_type_fields(event: ExecutionEvent, codec: Codec) -> list[Field]:
    """ExecType(150), with FIX 4.2's ExecTransType(20) and PARTIAL_FILL/FILL split of TRADE."""
    exec_type = event.exec_type
    code = codec.exec_type_out.get(exec_type)
    if not codec.is_fix42:
        if code is None:
            code = codec.encode_enum(codec.exec_type_out, 150, exec_type)
        return [(150, code)]
    if code is not None:
        return [(20, "0"), (150, code)]
    status_code = _FIX42_EXEC_TYPE_OF_STATUS[event.ord_status]
    if exec_type is _TRADE:
        return [(20, "0"), (150, "2" if status_code == "2" else "1")]
    trans_type = _FIX42_TRANS_TYPES.get(exec_type)
    if trans_type is None:
        raise DialectMappingError(codec.name, 150, exec_type.name, inbound=False, detail="not in FIX 4.2")
    return [(20, trans_type), (150, status_code)]


def _ord_type_fields(ord_type: OrdType, price: Any, codec: Codec) -> list[Field]:
    """OrdType(40), and for an algo the strategy tag on a limit (with a price) or market order."""
    if ord_type is not _TWAP and ord_type is not _VWAP:
        return [(40, codec.encode_enum(codec.ord_type_out, 40, ord_type))]
    strategy = codec.strategy_out.get(ord_type)
    if strategy is None:
        raise DialectMappingError(codec.name, codec.strategy_tag, ord_type.value, inbound=False,
                                  detail=f"{codec.name} has no {ord_type.value} strategy")
    base = _LIMIT if price is not None else _MARKET
    return [(40, codec.encode_enum(codec.ord_type_out, 40, base)), (codec.strategy_tag, strategy)]


def _algo_fields(algo: AlgoParams, codec: Codec) -> list[Field]:
    values: dict[AlgoParam, str] = {}
    if algo.start_time is not None:
        values["start_time"] = fmt_utc_timestamp(algo.start_time, codec.precision)
    if algo.end_time is not None:
        values["end_time"] = fmt_utc_timestamp(algo.end_time, codec.precision)
    if algo.participation_rate is not None:
        values["participation_rate"] = fmt_decimal(algo.participation_rate)
    if codec.algo_param_tags:
        fields: list[Field] = []
        for param, text in values.items():
            tag = codec.algo_param_tags.get(param)
            if tag is None:
                raise DialectMappingError(codec.name, codec.strategy_tag, param, inbound=False,
                                          detail="no tag for this algo parameter")
            fields.append((tag, text))
        if algo.strategy_parameters:
            wire_name = algo.strategy_parameters[0][0]
            raise DialectMappingError(codec.name, 958, wire_name, inbound=False,
                                      detail="this counterparty takes algo parameters as tags, not by name")
        return fields
    entries: list[Field] = []
    for param, text in values.items():
        entries += [(958, codec.algo_param_names[param]), (959, _STRATEGY_PARAMETER_TYPES[param]),
                    (960, text)]
    for wire_name, text in algo.strategy_parameters:
        entries += [(958, wire_name), (959, "14"), (960, text)]
    count = len(entries) // 3
    return [(957, str(count)), *entries] if count else []


def _custom_fields(custom: tuple[tuple[int, str], ...], codec: Codec) -> list[Field]:
    """Pass-through tags the counterparty's dialect accepts; any other is an error, never silently dropped."""
    allowed = codec.passthrough
    for tag, value in custom:
        if tag not in allowed:
            raise DialectMappingError(codec.name, tag, value, inbound=False, detail="tag not in its passthrough list")
    return list(custom)


def _with_defaults(fields: Fields, msg_type: str, codec: Codec) -> Fields:
    defaults = codec.defaults.get(msg_type)
    if defaults:
        present = dict(fields)
        fields += [field for field in defaults if field[0] not in present]
    return fields
