"""The EMS side of a benchmark: a lean QuickFIX initiator in its own process, sending at a fixed rate.

Open loop: the send time of order i is scheduled in advance (t0 + i / rate) and its latency is measured from
that SCHEDULED time, so a stall anywhere (the gateway, the peer, this process) shows in the percentiles
instead of silently slowing the sender down (coordinated omission). The process keeps four integers per order
(scheduled, sent, first report, final report) in preallocated arrays - nothing else is retained - and hands
them back to the parent, which computes the histograms.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import threading
import time
from array import array
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

_CTX = multiprocessing.get_context("spawn")
_FINAL_STATUSES = frozenset({"2", "4", "8", "C"})  # filled, canceled, rejected, expired
_PR_SET_TIMERSLACK = 29


@dataclass(frozen=True)
class EmsSpec:
    """One EMS session as initiator. `store_dir` None: memory store and a sequence reset at every logon."""

    port: int
    sender_comp_id: str
    target_comp_id: str
    begin_string: str = "FIX.4.4"
    store_dir: str | None = None
    expect_on_logon: int = 0
    """Application messages to wait for right after logon (a resend) before reporting ready."""
    logon_timeout: float = 30.0
    symbol: str = "AAPL"
    account: str = "ACC1"
    qty: str = "100"
    price: str = "190.25"


@dataclass(frozen=True)
class LoadSpec:
    rate: int
    """Orders per second."""
    count: int
    warmup: int
    """Orders at the start that are sent but not measured."""
    prefix: str
    """ClOrdID prefix; must be unique per gateway run (ClOrdIDs are checked for duplicates)."""
    drain_timeout: float = 10.0


@dataclass
class LoadResult:
    spec: LoadSpec
    scheduled: array[int]
    sent: array[int]
    first: array[int]
    done: array[int]
    rejected: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def measured(self) -> range:
        return range(self.spec.warmup, self.spec.count)

    def first_report_us(self) -> list[int]:
        """Scheduled send -> first ExecutionReport, for measured orders that got one."""
        return [(self.first[i] - self.scheduled[i]) // 1000 for i in self.measured() if self.first[i]]

    def final_report_us(self) -> list[int]:
        """Scheduled send -> final ExecutionReport (filled / rejected)."""
        return [(self.done[i] - self.scheduled[i]) // 1000 for i in self.measured() if self.done[i]]

    def send_lag_us(self) -> list[int]:
        """How late the generator itself sent (actual - scheduled): it must stay small for the run to count."""
        return [(self.sent[i] - self.scheduled[i]) // 1000 for i in self.measured()]

    def lost(self) -> int:
        return sum(1 for i in range(self.spec.count) if not self.done[i])

    def achieved_rate(self) -> float:
        """Completed orders per second over the measured window (last final report - first scheduled send)."""
        window = [i for i in self.measured() if self.done[i]]
        if len(window) < 2:
            return 0.0
        span = max(self.done[i] for i in window) - self.scheduled[self.spec.warmup]
        return len(window) / (span / 1e9) if span > 0 else 0.0


class EmsProcess:
    """Parent-side handle: start() spawns the EMS process and waits for its logon; run() drives one load."""

    def __init__(self, spec: EmsSpec) -> None:
        self.spec = spec
        self._conn: Connection | None = None
        self._process: Any = None
        self.ready_info: dict[str, Any] = {}

    def start(self) -> dict[str, Any]:
        """Spawn, log on, and return the logon timings."""
        self.prepare()
        return self.connect()

    def prepare(self) -> None:
        """Spawn the process and build the session, without connecting yet (interpreter start-up is slow)."""
        parent, child = _CTX.Pipe()
        self._process = _CTX.Process(target=_ems_main, args=(child, self.spec), name="bench-ems", daemon=True)
        self._process.start()
        child.close()
        self._conn = parent
        self._expect("prepared", 60)

    def connect(self) -> dict[str, Any]:
        """Connect and log on (and take the expected resend); timings measured in the EMS process."""
        self.request_connect()
        return self.connected()

    def request_connect(self) -> None:
        assert self._conn is not None
        self._conn.send(("connect", None))

    def connected(self) -> dict[str, Any]:
        self.ready_info = self._expect("ready", self.spec.logon_timeout + 30)
        return self.ready_info

    def _expect(self, wanted: str, timeout: float) -> Any:
        assert self._conn is not None
        if not self._conn.poll(timeout):
            self.stop()
            raise RuntimeError(f"EMS process not {wanted} within {timeout}s")
        kind, info = self._conn.recv()
        if kind != wanted:
            self.stop()
            raise RuntimeError(f"EMS process failed: {info}")
        return info

    def run(self, load: LoadSpec) -> LoadResult:
        assert self._conn is not None
        self._conn.send(("run", load))
        budget = load.count / load.rate + load.drain_timeout + 30
        if not self._conn.poll(budget):
            raise RuntimeError(f"load run did not finish within {budget:.0f}s")
        kind, result = self._conn.recv()
        if kind != "result":
            raise RuntimeError(f"EMS process failed: {result}")
        assert isinstance(result, LoadResult)
        return result

    def stop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.send(("stop", None))
                self._conn.poll(10)
            except (OSError, EOFError):
                pass
            self._conn.close()
            self._conn = None
        if self._process is not None:
            self._process.join(10)
            if self._process.is_alive():
                self._process.kill()
                self._process.join(5)
            self._process = None

    def __enter__(self) -> EmsProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ---------------------------------------------------------------------------------------------- child process


def _ems_main(conn: Connection, spec: EmsSpec) -> None:
    try:
        _tighten_timer_slack()
        client = _LeanClient(spec)
        conn.send(("prepared", None))
        while True:
            command, argument = conn.recv()
            if command == "connect":
                conn.send(("ready", client.start()))
            elif command == "run":
                conn.send(("result", client.run(argument)))
            elif command == "stop":
                client.stop()
                conn.send(("stopped", None))
                return
    except Exception as exc:  # reported to the parent, which raises it
        with contextlib.suppress(OSError):
            conn.send(("error", repr(exc)))


def _tighten_timer_slack() -> None:
    """Linux lets a sleep overshoot by 50 us by default; 1 us keeps the schedule tight without spinning."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(_PR_SET_TIMERSLACK, 1, 0, 0, 0)


