"""The floor under scenarios 1-3: what any gateway built on QuickFIX's Python wrapper costs on this machine before
it does anything of its own - and what one durable point costs on this disk.

A *relay* process holds the same sessions as the bench gateway (QuickFIX acceptor for the EMS, initiator to the
executor, FileStores, the gateway's session settings and log factory) and forwards each application message to the
other side through one owner thread, as fixgw's router does, with no decoding, routing, risk or journal:

- `bare`: the message text is copied out in the callback and re-parsed by QuickFIX on the owner thread;
- `fields`: fixgw's own boundary instead (`message_to_fields` in the callback, `fields_to_message` to send).

Stepped like scenario 3 next to the same load sent straight to the executor (`direct`), the relay's round trip,
CPU per order and the rate it keeps up with bound what fixgw can reach;
`fdatasync` of one 4 KiB page in the work folder bounds the latency a journal-before-send path adds.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from contextlib import suppress
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import quickfix as qf

from fixgw.bench.histogram import summarize
from fixgw.bench.loadgen import EmsProcess, EmsSpec
from fixgw.bench.peers import (
    EMS_COMP_ID,
    EMS_SESSION,
    EXECUTOR_COMP_ID,
    GATEWAY_COMP_ID,
    GatewayProcess,
    executor,
    gateway_config,
)
from fixgw.bench.report import table
from fixgw.bench.throughput import step_up
from fixgw.engine.quickfix_support import (
    QuietApplication,
    fields_to_message,
    free_port,
    guard_callback,
    load_data_dictionary,
    message_to_fields,
)

MODES = ("direct", "bare", "fields")
"""`direct`: no relay, the EMS straight to the executor (the yardstick of scenario 1)."""
_SESSION_TAGS = frozenset({8, 9, 10, 34, 49, 52, 56})
"""Header and trailer fields the sending session fills in itself."""


@dataclass(frozen=True)
class FloorOptions:
    rates: tuple[int, ...] = (1000, 2000, 3000, 4000, 5000, 6000, 8000)
    seconds: float = 10.0
    warmup_seconds: float = 1.0
    modes: tuple[str, ...] = MODES
    fsyncs: int = 2000


def fsync_floor(folder: Path, count: int) -> dict[str, Any]:
    """fdatasync of one 4 KiB page written in place (the cheapest durable write there is), in microseconds."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "fsync-probe"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        page = b"\0" * 4096
        os.pwrite(fd, page * 16, 0)
        os.fsync(fd)
        samples = []
        for n in range(count):
            started = time.perf_counter_ns()
            os.pwrite(fd, page, (n % 16) * 4096)
            os.fdatasync(fd)
            samples.append((time.perf_counter_ns() - started) // 1000)
    finally:
        os.close(fd)
        path.unlink()
    return summarize(samples)


class Relay(QuietApplication):
    """Both sessions' QuickFIX application: callbacks copy each application message out and queue it for the
    owner thread, which sends it on the other session."""

    def __init__(self, ems_sid: qf.SessionID, broker_sid: qf.SessionID, begin_string: str, mode: str) -> None:
        super().__init__()
        self._peer = {ems_sid.toString(): broker_sid, broker_sid.toString(): ems_sid}
        self._fields = mode == "fields"
        self._begin_string = begin_string
        self._dictionary = load_data_dictionary(begin_string)
        self._queue: queue.SimpleQueue[tuple[qf.SessionID, Any] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="relay-owner", daemon=True)
        self.logged_on: set[str] = set()
        self.forwarded = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(5)

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            target, payload = item
            if self._fields:
                message = fields_to_message(payload, begin_string=self._begin_string)
            else:
                message = qf.Message(payload, self._dictionary, False)
            qf.Session.sendToTarget(message, target)
            self.forwarded += 1

    @guard_callback
    def onLogon(self, session_id: qf.SessionID) -> None:
        self.logged_on.add(session_id.toString())

    @guard_callback
    def onLogout(self, session_id: qf.SessionID) -> None:
        self.logged_on.discard(session_id.toString())

    @guard_callback
    def fromApp(self, message: qf.Message, session_id: qf.SessionID) -> None:
        target = self._peer.get(session_id.toString())
        if target is None:
            return
        if self._fields:
            self._queue.put((target, [f for f in message_to_fields(message) if f[0] not in _SESSION_TAGS]))
        else:
            self._queue.put((target, message.toString()))


def relay_main(conn: Connection, config_data: dict[str, Any], log_path: str, _wait_ems: bool,
               _profile_start: Path | None, mode: str) -> None:
    """The relay's child process, speaking GatewayProcess's protocol (started, ready, stats, stop)."""
    from fixgw.bench.peers import vm_hwm_kb
    from fixgw.config import parse_config
    from fixgw.engine.qflog import StructlogLogFactory
    from fixgw.engine.security import new_acceptor, new_initiator
    from fixgw.engine.sessions import acceptor_settings, ensure_dirs, initiator_settings, session_id
    from fixgw.logs import configure_logging

    try:
        log_file = open(log_path, "a", encoding="utf-8")  # noqa: SIM115 - lives as long as the process
        configure_logging("WARNING", "json", stream=log_file)
        config = parse_config(config_data)
        ensure_dirs(config)
        ems, broker = config.ems[EMS_SESSION], next(iter(config.brokers.values()))
        ems_sid = session_id(ems.begin_string, ems.sender_comp_id, ems.target_comp_id)
        broker_sid = session_id(broker.begin_string, broker.sender_comp_id, broker.target_comp_id)
        relay = Relay(ems_sid, broker_sid, broker.begin_string, mode)
        names = {ems_sid.toString(): EMS_SESSION, broker_sid.toString(): "broker"}
        acceptor = new_acceptor(relay, acceptor_settings(config), StructlogLogFactory("acceptor", names), tls=False)
        initiator = new_initiator(relay, initiator_settings(config, config.brokers),
                                  StructlogLogFactory("initiator", names), tls=False)
        relay.start()
        acceptor.start()
        initiator.start()
        conn.send(("started", None))
        deadline = time.monotonic() + 30
        while broker_sid.toString() not in relay.logged_on:
            if time.monotonic() > deadline:
                raise TimeoutError("the relay's broker session did not log on within 30s")
            time.sleep(0.005)
        conn.send(("ready", {}))
        while True:
            command, _argument = conn.recv()
            times = os.times()
            stats = {"cpu_s": times.user + times.system, "user_s": times.user, "system_s": times.system,
                     "peak_rss_mb": vm_hwm_kb() / 1024, "passes": relay.forwarded}
            if command == "stop":
                initiator.stop()
                acceptor.stop()
                relay.stop()
                conn.send(("stopped", stats))
                return
            conn.send(("ok", stats))
    except Exception as exc:
        with suppress(OSError):
            conn.send(("error", repr(exc)))


def _relay_steps(work: Path, mode: str, options: FloorOptions) -> list[dict[str, Any]]:
    """A fresh executor per relay: its store would otherwise expect the previous relay's sequence numbers."""
    with executor(work / "executor") as broker:
        relay: GatewayProcess | None = None
        if mode == "direct":
            ems = EmsProcess(EmsSpec(port=broker.port, sender_comp_id=EMS_COMP_ID, target_comp_id=EXECUTOR_COMP_ID))
        else:
            port = free_port()
            relay = GatewayProcess(gateway_config(work / "relay", port, broker.port), work / "relay.log",
                                   child=relay_main, child_args=(mode,))
            relay.start()
            ems = EmsProcess(EmsSpec(port=port, sender_comp_id=EMS_COMP_ID, target_comp_id=GATEWAY_COMP_ID))
        try:
            ems.start()
            steps = step_up(ems, relay, options.rates, f"F{mode[0]}", options.seconds, options.warmup_seconds)
        finally:
            ems.stop()
            if relay is not None:
                relay.stop()
    return steps


def run(work: Path, options: FloorOptions) -> tuple[dict[str, Any], list[Any]]:
    disk = fsync_floor(work / "disk", options.fsyncs)
    relays = {mode: _relay_steps(work / mode, mode, options) for mode in options.modes}
    result = {"options": options.__dict__, "fdatasync_4k_us": disk,
              "two_durable_points_p50_us": 2 * disk["p50"], "relays": relays,
              "max_rate_kept_up": {mode: max((s["offered_rate"] for s in steps if s["keeps_up"]), default=0)
                                   for mode, steps in relays.items()}}
    rows = [[mode, s["offered_rate"], s["achieved_rate"], s["round_trip_us"]["p50"], s["round_trip_us"]["p99"],
             s["lost"], s["cpu_s_per_1000_orders"], "keeps up" if s["keeps_up"] else "falls behind / lost"]
            for mode, steps in relays.items() for s in steps]
    relay_table = table("relay floor: QuickFIX in and out through one owner thread, nothing else (NOS -> fill); "
                        "direct: the same load straight to the executor",
                        ["relay", "offered/s", "done/s", "p50 us", "p99 us", "lost", "CPU s/1k", ""], rows)
    disk_table = table(f"durable-write floor: fdatasync of 4 KiB in place, {disk['count']} times (us); two durable "
                       f"points per round trip (journal before send, both ways): {2 * disk['p50']} us at p50",
                       ["p50", "p90", "p99", "p99.9", "max"],
                       [[disk["p50"], disk["p90"], disk["p99"], disk["p99.9"], disk["max"]]])
    return result, [disk_table, relay_table]
