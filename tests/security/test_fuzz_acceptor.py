"""Hostile bytes into the live EMS acceptor over TCP, while another EMS session trades.

Garbled frames, bad checksums, huge BodyLength, binary junk, wrong versions, random credentials, and valid logons
followed by well-framed messages of wrong or unknown types: never a crash, a hang or an untyped exception; each
connection ends with an answer (a Reject, a Logout), a disconnect, or - for bytes that are not yet a whole frame -
nothing; and the bystander EMS (ems-b) trades normally during and after the run. With an unpatched QuickFIX
the first frame's header is left intact: damaging it kills the process (test_quickfix_crash.py, SECURITY.md).
Count: $FIXGW_FUZZ_EXAMPLES (scripts/fuzz), else a bounded number."""

from __future__ import annotations

import os
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest
import structlog
from fuzz_budget import examples
from fuzz_wire import exchange, frame, hostile_session, logon, messages_in
from gateway_stack import WAIT, new_order, report, status
from hypothesis import HealthCheck, given, settings
from secure_stack import SecureStack, ems_sections, secure_stack, set_hash_env

from fixgw.engine.security import quickfix_patched

BAD_EVENTS = {"quickfix_callback_failed", "router.item_failed", "router.pass_failed", "security.logon_check_failed",
              "broker.undecodable_message"}
TARGETS = ("EMS-F", "EMS-X", "EMS-NOBODY")


def _sections() -> dict[str, dict[str, object]]:
    sections: dict[str, dict[str, object]] = dict(ems_sections())
    sections["ems-f"] = {"begin_string": "FIX.4.4", "target_comp_id": "EMS-F", "allowed_accounts": ["ACC1"]}
    return sections


class Bystander:
    """ems-b sends an order every `period` seconds until stopped; each must fill."""

    def __init__(self, stack: SecureStack, period: float = 0.1) -> None:
        self.stack = stack
        self.period = period
        self.sent: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bystander", daemon=True)

    def _run(self) -> None:
        client = self.stack.ems("ems-b")
        while not self._stop.wait(self.period):
            cl_ord_id = f"BY-{len(self.sent)}"
            client.send(new_order(cl_ord_id, qty="100", handl_inst=True))
            self.sent.append(cl_ord_id)

    def __enter__(self) -> Bystander:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def all_filled(self) -> None:
        client = self.stack.ems("ems-b")
        for cl_ord_id in self.sent:
            report(client, cl_ord_id, status("2"), timeout=WAIT)


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SecureStack:
    set_hash_env(monkeypatch)
    lockout = {"lockout": {"max_failures": 1000}}  # random credentials must not lock EMS-X out mid-run
    with secure_stack(tmp_path, ems=_sections(), acceptor=lockout) as running:
        yield running


def test_hostile_bytes_never_hurt_the_gateway_or_other_sessions(stack: SecureStack) -> None:
    outcomes: Counter[tuple[str, str]] = Counter()

    @settings(max_examples=examples(60), deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(hostile_session(TARGETS, intact_header=not quickfix_patched()))
    def one_connection(case: tuple[str, list[bytes]]) -> None:
        kind, chunks = case
        if os.environ.get("FIXGW_FUZZ_TRACE"):  # which case was running when something died
            print("fuzz case:", kind, chunks, file=sys.stderr, flush=True)
        outcome = exchange(stack.acceptor_port, chunks, after_reply=kind.startswith("logon-then"))
        answers = {message.get(35) for message in messages_in(outcome.received)}
        outcomes[(kind, "closed" if outcome.closed else "answered" if answers else "quiet")] += 1
        assert outcome.elapsed < 10
        # A connection that logged on is logged off again once we hang up; wait for it (bounded), so the next
        # connection for the same CompID is not kept waiting by QuickFIX.
        assert stack.wait(lambda: "ems-f" not in stack.gateway.ems_logged_on(), 5)

    with structlog.testing.capture_logs() as logs, Bystander(stack) as bystander:
        one_connection()
    bystander.all_filled()
    assert len(bystander.sent) > 0
    bad = [entry for entry in logs if entry["event"] in BAD_EVENTS]
    assert not bad, bad[:5]
    # The bystanders never lost their sessions, and still trade after the run.
    assert stack.ems("ems-b").logon_count == 1 and stack.ems("ems-a").logon_count == 1
    stack.ems("ems-a").send(new_order("AFTER"))
    report(stack.ems("ems-a"), "AFTER", status("2"))
    print("fuzz outcomes:", dict(outcomes))


def test_garbled_frames_get_a_reject_or_a_disconnect(stack: SecureStack) -> None:
    """Deterministic cases of the property: before logon a bad frame is dropped with the connection; after
    logon a well-framed message of an unknown or wrong type gets a Reject (35=3) or BusinessMessageReject (35=j)."""
    bad_checksum = frame("FIX.4.4", logon("EMS-F"), checksum_off_by=7)
    assert exchange(stack.acceptor_port, [bad_checksum], idle=2.0).closed
    junk_frame = frame("FIX.4.4", [(35, "A"), (34, "x"), (49, "EMS-F")])  # garbage header, whole frame
    assert exchange(stack.acceptor_port, [junk_frame], idle=2.0).closed
    assert stack.wait(lambda: "ems-f" not in stack.gateway.ems_logged_on(), 5)
    header = [(34, "2"), (49, "EMS-F"), (52, logon("EMS-F")[3][1]), (56, "FIXGW")]
    unknown_type = frame("FIX.4.4", [(35, "ZZ"), *header])
    outcome = exchange(stack.acceptor_port, [frame("FIX.4.4", logon("EMS-F")), unknown_type], idle=1.0,
                       after_reply=True)
    answers = [message.get(35) for message in messages_in(outcome.received)]
    assert answers[0] == "A" and ("3" in answers or "j" in answers), answers
    assert stack.wait(lambda: "ems-f" not in stack.gateway.ems_logged_on(), 5)
    wrong_fields = frame("FIX.4.4", [(35, "D"), *header, (11, "X"), (38, "abc")])
    outcome = exchange(stack.acceptor_port, [frame("FIX.4.4", logon("EMS-F")), wrong_fields], idle=1.0,
                       after_reply=True)
    answers = [message.get(35) for message in messages_in(outcome.received)]
    assert answers[0] == "A" and ("3" in answers or "j" in answers or "8" in answers), answers


def test_a_second_connection_for_a_logged_on_session_is_dropped(stack: SecureStack) -> None:
    """Someone else using ems-b's CompID while it is logged on: QuickFIX keeps the connection waiting (about 5 s)
    and drops it; ems-b's own session is not disturbed."""
    outcome = exchange(stack.acceptor_port, [frame("FIX.4.2", logon("EMS-B", begin="FIX.4.2"))], idle=8.0,
                       limit=9.0)
    assert outcome.closed and b"35=A" not in outcome.received
    client = stack.ems("ems-b")
    client.send(new_order("B-AFTER", handl_inst=True))
    report(client, "B-AFTER", status("2"))
    assert client.logon_count == 1
