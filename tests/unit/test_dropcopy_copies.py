"""Drop-copy bodies and audit export lines, sans-I/O: ids, indicator, venue, timestamps, FIX framing."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import quickfix as qf
import simplefix

from fixgw.config import DEFAULT_SPECS_DIR
from fixgw.dropcopy.copies import COPY_BEGIN_STRING, COPY_DIALECT, CopyBuilder, CopyFilter
from fixgw.dropcopy.export import (
    EVENT_CATEGORIES,
    HeaderBook,
    SessionHeader,
    event_record,
    fix_log_line,
    frame_for_log,
    message_record,
)
from fixgw.engine.quickfix_support import load_data_dictionary
from fixgw.fix.codec import Codec
from fixgw.fix.dialect import load_dialect
from fixgw.fix.wire import parse_fix
from fixgw.model.enums import ExecType, OrdStatus, OrdType, Side
from fixgw.model.events import EventName
from fixgw.model.instruments import SymbolMaster
from fixgw.model.orders import ExecutionEvent
from fixgw.model.state import Order
from fixgw.store.archive import ArchivedEvent, ArchivedMessage

T0 = datetime(2025, 6, 2, 14, 3, 11, 123456, tzinfo=UTC)
SYMBOLS = SymbolMaster.from_toml((DEFAULT_SPECS_DIR / "symbols.toml").read_text(encoding="utf-8"))
BUILDER = CopyBuilder(Codec(load_dialect(DEFAULT_SPECS_DIR / "dialects" / f"{COPY_DIALECT}.toml"), SYMBOLS,
                            COPY_BEGIN_STRING))


def routed_order() -> Order:
    return Order(order_id="1-7", ems_session="ems-a", cl_ord_id="C7", cl_ord_id_chain=["C7"], account="ACC1",
                 instrument_id="AAPL", side=Side.BUY, ord_type=OrdType.LIMIT, order_qty="100", price="190.25",
                 status=OrdStatus.PARTIALLY_FILLED, venue="equities", venue_cl_ord_id="1-7.0",
                 venue_order_id="BRK-7")


def first(fields: list[tuple[int, str]]) -> dict[int, str]:
    return dict(reversed(fields))


def valid_fix44(fields: list[tuple[int, str]]) -> None:
    """The copy, framed with a header, passes QuickFIX's FIX 4.4 dictionary validation."""
    dictionary = load_data_dictionary("FIX.4.4")
    text = frame_for_log("FIX.4.4",
                         [*fields, (49, "FIXGW"), (56, "COMPLIANCE"), (34, "1"), (52, "20250602-14:03:11.123")])
    dictionary.validate(qf.Message(text, dictionary, True))


def test_copy_of_a_fill_sent_to_an_ems() -> None:
    report = ExecutionEvent(exec_id="1-7:BRK-E2", exec_type=ExecType.TRADE, ord_status=OrdStatus.PARTIALLY_FILLED,
                            cl_ord_id="C7", order_id="1-7", instrument_id="AAPL", side=Side.BUY, account="ACC1",
                            order_qty=Decimal(100), last_qty=Decimal(40), last_px=Decimal("190.25"),
                            cum_qty=Decimal(40), leaves_qty=Decimal(60), avg_px=Decimal("190.25"), transact_time=T0)
    fields = BUILDER.of_sent("ems-a", report, routed_order())
    values = first(fields)
    assert values[797] == "Y" and values[128] == "ems-a" and 115 not in values
    assert (values[37], values[11], values[17]) == ("1-7", "C7", "1-7:BRK-E2")          # ours, as the EMS saw them
    assert (values[526], values[198], values[527]) == ("1-7.0", "BRK-7", "BRK-E2")       # the venue's
    assert (values[1], values[30], values[60]) == ("ACC1", "equities", "20250602-14:03:11.123")
    valid_fix44(fields)


def test_copy_of_a_report_received_from_a_venue_completes_it_from_the_order() -> None:
    event = ExecutionEvent(exec_id="BRK-E1", exec_type=ExecType.NEW, ord_status=OrdStatus.NEW, cl_ord_id="1-7.0",
                           order_id="BRK-7", cum_qty=Decimal(0), leaves_qty=Decimal(100), avg_px=Decimal(0),
                           transact_time=T0)
    fields = BUILDER.of_received("equities", event, routed_order())
    values = first(fields)
    assert values[797] == "Y" and values[115] == "equities" and 128 not in values
    assert (values[37], values[11], values[17], values[527]) == ("1-7", "1-7.0", "equities:BRK-E1", "BRK-E1")
    assert (values[198], values[526], values[55], values[54], values[1]) == ("BRK-7", "C7", "AAPL", "1", "ACC1")
    valid_fix44(fields)
    unknown = first(BUILDER.of_received("equities", event.model_copy(update={"instrument_id": "AAPL",
                                                                             "side": Side.BUY}), None))
    assert unknown[37] == "NONE" and 526 not in unknown and unknown[198] == "BRK-7"


