"""Every EMS order gets an answer over real QuickFIX sessions: algos a broker cannot carry, algos on every EMS
FIX version, stale replays, brokers that forgot their book, the EMS's business rejects (issue 24)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from gateway_stack import (
    EmsSpec,
    Stack,
    new_order,
    report,
    running_stack,
    stale_after_final,
    status,
    status_request,
)
from structlog.testing import capture_logs

from fixgw.config import DEFAULT_SPECS_DIR
from fixgw.engine.broker import FixBrokerVenue
from fixgw.engine.gateway import Gateway
from fixgw.engine.runner import SENT_MARK_PREFIX
from fixgw.sim.fix_broker import FixBrokerSimulator
from fixgw.store.journal import Journal, JournalBatch


def test_vwap_to_a_broker_without_algos_is_rejected_at_once_and_never_queried(tmp_path: Path, journal_url: str) -> None:
    with running_stack(tmp_path, journal_url=journal_url,
                       ems=[EmsSpec("ems-a", "EMS-A")]) as stack:
        ems = stack.ems()
        ems.send(new_order("V1", qty="100", price="190.25", extra=[(847, "1")]))
        rejected = report(ems, "V1", status("8"))
        assert "VWAP" in (rejected.get(58) or "") and "equities" in (rejected.get(58) or "")
        assert stack.gateway.runner is not None and stack.gateway.runner.drain()
        assert stack.broker.received_requests() == []          # nothing left: no order, no status requests
        order = stack.gateway.core.book.find_ems("ems-a", "V1") if stack.gateway.core else None
        assert order is not None and order.status.name == "DENIED"


ALGO_EMS = [EmsSpec("ems-42", "EMS-42", "FIX.4.2"), EmsSpec("ems-44", "EMS-44", "FIX.4.4"),
            EmsSpec("ems-50", "EMS-50", "FIXT.1.1")]


@pytest.mark.parametrize("strategy", ["1", "1001"], ids=["VWAP", "TWAP"])
def test_algos_from_every_ems_fix_version_reach_the_broker_and_fill(tmp_path: Path, journal_url: str,
                                                                   strategy: str) -> None:
    """847 values ems-default maps (VWAP 1, TWAP 1001) and its StrategyParameters group pass each EMS session's
    dictionary, and the algo broker's."""
    with running_stack(tmp_path, journal_url=journal_url, broker_begin="FIX.4.4",
                       ems=ALGO_EMS) as stack:
        for spec in ALGO_EMS:
            ems = stack.ems(spec.name)
            cl_ord_id = f"{spec.name}-{strategy}"
            window = [(957, "2"), (958, "StartTime"), (959, "19"), (960, "20310314-14:30:00"),
                      (958, "EndTime"), (959, "19"), (960, "20310314-20:00:00")]  # StrategyParameters group
            ems.send(new_order(cl_ord_id, qty="200", price="190.25", extra=[(847, strategy), *window],
                               handl_inst=spec.begin_string == "FIX.4.2"))
            new = report(ems, cl_ord_id, status("0"))
            assert new.get(847) in (None, strategy)
            report(ems, cl_ord_id, status("2"))
            assert not any(m.msg_type in ("3", "j") for m in ems.received), f"{spec.name} got a reject"
        assert len(stack.broker.orders) == len(ALGO_EMS)
        for request in stack.broker.received_requests():
            assert request.get(958) == "StartTime" and request.get(847) in ("1", "1000"), request


