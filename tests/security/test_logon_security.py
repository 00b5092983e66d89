"""Acceptance: who may log on and trade. Each refusal carries the right message and nothing reaches the broker.

A real gateway, broker simulator and EMS clients on loopback (tests/integration/gateway_stack.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from gateway_stack import cancel, new_order, replace, report, status, status_request
from secure_stack import PASSWORDS, USERNAMES, SecureStack, attempt_logon, secure_stack, set_hash_env

REJECTED = "Rejected Logon Attempt: "


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SecureStack]:
    set_hash_env(monkeypatch)
    with secure_stack(tmp_path) as running:
        yield running


def _events(logs: list[dict[str, Any]], event: str) -> list[dict[str, Any]]:
    return [entry for entry in logs if entry["event"] == event]


def _orders_at_broker(stack: SecureStack) -> int:
    return sum(stack.broker.new_order_counts(include_possdup=True).values())


def test_good_credentials_log_on_fix44_and_fix42_and_trade(stack: SecureStack) -> None:
    """ems-b is FIX 4.2: stock FIX42.xml has no 553/554, specs/fix/FIX42.xml adds both to Logon."""
    assert stack.wait(lambda: stack.gateway.ems_logged_on() >= {"ems-a", "ems-b"})
    a, b = stack.ems("ems-a"), stack.ems("ems-b")
    a.send(new_order("OK-A"))
    report(a, "OK-A", status("2"))
    b.send(new_order("OK-B", handl_inst=True))
    report(b, "OK-B", status("2"))
    assert stack.gateway.security.snapshot()["accepted"] >= 2


def test_wrong_password_is_refused_with_a_reason_and_nothing_executes(stack: SecureStack) -> None:
    with structlog.testing.capture_logs() as logs:
        client = attempt_logon(stack.acceptor_port, "EMS-X", username=USERNAMES["ems-x"], password="not-it")
    logout = client.wait_for(lambda m: m.msg_type == "5", 1)
    assert logout.get(58) == REJECTED + "invalid username or password"
    refused = _events(logs, "security.logon_refused")
    assert refused and refused[0]["session"] == "ems-x" and refused[0]["reason"] == "invalid username or password"
    assert refused[0]["address"] == "127.0.0.1"
    assert "not-it" not in repr(logs)
    assert stack.gateway.security.refusals["credentials"] >= 1
    assert "ems-x" not in stack.gateway.ems_logged_on()
    assert _orders_at_broker(stack) == 0


def test_wrong_username_and_missing_password_are_refused_alike(stack: SecureStack) -> None:
    wrong_user = attempt_logon(stack.acceptor_port, "EMS-X", username="mallory", password=PASSWORDS["ems-x"])
    no_password = attempt_logon(stack.acceptor_port, "EMS-X", username=USERNAMES["ems-x"])
    for client in (wrong_user, no_password):
        assert client.wait_for(lambda m: m.msg_type == "5", 1).get(58) == REJECTED + "invalid username or password"


def test_right_password_logs_on_after_a_wrong_one(stack: SecureStack) -> None:
    attempt_logon(stack.acceptor_port, "EMS-X", username=USERNAMES["ems-x"], password="wrong")
    from fixgw.sim.fix_client import FixClient

    with FixClient(port=stack.acceptor_port, sender_comp_id="EMS-X", target_comp_id="FIXGW",
                   username=USERNAMES["ems-x"], password=PASSWORDS["ems-x"]) as client:
        assert client.wait_logged_on(10)
    assert stack.gateway.security.throttle.failures("session:ems-x") == 0  # a success clears the count


def test_repeated_failures_lock_the_session_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    set_hash_env(monkeypatch)
    lockout = {"lockout": {"max_failures": 2, "base_seconds": 60, "max_seconds": 600}}
    with secure_stack(tmp_path, acceptor=lockout) as stack, structlog.testing.capture_logs() as logs:
        for _ in range(2):
            attempt_logon(stack.acceptor_port, "EMS-X", username=USERNAMES["ems-x"], password="guess")
        # Locked now: even the right password is refused, without being checked.
        locked = attempt_logon(stack.acceptor_port, "EMS-X", username=USERNAMES["ems-x"],
                               password=PASSWORDS["ems-x"])
        text = locked.wait_for(lambda m: m.msg_type == "5", 1).get(58) or ""
        assert text.startswith(REJECTED + "too many failed logons: try again in ")
        assert stack.gateway.security.refusals["locked"] >= 1
        assert any(entry.get("locked_for", 0) >= 60 for entry in _events(logs, "security.logon_refused"))
        # The lockout is per session and per address: ems-a, already logged on, keeps trading.
        stack.ems("ems-a").send(new_order("STILL-OK"))
        report(stack.ems("ems-a"), "STILL-OK", status("2"))


def test_unknown_comp_id_is_refused_and_logged(stack: SecureStack) -> None:
    with structlog.testing.capture_logs() as logs:
        client = attempt_logon(stack.acceptor_port, "EMS-NOBODY", username="x", password="unknown-pw-1",
                               expect_logout=False)
        assert stack.wait(lambda: stack.gateway.security.refusals["unknown_comp_id"] >= 1)
    assert client.logon_count == 0
    refused = _events(logs, "security.logon_refused")
    assert refused[0]["reason"] == "unknown CompID" and refused[0]["sender_comp_id"] == "EMS-NOBODY"
    assert "unknown-pw-1" not in repr(logs)  # QuickFIX's event quotes the message: its 554 is masked
    assert _orders_at_broker(stack) == 0


def test_disallowed_source_address_is_refused_and_logged(stack: SecureStack) -> None:
    """ems-c may only connect from 10.11.12.13: QuickFIX (AllowedRemoteAddresses) drops our 127.0.0.1 before the
    Logon is read - there is no session to answer with - and the refusal is logged and counted."""
    with structlog.testing.capture_logs() as logs:
        client = attempt_logon(stack.acceptor_port, "EMS-C", expect_logout=False)
        assert stack.wait(lambda: stack.gateway.security.refusals["address"] >= 1)
    assert client.logon_count == 0
    denied = _events(logs, "security.connection_denied")
    assert denied[0]["session"] == "ems-c" and denied[0]["address"] == "127.0.0.1"
    assert denied[0]["reason"] == "source address not allowed"
    # ems-a's allow-list holds 127.0.0.1: it is logged on.
    assert "ems-a" in stack.gateway.ems_logged_on() and "ems-c" not in stack.gateway.ems_logged_on()
    assert _orders_at_broker(stack) == 0


def test_cross_session_cancel_replace_and_status_are_refused(stack: SecureStack) -> None:
    stack.broker.auto_fill = False
    a, b = stack.ems("ems-a"), stack.ems("ems-b")
    a.send(new_order("MINE", qty="200"))
    report(a, "MINE", status("0"))
    b.send(cancel("B-CXL", "MINE", qty="200"))
    refused = report(b, "B-CXL", msg_type="9")
    assert refused.get(58) == "unknown order MINE" and refused.get(102) == "1" and refused.get(434) == "1"
    b.send(replace("B-RPL", "MINE", qty="300", price="190.00", handl_inst=True))
    refused = report(b, "B-RPL", msg_type="9")
    assert refused.get(58) == "unknown order MINE" and refused.get(434) == "2"
    b.send(status_request("MINE"))
    answer = report(b, "MINE", lambda m: m.get(150) in ("I", "3") or m.get(39) == "8")
    assert answer.get(39) == "8" and answer.get(58) == "unknown order MINE"
    # The same ClOrdID in another session is another order: not a duplicate, not the same order.
    b.send(new_order("MINE", qty="100", handl_inst=True))
    assert report(b, "MINE", status("0")).get(37) != report(a, "MINE", status("0")).get(37)
    # The broker never saw a cancel, replace or status request; ems-a's order is untouched and its own.
    assert {m.msg_type for m in stack.broker.received_requests()} == {"D"}
    a.send(cancel("MINE-X", "MINE", qty="200"))
    report(a, "MINE-X", status("4"))


def test_disallowed_account_is_denied_and_nothing_executes(stack: SecureStack) -> None:
    a = stack.ems("ems-a")
    a.send(new_order("ACC-9", account="ACC9"))
    denied = report(a, "ACC-9", status("8"))
    assert denied.get(58) == "account 'ACC9' is not allowed for session ems-a" and denied.get(103) == "15"
    assert _orders_at_broker(stack) == 0


def test_disallowed_instrument_and_order_type_are_denied(stack: SecureStack) -> None:
    a = stack.ems("ems-a")
    a.send(new_order("INSTR", symbol="MSFT", price="410.00"))
    assert report(a, "INSTR", status("8")).get(58) == "instrument 'MSFT' is not allowed for session ems-a"
    a.send(new_order("STOP", price=None, ord_type="3", extra=[(99, "180.00")]))
    assert report(a, "STOP", status("8")).get(58) == "order type STOP is not allowed for session ems-a"
    assert _orders_at_broker(stack) == 0
    # A replace may not turn an order into a type the session is not entitled to either.
    stack.broker.auto_fill = False
    a.send(new_order("LIM", qty="100"))
    report(a, "LIM", status("0"))
    a.send([(35, "G"), (11, "LIM-2"), (41, "LIM"), (1, "ACC1"), (55, "AAPL"), (54, "1"),
            (60, "20240102-14:30:00.000"), (38, "100"), (40, "4"), (44, "190.00"), (99, "189.00"), (59, "0")])
    refused = report(a, "LIM-2", msg_type="9")
    assert refused.get(58) == "order type STOP_LIMIT is not allowed for session ems-a"
    assert _orders_at_broker(stack) == 1
