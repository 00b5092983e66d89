"""Scenario 5: restart on a journal holding N order events: Gateway.start() (journal opened and migrated, book
rebuilt, sequences recovered, sessions created) until the broker session and the EMS are both logged on."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fixgw.bench.journalgen import generate
from fixgw.bench.loadgen import EmsProcess, EmsSpec
from fixgw.bench.peers import EMS_COMP_ID, GATEWAY_COMP_ID, GatewayProcess, executor, gateway_config
from fixgw.bench.report import table
from fixgw.engine.quickfix_support import free_port


@dataclass(frozen=True)
class RestartOptions:
    events: int = 1_000_000
    open_every: int = 100
    history_days: int = 0
    """Spread the events over today and this many earlier days (0: a restart late on one very busy day)."""
    profile: Path | None = None


def run(work: Path, options: RestartOptions) -> tuple[dict[str, Any], list[Any]]:
    state_dir = work / "gateway"
    state_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    rows = generate(state_dir / "journal.db", options.events, open_every=options.open_every,
                    history_days=options.history_days)
    generated_s = time.perf_counter() - started
    acceptor_port = free_port()
    with executor(work / "executor") as broker:
        ems = EmsProcess(EmsSpec(port=acceptor_port, sender_comp_id=EMS_COMP_ID, target_comp_id=GATEWAY_COMP_ID))
        ems.prepare()  # interpreter and QuickFIX loaded: it connects the moment the gateway listens
        gateway = GatewayProcess(gateway_config(state_dir, acceptor_port, broker.port), work / "gateway.log",
                                 wait_ems=True, profile_start=options.profile)
        try:
            timings = gateway.start(timeout=300, on_started=ems.request_connect)
            ems.connected()
            stats = gateway.stats()
        finally:
            ems.stop()
            gateway.stop()
    result = {"options": {**options.__dict__, "profile": str(options.profile) if options.profile else None},
              "journal_rows": rows, "generate_s": round(generated_s, 1),
              **{key: round(value, 3) for key, value in timings.items()}, "peak_rss_mb": round(stats["peak_rss_mb"])}
    table_rows = [[f"{rows['events']:,}", f"{rows['orders']:,}", f"{rows['orders_today']:,}",
                   result["gateway_start_s"],
                   result.get("venues_connected_s"), result.get("ems_logged_on_s"), result["ready_s"],
                   result["process_spawn_to_ready_s"], result.get("cpu_to_ready_s")]]
    return result, [table("restart to ready (s, from Gateway.start())",
                          ["events", "orders", "of them today", "start() returned", "broker logged on",
                           "EMS logged on", "ready", "incl. process start", "CPU s to ready"], table_rows)]
