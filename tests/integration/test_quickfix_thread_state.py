"""QuickFIX's session threads keep their Python thread state from logon to logout (`hold_thread_state`), and
give it back at logout: real sessions over loopback, observed from Python."""

from __future__ import annotations

import ctypes
import threading

import pytest
import quickfix as qf
from waiting import wait_until

from fixgw.engine.quickfix_support import (
    QuietApplication,
    _held,
    build_session_settings,
    free_port,
    guard_callback,
    hold_thread_state,
    keep_alive,
    release_thread_state,
)
from fixgw.sim.fix_client import FixClient

pytestmark = pytest.mark.timeout(60)

_interpreter = ctypes.pythonapi.PyInterpreterState_Main
_interpreter.restype = ctypes.c_void_p
_thread_head = ctypes.pythonapi.PyInterpreterState_ThreadHead
_thread_head.argtypes, _thread_head.restype = [ctypes.c_void_p], ctypes.c_void_p
_thread_next = ctypes.pythonapi.PyThreadState_Next
_thread_next.argtypes, _thread_next.restype = [ctypes.c_void_p], ctypes.c_void_p


def python_thread_states() -> int:
    count, state = 0, _thread_head(_interpreter())
    while state:
        count += 1
        state = _thread_next(state)
    return count


class Recorder(QuietApplication):
    """Counts application messages in a thread-local: it survives between callbacks only if the thread's Python
    thread state does."""

    def __init__(self) -> None:
        super().__init__()
        self.local = threading.local()
        self.seen: list[tuple[int, int]] = []
        self.logged_out = threading.Event()

    @guard_callback
    def onLogout(self, session_id: qf.SessionID) -> None:
        self.logged_out.set()

    @guard_callback
    def fromApp(self, message: qf.Message, session_id: qf.SessionID) -> None:
        before = getattr(self.local, "count", 0)
        self.local.count = before + 1
        self.seen.append((threading.get_ident(), before))


def test_holds_are_counted_per_thread() -> None:
    """Two sessions on one thread (QuickFIX's TLS acceptor): the first logout keeps the other's hold, the last
    one gives the state back, and a logout with nothing held releases nothing."""
    seen: list[tuple[int, bool]] = []

    def snapshot() -> None:
        seen.append((getattr(_held, "sessions", 0), getattr(_held, "state", None) is not None))

    def two_sessions() -> None:
        for step in (hold_thread_state, hold_thread_state, release_thread_state, release_thread_state,
                     release_thread_state):
            step()
            snapshot()

    thread = threading.Thread(target=two_sessions)
    thread.start()
    thread.join(5)
    assert seen == [(1, True), (2, True), (1, True), (0, False), (0, False)]


def test_a_session_thread_keeps_its_python_state_from_logon_to_logout() -> None:
    port = free_port()
    settings = build_session_settings(
        {"ConnectionType": "acceptor", "SocketAcceptHost": "127.0.0.1", "SocketAcceptPort": str(port),
         "StartTime": "00:00:00", "EndTime": "00:00:00", "UseDataDictionary": "N"},
        [{"BeginString": "FIX.4.4", "SenderCompID": "FIXGW", "TargetCompID": "EMS"}])
    recorder = Recorder()
    store = qf.MemoryStoreFactory()
    acceptor = keep_alive(qf.ThreadedSocketAcceptor(recorder, store, settings), recorder, store)
    baseline = python_thread_states()
    acceptor.start()
    client = FixClient(port=port, validate=False)
    try:
        client.start()
        assert client.wait_logged_on(10)
        for n in range(5):
            assert client.send([(35, "D"), (11, f"C{n}"), (55, "AAPL"), (54, "1"), (38, "100"), (40, "1"),
                                (60, "20260102-14:30:00.000")])
        assert wait_until(lambda: len(recorder.seen) == 5)
        # One acceptor thread, and the count it kept in its thread-local went 0, 1, 2, ...: the same Python
        # thread state served every callback (without the hold each would find 0).
        assert len({ident for ident, _ in recorder.seen}) == 1
        assert [before for _, before in recorder.seen] == [0, 1, 2, 3, 4]
    finally:
        client.stop()
    assert recorder.logged_out.wait(10)
    acceptor.stop(True)
    # Logout released the held states (the acceptor's session thread here, the client's too): none is left behind.
    assert wait_until(lambda: python_thread_states() <= baseline), (python_thread_states(), baseline)
