"""QuickFIX plumbing: settings from dicts, Message <-> ordered field lists, the callback guard."""

from __future__ import annotations

import socket

import pytest
import quickfix as qf
from structlog.testing import capture_logs

from fixgw.engine.quickfix_support import (
    FIX42,
    FIX44,
    FIXT11,
    QuietApplication,
    build_session_settings,
    data_dictionary_settings,
    fields_to_message,
    free_port,
    guard_callback,
    load_data_dictionary,
    message_to_fields,
)

PARTIES = [(453, "2"), (448, "TRADER1"), (447, "D"), (452, "11"), (448, "DESK-A"), (447, "D"), (452, "3")]
STRATEGY = [(957, "2"), (958, "Urgency"), (959, "14"), (960, "High"), (958, "MaxPctVol"), (959, "11"), (960, "0.15")]
NEW_ORDER = [
    (35, "D"),
    (11, "ORD-1"),
    (1, "ACC-7"),
    *PARTIES,
    (55, "IBM"),
    (54, "1"),
    (60, "20240102-13:30:00.123"),
    (38, "1500"),
    (40, "2"),
    (44, "101.25"),
    (59, "0"),
]
NEW_ORDER_50 = [*NEW_ORDER, *STRATEGY]  # StrategyParametersGrp: FIX 5.0 SP2 (and our FIX 4.2/4.4 dictionaries)


def body_of(fields: list[tuple[int, str]]) -> list[tuple[int, str]]:
    header_and_trailer = {8, 9, 10, 34, 49, 52, 56}
    return [(tag, value) for tag, value in fields if tag not in header_and_trailer]


def test_free_port_is_bindable() -> None:
    port = free_port()
    assert 1024 <= port <= 65535
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_settings_pass_every_key_through_and_sessions_override_defaults() -> None:
    settings = build_session_settings(
        {
            "ConnectionType": "initiator",
            "HeartBtInt": "30",
            "StartTime": "00:00:00",
            "EndTime": "00:00:00",
            "SocketConnectHost": "127.0.0.1",
            "XCustomKey": "kept",
        },
        [
            {
                "BeginString": FIX42,
                "SenderCompID": "EMS",
                "TargetCompID": "GW",
                "HeartBtInt": "5",
                "SocketConnectPort": "9001",
            },
            {
                "BeginString": FIXT11,
                "SenderCompID": "EMS",
                "TargetCompID": "GW",
                "DefaultApplVerID": "9",
                "SessionQualifier": "Q2",
                "SocketConnectPort": "9002",
            },
        ],
    )
    assert settings.size() == 2
    first = settings.get(qf.SessionID(FIX42, "EMS", "GW"))
    assert first.getString("HeartBtInt") == "5"
    assert first.getString("XCustomKey") == "kept"
    assert first.getString("SocketConnectPort") == "9001"
    second = settings.get(qf.SessionID(FIXT11, "EMS", "GW", "Q2"))
    assert second.getString("HeartBtInt") == "30"
    assert second.getString("DefaultApplVerID") == "9"
    assert settings.get().getString("ConnectionType") == "initiator"


def test_settings_require_session_identity() -> None:
    with pytest.raises(ValueError, match="TargetCompID"):
        build_session_settings({"ConnectionType": "acceptor"}, [{"BeginString": FIX44, "SenderCompID": "A"}])


def test_settings_reject_non_string_values() -> None:
    with pytest.raises(TypeError, match="HeartBtInt"):
        build_session_settings({"HeartBtInt": 30}, [])  # type: ignore[dict-item]


def test_settings_with_data_dictionary_start_a_real_acceptor() -> None:
    settings = build_session_settings(
        {
            "ConnectionType": "acceptor",
            "SocketAcceptPort": str(free_port()),
            "StartTime": "00:00:00",
            "EndTime": "00:00:00",
            **data_dictionary_settings(FIX44),
        },
        [{"BeginString": FIX44, "SenderCompID": "GW", "TargetCompID": "EMS"}],
    )
    acceptor = qf.ThreadedSocketAcceptor(QuietApplication(), qf.MemoryStoreFactory(), settings)
    acceptor.start()
    acceptor.stop(True)


def test_message_to_fields_keeps_wire_order_with_groups() -> None:
    message = fields_to_message(NEW_ORDER_50, begin_string=FIXT11)
    fields = message_to_fields(message)
    assert fields[0] == (8, FIXT11)
    assert fields[1][0] == 9 and int(fields[1][1]) > 0
    assert fields[2] == (35, "D")
    assert fields[-1][0] == 10
    assert message.toString() == "".join(f"{tag}={value}\x01" for tag, value in fields)
    # Groups keep their entries in order right after their counter.
    start = fields.index((453, "2"))
    assert fields[start : start + 7] == PARTIES
    start = fields.index((957, "2"))
    assert fields[start : start + 7] == STRATEGY