def test_copy_of_a_refusal_keeps_only_portable_tags() -> None:
    reply = [(35, "8"), (37, "NONE"), (11, "Z1"), (17, "RJ-1"), (20, "0"), (150, "8"), (39, "8"), (55, "AAPL"),
             (54, "1"), (151, "0"), (14, "0"), (6, "0"), (58, "bad price"), (9999, "x")]
    copy = BUILDER.of_reply("ems-b", reply)
    assert copy is not None and first(copy)[797] == "Y" and first(copy)[128] == "ems-b"
    assert 20 not in first(copy) and 9999 not in first(copy) and first(copy)[58] == "bad price"
    assert BUILDER.of_reply("ems-b", [(35, "3"), (45, "2")]) is None


def test_filters_read_the_copy_account_and_venue() -> None:
    fields = [(35, "8"), (1, "ACC1"), (30, "equities")]
    assert CopyFilter().matches(fields)
    assert CopyFilter(accounts=frozenset({"ACC1"})).matches(fields)
    assert not CopyFilter(accounts=frozenset({"ACC2"})).matches(fields)
    assert not CopyFilter(venues=frozenset({"crypto"})).matches(fields)
    assert not CopyFilter(accounts=frozenset({"ACC1"})).matches([(35, "8")])


# ------------------------------------------------------------------------------------------ export lines


def archived(raw: str, *, session: str = "equities", direction: str = "out", seq_num: int | None = None,
             msg_type: str = "D") -> ArchivedMessage:
    return ArchivedMessage(1, T0, session, direction, msg_type, seq_num, "1-7", "1-7.0", "ACC1", "AAPL", "equities",
                           raw)


def test_frame_fix_computes_length_and_checksum_and_orders_the_header() -> None:
    text = frame_for_log("FIX.4.2", [(35, "D"), (11, "é1"), (34, "5"), (9, "999"), (49, "A"), (56, "B"),
                                 (52, "20250602-14:03:11.123"), (10, "000")])
    parser = simplefix.FixParser()
    parser.append_buffer(text.encode())
    message = parser.get_message()
    assert message is not None and message.get(11) == "é1".encode()
    encoded = text.encode()
    body = encoded[encoded.index(b"35="):encoded.rindex(b"10=")]
    assert f"\x019={len(body)}\x01".encode() in encoded
    assert text.endswith(f"10={sum(encoded[:encoded.rindex(b'10=')]) % 256:03d}\x01")
    assert text.split("\x01")[2:7] == ["35=D", "49=A", "56=B", "34=5", "52=20250602-14:03:11.123"]


def test_an_outbound_body_gets_the_sessions_header_and_an_inbound_message_keeps_its_own() -> None:
    headers = HeaderBook({"equities": SessionHeader("FIX.4.2", "FIXGW", "BROKER")})
    out = fix_log_line(archived("35=D\x0111=1-7.0\x01554=secret\x01"), headers).split("\x01")
    assert out[:7] == ["8=FIX.4.2", out[1], "35=D", "49=FIXGW", "56=BROKER", "34=0", "52=20250602-14:03:11.123"]
    assert "554=***" in out and "554=secret" not in out
    inbound = ("8=FIX.4.2\x019=5\x0135=8\x0134=9\x0149=BROKER\x0152=20250602-14:03:11.000\x0156=FIXGW\x01"
               "17=E\x0110=1\x01")
    line = fix_log_line(archived(inbound, direction="in", seq_num=9, msg_type="8"), headers)
    assert line.split("\x01")[2:7] == ["35=8", "49=BROKER", "56=FIXGW", "34=9", "52=20250602-14:03:11.000"]
    assert qf.Message(line, load_data_dictionary("FIX.4.2"), True).getHeader().getField(34) == "9"
    defaults = fix_log_line(archived("35=8\x0117=E\x01", session="ems-x"), HeaderBook())
    assert defaults.startswith("8=FIX.4.4\x01") and "\x0156=ems-x\x01" in defaults


