"""Scenarios 1 and 2: NewOrderSingle -> ExecutionReport round trip straight to the broker (the executor) and
through fixgw with its journal durable, at the same fixed rate in the same run (rounds alternate direct/fixgw so
both see the same machine), and what the gateway adds."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fixgw.bench.histogram import PERCENTILES, summarize
from fixgw.bench.loadgen import EmsProcess, EmsSpec, LoadResult, LoadSpec
from fixgw.bench.peers import EMS_COMP_ID, EXECUTOR_COMP_ID, GATEWAY_COMP_ID, GatewayProcess, executor, gateway_config
from fixgw.bench.report import table
from fixgw.engine.quickfix_support import free_port


@dataclass(frozen=True)
class LatencyOptions:
    rate: int = 1000
    seconds: float = 10.0
    warmup_seconds: float = 2.0
    rounds: int = 2
    profile: Path | None = None


def path_summary(results: list[LoadResult]) -> dict[str, Any]:
    first = [v for r in results for v in r.first_report_us()]
    return {"round_trip_us": summarize(first),
            "send_lag_us": summarize([v for r in results for v in r.send_lag_us()]),
            "lost": sum(r.lost() for r in results), "rejected": sum(r.rejected for r in results),
            "orders_measured": len(first)}


def run(work: Path, options: LatencyOptions) -> tuple[dict[str, Any], list[Any]]:
    count = int(options.rate * (options.seconds + options.warmup_seconds))
    warmup = int(options.rate * options.warmup_seconds)
    rounds: dict[str, list[LoadResult]] = {"direct": [], "fixgw": []}
    acceptor_port = free_port()
    with executor(work / "executor") as broker:
        gateway = GatewayProcess(gateway_config(work / "gateway", acceptor_port, broker.port),
                                 work / "gateway.log", profile=options.profile)
        gateway.start()
        direct = EmsProcess(EmsSpec(port=broker.port, sender_comp_id=EMS_COMP_ID, target_comp_id=EXECUTOR_COMP_ID))
        via = EmsProcess(EmsSpec(port=acceptor_port, sender_comp_id=EMS_COMP_ID, target_comp_id=GATEWAY_COMP_ID))
        try:
            direct.start()
            via.start()
            for n in range(options.rounds):
                for name, ems in (("direct", direct), ("fixgw", via)):
                    rounds[name].append(ems.run(LoadSpec(options.rate, count, warmup, f"L{n}{name[0]}-")))
            gateway_stats = gateway.stats()
        finally:
            direct.stop()
            via.stop()
            gateway.stop()
    paths = {name: path_summary(results) for name, results in rounds.items()}
    added: dict[str, Any] = {}
    for p in PERCENTILES:
        key = f"p{p:g}"
        d, g = paths["direct"]["round_trip_us"][key], paths["fixgw"]["round_trip_us"][key]
        added[key] = {"added_us": None if d is None or g is None else g - d,
                      "ratio": None if not d or g is None else round(g / d, 2)}
    result = {"options": options.__dict__, "paths": paths, "added": added, "gateway": gateway_stats}
    commits = gateway_stats["journal_write_us"]
    title = (f"round trip NOS -> ER at {options.rate}/s (us, from scheduled send); gateway group commits: "
             f"{commits['count']}, p50 {commits['p50']} us, p99 {commits['p99']} us")
    return result, [latency_table(title, result), stages_table(gateway_stats["stages_us"])]


def stages_table(stages: dict[str, Any]) -> Any:
    """Inside the gateway, per leg of an order (all rounds, warm-up included)."""
    keys = [f"p{p:g}" for p in PERCENTILES]
    rows = [[name, *(summary[k] for k in keys), summary["mean"], summary["count"]] for name, summary in stages.items()]
    return table("inside the gateway, per leg (us): queued -> pass journals, group commit, -> handed to QuickFIX",
                 ["stage", *keys, "mean", "items"], rows)


def latency_table(title: str, result: dict[str, Any]) -> Any:
    paths, added = result["paths"], result["added"]
    keys = [f"p{p:g}" for p in PERCENTILES]
    rows = [[name, *(paths[name]["round_trip_us"][k] for k in keys), paths[name]["round_trip_us"]["max"],
             paths[name]["orders_measured"], paths[name]["lost"], paths[name]["send_lag_us"]["p99"]]
            for name in ("direct", "fixgw")]
    rows.append(["added by fixgw", *(added[k]["added_us"] for k in keys), None, None, None, None])
    rows.append(["ratio fixgw/direct", *(added[k]["ratio"] for k in keys), None, None, None, None])
    return table(title, ["path", *keys, "max", "orders", "lost", "send lag p99"], rows)