@pytest.mark.parametrize(("begin_string", "order"), [(FIX44, NEW_ORDER), (FIXT11, NEW_ORDER_50)])
def test_round_trip_preserves_every_field_and_group_entry(begin_string: str, order: list[tuple[int, str]]) -> None:
    fields = body_of(message_to_fields(fields_to_message(order, begin_string=begin_string)))
    assert sorted(fields) == sorted(order)
    again = body_of(message_to_fields(fields_to_message(fields, begin_string=begin_string)))
    assert again == fields


def test_group_unknown_to_the_dictionary_collapses_unless_the_dictionary_is_extended() -> None:
    """Documented limit: FIX 4.2 has no Parties group (453), so its fields are kept but sorted by tag."""
    order = [*NEW_ORDER, (21, "1")]
    scrambled = body_of(message_to_fields(fields_to_message(order, begin_string=FIX42)))
    assert sorted(scrambled) == sorted(order)
    assert [field for field in scrambled if field[0] in (447, 448, 452, 453)] == [
        (447, "D"), (447, "D"), (448, "TRADER1"), (448, "DESK-A"), (452, "11"), (452, "3"), (453, "2")]

    extended = qf.DataDictionary(load_data_dictionary(FIX42))  # a copy: the cached one stays stock
    members = qf.DataDictionary()
    for tag in (448, 447, 452):
        members.addField(tag)
        members.addMsgField("D", tag)
    extended.addField(453)
    extended.addMsgField("D", 453)
    extended.addGroup("D", 453, 448, members)
    kept = message_to_fields(fields_to_message(order, extended))
    start = kept.index((453, "2"))
    assert kept[start : start + 7] == PARTIES
    assert not load_data_dictionary(FIX42).isGroup("D", 453)


def test_fix44_orders_keep_their_strategy_parameters_group() -> None:
    """specs/fix/FIX44.xml carries StrategyParameters (957) on orders, as the dialects send algo parameters."""
    kept = body_of(message_to_fields(fields_to_message([*NEW_ORDER, *STRATEGY], begin_string=FIX44)))
    start = kept.index((957, "2"))
    assert kept[start : start + 7] == STRATEGY


def test_group_is_readable_through_the_quickfix_group_api() -> None:
    message = fields_to_message(NEW_ORDER, load_data_dictionary(FIX44))
    group = qf.Group(453, 448)
    message.getGroup(2, group)
    assert group.getField(448) == "DESK-A"
    assert group.getField(452) == "3"


def test_begin_string_comes_from_the_dictionary_and_fixt_uses_the_app_dictionary() -> None:
    message = fields_to_message([(35, "D"), (11, "X"), *PARTIES], load_data_dictionary(FIXT11))
    fields = message_to_fields(message)
    assert fields[0] == (8, FIXT11)
    assert fields[fields.index((453, "2")) : fields.index((453, "2")) + 7] == PARTIES


def test_header_fields_go_to_the_header() -> None:
    message = fields_to_message([(35, "8"), (49, "ME"), (56, "YOU"), (17, "E1")], begin_string=FIX42)
    assert message.getHeader().getField(49) == "ME"
    assert not message.isSetField(49)
    assert [tag for tag, _ in message_to_fields(message)][:5] == [8, 9, 35, 49, 56]


def test_fields_must_start_with_msg_type() -> None:
    with pytest.raises(ValueError, match="35"):
        fields_to_message([(11, "X"), (35, "D")], begin_string=FIX44)


def test_soh_inside_a_value_is_refused_but_data_fields_may_hold_it() -> None:
    with pytest.raises(ValueError, match="SOH"):
        fields_to_message([(35, "D"), (58, "a\x01b")], begin_string=FIX44)
    message = fields_to_message([(35, "A"), (98, "0"), (108, "30"), (95, "3"), (96, "a\x01b")], begin_string=FIX44)
    fields = message_to_fields(message)
    assert (95, "3") in fields
    assert (96, "a\x01b") in fields


class _Application:
    def __init__(self) -> None:
        self.calls = 0

    @guard_callback
    def fromApp(self, message: qf.Message, session_id: qf.SessionID) -> None:
        self.calls += 1
        raise KeyError("boom")

    @guard_callback
    def fromAdmin(self, message: qf.Message, session_id: qf.SessionID) -> None:
        raise qf.RejectLogon("bad password")


def test_guard_swallows_and_logs_foreign_exceptions() -> None:
    app = _Application()
    session = qf.SessionID(FIX44, "A", "B")
    with capture_logs() as logs:
        assert app.fromApp(qf.Message(), session) is None
    assert app.calls == 1
    assert logs[0]["event"] == "quickfix_callback_failed"
    assert logs[0]["log_level"] == "error"
    assert logs[0]["callback"].endswith("fromApp")
    assert logs[0]["session"] == "FIX.4.4:A->B"
    assert "boom" in logs[0]["error"]


def test_guard_lets_quickfix_exceptions_through() -> None:
    with capture_logs() as logs, pytest.raises(qf.RejectLogon):
        _Application().fromAdmin(qf.Message(), qf.SessionID(FIX44, "A", "B"))
    assert logs == []
