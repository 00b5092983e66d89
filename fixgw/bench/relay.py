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
The gateway itself (`gateway`, journal durable) is stepped at the same rates in the same run and set against
that floor: per rate, floor = what the `fields` relay adds over direct at p50 + two fdatasync p50s, and
"added / floor" = what the gateway adds over direct at p50 divided by it.
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

MODES = ("direct", "bare", "fields", "gateway")
"""`direct`: no relay, the EMS straight to the executor (the yardstick of scenario 1); `gateway`: fixgw itself."""
_SESSION_TAGS = frozenset({8, 9, 10, 34, 49, 52, 56})
"""Header and trailer fields the sending session fills in itself."""


@dataclass(frozen=True)
class FloorOptions:
    rates: tuple[int, ...] = (1000, 2000, 3000, 4000, 5000, 6000, 8000)
    seconds: float = 10.0
    warmup_seconds: float = 1.0
    modes: tuple[str, ...] = MODES
    fsyncs: int = 2000
    profile: Path | None = None
    """py-spy the gateway path into this file (collapsed stacks) over all its steps."""
    journal_sync: str = "full"
    """The gateway path's `journal.sync` ("normal": no flush per commit, not durable against power loss)."""


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
        elif mode == "gateway":
            port = free_port()
            config = gateway_config(work / "gateway", port, broker.port, journal_sync=options.journal_sync)
            relay = GatewayProcess(config, work / "gateway.log", profile=options.profile)
            relay.start()
            ems = EmsProcess(EmsSpec(port=port, sender_comp_id=EMS_COMP_ID, target_comp_id=GATEWAY_COMP_ID))
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


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    return None if numerator is None or not denominator else round(numerator / denominator, 2)


def against_floor(relays: dict[str, list[dict[str, Any]]], two_fsyncs_us: int) -> list[dict[str, Any]]:
    """Per rate the gateway ran: what it adds over direct at p50 against the floor (the fields relay's p50 added
    + two fdatasync p50s), and its CPU per order against the fields relay's."""
    by_rate = {mode: {s["offered_rate"]: s for s in steps} for mode, steps in relays.items()}
    rows = []
    for rate, gateway in by_rate.get("gateway", {}).items():
        direct, fields = by_rate.get("direct", {}).get(rate), by_rate.get("fields", {}).get(rate)
        p50 = gateway["round_trip_us"]["p50"]
        direct_p50 = direct["round_trip_us"]["p50"] if direct else None
        fields_p50 = fields["round_trip_us"]["p50"] if fields else None
        added = None if p50 is None or direct_p50 is None else p50 - direct_p50
        fields_added = None if fields_p50 is None or direct_p50 is None else fields_p50 - direct_p50
        floor = None if fields_added is None else fields_added + two_fsyncs_us
        fields_cpu = fields["cpu_s_per_1000_orders"] if fields else None
        rows.append({"offered_rate": rate, "direct_p50_us": direct_p50, "fields_added_p50_us": fields_added,
                     "floor_us": floor, "gateway_p50_us": p50, "gateway_p99_us": gateway["round_trip_us"]["p99"],
                     "gateway_added_p50_us": added, "added_over_floor": _ratio(added, floor),
                     "gateway_keeps_up": gateway["keeps_up"],
                     "gateway_cpu_s_per_1000_orders": gateway["cpu_s_per_1000_orders"],
                     "fields_cpu_s_per_1000_orders": fields_cpu,
                     "cpu_over_fields": _ratio(gateway["cpu_s_per_1000_orders"], fields_cpu)})
    return rows


def run(work: Path, options: FloorOptions) -> tuple[dict[str, Any], list[Any]]:
    disk = fsync_floor(work / "disk", options.fsyncs)
    relays = {mode: _relay_steps(work / mode, mode, options) for mode in options.modes}
    kept_up = {mode: max((s["offered_rate"] for s in steps if s["keeps_up"]), default=0)
               for mode, steps in relays.items()}
    within_10ms = {mode: max((s["offered_rate"] for s in steps if s["keeps_up"] and s["round_trip_us"]["p99"]
                              is not None and s["round_trip_us"]["p99"] <= 10_000), default=0)
                   for mode, steps in relays.items()}
    per_rate = against_floor(relays, 2 * disk["p50"])
    result = {"options": {**options.__dict__, "profile": str(options.profile) if options.profile else None},
              "fdatasync_4k_us": disk,
              "two_durable_points_p50_us": 2 * disk["p50"], "relays": relays,
              "max_rate_kept_up": kept_up, "max_rate_kept_up_p99_10ms": within_10ms,
              "gateway_against_floor": per_rate,
              "gateway_max_rate_over_fields": _ratio(within_10ms.get("gateway"), within_10ms.get("fields"))}
    rows = [[mode, s["offered_rate"], s["achieved_rate"], s["round_trip_us"]["p50"], s["round_trip_us"]["p99"],
             s["lost"], s["cpu_s_per_1000_orders"], "keeps up" if s["keeps_up"] else "falls behind / lost"]
            for mode, steps in relays.items() for s in steps]
    relay_table = table("relay floor: QuickFIX in and out through one owner thread, nothing else (NOS -> fill); "
                        "direct: the same load straight to the executor; "
                        f"gateway: fixgw, journal.sync = {options.journal_sync}",
                        ["relay", "offered/s", "done/s", "p50 us", "p99 us", "lost", "CPU s/1k", ""], rows)
    disk_table = table(f"durable-write floor: fdatasync of 4 KiB in place, {disk['count']} times (us); two durable "
                       f"points per round trip (journal before send, both ways): {2 * disk['p50']} us at p50",
                       ["p50", "p90", "p99", "p99.9", "max"],
                       [[disk["p50"], disk["p90"], disk["p99"], disk["p99.9"], disk["max"]]])
    floor_rows = [[r["offered_rate"], r["direct_p50_us"], r["fields_added_p50_us"], r["floor_us"],
                   r["gateway_p50_us"], r["gateway_p99_us"], r["gateway_added_p50_us"], r["added_over_floor"],
                   "yes" if r["gateway_keeps_up"] else "no", r["gateway_cpu_s_per_1000_orders"],
                   r["fields_cpu_s_per_1000_orders"], r["cpu_over_fields"]] for r in per_rate]
    floor_table = table(f"the gateway against its floor (fields relay added + 2 x fdatasync p50 = {2 * disk['p50']} "
                        f"us); highest rate kept up with p99 <= 10 ms: gateway {within_10ms.get('gateway', '-')}/s, "
                        f"fields relay {within_10ms.get('fields', '-')}/s",
                        ["offered/s", "direct p50", "fields added", "floor", "gateway p50", "gateway p99",
                         "gateway added", "added / floor", "keeps up", "CPU s/1k", "fields CPU s/1k", "CPU ratio"],
                        floor_rows)
    return result, [disk_table, relay_table, floor_table]
