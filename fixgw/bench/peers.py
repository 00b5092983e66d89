"""The counterparties a benchmark talks to: QuickFIX's C++ executor as the broker, and the gateway itself,
each in its own process so the load generator, the gateway and the broker never share a GIL."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from fixgw.engine.quickfix_support import free_port
from fixgw.sim.executor import executor_env, executor_settings_text, locate_executor

_CTX = multiprocessing.get_context("spawn")
EXECUTOR_COMP_ID = "EXECUTOR"
GATEWAY_COMP_ID = "FIXGW"
EMS_COMP_ID = "BENCH-EMS"
EMS_SESSION = "bench"


@dataclass(frozen=True)
class Executor:
    port: int
    log_path: Path


@contextmanager
def executor(work_dir: Path, targets: tuple[str, ...] = (EMS_COMP_ID, GATEWAY_COMP_ID)) -> Iterator[Executor]:
    """QuickFIX's C++ executor (fills every limit order at once, one ER 39=2) with its screen log off.

    Raises FileNotFoundError when the binary cannot be had (see fixgw.sim.executor.locate_executor).
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    binary = locate_executor(work_dir / "bin")
    if binary is None:
        raise FileNotFoundError("QuickFIX executor not available (Debian libquickfix-doc / libquickfix17)")
    port = free_port()
    settings = work_dir / "executor.cfg"
    quiet = {"ScreenLogShowIncoming": "N", "ScreenLogShowOutgoing": "N", "ScreenLogShowEvents": "N",
             "SocketNodelay": "Y"}
    settings.write_text(executor_settings_text(port=port, store_dir=work_dir / "store", sender_comp_id=EXECUTOR_COMP_ID,
                                               target_comp_ids=targets, begin_strings=("FIX.4.4",),
                                               extra_settings=quiet))
    log_path = work_dir / "executor.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen([str(binary), str(settings)], stdout=log_file, stderr=subprocess.STDOUT,
                                   cwd=work_dir, env=executor_env(binary))
    try:
        _wait_port(port, 10.0, lambda: process.poll() is None)
        yield Executor(port, log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _wait_port(port: int, timeout: float, alive: Callable[[], bool]) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError(f"peer for port {port} exited before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)  # nothing to wait on but the port itself
    raise RuntimeError(f"nothing listening on {port} after {timeout}s")


def gateway_config(state_dir: Path, acceptor_port: int, broker_port: int, *,
                   journal_url: str | None = None, max_batch: int | None = None,
                   journal_sync: str | None = None) -> dict[str, Any]:
    """A gateway with one EMS session ("bench", FIX 4.4) and the executor as its only broker (FIX 4.4)."""
    data: dict[str, Any] = {
        "name": "fixgw-bench",
        "state_dir": str(state_dir),
        "log": {"level": "WARNING", "format": "json"},
        "acceptor": {"port": acceptor_port, "quickfix": {"HeartBtInt": 30, "SocketNodelay": "Y"}},
        "ems": {EMS_SESSION: {"begin_string": "FIX.4.4", "sender_comp_id": GATEWAY_COMP_ID,
                              "target_comp_id": EMS_COMP_ID}},
        "brokers": {"executor": {"begin_string": "FIX.4.4", "sender_comp_id": GATEWAY_COMP_ID,
                                 "target_comp_id": EXECUTOR_COMP_ID, "port": broker_port,
                                 "dialect": "generic-broker",
                                 "quickfix": {"ReconnectInterval": 1, "SocketNodelay": "Y"}}},
        "routing": {"default": "executor"},
    }
    if journal_url or max_batch or journal_sync:
        data["journal"] = {k: v for k, v in (("url", journal_url), ("max_batch", max_batch),
                                             ("sync", journal_sync)) if v}
    return data


class GatewayProcess:
    """The gateway in a child process: start() returns once it is started and its venues are connected.

    The child measures itself (CPU seconds, peak RSS, router passes) so those figures are the gateway's
    alone; `timings` holds how long Gateway.start() took and when the sessions came up.
    """

    def __init__(self, config: dict[str, Any], log_path: Path, *, wait_ems: bool = False,
                 profile: Path | None = None, profile_start: Path | None = None,
                 child: Callable[..., None] | None = None, child_args: tuple[Any, ...] = ()) -> None:
        """`profile`: record the gateway with py-spy (sampling, non-blocking) into this file (.txt: collapsed
        stacks, else speedscope JSON) from ready until stop(). `profile_start`: cProfile Gateway.start() there.
        `child`: another process body speaking the same protocol (the relay of `fixgw.bench.relay`), called with
        this process's arguments followed by `child_args`."""
        self.child = child or _gateway_main
        self.child_args = child_args
        self.config = config
        self.log_path = log_path
        self.wait_ems = wait_ems
        self.profile = profile
        self.profile_start = profile_start
        self._profiler: subprocess.Popen[bytes] | None = None
        self._conn: Connection | None = None
        self._process: Any = None
        self.timings: dict[str, float] = {}

    @property
    def pid(self) -> int:
        return int(self._process.pid)

    def start(self, timeout: float = 60.0, on_started: Callable[[], None] | None = None) -> dict[str, float]:
        """Spawn and wait until ready. `on_started` runs once Gateway.start() returned (e.g. start the EMS)."""
        parent, child = _CTX.Pipe()
        spawned = time.perf_counter()
        arguments = (child, self.config, str(self.log_path), self.wait_ems, self.profile_start, *self.child_args)
        self._process = _CTX.Process(target=self.child, args=arguments, name="bench-gateway", daemon=True)
        self._process.start()
        child.close()
        self._conn = parent
        while True:
            if not parent.poll(timeout):
                self.stop()
                raise RuntimeError(f"gateway not ready within {timeout}s (log: {self.log_path})")
            kind, info = parent.recv()
            if kind == "started" and on_started is not None:
                on_started()
            elif kind == "ready":
                info["process_spawn_to_ready_s"] = time.perf_counter() - spawned
                self.timings = dict(info)
                if self.profile is not None:
                    self._profiler = start_profiler(self.pid, self.profile)
                return self.timings
            elif kind == "error":
                self.stop()
                raise RuntimeError(f"gateway failed: {info} (log: {self.log_path})")

    def call(self, command: str, argument: Any = None, timeout: float = 120.0) -> Any:
        assert self._conn is not None
        self._conn.send((command, argument))
        if not self._conn.poll(timeout):
            raise RuntimeError(f"gateway command {command} did not answer within {timeout}s")
        kind, result = self._conn.recv()
        if kind == "error":
            raise RuntimeError(f"gateway command {command} failed: {result}")
        return result

    def stats(self) -> dict[str, Any]:
        return dict(self.call("stats"))

    def stop(self) -> dict[str, Any]:
        final: dict[str, Any] = {}
        if self._profiler is not None:
            stop_profiler(self._profiler)
            self._profiler = None
        if self._conn is not None:
            with suppress(OSError, EOFError, RuntimeError):
                final = dict(self.call("stop", timeout=30))
            self._conn.close()
            self._conn = None
        if self._process is not None:
            self._process.join(10)
            if self._process.is_alive():
                self._process.kill()
                self._process.join(5)
            self._process = None
        return final

    def __enter__(self) -> GatewayProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_profiler(pid: int, output: Path) -> subprocess.Popen[bytes]:
    """py-spy sampling `pid` (all threads, native frames off) without pausing it, until stop_profiler()."""
    import shutil
    import sys

    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    fmt = "raw" if output.suffix == ".txt" else "speedscope"
    return subprocess.Popen([spy, "record", "--pid", str(pid), "--nonblocking", "--rate", "250", "--format", fmt,
                             "--output", str(output)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def stop_profiler(profiler: subprocess.Popen[bytes]) -> None:
    import signal

    profiler.send_signal(signal.SIGINT)
    try:
        profiler.wait(timeout=30)
    except subprocess.TimeoutExpired:
        profiler.kill()
        profiler.wait(5)


# ---------------------------------------------------------------------------------------------- child process


def _gateway_main(conn: Connection, config_data: dict[str, Any], log_path: str, wait_ems: bool,
                  profile_start: Path | None) -> None:
    try:
        from fixgw.config import parse_config
        from fixgw.engine.gateway import Gateway
        from fixgw.logs import configure_logging

        log_file = open(log_path, "a", encoding="utf-8")  # noqa: SIM115 - lives as long as the process
        configure_logging("WARNING", "json", stream=log_file)
        gateway = Gateway(parse_config(config_data))
        profiler = None
        if profile_start:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        started = time.perf_counter()
        gateway.start()
        start_returned = time.perf_counter()
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(str(profile_start))
        _time_journal_writes(gateway)
        if gateway.runner is not None:
            gateway.runner.observer = _STAGES
        conn.send(("started", None))
        timings: dict[str, float] = {"gateway_start_s": start_returned - started}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            now = time.perf_counter()
            if "venues_connected_s" not in timings and all(gateway.venues_connected().values()):
                timings["venues_connected_s"] = now - started
            if wait_ems and "ems_logged_on_s" not in timings and gateway.ems_logged_on():
                timings["ems_logged_on_s"] = now - started
            if "venues_connected_s" in timings and (not wait_ems or "ems_logged_on_s" in timings):
                break
            time.sleep(0.001)  # polling QuickFIX session state: there is no event to wait on
        else:
            raise TimeoutError(f"sessions not up within 30s: {timings}")
        timings["ready_s"] = max(timings.values())
        spent = os.times()
        timings["cpu_to_ready_s"] = spent.user + spent.system   # the whole process: interpreter, imports, start
        conn.send(("ready", timings))
        while True:
            command, argument = conn.recv()
            try:
                if command == "stop":
                    result = _stats(gateway)
                    gateway.stop()
                    conn.send(("stopped", result))
                    return
                conn.send(("ok", _COMMANDS[command](gateway, argument)))
            except Exception as exc:
                conn.send(("error", repr(exc)))
    except Exception as exc:
        with suppress(OSError):
            conn.send(("error", repr(exc)))


_JOURNAL_WRITES_US: list[int] = []
_JOURNAL_WRITES_CPU_US: list[int] = []


class _StageTimes:
    """Where an order's time goes inside the gateway, per leg (the EMS's order out to the broker, the broker's
    report back to the EMS): queued -> its pass journals (wait and routing), the group commit, then handing the
    pass's messages to QuickFIX. Microseconds per work item; what the EMS measures beyond their sum is QuickFIX,
    the sockets, the GIL hand-offs and the broker."""

    LEGS = {"ems": "order", "venue_execution": "report"}

    def __init__(self) -> None:
        self.samples: dict[str, list[int]] = {}

    def on_pass(self, record: Any) -> None:
        for kind, queued_at, _venue, _ems in record.origins:
            leg = self.LEGS.get(kind)
            if leg is None:
                continue
            sent = record.venue_sent if leg == "order" else record.ems_sent
            for stage, start, end in (("queued_to_journal", queued_at, record.journal_started),
                                      ("journal", record.journal_started, record.journal_done),
                                      ("journal_to_sent", record.journal_done, sent)):
                self.samples.setdefault(f"{leg}.{stage}", []).append(int((end - start) * 1e6))

    def take(self) -> dict[str, Any]:
        from fixgw.bench.histogram import summarize

        samples, self.samples = self.samples, {}
        return {name: summarize(values) for name, values in sorted(samples.items())}


_STAGES = _StageTimes()


def _time_journal_writes(gateway: Any) -> None:
    """Record how long each group commit takes (a wrapper on this process's Journal.write)."""
    journal = gateway.journal
    write = journal.write

    def timed(batch: Any) -> None:
        started, cpu = time.perf_counter_ns(), time.thread_time_ns()
        write(batch)
        _JOURNAL_WRITES_US.append((time.perf_counter_ns() - started) // 1000)
        _JOURNAL_WRITES_CPU_US.append((time.thread_time_ns() - cpu) // 1000)

    journal.write = timed


_SUMMARY_CPU_S = [0.0]
"""CPU seconds this process spent summarizing its own timers (`_stats`): left out of `cpu_s`, so a step's CPU per
order does not carry the previous step's histograms."""


def _stats(gateway: Any, _argument: Any = None) -> dict[str, Any]:
    """CPU seconds (the bench's own summaries left out), peak RSS and router passes so far; the journal commit
    times since the last call."""
    from fixgw.bench.histogram import summarize

    times = os.times()
    cpu_s = times.user + times.system - _SUMMARY_CPU_S[0]
    summarizing = time.thread_time()
    runner = gateway.runner
    commits, commits_cpu = summarize(_JOURNAL_WRITES_US), summarize(_JOURNAL_WRITES_CPU_US)
    _JOURNAL_WRITES_US.clear()
    _JOURNAL_WRITES_CPU_US.clear()
    stages = _STAGES.take()
    _SUMMARY_CPU_S[0] += time.thread_time() - summarizing
    return {"cpu_s": cpu_s, "user_s": times.user, "system_s": times.system,
            "peak_rss_mb": vm_hwm_kb() / 1024,
            "passes": runner.passes if runner else 0, "journal_errors": runner.journal_errors if runner else 0,
            "journal_write_us": commits, "journal_write_cpu_us": commits_cpu, "stages_us": stages}


def vm_hwm_kb() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def _counts(gateway: Any, _argument: Any = None) -> dict[str, int]:
    gateway.runner.drain(30)
    return dict(gateway.journal.counts())


def _flood(gateway: Any, count: int) -> dict[str, Any]:
    """Send `count` ExecutionReports to the (logged out) bench EMS: QuickFIX stores them for its resend."""
    import quickfix as qf

    from fixgw.engine.quickfix_support import fields_to_message
    from fixgw.engine.sessions import session_id

    ems = gateway.config.ems[EMS_SESSION]
    sid = session_id(ems.begin_string, ems.sender_comp_id, ems.target_comp_id)
    started = time.perf_counter()
    stamp = time.strftime("%Y%m%d-%H:%M:%S.000", time.gmtime())
    for n in range(count):
        fields = [(35, "8"), (6, "190.25"), (11, f"RS{n}"), (14, "100"), (17, f"RS-E{n}"), (31, "190.25"),
                  (32, "100"), (37, f"RS-O{n}"), (38, "100"), (39, "2"), (54, "1"), (55, "AAPL"), (60, stamp),
                  (150, "F"), (151, "0")]
        qf.Session.sendToTarget(fields_to_message(fields, begin_string=ems.begin_string), sid)
    session = qf.Session.lookupSession(sid)
    return {"flood_s": time.perf_counter() - started, "next_sender_seq": int(session.getExpectedSenderNum())}


_COMMANDS: dict[str, Callable[[Any, Any], Any]] = {"stats": _stats, "counts": _counts, "flood": _flood}
