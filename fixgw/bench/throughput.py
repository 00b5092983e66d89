"""Scenario 3: the highest rate fixgw sustains - every order's NOS in, NOS out, fill in and fill out, journal on -
before the p99 round trip passes a limit or any order is lost; CPU seconds per 1,000 orders and peak RSS.

Steps go on past a p99 failure while nothing is lost and the gateway keeps up (done/s >= 90% of offered), so a
run reports both the rate within the p99 limit and the capacity (what it completes, at whatever latency)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fixgw.bench.histogram import summarize
from fixgw.bench.loadgen import EmsProcess, EmsSpec, LoadSpec
from fixgw.bench.peers import EMS_COMP_ID, GATEWAY_COMP_ID, GatewayProcess, executor, gateway_config
from fixgw.bench.report import table
from fixgw.engine.quickfix_support import free_port


@dataclass(frozen=True)
class ThroughputOptions:
    rates: tuple[int, ...] = (1000, 2000, 3000, 4000, 5000, 6000, 8000, 10000)
    seconds: float = 10.0
    warmup_seconds: float = 1.0
    p99_limit_ms: float = 10.0
    profile: Path | None = None


def step(ems: EmsProcess, gateway: GatewayProcess | None, rate: int, prefix: str, seconds: float,
         warmup_seconds: float, p99_limit_ms: float | None = None) -> dict[str, Any]:
    """One offered rate: the load, then the gateway's own CPU, passes and commits over it (none without a
    gateway: the EMS straight to the broker). `ok`: nothing lost and p99 within the limit; `keeps_up`: nothing
    lost and at least 90% of the offered rate done."""
    count = int(rate * (seconds + warmup_seconds))
    warmup = int(rate * warmup_seconds)
    before = gateway.stats() if gateway is not None else None
    result = ems.run(LoadSpec(rate, count, warmup, prefix, drain_timeout=10.0))
    latency = summarize(result.final_report_us())
    lost = result.lost() + result.rejected
    within = p99_limit_ms is None or (latency["p99"] is not None and latency["p99"] <= p99_limit_ms * 1000)
    outcome: dict[str, Any] = {
        "offered_rate": rate, "achieved_rate": round(result.achieved_rate(), 1), "orders": count,
        "lost": result.lost(), "rejected": result.rejected, "round_trip_us": latency,
        "send_lag_us": summarize(result.send_lag_us()), "ok": lost == 0 and within,
        "keeps_up": lost == 0 and result.achieved_rate() >= 0.9 * rate,
        "cpu_s_per_1000_orders": None, "system_cpu_share": None, "journal_write_us": None,
        "orders_per_router_pass": None, "peak_rss_mb": None}
    if gateway is not None and before is not None:
        after = gateway.stats()
        cpu = after["cpu_s"] - before["cpu_s"]
        passes = after["passes"] - before["passes"]
        outcome.update({
            "cpu_s_per_1000_orders": round(cpu / count * 1000, 3),
            "system_cpu_share": round((after["system_s"] - before["system_s"]) / cpu, 2) if cpu else None,
            "journal_write_us": after.get("journal_write_us"),
            "orders_per_router_pass": round(count / passes, 1) if passes else None,
            "peak_rss_mb": round(after["peak_rss_mb"], 1)})
    return outcome


def step_up(ems: EmsProcess, gateway: GatewayProcess | None, rates: Sequence[int], prefix: str, seconds: float,
            warmup_seconds: float, p99_limit_ms: float | None = None) -> list[dict[str, Any]]:
    """`step` at each rate in turn, up to and including the first the gateway does not keep up with."""
    steps: list[dict[str, Any]] = []
    for n, rate in enumerate(rates):
        steps.append(step(ems, gateway, rate, f"{prefix}{n}-", seconds, warmup_seconds, p99_limit_ms))
        if not steps[-1]["keeps_up"]:
            break
    return steps


def run(work: Path, options: ThroughputOptions) -> tuple[dict[str, Any], list[Any]]:
    acceptor_port = free_port()
    with executor(work / "executor") as broker:
        gateway = GatewayProcess(gateway_config(work / "gateway", acceptor_port, broker.port),
                                 work / "gateway.log", profile=options.profile)
        gateway.start()
        ems = EmsProcess(EmsSpec(port=acceptor_port, sender_comp_id=EMS_COMP_ID, target_comp_id=GATEWAY_COMP_ID))
        try:
            ems.start()
            steps = step_up(ems, gateway, options.rates, "T", options.seconds, options.warmup_seconds,
                            options.p99_limit_ms)
        finally:
            ems.stop()
            final = gateway.stop()
    passing = [s for s in steps if s["ok"]]
    best = max(passing, key=lambda s: s["offered_rate"]) if passing else None
    capacity = max((s["offered_rate"] for s in steps if s["keeps_up"]), default=0)
    result_doc = {"options": {**options.__dict__, "profile": str(options.profile) if options.profile else None},
                  "steps": steps, "max_sustained_rate": best["offered_rate"] if best else 0,
                  "max_rate_nothing_lost": capacity,
                  "cpu_s_per_1000_orders_at_max": best["cpu_s_per_1000_orders"] if best else None,
                  "peak_rss_mb": round(final.get("peak_rss_mb", 0.0), 1), "gateway": final}
    rows = [[s["offered_rate"], s["achieved_rate"], s["round_trip_us"]["p50"], s["round_trip_us"]["p99"],
             s["round_trip_us"]["max"], s["lost"] + s["rejected"], s["cpu_s_per_1000_orders"],
             s["orders_per_router_pass"], s["peak_rss_mb"],
             "ok" if s["ok"] else f"p99 > {options.p99_limit_ms:g} ms" if s["keeps_up"] else "falls behind / lost"]
            for s in steps]
    title = (f"throughput through fixgw (NOS -> fill, journal on): within p99 <= {options.p99_limit_ms:g} ms "
             f"{result_doc['max_sustained_rate']}/s; nothing lost up to {capacity}/s")
    return result_doc, [table(title, ["offered/s", "done/s", "p50 us", "p99 us", "max us", "lost", "CPU s/1k",
                                      "orders/pass", "RSS MB", ""], rows)]
