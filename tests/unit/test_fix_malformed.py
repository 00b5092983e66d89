"""Malformed and invalid input: each case raises the typed error with the right kind, RefTagID and reason,
and `reject_reply` turns it into the right answer (35=3 / 35=j / rejected 35=8 / 35=9)."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixgw.fix.codec import Codec
from fixgw.fix.decode import decode, decode_new_order
from fixgw.fix.dialect import DialectMappingError, dialect_named
from fixgw.fix.fields import FieldView
from fixgw.fix.rejects import reject_reply
from fixgw.fix.symbols import load_symbol_master
from fixgw.fix.wire import parse_fix
from fixgw.model.enums import BusinessRejectReason, OrdRejReason, SessionRejectReason
from fixgw.model.errors import MessageRejected, UnknownSymbolError

H42 = "8=FIX.4.2|9=0|34=2|49=CLIENT1|52=20240102-14:30:00.125|56=FIXGW|"
H44 = "8=FIX.4.4|9=0|34=7|49=CLIENT1|52=20240102-14:30:00.125|56=FIXGW|"
H50 = "8=FIXT.1.1|9=0|34=12|49=EMS|52=20240315-09:30:00.123999|56=FIXGW|"
NOS42 = "35=D|11=ORD-1|21=1|38=100|40=2|44=10.5|54=1|55=MSFT|59=0|60=20240102-14:30:00.123|"
NOS44 = "35=D|11=ORD-1|38=100|40=2|44=10.5|54=1|55=MSFT|59=0|60=20240102-14:30:00.123|"
ER44 = "35=8|6=0|11=GW-1|14=0|17=E-1|37=O-1|39=0|54=1|55=MSFT|150=0|151=100|"
SESSION, BUSINESS, ORDER = "session", "business", "order"
NOW = datetime(2024, 1, 2, 14, 30, 1, tzinfo=UTC)


@cache
def codec(dialect: str = "ems-default", begin: str = "FIX.4.4") -> Codec:
    return Codec(dialect_named(dialect), load_symbol_master(), begin)


def fields(header: str, body: str, **changes: str | None) -> list[tuple[int, str]]:
    """Parse `body` after `header`; `changes` maps "t44" -> new value, or None to drop the tag."""
    parsed = parse_fix(header + body + "10=000|", "|")
    edits = {int(key[1:]): value for key, value in changes.items()}
    out = [(tag, edits.get(tag, value)) for tag, value in parsed if not (tag in edits and edits[tag] is None)]
    return [(tag, value) for tag, value in out if value is not None]


def case(name: str, header: str, body: str, kind: str, ref_tag: int | None, reason: Any,
         dialect: str = "ems-default", begin: str = "FIX.4.4", **changes: str | None) -> Any:
    return pytest.param(fields(header, body, **changes), dialect, begin, kind, ref_tag, reason, id=name)


CASES = [
    # missing required tags -> 35=3, 373=1
    case("D-no-ClOrdID", H44, NOS44, SESSION, 11, SessionRejectReason.REQUIRED_TAG_MISSING, t11=None),
    case("D-no-Side", H44, NOS44, SESSION, 54, SessionRejectReason.REQUIRED_TAG_MISSING, t54=None),
    case("D-no-TransactTime", H44, NOS44, SESSION, 60, SessionRejectReason.REQUIRED_TAG_MISSING, t60=None),
    case("D-42-no-HandlInst", H42, NOS42, SESSION, 21, SessionRejectReason.REQUIRED_TAG_MISSING,
         begin="FIX.4.2", t21=None),
    case("D-no-Symbol", H44, NOS44, SESSION, 55, SessionRejectReason.REQUIRED_TAG_MISSING, t55=None),
    case("D-empty-Symbol", H44, NOS44, SESSION, 55, SessionRejectReason.REQUIRED_TAG_MISSING, t55=""),
    case("D-empty-OrdType", H44, NOS44, SESSION, 40, SessionRejectReason.TAG_WITHOUT_VALUE, t40=""),
    case("8-42-no-ExecTransType", H42, ER44 + "20=0|", SESSION, 20, SessionRejectReason.REQUIRED_TAG_MISSING,
         dialect="equities-broker-42", begin="FIX.4.2", t20=None),
    case("8-no-LeavesQty", H44, ER44, SESSION, 151, SessionRejectReason.REQUIRED_TAG_MISSING,
         dialect="generic-broker", t151=None),
    case("8-no-ClOrdID-dialect-requires", H44, ER44, SESSION, 11, SessionRejectReason.REQUIRED_TAG_MISSING,
         dialect="generic-broker", t11=None),
    case("8-fixed-income-no-SecurityID", H44, ER44 + "22=4|", SESSION, 48, SessionRejectReason.REQUIRED_TAG_MISSING,
         dialect="fixed-income-broker"),
    case("9-no-CxlRejResponseTo", H44, "35=9|11=A|37=O|39=0|41=B|", SESSION, 434,
         SessionRejectReason.REQUIRED_TAG_MISSING, dialect="generic-broker"),
    case("j-no-reason", H44, "35=j|45=3|372=D|", SESSION, 380, SessionRejectReason.REQUIRED_TAG_MISSING),
    case("3-no-RefSeqNum", H44, "35=3|373=1|", SESSION, 45, SessionRejectReason.REQUIRED_TAG_MISSING),
    # bad enum values -> 35=3, 373=5
    case("D-other-version-than-session", H42, NOS42, SESSION, 8, SessionRejectReason.VALUE_OUT_OF_RANGE),
    case("D-50-ApplVerID-5.0SP1", H50, NOS44 + "1128=8|", SESSION, 1128, SessionRejectReason.VALUE_OUT_OF_RANGE,
         begin="FIXT.1.1"),
    case("D-bad-Side", H44, NOS44, SESSION, 54, SessionRejectReason.VALUE_OUT_OF_RANGE, t54="9"),
    case("D-bad-OrdType", H44, NOS44, SESSION, 40, SessionRejectReason.VALUE_OUT_OF_RANGE, t40="Z"),
    case("D-bad-TimeInForce", H44, NOS44, SESSION, 59, SessionRejectReason.VALUE_OUT_OF_RANGE, t59="9"),
    case("D-42-CLS-not-in-4.2", H42, NOS42, SESSION, 59, SessionRejectReason.VALUE_OUT_OF_RANGE,
         begin="FIX.4.2", t59="7"),
    case("D-unknown-strategy", H44, NOS44 + "847=77|", SESSION, 847, SessionRejectReason.VALUE_OUT_OF_RANGE),
    case("8-44-fix42-fill-code", H44, ER44, SESSION, 150, SessionRejectReason.VALUE_OUT_OF_RANGE,
         dialect="fixed-income-broker", t150="2", t48="US91282CJL63", t22="4"),
    case("8-bad-OrdStatus", H44, ER44, SESSION, 39, SessionRejectReason.VALUE_OUT_OF_RANGE,
         dialect="generic-broker", t39="Q"),
    case("8-42-bad-ExecTransType", H42, ER44 + "20=7|", SESSION, 20, SessionRejectReason.VALUE_OUT_OF_RANGE,
         dialect="equities-broker-42", begin="FIX.4.2"),
    case("9-bad-CxlRejResponseTo", H44, "35=9|11=A|37=O|39=0|41=B|434=3|", SESSION, 434,
         SessionRejectReason.VALUE_OUT_OF_RANGE, dialect="generic-broker"),
    # not numbers / not timestamps -> 35=3, 373=6
    case("D-qty-letters", H44, NOS44, SESSION, 38, SessionRejectReason.INCORRECT_DATA_FORMAT, t38="abc"),
    case("D-qty-exponent", H44, NOS44, SESSION, 38, SessionRejectReason.INCORRECT_DATA_FORMAT, t38="1e3"),
    case("D-qty-nan", H44, NOS44, SESSION, 38, SessionRejectReason.INCORRECT_DATA_FORMAT, t38="NaN"),
    case("D-qty-underscore", H44, NOS44, SESSION, 38, SessionRejectReason.INCORRECT_DATA_FORMAT, t38="1_000"),
    case("D-qty-too-many-decimals", H44, NOS44, SESSION, 38, SessionRejectReason.INCORRECT_DATA_FORMAT,
         t38="0.00000000001"),
    case("D-price-thousands-separator", H44, NOS44, SESSION, 44, SessionRejectReason.INCORRECT_DATA_FORMAT,
         t44="1,000.5"),
    case("D-price-padded", H44, NOS44, SESSION, 44, SessionRejectReason.INCORRECT_DATA_FORMAT, t44=" 10.5"),
    case("D-price-two-dots", H44, NOS44, SESSION, 44, SessionRejectReason.INCORRECT_DATA_FORMAT, t44="10.5.1"),
    case("D-bad-TransactTime", H44, NOS44, SESSION, 60, SessionRejectReason.INCORRECT_DATA_FORMAT,
         t60="2024-01-02T14:30:00Z"),
    case("D-impossible-date", H44, NOS44, SESSION, 60, SessionRejectReason.INCORRECT_DATA_FORMAT,
         t60="20240230-14:30:00.000"),
    case("3-RefSeqNum-not-int", H44, "35=3|45=x|", SESSION, 45, SessionRejectReason.INCORRECT_DATA_FORMAT),
    # repeating group counts
    case("D-group-count-mismatch", H44, NOS44 + "847=1|957=2|958=StartTime|959=19|960=20240102-14:30:00|", SESSION,
         957, SessionRejectReason.OTHER),
    # order-level: well formed, invalid -> rejected ExecutionReport
    case("D-qty-zero", H44, NOS44, ORDER, 38, OrdRejReason.OTHER, t38="0"),
    case("D-qty-negative", H44, NOS44, ORDER, 38, OrdRejReason.OTHER, t38="-5"),
    case("D-no-qty", H44, NOS44, ORDER, 38, OrdRejReason.OTHER, t38=None),
    case("D-limit-without-price", H44, NOS44, ORDER, 44, OrdRejReason.OTHER, t44=None),
    case("D-limit-zero-price", H44, NOS44, ORDER, 44, OrdRejReason.OTHER, t44="0"),
    case("D-stop-limit-without-stop", H44, NOS44, ORDER, 99, OrdRejReason.OTHER, t40="4"),
    case("D-gtd-without-expire", H44, NOS44, ORDER, 126, OrdRejReason.OTHER, t59="6"),
    case("D-algo-on-stop", H44, NOS44 + "99=10|847=1|", ORDER, 40, OrdRejReason.OTHER, t40="4"),
    case("D-algo-participation-over-1", H44, NOS44 + "847=1|957=1|958=MaxPctVolume|959=11|960=1.5|", ORDER, 847,
         OrdRejReason.OTHER),
    case("D-unknown-symbol", H44, NOS44, ORDER, 55, OrdRejReason.UNKNOWN_SYMBOL, t55="NOPE"),
    case("D-unknown-isin", H44, NOS44 + "22=4|48=US0000000000|", ORDER, 48, OrdRejReason.UNKNOWN_SYMBOL, t55=None),
    case("D-usd-pair-is-not-usdt", H44, NOS44, ORDER, 55, OrdRejReason.UNKNOWN_SYMBOL, t55="BTCUSDT"),
    # conditionally required (5.0 SP2 makes OrigClOrdID optional; we need it) -> 35=j 380=5
    case("F-50-no-OrigClOrdID", H50, "35=F|11=C-1|54=1|55=MSFT|60=20240315-09:30:00.123|", BUSINESS, 41,
         BusinessRejectReason.CONDITIONALLY_REQUIRED_FIELD_MISSING, begin="FIXT.1.1"),
    case("H-50-no-ClOrdID", H50, "35=H|37=O-1|54=1|55=MSFT|", BUSINESS, 11,
         BusinessRejectReason.CONDITIONALLY_REQUIRED_FIELD_MISSING, begin="FIXT.1.1"),
    # unsupported message types -> 35=j 380=3
    case("E-new-order-list", H44, "35=E|66=L1|68=1|", BUSINESS, None, BusinessRejectReason.UNSUPPORTED_MESSAGE_TYPE),
    case("8-from-a-client", H44, ER44, BUSINESS, None, BusinessRejectReason.UNSUPPORTED_MESSAGE_TYPE),
    case("D-from-a-broker", H44, NOS44, BUSINESS, None, BusinessRejectReason.UNSUPPORTED_MESSAGE_TYPE,
         dialect="generic-broker"),
]


@pytest.mark.parametrize(("message", "dialect", "begin", "kind", "ref_tag", "reason"), CASES)
def test_malformed_raises_typed_error(message: list[tuple[int, str]], dialect: str, begin: str, kind: str,
                                      ref_tag: int | None, reason: Any) -> None:
    with pytest.raises(MessageRejected) as caught:
        decode(message, codec(dialect, begin))
    error = caught.value
    assert (error.kind, error.ref_tag_id) == (kind, ref_tag), repr(error)
    actual = {SESSION: error.session_reason, BUSINESS: error.business_reason, ORDER: error.ord_rej_reason}[kind]
    assert actual is reason
    assert error.counterparty == dialect
    assert error.text


@pytest.mark.parametrize(("message", "dialect", "begin", "kind", "ref_tag", "reason"), CASES)
def test_every_refusal_has_a_reply(message: list[tuple[int, str]], dialect: str, begin: str, kind: str,
                                   ref_tag: int | None, reason: Any) -> None:
    with pytest.raises(MessageRejected) as caught:
        decode(message, codec(dialect, begin))
    reply = reject_reply(caught.value, message, codec(dialect, begin), exec_id="RJ-1", transact_time=NOW)
    first = dict(reply)
    assert first[35] in {"3", "j", "8", "9"} and first[58] == caught.value.text
    if kind == SESSION:
        assert first[35] == "3" and first[373] == reason.value and first[371] == str(ref_tag)
    elif kind == BUSINESS:
        assert first[35] == "j" and first[380] == reason.value
    else:
        assert first[35] == "8" and first[103] == reason.value


@pytest.mark.parametrize("echo", ["40=P|", "59=Z|", "40=2|847=4242|", "103=77|"])
def test_reports_tolerate_codes_that_only_echo_or_explain(echo: str) -> None:
    """An unmappable OrdType/TimeInForce/strategy echo or reject reason must never lose an execution."""
    from fixgw.model.orders import ExecutionEvent

    report = decode(fields(H44, ER44 + echo), codec("generic-broker"))
    assert isinstance(report, ExecutionEvent) and report.exec_id == "E-1"
    assert report.time_in_force is None
    assert report.ord_rej_reason in (None, OrdRejReason.OTHER)


def test_mapping_error_names_counterparty_tag_and_value() -> None:
    message = fields(H44, NOS44, t54="X")
    with pytest.raises(DialectMappingError) as caught:
        decode(message, codec())
    assert (caught.value.counterparty, caught.value.tag, caught.value.value) == ("ems-default", 54, "X")
    assert "ems-default" in caught.value.text and "Side(54)" in caught.value.text and "'X'" in caught.value.text


def test_unknown_symbol_error_names_scheme_and_symbol() -> None:
    with pytest.raises(UnknownSymbolError) as caught:
        decode(fields(H44, NOS44, t55="XBT/USD"), codec())
    assert (caught.value.symbol, caught.value.counterparty, caught.value.ref_tag_id) == ("XBT/USD", "ems-default", 55)


def test_error_messages_are_clear() -> None:
    with pytest.raises(MessageRejected, match=r"OrderQty\(38\) must be positive, got -5"):
        decode(fields(H44, NOS44, t38="-5"), codec())
    with pytest.raises(MessageRejected, match=r"Price\(44\) is required for a LIMIT order"):
        decode(fields(H44, NOS44, t44=None), codec())
    with pytest.raises(MessageRejected, match=r"Required tag missing: ClOrdID\(11\)"):
        decode(fields(H44, NOS44, t11=None), codec())


# --- reject_reply ------------------------------------------------------------------------------------------


def _refusal(message: list[tuple[int, str]], dialect: str = "ems-default", begin: str = "FIX.4.4") -> MessageRejected:
    try:
        decode(message, codec(dialect, begin))
    except MessageRejected as error:
        return error
    raise AssertionError("decoded without error")


def test_session_reject_reply() -> None:
    message = fields(H44, NOS44, t54="9")
    reply = reject_reply(_refusal(message), message, codec(), exec_id="RJ-1")
    assert reply[:5] == [(35, "3"), (45, "7"), (371, "54"), (372, "D"), (373, "5")]
    assert reply[5][0] == 58


def test_business_reject_reply_for_unsupported_message_type() -> None:
    message = fields(H44, "35=AB|11=ML-1|")
    reply = reject_reply(_refusal(message), message, codec(), exec_id="RJ-1")
    assert reply[:5] == [(35, "j"), (45, "7"), (372, "AB"), (379, "ML-1"), (380, "3")]


@pytest.mark.parametrize(("header", "begin"), [(H42, "FIX.4.2"), (H44, "FIX.4.4")])
def test_rejected_execution_report_echoes_the_order(header: str, begin: str) -> None:
    body = NOS42 if begin == "FIX.4.2" else NOS44
    message = fields(header, body + "1=ACC-9|", t55="NOPE")
    reply = reject_reply(_refusal(message, begin=begin), message, codec(begin=begin), exec_id="RJ-7",
                         transact_time=NOW)
    first = dict(reply)
    assert reply[0] == (35, "8")
    assert {tag: first[tag] for tag in (11, 17, 37, 39, 150, 103, 55, 54, 38, 40, 44, 1, 151, 14, 6)} == {
        11: "ORD-1", 17: "RJ-7", 37: "NONE", 39: "8", 150: "8", 103: "1", 55: "NOPE", 54: "1", 38: "100",
        40: "2", 44: "10.5", 1: "ACC-9", 151: "0", 14: "0", 6: "0"}
    assert first[58] == "unknown symbol 'NOPE' (scheme canonical)"
    assert first[60] == "20240102-14:30:01.000"
    assert (first.get(20) == "0") == (begin == "FIX.4.2")


@pytest.mark.parametrize(("msg_type", "response_to"), [("F", "1"), ("G", "2")])
def test_order_level_refusal_of_cancel_or_replace_is_a_cancel_reject(msg_type: str, response_to: str) -> None:
    body = (f"35={msg_type}|11=ORD-1.c|38=100|40=2|41=ORD-1|44=10|54=1|55=NOPE|60=20240102-14:30:00.123|")
    message = fields(H44, body)
    reply = reject_reply(_refusal(message), message, codec(), exec_id="RJ-1")
    first = dict(reply)
    assert reply[0] == (35, "9")
    assert (first[11], first[41], first[37], first[39], first[434], first[102]) == (
        "ORD-1.c", "ORD-1", "NONE", "8", response_to, "99")


def test_order_level_refusal_of_status_request_is_a_business_reject() -> None:
    message = fields(H44, "35=H|11=ORD-1|54=1|55=NOPE|")
    reply = dict(reject_reply(_refusal(message), message, codec(), exec_id="RJ-1"))
    assert (reply[35], reply[380], reply[379]) == ("j", "2", "ORD-1")


@pytest.mark.parametrize(("header", "begin", "body"), [
    (H42, "FIX.4.2", NOS42 + "|"), (H44, "FIX.4.4", NOS44), (H50, "FIXT.1.1", NOS44)])
def test_reject_replies_pass_quickfix_validation(header: str, begin: str, body: str) -> None:
    qf = pytest.importorskip("quickfix")
    from fixgw.engine.quickfix_support import fields_to_message, load_data_dictionary

    for changes in ({"t55": "NOPE"}, {"t54": "9"}):
        message = fields(header, body.replace("||", "|"), **changes)
        reply = reject_reply(_refusal(message, begin=begin), message, codec(begin=begin), exec_id="RJ-1")
        if begin == "FIXT.1.1" and reply[0] == (35, "3"):
            continue  # session Reject of FIXT is validated by the transport dictionary
        full = fields_to_message([*reply, (49, "FIXGW"), (56, "EMS"), (34, "3"), (52, "20240102-14:30:00.123")],
                                 begin_string=begin)
        dictionary = qf.DataDictionary(load_data_dictionary(begin))
        dictionary.checkFieldsOutOfOrder(False)
        if begin == "FIXT.1.1":
            full.getHeader().setField(qf.ApplVerID("9"))
            dictionary.setVersion("FIXT.1.1")
        dictionary.validate(full)


# --- bad input never escapes as anything but MessageRejected ------------------------------------------------


_VALID = fields(H44, NOS44 + "847=1|957=1|958=MaxPctVolume|959=11|960=0.2|")
_junk = st.one_of(st.sampled_from(["", "0", "-1", "1e5", "NaN", "x", "20240102-14:30:00", "BTC/USD", "=", "99999"]),
                  st.text(max_size=12))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=st.lists(st.tuples(st.integers(0, len(_VALID) - 1), st.one_of(st.none(), _junk)), max_size=4))
def test_mangled_orders_only_ever_raise_message_rejected(edits: list[tuple[int, str | None]]) -> None:
    message = list(_VALID)
    for index, value in edits:
        if index < len(message):
            if value is None:
                del message[index]
            else:
                message[index] = (message[index][0], value)
    with contextlib.suppress(MessageRejected):
        decode(message, codec())


def test_parties_group_with_nested_sub_ids() -> None:
    view = FieldView(parse_fix("35=D|11=A|453=2|448=DESK1|447=D|452=1|802=1|523=TRADER9|803=2|448=CLR7|447=D|452=4|"
                               "38=5|", "|"))
    assert view.group(453) == [{448: "DESK1", 447: "D", 452: "1", 802: "1", 523: "TRADER9", 803: "2"},
                               {448: "CLR7", 447: "D", 452: "4"}]
    assert view.group(957) == []
    with pytest.raises(MessageRejected) as caught:
        FieldView(parse_fix("35=D|453=1|447=D|448=X|", "|")).group(453)
    assert caught.value.ref_tag_id == 447


def test_field_view_first_value_wins_and_groups_keep_order() -> None:
    view = FieldView([*_VALID, (11, "LATER")])
    assert view[11] == "ORD-1" and view.all(11) == ["ORD-1", "LATER"]
    assert view.group(957) == [{958: "MaxPctVolume", 959: "11", 960: "0.2"}]
    assert decode_new_order(view, codec()).algo is not None