class _LeanClient:
    """A QuickFIX initiator that records receive times by ClOrdID index and keeps no messages."""

    def __init__(self, spec: EmsSpec) -> None:
        import quickfix as qf

        from fixgw.engine.quickfix_support import build_session_settings, keep_alive

        self.qf = qf
        self.spec = spec
        self.session_id = qf.SessionID(spec.begin_string, spec.sender_comp_id, spec.target_comp_id)
        default = {
            "ConnectionType": "initiator", "SocketConnectHost": "127.0.0.1", "SocketConnectPort": str(spec.port),
            "HeartBtInt": "30", "ReconnectInterval": "1", "NonStopSession": "Y", "UseDataDictionary": "N",
            "SocketNodelay": "Y", "ResetOnLogon": "N" if spec.store_dir else "Y",
        }
        if spec.store_dir:
            default["FileStorePath"] = spec.store_dir
        settings = build_session_settings(default, [{
            "BeginString": spec.begin_string, "SenderCompID": spec.sender_comp_id,
            "TargetCompID": spec.target_comp_id}])
        self._logged_on = threading.Event()
        self._expected_done = threading.Event()
        self._app = _make_application(self)
        store = qf.FileStoreFactory(settings) if spec.store_dir else qf.MemoryStoreFactory()
        self._initiator = keep_alive(qf.ThreadedSocketInitiator(self._app, store, settings), self._app, store)
        self._prefix = ""
        self._prefix_len = 0
        self._first: array[int] = array("q")
        self._done: array[int] = array("q")
        self._remaining = 0
        self._rejected = 0
        self._all_done = threading.Event()
        self.app_messages = 0
        self.last_seq = 0
        self.logon_at = 0

    # QuickFIX threads ------------------------------------------------------------------------
    def on_logon(self) -> None:
        self.logon_at = time.perf_counter_ns()
        self._logged_on.set()

    def on_app_message(self, message: Any) -> None:
        now = time.perf_counter_ns()
        self.app_messages += 1
        if self.spec.expect_on_logon:
            self.last_seq = int(message.getHeader().getField(34))
            if self.app_messages >= self.spec.expect_on_logon:
                self._expected_done.set()
        if not self._prefix or not message.isSetField(11):
            return
        cl_ord_id = message.getField(11)
        if not cl_ord_id.startswith(self._prefix):
            return
        index = int(cl_ord_id[self._prefix_len:])
        if not self._first[index]:
            self._first[index] = now
        if not self._done[index] and message.isSetField(39) and message.getField(39) in _FINAL_STATUSES:
            self._done[index] = now
            if message.getField(39) == "8":
                self._rejected += 1
            self._remaining -= 1
            if self._remaining == 0:
                self._all_done.set()

    # driver ----------------------------------------------------------------------------------
    def start(self) -> dict[str, Any]:
        started = time.perf_counter_ns()
        self._initiator.start()
        if not self._logged_on.wait(self.spec.logon_timeout):
            raise TimeoutError(f"EMS {self.spec.sender_comp_id} did not log on within {self.spec.logon_timeout}s")
        info: dict[str, Any] = {"logon_s": (self.logon_at - started) / 1e9}
        if self.spec.expect_on_logon:
            if not self._expected_done.wait(self.spec.logon_timeout):
                raise TimeoutError(f"only {self.app_messages} of {self.spec.expect_on_logon} messages arrived")
            info["expected_done_s"] = (time.perf_counter_ns() - started) / 1e9
            info["app_messages"] = self.app_messages
            info["last_seq"] = self.last_seq
        return info

    def stop(self) -> None:
        from fixgw.engine.quickfix_support import request_logout

        if request_logout(self.session_id, "bench done"):
            deadline = time.monotonic() + 5
            session = self.qf.Session.lookupSession(self.session_id)
            while session is not None and session.isLoggedOn() and time.monotonic() < deadline:
                time.sleep(0.01)
        self._initiator.stop(True)

    def run(self, load: LoadSpec) -> LoadResult:
        qf = self.qf
        count = load.count
        scheduled, sent = array("q", bytes(8 * count)), array("q", bytes(8 * count))
        self._first, self._done = array("q", bytes(8 * count)), array("q", bytes(8 * count))
        self._remaining, self._rejected = count, 0
        self._all_done.clear()
        self._prefix, self._prefix_len = load.prefix, len(load.prefix)
        message = self._template()
        session = qf.Session.lookupSession(self.session_id)
        interval = 1e9 / load.rate
        sleep, clock = time.sleep, time.perf_counter_ns
        prefix = load.prefix
        t0 = clock() + 20_000_000
        for i in range(count):
            target = t0 + int(i * interval)
            delay = target - clock()
            if delay > 0:
                sleep(delay / 1e9)
            scheduled[i] = target
            message.setField(11, f"{prefix}{i}")
            sent[i] = clock()
            session.send(message)
        self._all_done.wait(load.drain_timeout)
        self._prefix = ""
        return LoadResult(load, scheduled, sent, self._first, self._done, self._rejected)

    def _template(self) -> Any:
        qf, spec = self.qf, self.spec
        message = qf.Message()
        header = message.getHeader()
        header.setField(qf.BeginString(spec.begin_string))
        header.setField(qf.MsgType("D"))
        now = time.strftime("%Y%m%d-%H:%M:%S.000", time.gmtime())
        for tag, value in ((1, spec.account), (38, spec.qty), (40, "2"), (44, spec.price), (54, "1"),
                           (55, spec.symbol), (59, "0"), (60, now)):
            message.setField(tag, value)
        return message


def _make_application(client: _LeanClient) -> Any:
    from fixgw.engine.quickfix_support import QuietApplication, guard_callback

    class LeanApplication(QuietApplication):
        @guard_callback
        def onLogon(self, session_id: Any) -> None:
            client.on_logon()

        @guard_callback
        def fromApp(self, message: Any, session_id: Any) -> None:
            client.on_app_message(message)

    return LeanApplication()
