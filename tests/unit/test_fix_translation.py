"""Table-driven translation tests (h11 style): each row is (FIX message as received, canonical value).

Every row runs both ways: decoding the message gives the value, encoding the value gives a body containing
every body field of the message (repeating groups in order), and decoding that body gives the value back.
Rows marked DECODE_ONLY are forms we read but never write (e.g. a FIX 4.4 broker's legacy 150=2).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from fixgw.fix.codec import Codec
from fixgw.fix.decode import (
    decode,
    decode_business_reject,
    decode_cancel,
    decode_cancel_reject,
    decode_execution,
    decode_new_order,
    decode_replace,
    decode_session_reject,
    decode_status_request,
)
from fixgw.fix.dialect import dialect_named
from fixgw.fix.encode import encode
from fixgw.fix.fields import FieldView
from fixgw.fix.messages import BusinessReject, SessionReject
from fixgw.fix.symbols import load_symbol_master
from fixgw.fix.tags import HEADER_TAGS
from fixgw.fix.versions import REQUIRED, FixVersion
from fixgw.fix.wire import parse_fix, render_fix
from fixgw.model.enums import (
    BusinessRejectReason,
    CxlRejReason,
    CxlRejResponseTo,
    ExecType,
    OrdRejReason,
    OrdStatus,
    OrdType,
    SessionRejectReason,
    Side,
    TimeInForce,
)
from fixgw.model.orders import (
    AlgoParams,
    CancelOrder,
    CancelRejectEvent,
    ExecutionEvent,
    NewOrder,
    ReplaceOrder,
    StatusRequest,
)

SPEC_DIR = Path(__file__).resolve().parents[2] / "specs" / "fix"
GROUP_TAGS = {957, 958, 959, 960}
DECODE_ONLY = "decode-only"

T42 = datetime(2024, 1, 2, 14, 30, 0, 123000, tzinfo=UTC)
T50 = datetime(2024, 3, 15, 9, 30, 0, 123456, tzinfo=UTC)
H42 = "8=FIX.4.2|9=0|34=2|49=CLIENT1|52=20240102-14:30:00.125|56=EXECUTOR|"
H44 = "8=FIX.4.4|9=0|34=7|49=BROKER|52=20240102-14:30:00.125|56=FIXGW|"
H50 = "8=FIXT.1.1|9=0|34=12|49=EMS|52=20240315-09:30:00.123999|56=FIXGW|1128=9|"
TAIL = "10=000|"

DECODERS: dict[str, Callable[[FieldView, Codec], Any]] = {
    "D": decode_new_order, "F": decode_cancel, "G": decode_replace, "H": decode_status_request,
    "8": decode_execution, "9": decode_cancel_reject, "j": decode_business_reject, "3": decode_session_reject,
}


@cache
def codec(dialect: str, begin_string: str) -> Codec:
    return Codec(dialect_named(dialect), load_symbol_master(), begin_string)


def d(text: str) -> Decimal:
    return Decimal(text)


def row(name: str, dialect: str, begin: str, body: str, value: BaseModel, *marks: str) -> Any:
    header = {"FIX.4.2": H42, "FIX.4.4": H44, "FIXT.1.1": H50}[begin]
    return pytest.param(dialect, begin, header + body + TAIL, value, marks, id=name)


ROWS = [
    # --- NewOrderSingle (D) -----------------------------------------------------------------------------
    row("D-42-tradeclient-limit", "ems-default", "FIX.4.2",
        "35=D|11=1704205800123|21=1|38=100|40=2|44=10|54=1|55=MSFT|59=0|60=20240102-14:30:00.123|",
        NewOrder(cl_ord_id="1704205800123", instrument_id="MSFT", side=Side.BUY, order_qty=d("100"),
                 ord_type=OrdType.LIMIT, price=d("10"), time_in_force=TimeInForce.DAY, transact_time=T42)),
    row("D-42-broker-twap-suffix-account-custom", "equities-broker-42", "FIX.4.2",
        "35=D|11=GW-7-1|21=1|38=5000|40=1|54=2|55=BRK|59=0|60=20240102-14:30:00.123|65=B|5001=ACC-7|"
        "6400=TWAP|6401=20240102-14:30:00.000|6402=20240102-20:00:00.000|6403=0.1|8001=DESK7|",
        NewOrder(cl_ord_id="GW-7-1", instrument_id="BRK.B", side=Side.SELL, order_qty=d("5000"), ord_type=OrdType.TWAP,
                 account="ACC-7", transact_time=T42, custom_fields=((8001, "DESK7"),),
                 algo=AlgoParams(start_time=datetime(2024, 1, 2, 14, 30, tzinfo=UTC),
                                 end_time=datetime(2024, 1, 2, 20, 0, tzinfo=UTC), participation_rate=d("0.1")))),
    row("D-42-ems-stop-limit-gtc", "ems-default", "FIX.4.2",
        "35=D|1=ACC-1|11=ORD-2|21=1|38=250|40=4|44=101.25|54=5|55=AAPL|59=1|60=20240102-14:30:00.123|99=101.5|",
        NewOrder(cl_ord_id="ORD-2", instrument_id="AAPL", side=Side.SELL_SHORT, order_qty=d("250"),
                 ord_type=OrdType.STOP_LIMIT, price=d("101.25"), stop_price=d("101.5"), account="ACC-1",
                 time_in_force=TimeInForce.GTC, transact_time=T42)),
    row("D-44-broker-limit", "generic-broker", "FIX.4.4",
        "35=D|1=PB-ACC-1|11=GW-9-1|21=1|38=300|40=2|44=187.43|54=1|55=AAPL|59=0|60=20240102-14:30:00.123|",
        NewOrder(cl_ord_id="GW-9-1", instrument_id="AAPL", side=Side.BUY, order_qty=d("300"), ord_type=OrdType.LIMIT,
                 price=d("187.43"), account="PB-ACC-1", transact_time=T42)),
    row("D-44-broker-cms-symbol", "generic-broker", "FIX.4.4",
        "35=D|11=GW-9-2|21=1|38=10|40=1|54=2|55=BRK B|59=3|60=20240102-14:30:00.123|",
        NewOrder(cl_ord_id="GW-9-2", instrument_id="BRK.B", side=Side.SELL, order_qty=d("10"), ord_type=OrdType.MARKET,
                 time_in_force=TimeInForce.IOC, transact_time=T42)),
    row("D-44-ems-vwap-strategy-parameters", "ems-default", "FIX.4.4",
        "35=D|11=ORD-3|38=20000|40=2|44=415.5|54=1|55=MSFT|59=0|60=20240102-14:30:00.123|847=1|957=3|"
        "958=StartTime|959=19|960=20240102-14:30:00.000|958=EndTime|959=19|960=20240102-21:00:00.000|"
        "958=MaxPctVolume|959=11|960=0.15|",
        NewOrder(cl_ord_id="ORD-3", instrument_id="MSFT", side=Side.BUY, order_qty=d("20000"), ord_type=OrdType.VWAP,
                 price=d("415.5"), transact_time=T42,
                 algo=AlgoParams(start_time=datetime(2024, 1, 2, 14, 30, tzinfo=UTC),
                                 end_time=datetime(2024, 1, 2, 21, 0, tzinfo=UTC), participation_rate=d("0.15")))),
    row("D-44-ems-gtd-expire", "ems-default", "FIX.4.4",
        "35=D|11=ORD-4|38=1000|40=2|44=512.01|54=1|55=SPY|59=6|60=20240102-14:30:00.123|126=20240105-21:00:00.000|",
        NewOrder(cl_ord_id="ORD-4", instrument_id="SPY", side=Side.BUY, order_qty=d("1000"), ord_type=OrdType.LIMIT,
                 price=d("512.01"), time_in_force=TimeInForce.GTD,
                 expire_time=datetime(2024, 1, 5, 21, 0, tzinfo=UTC), transact_time=T42)),
    row("D-44-fixed-income-isin", "fixed-income-broker", "FIX.4.4",
        "35=D|11=GW-3-1|21=1|22=4|38=5000000|40=2|44=99.8671875|48=US91282CJL63|54=1|59=0|"
        "60=20240102-14:30:00.123|",
        NewOrder(cl_ord_id="GW-3-1", instrument_id="US91282CJL63", side=Side.BUY, order_qty=d("5000000"),
                 ord_type=OrdType.LIMIT, price=d("99.8671875"), transact_time=T42)),
    row("D-50-ems-crypto-8dp", "ems-default", "FIXT.1.1",
        "35=D|11=ORD-5|38=0.12345678|40=2|44=64250.01|54=1|55=BTC/USD|59=3|60=20240315-09:30:00.123456|",
        NewOrder(cl_ord_id="ORD-5", instrument_id="BTC/USD", side=Side.BUY, order_qty=d("0.12345678"),
                 ord_type=OrdType.LIMIT, price=d("64250.01"), time_in_force=TimeInForce.IOC, transact_time=T50)),
    row("D-50-ems-sub-cent-price", "ems-default", "FIXT.1.1",
        "35=D|11=ORD-6|38=25000000|40=2|44=0.00002315|54=2|55=SHIB/USD|59=0|60=20240315-09:30:00.123456|",
        NewOrder(cl_ord_id="ORD-6", instrument_id="SHIB/USD", side=Side.SELL, order_qty=d("25000000"),
                 ord_type=OrdType.LIMIT, price=d("0.00002315"), transact_time=T50)),
    row("D-50-broker-twap-group", "generic-broker", "FIXT.1.1",
        "35=D|11=GW-9-3|21=1|38=1500|40=2|44=172.5|54=2|55=MSFT|59=0|60=20240315-09:30:00.123456|847=1000|957=2|"
        "958=StartTime|959=19|960=20240315-13:30:00.000000|958=EndTime|959=19|960=20240315-20:00:00.000000|",
        NewOrder(cl_ord_id="GW-9-3", instrument_id="MSFT", side=Side.SELL, order_qty=d("1500"), ord_type=OrdType.TWAP,
                 price=d("172.5"), transact_time=T50,
                 algo=AlgoParams(start_time=datetime(2024, 3, 15, 13, 30, tzinfo=UTC),
                                 end_time=datetime(2024, 3, 15, 20, 0, tzinfo=UTC)))),
    # --- OrderCancelRequest (F) -------------------------------------------------------------------------
    row("F-42-tradeclient-cancel", "ems-default", "FIX.4.2",
        "35=F|11=1704205800999|38=100|41=1704205800123|54=1|55=MSFT|60=20240102-14:30:00.123|",
        CancelOrder(cl_ord_id="1704205800999", orig_cl_ord_id="1704205800123", instrument_id="MSFT", side=Side.BUY,
                    order_qty=d("100"), transact_time=T42)),
    row("F-44-broker-cancel-with-order-id", "generic-broker", "FIX.4.4",
        "35=F|1=PB-ACC-1|11=GW-9-1.c1|37=BRK-000123|38=300|41=GW-9-1|54=1|55=AAPL|60=20240102-14:30:00.123|",
        CancelOrder(cl_ord_id="GW-9-1.c1", orig_cl_ord_id="GW-9-1", order_id="BRK-000123", instrument_id="AAPL",
                    side=Side.BUY, order_qty=d("300"), account="PB-ACC-1", transact_time=T42)),
    row("F-50-ems-cancel", "ems-default", "FIXT.1.1",
        "35=F|11=ORD-5.c|41=ORD-5|54=1|55=BTC/USD|60=20240315-09:30:00.123456|",
        CancelOrder(cl_ord_id="ORD-5.c", orig_cl_ord_id="ORD-5", instrument_id="BTC/USD", side=Side.BUY,
                    transact_time=T50)),
    # --- OrderCancelReplaceRequest (G) ------------------------------------------------------------------
    row("G-42-broker-replace", "equities-broker-42", "FIX.4.2",
        "35=G|11=GW-7-2.r1|21=1|37=OID-77|38=200|40=2|41=GW-7-2|44=99.95|54=1|55=MSFT|59=0|"
        "60=20240102-14:30:00.123|5001=ACC-7|",
        ReplaceOrder(cl_ord_id="GW-7-2.r1", orig_cl_ord_id="GW-7-2", order_id="OID-77", instrument_id="MSFT",
                     side=Side.BUY, order_qty=d("200"), ord_type=OrdType.LIMIT, price=d("99.95"),
                     time_in_force=TimeInForce.DAY, account="ACC-7", transact_time=T42)),
    row("G-44-ems-replace", "ems-default", "FIX.4.4",
        "35=G|11=ORD-2.r1|38=300|40=4|41=ORD-2|44=101.3|54=5|55=AAPL|60=20240102-14:30:00.123|99=101.6|",
        ReplaceOrder(cl_ord_id="ORD-2.r1", orig_cl_ord_id="ORD-2", instrument_id="AAPL", side=Side.SELL_SHORT,
                     order_qty=d("300"), ord_type=OrdType.STOP_LIMIT, price=d("101.3"), stop_price=d("101.6"),
                     transact_time=T42)),
    row("G-50-broker-replace", "generic-broker", "FIXT.1.1",
        "35=G|11=GW-9-3.r1|21=1|38=0.5|40=2|41=GW-9-3|44=3101.55|54=1|55=ETH/USD|59=1|60=20240315-09:30:00.123456|",
        ReplaceOrder(cl_ord_id="GW-9-3.r1", orig_cl_ord_id="GW-9-3", instrument_id="ETH/USD", side=Side.BUY,
                     order_qty=d("0.5"), ord_type=OrdType.LIMIT, price=d("3101.55"), time_in_force=TimeInForce.GTC,
                     transact_time=T50)),
    # --- OrderStatusRequest (H) -------------------------------------------------------------------------
    row("H-42-ems-status", "ems-default", "FIX.4.2", "35=H|11=1704205800123|54=1|55=MSFT|",
        StatusRequest(cl_ord_id="1704205800123", instrument_id="MSFT", side=Side.BUY)),
    row("H-44-broker-status", "generic-broker", "FIX.4.4", "35=H|11=GW-9-1|37=BRK-000123|54=1|55=AAPL|",
        StatusRequest(cl_ord_id="GW-9-1", order_id="BRK-000123", instrument_id="AAPL", side=Side.BUY)),
    row("H-50-ems-status", "ems-default", "FIXT.1.1", "35=H|11=ORD-5|54=1|55=BTC/USD|",
        StatusRequest(cl_ord_id="ORD-5", instrument_id="BTC/USD", side=Side.BUY)),
    # --- ExecutionReport (8) ----------------------------------------------------------------------------
    row("8-42-executor-fill", "ems-default", "FIX.4.2",
        "35=8|6=10|11=1704205800123|14=100|17=1|20=0|31=10|32=100|37=1|38=100|39=2|54=1|55=MSFT|"
        "60=20240102-14:30:00.123|150=2|151=0|",
        ExecutionEvent(exec_id="1", exec_type=ExecType.TRADE, ord_status=OrdStatus.FILLED, cl_ord_id="1704205800123",
                       order_id="1", instrument_id="MSFT", side=Side.BUY, order_qty=d("100"), last_qty=d("100"),
                       last_px=d("10"), cum_qty=d("100"), leaves_qty=d("0"), avg_px=d("10"), transact_time=T42)),
    row("8-42-broker-ack", "equities-broker-42", "FIX.4.2",
        "35=8|6=0|11=GW-7-1|14=0|17=EX-1|20=0|37=OID-77|38=5000|39=0|40=1|54=2|55=BRK|59=0|"
        "60=20240102-14:30:00.123|65=B|150=0|151=5000|5001=ACC-7|",
        ExecutionEvent(exec_id="EX-1", exec_type=ExecType.NEW, ord_status=OrdStatus.NEW, cl_ord_id="GW-7-1",
                       order_id="OID-77", instrument_id="BRK.B", side=Side.SELL, account="ACC-7",
                       ord_type=OrdType.MARKET, order_qty=d("5000"), time_in_force=TimeInForce.DAY, cum_qty=d("0"),
                       leaves_qty=d("5000"), avg_px=d("0"), transact_time=T42)),
    row("8-42-broker-partial-fill", "equities-broker-42", "FIX.4.2",
        "35=8|6=412.37|11=GW-7-1|14=1200|17=EX-2|20=0|30=XNYS|31=412.37|32=1200|37=OID-77|38=5000|39=1|54=2|"
        "55=BRK|60=20240102-14:30:00.123|65=B|150=1|151=3800|",
        ExecutionEvent(exec_id="EX-2", exec_type=ExecType.TRADE, ord_status=OrdStatus.PARTIALLY_FILLED,
                       cl_ord_id="GW-7-1", order_id="OID-77", instrument_id="BRK.B", side=Side.SELL,
                       order_qty=d("5000"), last_qty=d("1200"), last_px=d("412.37"), last_mkt="XNYS",
                       cum_qty=d("1200"), leaves_qty=d("3800"), avg_px=d("412.37"), transact_time=T42)),
    row("8-42-status-answer", "ems-default", "FIX.4.2",
        "35=8|6=10|11=1704205800123|14=40|17=ST-1|20=3|37=1|38=100|39=1|54=1|55=MSFT|60=20240102-14:30:00.123|"
        "150=1|151=60|",
        ExecutionEvent(exec_id="ST-1", exec_type=ExecType.ORDER_STATUS, ord_status=OrdStatus.PARTIALLY_FILLED,
                       cl_ord_id="1704205800123", order_id="1", instrument_id="MSFT", side=Side.BUY,
                       order_qty=d("100"), cum_qty=d("40"), leaves_qty=d("60"), avg_px=d("10"), transact_time=T42,
                       is_status_response=True)),
    row("8-42-bust", "ems-default", "FIX.4.2",
        "35=8|6=0|11=ORD-2|14=0|17=EX-9|19=EX-2|20=1|37=O-2|38=250|39=0|54=5|55=AAPL|60=20240102-14:30:00.123|"
        "150=0|151=250|",
        ExecutionEvent(exec_id="EX-9", exec_type=ExecType.TRADE_CANCEL, ord_status=OrdStatus.NEW, cl_ord_id="ORD-2",
                       order_id="O-2", instrument_id="AAPL", side=Side.SELL_SHORT, order_qty=d("250"), cum_qty=d("0"),
                       leaves_qty=d("250"), avg_px=d("0"), exec_ref_id="EX-2", transact_time=T42)),
    row("8-42-correction", "ems-default", "FIX.4.2",
        "35=8|6=101.24|11=ORD-2|14=250|17=EX-10|19=EX-3|20=2|31=101.24|32=250|37=O-2|38=250|39=2|54=5|55=AAPL|"
        "60=20240102-14:30:00.123|150=2|151=0|",
        ExecutionEvent(exec_id="EX-10", exec_type=ExecType.TRADE_CORRECT, ord_status=OrdStatus.FILLED,
                       cl_ord_id="ORD-2", order_id="O-2", instrument_id="AAPL", side=Side.SELL_SHORT,
                       order_qty=d("250"), last_qty=d("250"), last_px=d("101.24"), cum_qty=d("250"),
                       leaves_qty=d("0"), avg_px=d("101.24"), exec_ref_id="EX-3", transact_time=T42)),
    row("8-44-executor-fill", "ems-default", "FIX.4.4",
        "35=8|6=10|11=1704205800123|14=100|17=2|31=10|32=100|37=2|38=100|39=2|54=1|55=MSFT|"
        "60=20240102-14:30:00.123|150=F|151=0|",
        ExecutionEvent(exec_id="2", exec_type=ExecType.TRADE, ord_status=OrdStatus.FILLED, cl_ord_id="1704205800123",
                       order_id="2", instrument_id="MSFT", side=Side.BUY, order_qty=d("100"), last_qty=d("100"),
                       last_px=d("10"), cum_qty=d("100"), leaves_qty=d("0"), avg_px=d("10"), transact_time=T42)),
    row("8-44-broker-legacy-fill-code", "generic-broker", "FIX.4.4",
        "35=8|1=PB-ACC-1|6=187.43|11=GW-9-1|12=1.5|14=300|17=X-77|31=187.43|32=300|37=BRK-000123|39=2|54=1|"
        "55=AAPL|60=20240102-14:30:00.123|150=2|151=0|",
        ExecutionEvent(exec_id="X-77", exec_type=ExecType.TRADE, ord_status=OrdStatus.FILLED, cl_ord_id="GW-9-1",
                       order_id="BRK-000123", instrument_id="AAPL", side=Side.BUY, account="PB-ACC-1",
                       last_qty=d("300"), last_px=d("187.43"), cum_qty=d("300"), leaves_qty=d("0"),
                       avg_px=d("187.43"), commission=d("1.5"), transact_time=T42), DECODE_ONLY),
    row("8-44-broker-twap-ack", "generic-broker", "FIX.4.4",
        "35=8|6=0|11=GW-9-4|14=0|17=X-78|37=BRK-000124|38=1500|39=0|40=2|44=172.5|54=2|55=MSFT|"
        "60=20240102-14:30:00.123|150=0|151=1500|847=1000|",
        ExecutionEvent(exec_id="X-78", exec_type=ExecType.NEW, ord_status=OrdStatus.NEW, cl_ord_id="GW-9-4",
                       order_id="BRK-000124", instrument_id="MSFT", side=Side.SELL, ord_type=OrdType.TWAP,
                       order_qty=d("1500"), price=d("172.5"), cum_qty=d("0"), leaves_qty=d("1500"), avg_px=d("0"),
                       transact_time=T42)),
    row("8-44-status-answer", "ems-default", "FIX.4.4",
        "35=8|6=0|11=ORD-4|14=0|17=ST-2|37=O-4|38=1000|39=0|54=1|55=SPY|60=20240102-14:30:00.123|150=I|151=1000|",
        ExecutionEvent(exec_id="ST-2", exec_type=ExecType.ORDER_STATUS, ord_status=OrdStatus.NEW, cl_ord_id="ORD-4",
                       order_id="O-4", instrument_id="SPY", side=Side.BUY, order_qty=d("1000"), cum_qty=d("0"),
                       leaves_qty=d("1000"), avg_px=d("0"), transact_time=T42, is_status_response=True)),
    row("8-44-bust", "ems-default", "FIX.4.4",
        "35=8|6=0|11=ORD-4|14=0|17=EX-20|19=EX-11|37=O-4|39=0|54=1|55=SPY|58=trade busted by venue|"
        "60=20240102-14:30:00.123|150=H|151=1000|",
        ExecutionEvent(exec_id="EX-20", exec_type=ExecType.TRADE_CANCEL, ord_status=OrdStatus.NEW, cl_ord_id="ORD-4",
                       order_id="O-4", instrument_id="SPY", side=Side.BUY, cum_qty=d("0"), leaves_qty=d("1000"),
                       avg_px=d("0"), exec_ref_id="EX-11", text="trade busted by venue", transact_time=T42)),
    row("8-44-correction", "ems-default", "FIX.4.4",
        "35=8|6=512|11=ORD-4|14=1000|17=EX-21|19=EX-12|31=512|32=1000|37=O-4|39=2|54=1|55=SPY|"
        "60=20240102-14:30:00.123|150=G|151=0|",
        ExecutionEvent(exec_id="EX-21", exec_type=ExecType.TRADE_CORRECT, ord_status=OrdStatus.FILLED,
                       cl_ord_id="ORD-4", order_id="O-4", instrument_id="SPY", side=Side.BUY, last_qty=d("1000"),
                       last_px=d("512"), cum_qty=d("1000"), leaves_qty=d("0"), avg_px=d("512"), exec_ref_id="EX-12",
                       transact_time=T42)),
    row("8-44-rejected", "ems-default", "FIX.4.4",
        "35=8|6=0|11=ORD-7|14=0|17=RJ-1|37=NONE|38=100|39=8|54=1|55=AAPL|58=order exceeds credit limit|"
        "60=20240102-14:30:00.123|103=3|150=8|151=0|",
        ExecutionEvent(exec_id="RJ-1", exec_type=ExecType.REJECTED, ord_status=OrdStatus.REJECTED, cl_ord_id="ORD-7",
                       instrument_id="AAPL", side=Side.BUY, order_qty=d("100"), cum_qty=d("0"), leaves_qty=d("0"),
                       avg_px=d("0"), ord_rej_reason=OrdRejReason.ORDER_EXCEEDS_LIMIT,
                       text="order exceeds credit limit", transact_time=T42)),
    row("8-44-replaced", "ems-default", "FIX.4.4",
        "35=8|6=0|11=ORD-2.r1|14=0|17=EX-30|37=O-2|38=300|39=0|41=ORD-2|44=101.3|54=5|55=AAPL|"
        "60=20240102-14:30:00.123|150=5|151=300|",
        ExecutionEvent(exec_id="EX-30", exec_type=ExecType.REPLACED, ord_status=OrdStatus.NEW, cl_ord_id="ORD-2.r1",
                       orig_cl_ord_id="ORD-2", order_id="O-2", instrument_id="AAPL", side=Side.SELL_SHORT,
                       order_qty=d("300"), price=d("101.3"), cum_qty=d("0"), leaves_qty=d("300"), avg_px=d("0"),
                       transact_time=T42)),
    row("8-44-fixed-income-fill", "fixed-income-broker", "FIX.4.4",
        "35=8|6=99.8671875|11=GW-3-1|14=5000000|17=FI-1|22=4|31=99.8671875|32=5000000|37=FI-ORD-1|39=2|"
        "48=US91282CJL63|54=1|60=20240102-14:30:00.123|150=F|151=0|",
        ExecutionEvent(exec_id="FI-1", exec_type=ExecType.TRADE, ord_status=OrdStatus.FILLED, cl_ord_id="GW-3-1",
                       order_id="FI-ORD-1", instrument_id="US91282CJL63", side=Side.BUY, last_qty=d("5000000"),
                       last_px=d("99.8671875"), cum_qty=d("5000000"), leaves_qty=d("0"), avg_px=d("99.8671875"),
                       transact_time=T42)),
    row("8-50-ems-crypto-partial", "ems-default", "FIXT.1.1",
        "35=8|6=64250.01|11=ORD-5|14=0.05|17=EX-40|31=64250.01|32=0.05|37=O-5|38=0.12345678|39=1|44=64250.01|"
        "54=1|55=BTC/USD|60=20240315-09:30:00.123456|150=F|151=0.07345678|",
        ExecutionEvent(exec_id="EX-40", exec_type=ExecType.TRADE, ord_status=OrdStatus.PARTIALLY_FILLED,
                       cl_ord_id="ORD-5", order_id="O-5", instrument_id="BTC/USD", side=Side.BUY,
                       order_qty=d("0.12345678"), price=d("64250.01"), last_qty=d("0.05"), last_px=d("64250.01"),
                       cum_qty=d("0.05"), leaves_qty=d("0.07345678"), avg_px=d("64250.01"), transact_time=T50)),
    row("8-50-broker-canceled", "generic-broker", "FIXT.1.1",
        "35=8|6=0|11=GW-9-3.c1|14=0|17=X-90|37=BRK-000125|38=1500|39=4|41=GW-9-3|54=2|55=MSFT|"
        "60=20240315-09:30:00.123456|150=4|151=0|",
        ExecutionEvent(exec_id="X-90", exec_type=ExecType.CANCELED, ord_status=OrdStatus.CANCELED,
                       cl_ord_id="GW-9-3.c1", orig_cl_ord_id="GW-9-3", order_id="BRK-000125", instrument_id="MSFT",
                       side=Side.SELL, order_qty=d("1500"), cum_qty=d("0"), leaves_qty=d("0"), avg_px=d("0"),
                       transact_time=T50)),
    # --- OrderCancelReject (9) --------------------------------------------------------------------------
    row("9-42-ems-unknown-order", "ems-default", "FIX.4.2",
        "35=9|11=1704205800999|37=NONE|39=8|41=1704205800123|58=unknown order|102=1|434=1|",
        CancelRejectEvent(cl_ord_id="1704205800999", orig_cl_ord_id="1704205800123", ord_status=OrdStatus.REJECTED,
                          response_to=CxlRejResponseTo.CANCEL, reason=CxlRejReason.UNKNOWN_ORDER,
                          text="unknown order")),
    row("9-44-broker-too-late", "generic-broker", "FIX.4.4",
        "35=9|11=GW-9-1.r1|37=BRK-000123|39=2|41=GW-9-1|60=20240102-14:30:00.123|102=0|434=2|",
        CancelRejectEvent(cl_ord_id="GW-9-1.r1", orig_cl_ord_id="GW-9-1", order_id="BRK-000123",
                          ord_status=OrdStatus.FILLED, response_to=CxlRejResponseTo.REPLACE,
                          reason=CxlRejReason.TOO_LATE_TO_CANCEL, transact_time=T42)),
    row("9-50-ems-pending", "ems-default", "FIXT.1.1",
        "35=9|1=ACC-1|11=ORD-5.c2|37=O-5|39=6|41=ORD-5|58=cancel already pending|60=20240315-09:30:00.123456|"
        "102=3|434=1|",
        CancelRejectEvent(cl_ord_id="ORD-5.c2", orig_cl_ord_id="ORD-5", order_id="O-5",
                          ord_status=OrdStatus.PENDING_CANCEL, response_to=CxlRejResponseTo.CANCEL,
                          reason=CxlRejReason.ALREADY_PENDING, text="cancel already pending", account="ACC-1",
                          transact_time=T50)),
    # --- BusinessMessageReject (j) ----------------------------------------------------------------------
    row("j-42-unsupported", "ems-default", "FIX.4.2", "35=j|45=5|58=Unsupported message type|372=E|380=3|",
        BusinessReject(ref_seq_num=5, ref_msg_type="E", reason=BusinessRejectReason.UNSUPPORTED_MESSAGE_TYPE,
                       text="Unsupported message type")),
    row("j-44-broker-unknown-security", "generic-broker", "FIX.4.4",
        "35=j|45=41|58=unknown security|372=D|379=GW-9-9|380=2|",
        BusinessReject(ref_seq_num=41, ref_msg_type="D", ref_id="GW-9-9",
                       reason=BusinessRejectReason.UNKNOWN_SECURITY, text="unknown security")),
    row("j-50-ems-cond-required", "ems-default", "FIXT.1.1", "35=j|45=9|372=F|379=ORD-5.c|380=5|",
        BusinessReject(ref_seq_num=9, ref_msg_type="F", ref_id="ORD-5.c",
                       reason=BusinessRejectReason.CONDITIONALLY_REQUIRED_FIELD_MISSING)),
    # --- Reject (3) -------------------------------------------------------------------------------------
    row("3-42-required-missing", "ems-default", "FIX.4.2",
        "35=3|45=2|58=Required tag missing|371=55|372=D|373=1|",
        SessionReject(ref_seq_num=2, ref_tag_id=55, ref_msg_type="D",
                      reason=SessionRejectReason.REQUIRED_TAG_MISSING, text="Required tag missing")),
    row("3-44-broker-bad-value", "generic-broker", "FIX.4.4", "35=3|45=17|371=54|372=D|373=5|",
        SessionReject(ref_seq_num=17, ref_tag_id=54, ref_msg_type="D", reason=SessionRejectReason.VALUE_OUT_OF_RANGE)),
    row("3-50-ems-format", "ems-default", "FIXT.1.1", "35=3|45=33|58=bad qty|371=38|372=D|373=6|",
        SessionReject(ref_seq_num=33, ref_tag_id=38, ref_msg_type="D",
                      reason=SessionRejectReason.INCORRECT_DATA_FORMAT, text="bad qty")),
]


def _body(wire: list[tuple[int, str]]) -> list[tuple[int, str]]:
    return [field for field in wire if field[0] == 35 or (field[0] not in HEADER_TAGS and field[0] != 10)]


@pytest.mark.parametrize(("dialect", "begin", "text", "value", "marks"), ROWS)
def test_decode(dialect: str, begin: str, text: str, value: BaseModel, marks: tuple[str, ...]) -> None:
    fields = parse_fix(text, "|")
    decoded = DECODERS[FieldView(fields)[35]](FieldView(fields), codec(dialect, begin))
    assert decoded == value


@pytest.mark.parametrize(("dialect", "begin", "text", "value", "marks"), ROWS)
def test_decoded_values_are_what_validation_makes(dialect: str, begin: str, text: str, value: BaseModel,
                                                  marks: tuple[str, ...]) -> None:
    """Decoders build values without re-validating: they must be exactly what the model would produce."""
    fields = parse_fix(text, "|")
    decoded = DECODERS[FieldView(fields)[35]](FieldView(fields), codec(dialect, begin))
    validated = type(decoded).model_validate(decoded.model_dump())
    assert repr(decoded) == repr(validated)  # repr shows each Decimal's scale and every field, in order
    assert decoded.model_fields_set <= set(type(decoded).model_fields)
    assert hash(decoded) == hash(validated)


@pytest.mark.parametrize(("dialect", "begin", "text", "value", "marks"), ROWS)
def test_encode(dialect: str, begin: str, text: str, value: BaseModel, marks: tuple[str, ...]) -> None:
    if DECODE_ONLY in marks:
        pytest.skip("a form we read but do not write")
    expected = _body(parse_fix(text, "|"))
    body = encode(value, codec(dialect, begin))
    assert body[0] == expected[0]
    missing = Counter(expected) - Counter(body)
    assert not missing, f"encoded {render_fix(body)} lacks {sorted(missing)}"
    assert [f for f in body if f[0] in GROUP_TAGS] == [f for f in expected if f[0] in GROUP_TAGS]
    assert not [f for f in body if f[0] in HEADER_TAGS and f[0] != 35], "the session layer owns the header"


@pytest.mark.parametrize(("dialect", "begin", "text", "value", "marks"), ROWS)
def test_round_trip(dialect: str, begin: str, text: str, value: BaseModel, marks: tuple[str, ...]) -> None:
    if DECODE_ONLY in marks:
        pytest.skip("a form we read but do not write")
    body = encode(value, codec(dialect, begin))
    assert DECODERS[body[0][1]](FieldView(body), codec(dialect, begin)) == value


def test_every_message_type_and_version_has_rows() -> None:
    covered = {(param.values[1], FieldView(parse_fix(str(param.values[2]), "|"))[35]) for param in ROWS}
    wanted = {(begin, msg_type) for begin in ("FIX.4.2", "FIX.4.4", "FIXT.1.1") for msg_type in DECODERS}
    assert wanted <= covered, sorted(wanted - covered)


def test_decode_dispatches_by_role() -> None:
    fields = parse_fix(H44 + "35=8|6=0|11=A|14=0|17=E|37=O|39=0|54=1|55=MSFT|150=0|151=1|" + TAIL, "|")
    assert isinstance(decode(fields, codec("generic-broker", "FIX.4.4")), ExecutionEvent)
    order = parse_fix(H42 + "35=D|11=1|21=1|38=100|40=1|54=1|55=MSFT|60=20240102-14:30:00.123|" + TAIL, "|")
    assert isinstance(decode(order, codec("ems-default", "FIX.4.2")), NewOrder)


def test_fix42_trade_encodes_partial_fill_or_fill_from_status() -> None:
    fill = ExecutionEvent(exec_id="E", exec_type=ExecType.TRADE, ord_status=OrdStatus.PARTIALLY_FILLED,
                          transact_time=T42)
    assert (150, "1") in encode(fill, codec("ems-default", "FIX.4.2"))
    done = fill.model_copy(update={"ord_status": OrdStatus.FILLED})
    assert (150, "2") in encode(done, codec("ems-default", "FIX.4.2"))
    assert (150, "F") in encode(done, codec("ems-default", "FIX.4.4"))
    assert (20, "0") in encode(done, codec("ems-default", "FIX.4.2"))
    assert not [f for f in encode(done, codec("ems-default", "FIX.4.4")) if f[0] == 20]


def test_local_statuses_show_as_fix_codes() -> None:
    denied = ExecutionEvent(exec_id="E", exec_type=ExecType.REJECTED, ord_status=OrdStatus.DENIED,
                            ord_rej_reason=OrdRejReason.ORDER_EXCEEDS_LIMIT, text="risk: notional", transact_time=T42)
    body = encode(denied, codec("ems-default", "FIX.4.4"))
    assert (39, "8") in body and (150, "8") in body and (103, "3") in body


def test_fix42_encoder_adds_handl_inst() -> None:
    order = NewOrder(cl_ord_id="X", instrument_id="MSFT", side=Side.BUY, order_qty=d("1"), ord_type=OrdType.MARKET,
                     transact_time=T42)
    assert (21, "1") in encode(order, codec("ems-default", "FIX.4.2"))
    assert 21 not in dict(encode(order, codec("ems-default", "FIX.4.4")))


def test_transact_time_precision_per_version_and_dialect() -> None:
    event = ExecutionEvent(exec_id="E", exec_type=ExecType.NEW, ord_status=OrdStatus.NEW, transact_time=T50)
    assert dict(encode(event, codec("ems-default", "FIX.4.4")))[60] == "20240315-09:30:00.123"
    assert dict(encode(event, codec("ems-default", "FIXT.1.1")))[60] == "20240315-09:30:00.123456"


@pytest.mark.parametrize("text", ["20240315-09:30:00", "20240315-09:30:00.123", "20240315-09:30:00.123456",
                                  "20240315-09:30:00.123456789"])
def test_transact_time_formats(text: str) -> None:
    fields = parse_fix(H44 + f"35=8|6=0|11=A|14=0|17=E|37=O|39=0|54=1|55=MSFT|60={text}|150=0|151=1|" + TAIL, "|")
    event = decode(fields, codec("generic-broker", "FIX.4.4"))
    assert isinstance(event, ExecutionEvent) and event.transact_time is not None
    fraction = (text[18:] + "000000")[:6]
    assert event.transact_time == datetime(2024, 3, 15, 9, 30, 0, int(fraction), tzinfo=UTC)


# --- QuickFIX's own message builders (tradeclient / executor shapes) -------------------------------------


def test_quickfix_tradeclient_and_executor_messages_decode() -> None:
    qf = pytest.importorskip("quickfix")
    qf42 = pytest.importorskip("quickfix42")
    from fixgw.engine.quickfix_support import message_to_fields

    order = qf42.NewOrderSingle()
    order.getHeader().setField(qf.BeginString("FIX.4.2"))
    order.getHeader().setField(qf.SenderCompID("CLIENT1"))
    order.getHeader().setField(qf.TargetCompID("EXECUTOR"))
    order.getHeader().setField(qf.MsgSeqNum(2))
    order.setField(qf.ClOrdID("1"))
    order.setField(qf.HandlInst("1"))
    order.setField(qf.Symbol("MSFT"))
    order.setField(qf.Side(qf.Side_BUY))
    order.setField(qf.TransactTime())
    order.setField(qf.OrdType(qf.OrdType_LIMIT))
    order.setField(qf.OrderQty(100))
    order.setField(qf.Price(10))
    order.setField(qf.TimeInForce(qf.TimeInForce_DAY))
    decoded = decode(message_to_fields(order), codec("ems-default", "FIX.4.2"))
    assert isinstance(decoded, NewOrder)
    assert (decoded.instrument_id, decoded.order_qty, decoded.price) == ("MSFT", 100, 10)

    report = qf42.ExecutionReport()
    report.getHeader().setField(qf.BeginString("FIX.4.2"))
    report.getHeader().setField(qf.MsgSeqNum(2))
    for field in (qf.OrderID("1"), qf.ExecID("1"), qf.ExecTransType("0"), qf.ExecType("2"), qf.OrdStatus("2"),
                  qf.Symbol("MSFT"), qf.Side("1"), qf.LeavesQty(0), qf.CumQty(100), qf.AvgPx(10)):
        report.setField(field)
    report.setField(qf.ClOrdID("1"))
    report.setField(qf.OrderQty(100))
    report.setField(qf.LastShares(100))
    report.setField(qf.LastPx(10))
    event = decode(message_to_fields(report), codec("equities-broker-42", "FIX.4.2"))
    assert isinstance(event, ExecutionEvent)
    assert (event.exec_type, event.ord_status, event.cum_qty, event.last_px) == (
        ExecType.TRADE, OrdStatus.FILLED, 100, 10)


@pytest.mark.parametrize(("dialect", "begin", "text", "value", "marks"), ROWS)
def test_encoded_bodies_pass_quickfix_validation(dialect: str, begin: str, text: str, value: BaseModel,
                                                 marks: tuple[str, ...]) -> None:
    """What we send is a valid message for the counterparty's data dictionary (custom tags aside)."""
    qf = pytest.importorskip("quickfix")
    if DECODE_ONLY in marks:
        pytest.skip("a form we read but do not write")
    from fixgw.engine.quickfix_support import fields_to_message, load_data_dictionary

    body = encode(value, codec(dialect, begin))
    header = [(49, "FIXGW"), (56, "PEER"), (34, "3"), (52, "20240102-14:30:00.123")]
    if begin == "FIXT.1.1" and body[0][1] == "3":
        pytest.skip("session Reject of FIXT lives in the transport dictionary")
    message = fields_to_message(body + header, begin_string=begin)
    dictionary = qf.DataDictionary(load_data_dictionary(begin))
    dictionary.checkUserDefinedFields(False)  # the dialects' own tags (5001, 6400, 8001 ...)
    dictionary.allowUnknownMsgFields(True)    # e.g. StrategyParameters, which stock FIX 4.4 lacks
    dictionary.checkFieldsOutOfOrder(False)
    for strategy in codec(dialect, begin).strategy_out.values():
        dictionary.addFieldValue(847, strategy)  # TargetStrategy >= 1000 is user-defined by the standard
    if begin == "FIX.4.4" and 957 in dict(body):
        pytest.skip("stock FIX 4.4 dictionary has no StrategyParameters group (deployments extend the XML)")
    if begin == "FIXT.1.1":
        message.getHeader().setField(qf.ApplVerID("9"))
        dictionary.setVersion("FIXT.1.1")
    dictionary.validate(message)


# --- the REQUIRED table is the data dictionaries' ----------------------------------------------------------


def _required_body_tags(path: Path, msg_type: str) -> set[int]:
    root = ET.parse(path).getroot()
    numbers = {field.get("name"): int(field.get("number") or 0) for field in root.iter("field")
               if field.get("number")}
    for message in root.iter("message"):
        if message.get("msgtype") == msg_type:
            return {numbers[child.get("name")] for child in message
                    if child.tag == "field" and child.get("required") == "Y"}
    raise AssertionError(f"{msg_type} not in {path}")


@pytest.mark.parametrize("version", list(FixVersion))
def test_required_table_matches_data_dictionaries(version: FixVersion) -> None:
    spec = {FixVersion.FIX42: "FIX42.xml", FixVersion.FIX44: "FIX44.xml", FixVersion.FIX50SP2: "FIX50SP2.xml"}
    for msg_type, tags in REQUIRED[version].items():
        path = SPEC_DIR / ("FIXT11.xml" if version is FixVersion.FIX50SP2 and msg_type == "3" else spec[version])
        assert set(tags) == _required_body_tags(path, msg_type), (version, msg_type)
