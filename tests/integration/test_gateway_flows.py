"""End to end over loopback: EMS (QuickFIX initiator, dictionary validation on) -> fixgw -> broker simulator."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from gateway_stack import (
    EmsSpec,
    Stack,
    cancel,
    new_order,
    replace,
    report,
    running_stack,
    status,
    status_request,
)

from fixgw.store.journal import Journal


@pytest.fixture
def stack(tmp_path: Path, journal_url: str) -> Iterator[Stack]:
    with running_stack(tmp_path, journal_url=journal_url) as running:
        yield running


def test_limit_order_partially_filled_then_filled(stack: Stack) -> None:
    ems = stack.ems()
    ems.send(new_order("A1", qty="500", price="190.25"))
    new = report(ems, "A1", status("0"))
    assert new.get(150) == "0" and new.get(37) and new.get(37) != "NONE"
    partial = report(ems, "A1", status("1"))
    assert partial.get(150) == "F"
    assert Decimal(partial.get(32) or "0") + Decimal(partial.get(151) or "0") == Decimal(500)
    filled = report(ems, "A1", status("2"))
    assert Decimal(filled.get(14) or "") == Decimal(500)
    assert Decimal(filled.get(151) or "") == 0
    assert Decimal(filled.get(6) or "") == Decimal("190.25")
    assert filled.get(37) == new.get(37)
    # The broker got exactly one order for it.
    assert sum(stack.broker.new_order_counts().values()) == 1


def test_cancel_flow_keeps_the_ems_clordid_chain(stack: Stack) -> None:
    stack.broker.auto_fill = False
    ems = stack.ems()
    ems.send(new_order("C1", qty="300"))
    report(ems, "C1", status("0"))
    ems.send(cancel("C1-X", "C1", qty="300"))
    pending = report(ems, "C1-X", status("6"))
    assert pending.get(41) == "C1"
    canceled = report(ems, "C1-X", status("4"))
    assert canceled.get(41) == "C1" and canceled.get(150) == "4"
    assert Decimal(canceled.get(151) or "1") == 0


def test_replace_then_fill(stack: Stack) -> None:
    stack.broker.auto_fill = False
    ems = stack.ems()
    ems.send(new_order("R1", qty="200", price="190.00"))
    report(ems, "R1", status("0"))
    ems.send(replace("R1-2", "R1", qty="300", price="189.50"))
    report(ems, "R1-2", lambda m: m.get(150) == "E")
    replaced = report(ems, "R1-2", lambda m: m.get(150) == "5")
    assert replaced.get(41) == "R1"
    assert Decimal(replaced.get(38) or "") == 300 and Decimal(replaced.get(44) or "") == Decimal("189.50")
    (broker_order,) = stack.broker.orders.values()
    stack.broker.fill(broker_order.order_id, "300")
    filled = report(ems, "R1-2", status("2"))
    assert Decimal(filled.get(14) or "") == 300
    assert Decimal(filled.get(6) or "") == Decimal("189.50")
    # Cancel by the original ClOrdID of the chain still finds the (now filled) order: too late.
    ems.send(cancel("R1-3", "R1", qty="300"))
    reject = report(ems, "R1-3", msg_type="9")
    assert reject.get(102) == "0" and reject.get(434) == "1"


def test_status_request(stack: Stack) -> None:
    stack.broker.auto_fill = False
    ems = stack.ems()
    ems.send(new_order("S1"))
    report(ems, "S1", status("0"))
    ems.send(status_request("S1"))
    answer = report(ems, "S1", lambda m: m.get(150) == "I")
    assert answer.get(39) == "0"
    ems.send(status_request("NOPE"))
    unknown = report(ems, "NOPE", lambda m: m.get(150) == "I")
    assert unknown.get(39) == "8" and "unknown" in (unknown.get(58) or "")


def test_broker_reject_reaches_the_ems_with_its_text(stack: Stack) -> None:
    ems = stack.ems()
    ems.send(new_order("B1", qty="20000"))
    rejected = report(ems, "B1", status("8"))
    assert rejected.get(58)
    ems.send(new_order("B2", symbol="MSFT", price="410.10"))
    assert report(ems, "B2", status("8")).get(58)


@pytest.mark.parametrize(
    ("fields", "text_part"),
    [
        (new_order("D1", price="190.123"), "tick"),
        (new_order("D2", symbol="ZZZZ"), "unknown symbol"),
        (new_order("D3", qty="0"), "qty"),
        (new_order("D4", qty="-5"), "qty"),
        (new_order("D5", account="STRANGER"), "account"),
        (new_order("D6", qty="10.5"), "lot"),
    ],
)
def test_invalid_orders_are_rejected_with_text_and_never_sent(stack: Stack, fields: list[tuple[int, str]],
                                                              text_part: str) -> None:
    ems = stack.ems()
    cl_ord_id = dict(fields)[11]
    ems.send(fields)
    rejected = report(ems, cl_ord_id, status("8"))
    assert text_part in (rejected.get(58) or "").lower()
    assert stack.broker.new_order_counts() == {}
    # The session stays up and the next good order goes through.
    ems.send(new_order(f"{cl_ord_id}-OK"))
    report(ems, f"{cl_ord_id}-OK", status("2"))


def test_duplicate_clordid_is_rejected(stack: Stack) -> None:
    ems = stack.ems()
    ems.send(new_order("DUP"))
    report(ems, "DUP", status("2"))
    ems.send(new_order("DUP"))
    rejected = report(ems, "DUP", lambda m: m.get(39) == "8")
    assert rejected.get(103) == "6"
    assert sum(stack.broker.new_order_counts().values()) == 1


def test_unsupported_message_type_gets_business_reject(stack: Stack) -> None:
    ems = stack.ems()
    ems.send([(35, "R"), (131, "Q1"), (146, "1"), (55, "AAPL")])
    reject = ems.wait_for(lambda m: m.msg_type == "j", 15)
    assert reject.get(380) == "3" and reject.get(372) == "R"
    ems.send(new_order("AFTER-J"))
    report(ems, "AFTER-J", status("2"))


def test_cancel_of_unknown_or_foreign_order_is_refused(stack: Stack) -> None:
    stack.broker.auto_fill = False
    a, b = stack.ems("ems-a"), stack.ems("ems-b")
    a.send(new_order("MINE"))
    report(a, "MINE", status("0"))
    b.send(cancel("THEIRS-X", "MINE"))
    refused = report(b, "THEIRS-X", msg_type="9")
    assert refused.get(102) == "1"
    a.send(cancel("GHOST-X", "GHOST"))
    assert report(a, "GHOST-X", msg_type="9").get(102) == "1"
    # The order itself is untouched and still cancellable by its owner.
    a.send(cancel("MINE-X", "MINE"))
    report(a, "MINE-X", status("4"))


def test_fix42_ems_flow(stack: Stack) -> None:
    ems = stack.ems("ems-b")
    ems.send(new_order("F42", handl_inst=True))
    new = report(ems, "F42", status("0"))
    assert new.get(20) == "0"
    filled = report(ems, "F42", status("2"))
    assert filled.get(150) in ("2", "F")


def test_unsolicited_expire_and_bust(stack: Stack) -> None:
    stack.broker.auto_fill = False
    ems = stack.ems()
    ems.send(new_order("U1", qty="100"))
    report(ems, "U1", status("0"))
    (order,) = stack.broker.orders.values()
    exec_id = stack.broker.fill(order.order_id, "40")
    report(ems, "U1", status("1"))
    stack.broker.bust(exec_id)
    bust = report(ems, "U1", lambda m: m.get(150) == "H")
    assert Decimal(bust.get(14) or "") == 0
    stack.broker.expire(order.order_id)
    expired = report(ems, "U1", status("C"))
    assert Decimal(expired.get(151) or "1") == 0


def test_everything_is_journaled(stack: Stack) -> None:
    ems = stack.ems()
    ems.send(new_order("J1"))
    report(ems, "J1", status("2"))
    assert stack.gateway.runner is not None and stack.gateway.runner.drain()
    journal = Journal(stack.config.journal_url)
    journal.open()
    try:
        order = journal.find_order(ems_session="ems-a", cl_ord_id="J1")
        assert order is not None and order.status.name == "FILLED" and order.cum_qty == 100
        inbound = list(journal.iter_messages(session="ems-a", direction="in"))
        outbound = list(journal.iter_messages(session="ems-a", direction="out"))
        assert any("11=J1" in m.raw for m in inbound)
        assert sum(1 for m in outbound if m.msg_type == "8" and "11=J1" in m.raw) >= 3
        assert list(journal.iter_messages(session="equities", direction="out"))
        events = [e.event for e in journal.iter_events(order_id=order.order_id)]
        assert events[:3] == ["new", "route", "ack"] and events.count("fill") == 2
    finally:
        journal.close()


def test_failover_to_backup_for_new_orders(tmp_path: Path) -> None:
    with running_stack(tmp_path, start_broker=False, backup_broker=True,
                       ems=[EmsSpec("ems-a", "EMS-A")]) as stack:
        assert stack.backup is not None and stack.backup.wait_logged_on(1, 15)
        assert stack.wait(lambda: stack.gateway.venues_connected().get("backup", False))
        ems = stack.ems()
        ems.send(new_order("FO1"))
        report(ems, "FO1", status("2"))
        assert sum(stack.backup.new_order_counts().values()) == 1


def test_restart_rebuilds_the_book(tmp_path: Path) -> None:
    stack = Stack(tmp_path, ems=[EmsSpec("ems-a", "EMS-A")])
    stack.start()
    try:
        stack.broker.auto_fill = False
        ems = stack.ems()
        ems.send(new_order("RS1", qty="100"))
        report(ems, "RS1", status("0"))
        restart_gateway(stack)
        ems = stack.ems()
        ems.send(cancel("RS1-X", "RS1"))
        report(ems, "RS1-X", status("4"))
    finally:
        stack.close()


def restart_gateway(stack: Stack) -> None:
    """Stop the gateway (the broker simulator keeps running), start a new one on the same journal, reconnect."""
    from fixgw.engine.gateway import Gateway

    stack.ems().stop()
    stack.gateway.stop()
    stack.gateway = Gateway(stack.config)
    stack.gateway.start()
    ems = stack.client(stack.ems_specs[0])
    ems.start()
    assert ems.wait_logged_on(15)
    assert stack.wait(lambda: stack.gateway.venues_connected().get("equities", False))


def test_restart_remembers_the_days_closed_orders(tmp_path: Path) -> None:
    """A closed order of the day is kept in the journal only after a restart (store/daybook.py): its ClOrdID is
    still taken, a late bust still finds it, and the risk exposure counts its fill once, then not at all."""
    stack = Stack(tmp_path, ems=[EmsSpec("ems-a", "EMS-A")])
    stack.start()
    try:
        stack.broker.auto_fill = False
        ems = stack.ems()
        ems.send(new_order("RD1", qty="100", price="190.25"))
        report(ems, "RD1", status("0"))
        (order,) = stack.broker.orders.values()
        exec_id = stack.broker.fill(order.order_id, "100", "190.25")
        report(ems, "RD1", status("2"))
        restart_gateway(stack)
        assert "RD1" not in {o.cl_ord_id for o in stack.gateway.core.book}   # not read back at start
        exposure = stack.gateway.risk.checks.exposure
        assert exposure.account("ACC1").filled_notional == Decimal("19025")
        assert exposure.position("ACC1", "AAPL").net_filled_qty == 100

        ems = stack.ems()
        ems.send(new_order("RD1"))
        assert report(ems, "RD1", lambda m: m.get(39) == "8").get(103) == "6"   # duplicate ClOrdID
        assert sum(stack.broker.new_order_counts().values()) == 1
        stack.broker.bust(exec_id)
        busted = report(ems, "RD1", lambda m: m.get(150) == "H")
        assert Decimal(busted.get(14) or "") == 0
        assert stack.wait(lambda: exposure.account("ACC1").filled_notional == 0)
        assert exposure.position("ACC1", "AAPL").net_filled_qty == 0
    finally:
        stack.close()


def test_missing_required_field_gets_session_reject_and_session_survives(stack: Stack) -> None:
    ems = stack.ems()
    fields = [field for field in new_order("M1") if field[0] != 54]  # no Side
    ems.send(fields)
    reject = ems.wait_for(lambda m: m.msg_type == "3", 15)
    assert reject.get(371) == "54"
    assert stack.broker.new_order_counts() == {}
    ems.send(new_order("M2"))
    report(ems, "M2", status("2"))


def test_fix50sp2_ems_flow(tmp_path: Path) -> None:
    with running_stack(tmp_path, ems=[EmsSpec("ems-5", "EMS-5", "FIXT.1.1")]) as stack:
        ems = stack.ems("ems-5")
        ems.send(new_order("F50", qty="200"))
        filled = report(ems, "F50", status("2"))
        assert Decimal(filled.get(14) or "") == 200 and filled.get(150) == "F"


def test_unsolicited_cancel_and_trade_correction(stack: Stack) -> None:
    stack.broker.auto_fill = False
    ems = stack.ems()
    ems.send(new_order("UC1", qty="100", price="190.00"))
    report(ems, "UC1", status("0"))
    (order,) = stack.broker.orders.values()
    exec_id = stack.broker.fill(order.order_id, "50", "190.00")
    report(ems, "UC1", status("1"))
    stack.broker.correct(exec_id, "40", "189.90")
    corrected = report(ems, "UC1", lambda m: m.get(150) == "G")
    assert Decimal(corrected.get(14) or "") == 40 and Decimal(corrected.get(6) or "") == Decimal("189.9")
    stack.broker.cancel_unsolicited(order.order_id)
    canceled = report(ems, "UC1", status("4"))
    assert Decimal(canceled.get(14) or "") == 40 and Decimal(canceled.get(151) or "1") == 0