def test_csv_and_jsonl_rows_show_the_raw_message_with_visible_delimiters() -> None:
    row = message_record(archived("35=D\x0111=1-7.0\x01554=secret\x01"))
    assert row["raw"] == "35=D|11=1-7.0|554=***|"


def test_event_rows_use_the_regulators_categories_and_plain_numbers() -> None:
    event = ArchivedEvent(1, T0, "1-7", "fill", "1", {"exec_id": "BRK-E2", "qty": "40.0000000000", "price": "190.25"},
                          "ems-a", "C7", "C7-2", "ACC1", "AAPL", "1", "100", "190.25", "equities", "1-7.1", "BRK-7")
    row = event_record(event)
    assert (row["category"], row["qty"], row["price"], row["side"], row["exec_id"]) == (
        "fill", "40", "190.25", "BUY", "BRK-E2")
    assert (row["parent_cl_ord_id"], row["child_cl_ord_id"], row["venue_order_id"]) == ("C7", "1-7.1", "BRK-7")
    assert row["at"] == "2025-06-02T14:03:11.123456Z"
    assert (row["status"], row["status_name"]) == ("1", "PARTIALLY_FILLED")
    assert event_record(ArchivedEvent(3, T0, "1-8", "deny", "DENIED", {}, *[None] * 11))["status_name"] == "DENIED"
    assert event_record(ArchivedEvent(2, T0, "1-7", "from_a_newer_gateway", "1", {}, *[None] * 11))["category"] == (
        "other")
    assert set(EVENT_CATEGORIES.values()) == {"new", "route", "accept", "modify", "cancel", "fill", "reject",
                                              "exception", "control"}


@pytest.mark.parametrize("name", list(EventName))
def test_every_journaled_event_name_has_an_export_category(name: EventName) -> None:
    row = event_record(ArchivedEvent(1, T0, "1-7", name.value, "4", {}, *[None] * 11))
    assert row["category"] != "other" and row["category"] == EVENT_CATEGORIES[name]


def test_the_state_machine_speaks_the_journal_s_event_names() -> None:
    from fixgw.model.state import OrderEvent

    assert {event.value for event in OrderEvent} <= {name.value for name in EventName}


def test_gateway_cancels_are_cancels_in_the_export() -> None:
    for name in ("kill_cancel", "cancel_on_disconnect"):
        assert event_record(ArchivedEvent(1, T0, "1-7", name, "6", {}, *[None] * 11))["category"] == "cancel"


# ------------------------------------------------------------------------------------------ the router hook


def test_the_pass_hook_keeps_order_survives_a_bad_copy_and_links_raw_messages() -> None:
    from fixgw.dropcopy.feed import DropCopyFeed
    from fixgw.router.book import OrderBook
    from fixgw.router.effects import Effects
    from fixgw.store.records import MessageRecord

    book = OrderBook()
    order = routed_order()
    book.add(order)
    feed = DropCopyFeed(book, BUILDER, None)
    copies = feed.pass_copies()
    fx = Effects()
    ack = ExecutionEvent(exec_id="BRK-E1", exec_type=ExecType.NEW, ord_status=OrdStatus.NEW, cl_ord_id="1-7.0",
                         order_id="BRK-7", transact_time=T0)
    fx.to_ems.append(("ems-a", ack.model_copy(update={"exec_id": "X1", "cl_ord_id": "C7", "order_id": "1-7"}),
                      "1-7"))
    copies.after_item("venue_execution", ("equities", ack), fx, [])
    bad = ack.model_copy(update={"exec_id": "X2", "instrument_id": "NO-SUCH"})   # cannot be encoded
    fx.to_ems += [("ems-a", bad, "1-7"), ("ems-a", ack.model_copy(update={"exec_id": "X3"}), "1-7")]
    raw = [MessageRecord("ems-a", "in", "D", "35=D\x0111=C7\x01", T0),
           MessageRecord("equities", "in", "8", "35=8\x0111=1-7.0\x0137=BRK-7\x01", T0),
           MessageRecord("equities", "in", "8", "35=8\x0111=other\x01", T0)]
    made = copies.records(fx, raw)
    assert [first(parse_fix(m.raw))[17] for m in made] == ["equities:BRK-E1", "X1", "X3"]
    assert feed.failures == 1 and {m.order_id for m in made} == {"1-7"}
    assert [(m.order_id, m.cl_ord_id) for m in raw] == [("1-7", "C7"), ("1-7", "1-7.0"), (None, "other")]