@pytest.mark.parametrize("mark_lost", [False, True], ids=["clean-stop", "crash-before-the-mark"])
def test_a_restart_during_partial_fills_never_replays_an_older_state_after_the_fill(
        tmp_path: Path, journal_url: str, mark_lost: bool) -> None:
    """Reports journaled after the 'handed to QuickFIX' mark are replayed (97=Y) after a restart; a crash leaves the
    mark behind (it is written a tick after the sends): none of them may arrive after a newer state of its order."""
    orders = 20
    with running_stack(tmp_path, journal_url=journal_url, ems=[EmsSpec("ems-a", "EMS-A")],
                       sim_options={"fill_slices": 4, "fill_delay_ms": 250}) as stack:
        ems = stack.ems()
        for index in range(orders):
            ems.send(new_order(f"P{index}", qty="400", price="190.00"))
        ems.wait_for(lambda m: m.msg_type == "8" and m.get(39) == "1")
        started = datetime.now(UTC)
        stack.gateway.stop()                                      # fills still coming
        if mark_lost:
            with Journal(stack.config.journal_url) as journal:   # as after kill -9 before the mark was written
                journal.write(JournalBatch(state={f"{SENT_MARK_PREFIX}ems-a": (started - timedelta(seconds=5))
                                                  .isoformat()}))
        stack.gateway = Gateway(stack.config)
        stack.gateway.start()
        assert stack.wait(lambda: ems.logon_count == 2 and ems.logged_on, 30)
        for index in range(orders):
            report(ems, f"P{index}", status("2"), timeout=30)
        assert stack.gateway.runner is not None and stack.gateway.runner.drain()
        ems.send(status_request("P0"))  # a barrier: whatever the gateway sent before its answer arrived before it
        report(ems, "P0", lambda m: m.get(150) == "I")
        assert stale_after_final(ems.received) == []


def test_orders_a_restarted_broker_forgot_are_alerted_then_closed_at_the_ems(tmp_path: Path, journal_url: str) -> None:
    with running_stack(tmp_path, journal_url=journal_url,
                       ems=[EmsSpec("ems-a", "EMS-A")]) as stack:
        stack.broker.auto_fill = False
        ems = stack.ems()
        for index in range(3):
            ems.send(new_order(f"L{index}", qty="100", price="190.00"))
            report(ems, f"L{index}", status("0"))
        assert stack.gateway.core is not None
        stack.gateway.core.unknown_order_grace = timedelta(seconds=1)
        with capture_logs() as logs:
            stack.broker.stop()                                   # restarted without its book
            stack.broker = FixBrokerSimulator(stack.broker.config)
            stack.broker.start()
            for index in range(3):
                closed = report(ems, f"L{index}", status("4"), timeout=30)
                assert "no longer knows" in (closed.get(58) or "")
        alerts = [entry for entry in logs if entry["event"] == "alert" and entry.get("kind") == "unknown_at_venue"]
        assert len(alerts) == 3
        queried = [m for m in stack.broker.received_requests() if m.msg_type == "H"]
        assert len(queried) == 3


@pytest.mark.parametrize("ems_name", ["ems-a", "ems-b"], ids=["FIX.4.4", "FIX.4.2"])
def test_an_ems_business_reject_is_accepted_and_put_on_record_on_its_order(tmp_path: Path, journal_url: str,
                                                                           ems_name: str) -> None:
    with running_stack(tmp_path, journal_url=journal_url) as stack:
        stack.broker.auto_fill = False
        ems = stack.ems(ems_name)
        ems.send(new_order("J1", qty="100", price="190.00", handl_inst=ems_name == "ems-b"))
        ack = report(ems, "J1", status("0"))
        with capture_logs() as logs:
            ems.send([(35, "j"), (45, ack.get(34) or ""), (372, "8"), (379, ack.get(17) or ""), (380, "0"),
                      (58, "our blotter cannot take this report")])
            ems.send(status_request("J1"))                       # a barrier: answers come in order
            report(ems, "J1", lambda m: m.get(150) == "I" or m.get(20) == "3")
        assert not [m for m in ems.received if m.msg_type in ("j", "3")]
        [entry] = [entry for entry in logs if entry["event"] == "ems.business_reject"]
        assert entry["ref_id"] == ack.get(17) and entry["order_id"] == ack.get(37)
        assert stack.gateway.runner is not None and stack.gateway.runner.drain()
        events = [event for event in stack.gateway.journal.iter_events(order_id=ack.get(37))
                  if event.event == "ems_business_reject"]
        assert len(events) == 1 and events[0].detail["text"] == "our blotter cannot take this report"


