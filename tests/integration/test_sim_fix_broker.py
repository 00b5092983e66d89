"""FixClient against FixBrokerSimulator over loopback, FIX 4.2 and FIX 4.4 sessions side by side."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import quickfix as qf
from pydantic import ValidationError
from waiting import wait_until

import fixgw
from fixgw.engine.quickfix_support import FIX42, FIX44, FIXT11, free_port
from fixgw.sim.fix_broker import FixBrokerSimConfig, FixBrokerSimulator
from fixgw.sim.fix_client import FixClient, ReceivedMessage

VERSIONS = (FIX42, FIX44)
_ids = itertools.count(1)


def transact_time() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H:%M:%S.%f")[:-3]


@dataclass
class Ems:
    """One logged-on EMS session plus the simulator it talks to, with message builders per dialect."""

    client: FixClient
    sim: FixBrokerSimulator

    @property
    def legacy(self) -> bool:
        return self.client.begin_string == FIX42

    def new_order(
        self, *, symbol: str = "IBM", qty: str = "1000", price: str | None = "101.25", cl_ord_id: str = ""
    ) -> str:
        cl_ord_id = cl_ord_id or f"ORD-{next(_ids)}"
        fields = [(35, "D"), (11, cl_ord_id), (55, symbol), (54, "1"), (60, transact_time()), (38, qty)]
        fields += [(40, "2"), (44, price)] if price is not None else [(40, "1")]
        if self.legacy:
            fields.append((21, "1"))  # HandlInst is required in FIX 4.2
        assert self.client.send(fields)
        return cl_ord_id

    def cancel(self, orig_cl_ord_id: str, *, qty: str = "1000") -> str:
        cl_ord_id = f"CXL-{next(_ids)}"
        fields = [(35, "F"), (11, cl_ord_id), (41, orig_cl_ord_id), (55, "IBM"), (54, "1"), (60, transact_time())]
        fields.append((38, qty))
        assert self.client.send(fields)
        return cl_ord_id

    def replace(self, orig_cl_ord_id: str, *, qty: str, price: str) -> str:
        cl_ord_id = f"RPL-{next(_ids)}"
        fields = [(35, "G"), (11, cl_ord_id), (41, orig_cl_ord_id), (55, "IBM"), (54, "1"), (60, transact_time())]
        fields += [(38, qty), (40, "2"), (44, price)]
        if self.legacy:
            fields.append((21, "1"))
        assert self.client.send(fields)
        return cl_ord_id

    def status_request(self, cl_ord_id: str) -> None:
        assert self.client.send([(35, "H"), (11, cl_ord_id), (55, "IBM"), (54, "1")])

    def report(self, cl_ord_id: str, where: Callable[[ReceivedMessage], bool] = lambda m: True) -> ReceivedMessage:
        return self.client.wait_for(lambda m: m.msg_type == "8" and m.get(11) == cl_ord_id and where(m))

    def cancel_reject(self, cl_ord_id: str) -> ReceivedMessage:
        return self.client.wait_for(lambda m: m.msg_type == "9" and m.get(11) == cl_ord_id)

    def accepted(self, cl_ord_id: str) -> str:
        """Wait for the New ack and return the broker OrderID."""
        ack = self.report(cl_ord_id, lambda m: m.get(150) == "0")
        order_id = ack.get(37)
        assert order_id
        return order_id

    def fill_type(self, *, complete: bool) -> str:
        if self.legacy:
            return "2" if complete else "1"
        return "F"


@pytest.fixture(scope="module")
def shared_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FixBrokerSimulator, dict[str, FixClient]]]:
    """One simulator (auto_fill off) with a FIX 4.2 and a FIX 4.4 EMS session logged on at the same time."""
    folder = tmp_path_factory.mktemp("sim")
    port = free_port()
    sim = FixBrokerSimulator(
        FixBrokerSimConfig(
            port=port,
            target_comp_ids=("EMS",),
            store_dir=folder / "broker",
            auto_fill=False,
            reject_symbols=("BADCO",),
            max_order_qty=Decimal("1000000"),
        )
    )
    sim.start()
    clients = {
        version: FixClient(
            port=port, begin_string=version, sender_comp_id="EMS", target_comp_id="BROKER", store_dir=folder / "ems"
        )
        for version in VERSIONS
    }
    try:
        for client in clients.values():
            client.start()
        assert all(client.wait_logged_on(10) for client in clients.values())
        yield sim, clients
    finally:
        for client in clients.values():
            client.stop()
        sim.stop()


@pytest.fixture(params=VERSIONS)
def ems(request: pytest.FixtureRequest, shared_sim: tuple[FixBrokerSimulator, dict[str, FixClient]]) -> Ems:
    sim, clients = shared_sim
    return Ems(clients[request.param], sim)


def test_both_versions_are_logged_on_at_once(shared_sim: tuple[FixBrokerSimulator, dict[str, FixClient]]) -> None:
    sim, _ = shared_sim
    assert sim.logged_on_sessions() == ["FIX.4.2:BROKER->EMS", "FIX.4.4:BROKER->EMS"]


def test_new_order_is_acked_then_filled_in_slices(ems: Ems) -> None:
    ems.sim.auto_fill = True
    try:
        cl_ord_id = ems.new_order(qty="1000", price="101.25")
        ack = ems.report(cl_ord_id, lambda m: m.get(150) == "0")
        final = ems.report(cl_ord_id, lambda m: m.get(39) == "2")
    finally:
        ems.sim.auto_fill = False
    assert (ack.get(39), ack.get(151), ack.get(14)) == ("0", "1000", "0")
    assert ack.get(20) == ("0" if ems.legacy else None)
    reports = [m for m in ems.client.received if m.msg_type == "8" and m.get(11) == cl_ord_id]
    assert [m.get(150) for m in reports] == ["0", ems.fill_type(complete=False), ems.fill_type(complete=True)]
    partial = reports[1]
    assert [partial.get(tag) for tag in (39, 32, 31, 14, 151, 6)] == ["1", "500", "101.25", "500", "500", "101.25"]
    assert [final.get(tag) for tag in (32, 31, 14, 151, 6)] == ["500", "101.25", "1000", "0", "101.25"]
    assert len({m.get(37) for m in reports}) == 1
    assert len({m.get(17) for m in reports}) == 3
    order = ems.sim.orders[ack.get(37) or ""]
    assert (order.status, order.cum_qty, order.avg_px) == ("2", Decimal("1000"), Decimal("101.25"))


def test_fractional_market_order_fills_at_reference_price(ems: Ems) -> None:
    ems.sim.auto_fill = True
    try:
        cl_ord_id = ems.new_order(qty="2.5", price=None)
        final = ems.report(cl_ord_id, lambda m: m.get(39) == "2")
    finally:
        ems.sim.auto_fill = False
    fills = [m for m in ems.client.received if m.get(11) == cl_ord_id and m.get(32)]
    assert [m.get(32) for m in fills] == ["1.2", "1.3"]
    assert [final.get(tag) for tag in (31, 14, 151, 6)] == ["100", "2.5", "0", "100"]


def test_fills_at_different_prices_give_an_exact_average(ems: Ems) -> None:
    cl_ord_id = ems.new_order(qty="1000", price="101.30")
    order_id = ems.accepted(cl_ord_id)
    ems.sim.fill(order_id, "300", "101.10")
    ems.sim.fill(cl_ord_id, Decimal("700"), Decimal("101.20"))
    final = ems.report(cl_ord_id, lambda m: m.get(39) == "2")
    assert [final.get(tag) for tag in (32, 31, 14, 151, 6)] == ["700", "101.2", "1000", "0", "101.17"]
    assert ems.sim.orders[order_id].avg_px == Decimal("101.17")


def test_cancel_of_a_live_order(ems: Ems) -> None:
    cl_ord_id = ems.new_order()
    order_id = ems.accepted(cl_ord_id)
    cancel_id = ems.cancel(cl_ord_id)
    report = ems.report(cancel_id)
    assert [report.get(tag) for tag in (150, 39, 41, 37, 151, 14)] == ["4", "4", cl_ord_id, order_id, "0", "0"]
    assert ems.sim.orders[order_id].status == "4"


def test_cancel_of_a_filled_order_is_rejected(ems: Ems) -> None:
    cl_ord_id = ems.new_order(qty="100")
    order_id = ems.accepted(cl_ord_id)
    ems.sim.fill(order_id, "100")
    ems.report(cl_ord_id, lambda m: m.get(39) == "2")
    reject = ems.cancel_reject(ems.cancel(cl_ord_id, qty="100"))
    assert [reject.get(tag) for tag in (434, 102, 39, 37, 41)] == ["1", "0", "2", order_id, cl_ord_id]
    assert "filled" in (reject.get(58) or "")


def test_cancel_of_an_unknown_order_is_rejected(ems: Ems) -> None:
    reject = ems.cancel_reject(ems.cancel("NO-SUCH-ORDER"))
    assert [reject.get(tag) for tag in (434, 102, 37)] == ["1", "1", "NONE"]
    assert "unknown order" in (reject.get(58) or "")


def test_replace_of_a_live_order(ems: Ems) -> None:
    cl_ord_id = ems.new_order(qty="1000", price="101.25")
    order_id = ems.accepted(cl_ord_id)
    ems.sim.fill(order_id, "200")
    replace_id = ems.replace(cl_ord_id, qty="800", price="101.5")
    report = ems.report(replace_id)
    assert [report.get(tag) for tag in (150, 41, 37, 38, 44, 14, 151)] == [
        "5", cl_ord_id, order_id, "800", "101.5", "200", "600",
    ]  # fmt: skip
    assert report.get(39) == ("5" if ems.legacy else "1")
    assert report.get(20) == ("0" if ems.legacy else None)
    order = ems.sim.orders[order_id]
    assert (order.cl_ord_id, order.order_qty, order.price) == (replace_id, Decimal("800"), Decimal("101.5"))
    ems.sim.fill(replace_id, "600")
    assert ems.report(replace_id, lambda m: m.get(39) == "2").get(31) == "101.5"


def test_replace_of_a_filled_order_is_rejected(ems: Ems) -> None:
    cl_ord_id = ems.new_order(qty="100")
    order_id = ems.accepted(cl_ord_id)
    ems.sim.fill(order_id, "100")
    reject = ems.cancel_reject(ems.replace(cl_ord_id, qty="200", price="101"))
    assert [reject.get(tag) for tag in (434, 102, 39)] == ["2", "0", "2"]
    assert ems.sim.orders[order_id].order_qty == Decimal("100")


@pytest.mark.parametrize(
    ("order_kwargs", "reason", "text"),
    [
        ({"symbol": "BADCO"}, "1", "symbol BADCO is not tradable"),
        ({"qty": "1000001"}, "3", "order qty 1000001 exceeds max order qty 1000000"),
    ],
)
def test_order_breaking_a_rule_is_rejected_with_a_reason(
    ems: Ems, order_kwargs: dict[str, str], reason: str, text: str
) -> None:
    cl_ord_id = ems.new_order(**order_kwargs)
    reject = ems.report(cl_ord_id)
    assert [reject.get(tag) for tag in (150, 39, 103, 151, 14)] == ["8", "8", reason, "0", "0"]
    assert text in (reject.get(58) or "")
    assert all(order.cl_ord_id != cl_ord_id for order in ems.sim.orders.values())


def test_status_request_reports_the_current_state(ems: Ems) -> None:
    cl_ord_id = ems.new_order(qty="1000")
    order_id = ems.accepted(cl_ord_id)
    ems.sim.fill(order_id, "400")
    ems.report(cl_ord_id, lambda m: m.get(14) == "400")
    mark = len(ems.client.received)
    ems.status_request(cl_ord_id)
    status = ems.client.wait_for(lambda m: m.get(11) == cl_ord_id, start=mark)
    assert [status.get(tag) for tag in (39, 14, 151, 37)] == ["1", "400", "600", order_id]
    if ems.legacy:
        assert (status.get(20), status.get(150)) == ("3", "1")
    else:
        assert status.get(150) == "I"


def test_status_request_for_an_unknown_order(ems: Ems) -> None:
    ems.status_request("NEVER-SENT")
    status = ems.report("NEVER-SENT")
    assert (status.get(39), status.get(58)) == ("8", "unknown order")


def test_duplicate_cl_ord_id_is_rejected_and_counted(ems: Ems) -> None:
    cl_ord_id = ems.new_order()
    order_id = ems.accepted(cl_ord_id)
    ems.new_order(cl_ord_id=cl_ord_id)
    reject = ems.report(cl_ord_id, lambda m: m.get(39) == "8")
    assert (reject.get(103), reject.get(58)) == ("6", f"duplicate ClOrdID {cl_ord_id}")
    assert ems.sim.new_order_counts()[cl_ord_id] == 2
    assert [o.order_id for o in ems.sim.orders.values() if cl_ord_id in o.cl_ord_ids] == [order_id]


@pytest.mark.parametrize(("event", "exec_type"), [("expire", "C"), ("cancel_unsolicited", "4"), ("done_for_day", "3")])
def test_unsolicited_order_events(ems: Ems, event: str, exec_type: str) -> None:
    cl_ord_id = ems.new_order(qty="1000")
    order_id = ems.accepted(cl_ord_id)
    ems.sim.fill(order_id, "250")
    getattr(ems.sim, event)(order_id)
    report = ems.report(cl_ord_id, lambda m: m.get(150) == exec_type)
    assert [report.get(tag) for tag in (39, 14, 151)] == [exec_type, "250", "0"]
    assert ems.sim.orders[order_id].status == exec_type


def test_bust_reopens_the_order_and_correct_replaces_the_execution(ems: Ems) -> None:
    cl_ord_id = ems.new_order(qty="1000")
    order_id = ems.accepted(cl_ord_id)
    first = ems.sim.fill(order_id, "400", "101")
    second = ems.sim.fill(order_id, "600", "102")
    ems.report(cl_ord_id, lambda m: m.get(39) == "2")

    ems.sim.bust(second)
    bust = ems.report(cl_ord_id, lambda m: m.get(19) == second)
    assert [bust.get(tag) for tag in (39, 14, 151, 6)] == ["1", "400", "600", "101"]
    if ems.legacy:
        assert (bust.get(20), bust.get(150)) == ("1", "2")
    else:
        assert bust.get(150) == "H"

    corrected = ems.sim.correct(first, "300", "100.5")
    correction = ems.report(cl_ord_id, lambda m: m.get(19) == first)
    assert [correction.get(tag) for tag in (17, 32, 31, 14, 151, 6)] == [
        corrected,
        "300",
        "100.5",
        "300",
        "700",
        "100.5",
    ]
    if ems.legacy:
        assert correction.get(20) == "2"
    else:
        assert correction.get(150) == "G"
    assert ems.sim.orders[order_id].exec_ids == (corrected,)


def test_impossible_injected_fill_raises(ems: Ems) -> None:
    cl_ord_id = ems.new_order(qty="100")
    ems.accepted(cl_ord_id)
    with pytest.raises(ValueError, match="cannot fill 101"):
        ems.sim.fill(cl_ord_id, "101")
    with pytest.raises(ValueError, match="no order"):
        ems.sim.fill("NO-SUCH-ORDER", "1")


def test_unsupported_message_type_gets_a_business_reject(ems: Ems) -> None:
    mark = len(ems.client.received)
    assert ems.client.send([(35, "c"), (320, "SECDEF-1"), (321, "3")])  # valid, but no broker handles it
    reject = ems.client.wait_for(lambda m: m.msg_type == "j", start=mark)
    assert reject.get(372) == "c"


def test_wait_for_timeout_lists_what_was_received(ems: Ems) -> None:
    with pytest.raises(TimeoutError, match=r"received:\n.*35=A"):
        ems.client.wait_for(lambda m: False, timeout=0.2)


def test_fixt_session_carries_repeating_groups_to_the_broker(tmp_path: Path) -> None:
    port = free_port()
    # QuickFIX takes ~4 s per engine to load FIX50SP2.xml, so only the broker validates. It must: without a
    # dictionary QuickFIX cannot parse groups and rejects them (35=3 "Tag appears more than once").
    config = FixBrokerSimConfig(port=port, sender_comp_id="BROKER4", target_comp_ids=("EMS4",), begin_strings=(FIXT11,))
    parties = [(453, "2"), (448, "TRADER1"), (447, "D"), (452, "11"), (448, "DESK-A"), (447, "D"), (452, "3")]
    strategy = [(957, "2"), (958, "Urgency"), (959, "14"), (960, "High"), (958, "MaxPctVol"), (959, "11")]
    strategy.append((960, "0.15"))
    with (
        FixBrokerSimulator(config) as sim,
        FixClient(
            port=port, begin_string=FIXT11, sender_comp_id="EMS4", target_comp_id="BROKER4", validate=False
        ) as ems_client,
    ):
        assert ems_client.wait_logged_on(10)
        order = [(35, "D"), (11, "GRP-1"), *parties, (55, "IBM"), (54, "1"), (60, transact_time()), (38, "10")]
        assert ems_client.send([*order, (40, "2"), (44, "50"), *strategy])
        final = ems_client.wait_for(lambda m: m.get(11) == "GRP-1" and m.get(39) == "2")
        request = next(m for m in sim.received_requests() if m.get(11) == "GRP-1")
    assert final.get(1128) is None and final.get(150) == "F"
    start = request.fields.index((453, "2"))
    assert request.fields[start : start + 7] == parties
    start = request.fields.index((957, "2"))
    assert request.fields[start : start + 7] == strategy


def test_sequence_numbers_survive_a_simulator_restart(tmp_path: Path) -> None:
    port = free_port()
    # CompIDs differ from the shared simulator's: QuickFIX's session registry is process-wide.
    config = FixBrokerSimConfig(
        port=port, sender_comp_id="BROKER2", target_comp_ids=("EMS2",), begin_strings=(FIX44,), store_dir=tmp_path / "b"
    )

    def client() -> FixClient:
        return FixClient(
            port=port, begin_string=FIX44, sender_comp_id="EMS2", target_comp_id="BROKER2", store_dir=tmp_path / "c"
        )

    first_order_ids: set[str] = set()
    with FixBrokerSimulator(config) as sim, client() as ems_client:
        assert ems_client.wait_logged_on(10)
        ems = Ems(ems_client, sim)
        cl_ord_id = ems.new_order(qty="100")
        first_order_ids.add(ems.accepted(cl_ord_id))
        ems.report(cl_ord_id, lambda m: m.get(39) == "2")
        last_seq = max(int(m.get(34) or 0) for m in ems_client.received)
    assert last_seq >= 4  # logon, ack, two fills

    with FixBrokerSimulator(config) as sim, client() as ems_client:
        assert ems_client.wait_logged_on(10)
        logon = ems_client.wait_for(lambda m: m.msg_type == "A")
        assert int(logon.get(34) or 0) > last_seq
        ems = Ems(ems_client, sim)
        cl_ord_id = ems.new_order(qty="100")
        assert ems.accepted(cl_ord_id) not in first_order_ids
        assert not [m for m in ems_client.received if m.msg_type in ("2", "4", "3")]  # no gap, no reset


def test_a_logout_stalled_under_load_loses_no_sequence_number(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """request_logout hurries the Logout with a TestRequest. It once flagged the logout first: when its caller
    was descheduled (a loaded machine) before sending the TestRequest, QuickFIX's one-second timer sent the
    Logout, and the TestRequest behind it took a sequence number the broker never processed, so the next logon
    opened with a ResendRequest. Here the caller is held right after request_logout's isLoggedOn() check until
    the session timer has acted on a flagged logout (an unflagged session has nothing to act on)."""
    port = free_port()
    config = FixBrokerSimConfig(
        port=port, sender_comp_id="BROKER8", target_comp_ids=("EMS8",), begin_strings=(FIX44,), store_dir=tmp_path / "b"
    )

    def client() -> FixClient:
        return FixClient(
            port=port, begin_string=FIX44, sender_comp_id="EMS8", target_comp_id="BROKER8", store_dir=tmp_path / "c"
        )

    with FixBrokerSimulator(config) as sim, client() as ems_client:
        assert ems_client.wait_logged_on(10)
        is_logged_on = qf.Session.isLoggedOn

        def descheduled(session: qf.Session) -> bool:
            answer: bool = is_logged_on(session)
            if not session.isEnabled():  # logout flagged: the timer sends the Logout, the broker answers it
                wait_until(lambda: not sim.logged_on_sessions() and not ems_client.logged_on, what="the Logout")
            return answer

        monkeypatch.setattr(qf.Session, "isLoggedOn", descheduled)
        ems_client.stop()
        monkeypatch.undo()

    with FixBrokerSimulator(config) as sim, client() as ems_client:
        assert ems_client.wait_logged_on(10)
        ems = Ems(ems_client, sim)
        ems.accepted(ems.new_order(qty="100"))  # a ResendRequest would have come before this ack
        assert not [m for m in ems_client.received if m.msg_type in ("2", "4", "3")]  # no gap, no reset


def test_logon_carries_username_and_password(tmp_path: Path) -> None:
    port = free_port()
    config = FixBrokerSimConfig(
        port=port, sender_comp_id="BROKER3", target_comp_ids=("EMS3",), begin_strings=(FIX44,), log_dir=tmp_path / "log"
    )
    with (
        FixBrokerSimulator(config),
        FixClient(
            port=port, sender_comp_id="EMS3", target_comp_id="BROKER3", username="alice", password="s3cret"
        ) as ems_client,
    ):
        assert ems_client.wait_logged_on(10)
    incoming = (tmp_path / "log" / "FIX.4.4-BROKER3-EMS3.messages.current.log").read_text()
    assert "\x01553=alice\x01554=s3cret\x01" in incoming


def test_a_second_live_session_with_the_same_id_is_refused(
    shared_sim: tuple[FixBrokerSimulator, dict[str, FixClient]],
) -> None:
    with pytest.raises(ValueError, match=r"FIX.4.4:EMS->BROKER already exists"):
        FixClient(port=free_port(), begin_string=FIX44, sender_comp_id="EMS", target_comp_id="BROKER")
    with pytest.raises(ValueError, match=r"FIX.4.2:BROKER->EMS already exists"):
        FixBrokerSimulator(FixBrokerSimConfig(port=free_port(), target_comp_ids=("EMS",)))


def test_config_rejects_unknown_keys_and_floats() -> None:
    with pytest.raises(ValidationError, match="extra"):
        FixBrokerSimConfig(port=1, fill_slice=3)  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="never float"):
        FixBrokerSimConfig(port=1, max_order_qty=1.5)


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_cli_serves_until_a_signal_then_exits_zero(tmp_path: Path, stop_signal: signal.Signals) -> None:
    port = free_port()
    repo = Path(fixgw.__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(repo), os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, "-m", "fixgw.sim.cli", "fix-broker", "--port", str(port)]
    command += ["--sender-comp-id", "BROKER5", "--target-comp-id", "EMS5", "--begin-string", FIX44]
    command += ["--fill-slices", "3", "--max-qty", "500", "--state-dir", str(tmp_path / "state")]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        with FixClient(port=port, sender_comp_id="EMS5", target_comp_id="BROKER5") as ems_client:
            assert ems_client.wait_logged_on(15), "simulator did not accept the session"
            ems = Ems(ems_client, None)  # type: ignore[arg-type]  # only the message builders are used
            cl_ord_id = ems.new_order(qty="300")
            assert ems.report(cl_ord_id, lambda m: m.get(39) == "2").get(32) == "100"
            rejected = ems.new_order(qty="501")
            assert ems.report(rejected).get(103) == "3"
            process.send_signal(stop_signal)
            assert process.wait(timeout=15) == 0
        out, err = process.communicate(timeout=5)
        assert "FIX.4.4:BROKER5->EMS5" in out, err
        assert (tmp_path / "state" / "store").is_dir()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=5)
