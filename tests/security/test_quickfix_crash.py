"""The QuickFIX 1.16 flaw the fuzzer found: on the threaded acceptor, a first frame whose header has a field
without '=' (here "35LA") throws FIX::InvalidMessage out of the connection thread and std::terminate ends the
process - every session, one unauthenticated packet. fixgw's QuickFIX patch (patches/quickfix/, built by
scripts/build-quickfix-wheel) makes that connection just close. Run in a child process, so the suite survives.

Patched build: the acceptor must survive. Unpatched build (e.g. a plain PyPI build): recorded as an expected
failure with the reason, provided it really dies as described."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from fuzz_wire import frame, logon

from fixgw.engine.security import QUICKFIX_UNPATCHED, quickfix_patched

CHILD = Path(__file__).with_name("quickfix_crash_child.py")
ROOT = Path(__file__).resolve().parents[2]


def _logon_answer(port: int) -> bytes:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
            connection.sendall(frame("FIX.4.4", logon("EMS-F")))
            connection.settimeout(3)
            return connection.recv(4096)
    except OSError:
        return b""


def test_a_malformed_first_frame_does_not_end_the_process(tmp_path: Path) -> None:
    child = subprocess.Popen([sys.executable, str(CHILD), str(tmp_path / "store")], cwd=ROOT, text=True,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert child.stdout is not None and child.stdin is not None
        ready = child.stdout.readline().split()
        assert ready and ready[0] == "READY", ready
        port = int(ready[1])
        malformed = frame("FIX.4.4", logon("EMS-F")).replace(b"\x0135=A\x01", b"\x0135LA\x01")
        with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
            connection.sendall(malformed)
            connection.settimeout(3)
            with contextlib.suppress(OSError):
                assert connection.recv(100) == b""  # the connection is closed, nothing answered
        answer = _logon_answer(port)  # still serving? A well-formed logon on a new connection is answered.
        child.stdin.close()
        returncode = child.wait(15)
        stderr = child.stderr.read() if child.stderr else ""
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    died = returncode != 0
    if died and not quickfix_patched() and "InvalidMessage" in stderr:
        pytest.xfail(QUICKFIX_UNPATCHED)
    assert not died, f"the acceptor process died (exit {returncode}): {stderr[-2000:]}"
    assert b"35=A" in answer
