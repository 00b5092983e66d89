"""What the EMS and drop-copy acceptors expose: the address they listen on, and how long a connection that never
logs on may stay (acceptor.host, dropcopy.<name>.host, acceptor.logon_timeout_s; patched quickfix, fixgw2)."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import pytest
import quickfix as qf
import structlog
from gateway_stack import WAIT, EmsSpec
from secure_stack import SecureStack, set_hash_env

from fixgw.config import parse_config
from fixgw.configcheck import deep_check
from fixgw.engine import security as engine_security
from fixgw.engine.gateway import Gateway
from fixgw.engine.quickfix_support import free_port
from fixgw.engine.security import UnboundHostError, require_bindable_host


def _listening(port: int) -> set[str]:
    """Local addresses of the TCP sockets listening on `port`, read from the kernel (not from any config)."""
    found = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        with open(table, encoding="ascii") as lines:
            next(lines)
            for line in lines:
                local, _remote, state = line.split()[1:4]
                address, _, hex_port = local.partition(":")
                if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                    found.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]) if width == 8 else address)
    return found


def _threads() -> int:
    return len(os.listdir("/proc/self/task"))  # QuickFIX's C++ threads too, which threading cannot see


def _until(condition: Callable[[], bool], timeout: float = WAIT) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_acceptors_listen_on_the_configured_host_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    set_hash_env(monkeypatch)
    dropcopy_port = free_port()
    stack = SecureStack(tmp_path, acceptor={"host": "127.0.0.1"}, extra={"dropcopy": {"compliance": {
        "target_comp_id": "COMPLIANCE", "host": "127.0.0.1", "port": dropcopy_port}}})
    try:
        stack.start()
        assert _listening(stack.acceptor_port) == {"127.0.0.1"}  # stock QuickFIX 1.16: {"0.0.0.0"}
        assert _listening(dropcopy_port) == {"127.0.0.1"}
        assert stack.ems("ems-a").logon_count == 1
    finally:
        stack.close()


def test_an_acceptor_that_cannot_bind_its_host_refuses_to_start(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(qf, "FIXGW_PATCHES", frozenset(), raising=False)  # a stock quickfix build
    config = parse_config({"state_dir": str(tmp_path / "gw"), "ems": {"e": {"target_comp_id": "E"}},
                           "dropcopy": {"c": {"target_comp_id": "C", "host": "0.0.0.0", "port": free_port()}}})
    gateway = Gateway(config)
    with pytest.raises(UnboundHostError, match=r"acceptor\.host = '127\.0\.0\.1': .*every interface"):
        gateway.start()
    gateway.stop()
    assert not (tmp_path / "gw").exists()  # refused before anything was opened
    assert [key for key, _reason in deep_check(config)] == ["acceptor.host"]  # `fixgw check-config` says so too
    require_bindable_host("acceptor.host", "0.0.0.0")  # said explicitly: every interface is what it gets
    monkeypatch.setattr(qf, "FIXGW_PATCHES", frozenset({"accept-host"}))
    require_bindable_host("dropcopy.compliance.host", "10.1.2.3")
    assert engine_security.quickfix_has("accept-host")


SILENT = b""
GARBAGE = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(64))  # no "8=" anywhere: never a frame
HALF_FRAME = b"8=FIX.4.4\x019=120\x0135=A\x0134=1\x0149=EMS-X\x01"  # announces 120 bytes, sends 30
HTTP = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def _open(port: int, first_bytes: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    if first_bytes:
        sock.sendall(first_bytes)
    return sock


def _closed_by_server(sock: socket.socket) -> bool:
    try:
        return sock.recv(4096) == b""  # EOF (the server's response to HTTP etc. would not be empty)
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_connections_that_never_log_on_are_closed_and_free_their_threads(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    set_hash_env(monkeypatch)
    stack = SecureStack(tmp_path, acceptor={"logon_timeout_s": 2}, clients=("ems-a",))
    try:
        stack.start()
        before = _threads()
        with ExitStack() as held, structlog.testing.capture_logs() as logs:
            junk = [held.enter_context(_open(stack.acceptor_port, payload))
                    for payload in (SILENT, GARBAGE, HALF_FRAME, HTTP) for _ in range(5)]
            assert _until(lambda: _threads() >= before + len(junk)), "one QuickFIX thread per connection"
            late = stack.client(EmsSpec("ems-b", "EMS-B", "FIX.4.2"))
            late.start()  # a real EMS logs on meanwhile
            assert late.wait_logged_on(WAIT)
            for sock in junk:
                sock.settimeout(WAIT)
                assert _closed_by_server(sock), "a connection without a Logon stayed open"
            late.stop()
            assert _until(lambda: _threads() <= before), f"threads: {_threads()}, were {before}"
        assert stack.gateway.security.snapshot()["logon_timeout"] == len(junk)
        timeouts = [entry for entry in logs if entry["event"] == "security.logon_timeout"]
        assert [entry["address"] for entry in timeouts] == ["127.0.0.1"]  # once per source address (rate limit)
        assert late.logon_count == 1
    finally:
        stack.close()
