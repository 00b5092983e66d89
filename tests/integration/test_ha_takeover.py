"""Two gateway processes on one PostgreSQL journal: kill -9 of the active at a random moment under load, SIGSTOP
of the active past its lease, and a planned step-down. The standby takes over, the EMS reconnects through its
alternate address; every order ends with one final state at the EMS, the broker gets no order twice, and no
session starts its sequence numbers again."""

from __future__ import annotations

import json
import os
import random
import signal
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import quickfix as qf
from gateway_stack import new_order
from ha_stack import ADMIN_TOKEN, LEASE_S, POSTGRES_URL_ENV, HaPair, ha_schema
from waiting import wait_until

from fixgw.cli import main as cli_main

ORDERS = 40
RATE = 200.0  # orders per second
WAIT = 60.0

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@pytest.fixture
def pair(tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[HaPair]:
    monkeypatch.setenv("FIXGW_TEST_ADMIN_TOKEN", ADMIN_TOKEN)  # the CLI reads the nodes' configuration too
    base = os.environ.get(POSTGRES_URL_ENV)
    if not base:
        pytest.skip(f"{POSTGRES_URL_ENV} is not set")
    with ha_schema(base) as url:
        stack = HaPair(tmp_path, url, debug_a=getattr(request, "param", False))
        try:
            stack.start()
            yield stack
        finally:
            stack.stop()


def send_orders(pair: HaPair, prefix: str, count: int, *, at: int, action) -> None:  # type: ignore[no-untyped-def]
    """`count` orders at RATE per second; `action()` after order number `at`."""
    period = 1.0 / RATE
    next_at = time.monotonic()
    for index in range(count):
        pair.ems.send(new_order(f"{prefix}{index}", qty="200", price="190.00", account="ACC1"))
        if index == at:
            action()
        next_at += period
        time.sleep(max(0.0, next_at - time.monotonic()))


def sequence_numbers(pair: HaPair) -> tuple[int, int, int]:
    """The next MsgSeqNum each peer expects from the gateway: EMS, broker, drop-copy client."""
    ems = qf.Session.lookupSession(pair.ems.session_id)
    broker = qf.Session.lookupSession(qf.SessionID("FIX.4.2", "BROKER", "FIXGW"))
    compliance = qf.Session.lookupSession(pair.compliance.session_id)
    return (int(ems.getExpectedTargetNum()), int(broker.getExpectedTargetNum()),
            int(compliance.getExpectedTargetNum()))


def numbered_on(before: tuple[int, ...], after: tuple[int, ...]) -> bool:
    """Every session's numbers went on (a gap fill at most), none started again from 1."""
    return all(later > earlier for earlier, later in zip(before, after, strict=True))


def assert_outcome(pair: HaPair, prefix: str, count: int) -> None:
    """Each order filled at the EMS with one final state; each order once at the broker (PossDup aside)."""
    for index in range(count):
        assert pair.ems.wait_for(lambda m, i=index: m.msg_type == "8" and m.get(11) == f"{prefix}{i}"
                                 and m.get(39) == "2", WAIT), f"{prefix}{index} not filled"
    finals: dict[str, set[str]] = {}
    fills: dict[tuple[str, str], Decimal] = {}
    for message in pair.ems.received:
        if message.msg_type != "8" or not (message.get(11) or "").startswith(prefix):
            continue
        if message.get(39) in ("2", "4", "8", "C"):
            finals.setdefault(message.get(11) or "", set()).add(message.get(39) or "")
        if message.get(150) == "F":  # a resend (PossResend) shares the ExecID
            fills[(message.get(11) or "", message.get(17) or "")] = Decimal(message.get(32) or "0")
    assert all(states == {"2"} for states in finals.values()), finals
    assert len(finals) == count
    per_order: dict[str, Decimal] = {}
    for (cl_ord_id, _exec_id), qty in fills.items():
        per_order[cl_ord_id] = per_order.get(cl_ord_id, Decimal(0)) + qty
    assert per_order == {f"{prefix}{i}": Decimal(200) for i in range(count)}
    counts = pair.broker.new_order_counts(include_possdup=True)  # not even as a resend
    assert len(counts) == count, counts
    assert all(n == 1 for n in counts.values()), {k: n for k, n in counts.items() if n != 1}


def test_kill_9_of_the_active_under_load(pair: HaPair) -> None:
    a, b = pair.nodes["a"], pair.nodes["b"]
    before = sequence_numbers(pair)
    moment = random.Random().randrange(5, ORDERS - 5)
    killed_at: list[float] = []

    def kill() -> None:
        a.signal(signal.SIGKILL)
        killed_at.append(time.monotonic())

    send_orders(pair, "K", ORDERS, at=moment, action=kill)
    assert a.wait(10) == -signal.SIGKILL
    assert wait_until(lambda: pair.active() == "b", LEASE_S + 10), b.tail()
    assert wait_until(lambda: pair.ems.logged_on and pair.broker.logged_on_sessions() != []
                      and pair.compliance.logged_on, WAIT), b.tail()
    assert_outcome(pair, "K", ORDERS)
    after = sequence_numbers(pair)
    assert numbered_on(before, after), (before, after)
    assert [e["session"] for e in b.events("ha.session_resumed")] == ["acceptor:ems-a", "initiator:equities",
                                                                     "dropcopy:compliance"]
    assert pair.lease().epoch == 2
    ha = b.admin("/api/ha").json()
    assert (ha["enabled"], ha["role"], ha["epoch"], ha["holder"]) == (True, "active", 2, "b")
    metrics = b.admin("/metrics").text
    assert "fixgw_ha_active 1.0" in metrics and "fixgw_ha_epoch 2.0" in metrics
    assert "HA node b (fixgw): active, epoch 2" in b.admin("/status").text


@pytest.mark.parametrize("pair", [True], indirect=True)  # node a logs every message (DEBUG)
def test_paused_active_is_fenced_and_sends_nothing(pair: HaPair) -> None:
    a, b = pair.nodes["a"], pair.nodes["b"]
    before = sequence_numbers(pair)
    stopped: list[float] = []

    def pause() -> None:
        a.signal(signal.SIGSTOP)
        stopped.append(time.time())

    send_orders(pair, "S", 20, at=8, action=pause)
    assert wait_until(lambda: pair.active() == "b", LEASE_S + 10), b.tail()
    assert wait_until(lambda: pair.ems.logged_on and pair.broker.logged_on_sessions() != []
                      and pair.compliance.logged_on, WAIT), b.tail()
    resumed = time.time()
    a.signal(signal.SIGCONT)
    assert a.wait(20) == 3, a.tail()  # EXIT_FENCED
    assert a.events("ha.fenced"), a.tail()
    assert a.events("gateway.exit")[-1]["role"] == "fenced"
    # QuickFIX logs a message just before its socket write. Nothing made after the pause leaves: the only message
    # that may is one already past every check when the process was stopped (its SendingTime is from before).
    sent_after = [str(e.get("raw", "")) for e in a.events("quickfix.message") if e.get("direction") == "out"
                  and str(e.get("timestamp", "")) >= _iso(resumed)]
    made_after_pause = [raw for raw in sent_after if _sending_time(raw) >= _iso(stopped[0])]
    assert made_after_pause == [] and len(sent_after) <= 3, sent_after  # at most one in flight per session
    assert_outcome(pair, "S", 20)
    after = sequence_numbers(pair)
    assert numbered_on(before, after), (before, after)


def test_planned_step_down_under_load_loses_nothing(pair: HaPair, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = pair.nodes["a"], pair.nodes["b"]
    before = sequence_numbers(pair)
    codes: list[int] = []

    def step_down() -> None:
        codes.append(cli_main(["ha", "step-down", "--config", str(a.config)]))

    send_orders(pair, "P", ORDERS, at=ORDERS // 2, action=step_down)
    assert codes == [0]
    assert a.wait(30) == 0, a.tail()
    assert wait_until(lambda: pair.active() == "b", LEASE_S + 10), b.tail()
    assert wait_until(lambda: pair.ems.logged_on and pair.broker.logged_on_sessions() != []
                      and pair.compliance.logged_on, WAIT), b.tail()
    assert_outcome(pair, "P", ORDERS)
    capsys.readouterr()
    assert cli_main(["ha", "status", "--config", str(a.config), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert (status["active"], status["epoch"]) == ("b", 2)
    after = sequence_numbers(pair)
    assert numbered_on(before, after), (before, after)


def _sending_time(raw: str) -> str:
    """SendingTime(52) of a logged message, as an ISO time comparable with _iso()."""
    value = next(field[3:] for field in raw.split("|") if field.startswith("52="))
    return f"{value[0:4]}-{value[4:6]}-{value[6:8]}T{value[9:]}"


def _iso(at: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(at, UTC).isoformat().replace("+00:00", "Z")