def test_a_clean_restart_keeps_sequence_numbers_and_asks_for_no_resend(tmp_path: Path, journal_url: str) -> None:
    with running_stack(tmp_path, journal_url=journal_url,
                       ems=[EmsSpec("ems-a", "EMS-A")]) as stack:
        ems = stack.ems()
        ems.send(new_order("S1", qty="100", price="190.00"))
        report(ems, "S1", status("2"))
        stack.gateway.stop()
        with capture_logs() as logs:
            stack.gateway = Gateway(stack.config)
            stack.gateway.start()
            assert stack.wait(lambda: stack.gateway.venues_connected().get("equities", False))
            assert stack.wait(lambda: ems.logon_count == 2 and ems.logged_on, 30)
            ems.send(new_order("S2", qty="100", price="190.00"))
            report(ems, "S2", status("2"))
        assert [entry for entry in logs if entry["event"] == "gateway.sequence_rewound"] == []
        resend_requests = [entry for entry in logs if entry["event"] == "quickfix.event"
                           and "ResendRequest" in str(entry.get("text", ""))]
        assert resend_requests == []


def test_a_broker_that_answers_mass_status_gets_one_request_and_its_forgotten_orders_close(
        tmp_path: Path, journal_url: str) -> None:
    specs = tmp_path / "specs"
    shutil.copytree(DEFAULT_SPECS_DIR, specs)
    dialect = specs / "dialects" / "generic-broker.toml"
    dialect.write_text(dialect.read_text(encoding="utf-8").replace("[symbols]", "mass_status = true\n\n[symbols]", 1),
                       encoding="utf-8")
    stack = Stack(tmp_path, journal_url=journal_url, broker_begin="FIX.4.4", ems=[EmsSpec("ems-a", "EMS-A")])
    stack.config = stack.config.model_copy(update={"specs_dir": specs})
    stack.gateway = Gateway(stack.config)
    try:
        stack.start()
        stack.broker.auto_fill = False
        ems = stack.ems()
        for index in range(3):
            ems.send(new_order(f"M{index}", qty="100", price="190.00"))
            report(ems, f"M{index}", status("0"))
        stack.gateway.stop()                                      # a gateway restart: the broker still knows all
        stack.gateway = Gateway(stack.config)
        stack.gateway.start()
        broker = stack.gateway.venues["equities"]
        assert isinstance(broker, FixBrokerVenue)
        # Answered in full (the last report carries LastRptRequested 912=Y): nothing is left waiting for it.
        assert stack.wait(lambda: [m.msg_type for m in stack.broker.received_requests()] == ["D", "D", "D", "AF"]
                          and not broker._mass_status, timeout=30)
        assert stack.gateway.core is not None
        assert len(stack.gateway.core.book.open_orders(venue="equities")) == 3
        assert stack.gateway.core is not None
        stack.gateway.core.unknown_order_grace = timedelta(seconds=1)
        stack.broker.stop()                                       # restarted without its book
        stack.broker = FixBrokerSimulator(stack.broker.config)
        stack.broker.start()
        for index in range(3):
            closed = report(ems, f"M{index}", status("4"), timeout=30)
            assert "OrderMassStatusRequest" in (closed.get(58) or "") or "no longer knows" in (closed.get(58) or "")
        requests = [m.msg_type for m in stack.broker.received_requests()]
        assert requests == ["AF"]                                 # one request, not one per order
    finally:
        stack.close()


def test_an_order_its_broker_leaves_unanswered_gets_a_pending_status_and_an_alert(tmp_path: Path,
                                                                                 journal_url: str) -> None:
    with running_stack(tmp_path, journal_url=journal_url, ems=[EmsSpec("ems-a", "EMS-A")],
                       sim_options={"ack_delay_ms": 4000}) as stack:          # a broker slower than the deadline
        assert stack.gateway.core is not None
        stack.gateway.core.max_unanswered = timedelta(seconds=1)
        ems = stack.ems()
        with capture_logs() as logs:
            ems.send(new_order("W1", qty="100", price="190.00"))
            pending = report(ems, "W1", status("A"))
            assert "no answer from equities" in (pending.get(58) or "")
            report(ems, "W1", status("0"))                                   # the ack still comes through
        assert [entry["kind"] for entry in logs if entry["event"] == "alert"] == ["unanswered"]
        received = [m.get(39) for m in ems.received if m.msg_type == "8" and m.get(11) == "W1"]
        assert received[:2] == ["A", "0"]
