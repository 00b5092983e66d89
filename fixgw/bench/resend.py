"""Scenario 6: an EMS that was away while the gateway sent it N ExecutionReports reconnects; QuickFIX resends
them from the gateway's FileStore. Measured: connect -> logon -> the last resent message received (back in
sequence), in the EMS process."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fixgw.bench.loadgen import EmsProcess, EmsSpec
from fixgw.bench.peers import EMS_COMP_ID, GATEWAY_COMP_ID, GatewayProcess, executor, gateway_config
from fixgw.bench.report import table
from fixgw.engine.quickfix_support import free_port


@dataclass(frozen=True)
class ResendOptions:
    messages: int = 100_000
    profile: Path | None = None


def run(work: Path, options: ResendOptions) -> tuple[dict[str, Any], list[Any]]:
    acceptor_port = free_port()
    spec = EmsSpec(port=acceptor_port, sender_comp_id=EMS_COMP_ID, target_comp_id=GATEWAY_COMP_ID,
                   store_dir=str(work / "ems-store"), logon_timeout=120.0)
    with executor(work / "executor") as broker:
        gateway = GatewayProcess(gateway_config(work / "gateway", acceptor_port, broker.port), work / "gateway.log",
                                 profile=options.profile)
        gateway.start()
        try:
            first = EmsProcess(spec)
            first.start()
            first.stop()  # logged out: what the gateway sends now waits in its store
            flood = gateway.call("flood", options.messages, timeout=600)
            back = EmsProcess(EmsSpec(**{**spec.__dict__, "expect_on_logon": options.messages}))
            back.prepare()
            try:
                info = back.connect()
            finally:
                back.stop()
        finally:
            gateway.stop()
    # The last message the gateway stored before the EMS came back has MsgSeqNum next_sender_seq - 1.
    in_sequence = info["last_seq"] == flood["next_sender_seq"] - 1
    seconds = info["expected_done_s"]
    result = {"options": {**options.__dict__, "profile": str(options.profile) if options.profile else None},
              "messages": options.messages, "logon_s": round(info["logon_s"], 4),
              "back_in_sequence_s": round(seconds, 3), "messages_per_s": round(options.messages / seconds),
              "in_sequence": in_sequence, "last_resent_seq": info["last_seq"],
              "gateway_next_seq": flood["next_sender_seq"], "flood_s": round(flood["flood_s"], 2)}
    rows = [[options.messages, result["logon_s"], result["back_in_sequence_s"], result["messages_per_s"],
             "yes" if in_sequence else "NO"]]
    return result, [table("resend to a reconnecting EMS (connect -> last resent message)",
                          ["messages", "logon s", "in sequence after s", "msgs/s", "in sequence"], rows)]
