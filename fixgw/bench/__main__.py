"""`python -m fixgw.bench SCENARIO [options]`: run benchmark scenarios, print their tables, write JSON.

Scenarios: latency (1 direct + 2 through fixgw, same run), throughput (3), bridge (4), restart (5), resend (6),
floor (what QuickFIX in and out and one durable write cost on this machine before fixgw does anything),
all (every one with its defaults and the options given). Exit codes: 0 ran, 1 a scenario failed, 2 usage.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from fixgw.bench import bridge, latency, relay, resend, restart, throughput
from fixgw.bench.report import emit

SCENARIOS = ("latency", "throughput", "bridge", "restart", "resend", "floor")
Runner = Callable[[Path, argparse.Namespace], tuple[dict[str, Any], list[Any]]]


def _profile(args: argparse.Namespace, scenario: str) -> Path | None:
    """py-spy collapsed stacks (restart: a cProfile of Gateway.start()) under --profile-dir."""
    return args.profile_dir / f"{scenario}.{'prof' if scenario == 'restart' else 'txt'}" if args.profile_dir else None


RUNNERS: dict[str, Runner] = {
    "latency": lambda work, a: latency.run(work, latency.LatencyOptions(
        rate=a.rate, seconds=a.seconds, warmup_seconds=a.warmup, rounds=a.rounds, profile=_profile(a, "latency"))),
    "throughput": lambda work, a: throughput.run(work, throughput.ThroughputOptions(
        rates=tuple(a.rates), seconds=a.seconds, warmup_seconds=a.warmup, p99_limit_ms=a.p99_limit_ms,
        profile=_profile(a, "throughput"))),
    "bridge": lambda work, a: bridge.run(work, bridge.BridgeOptions(
        rate_limit=a.rate_limit, rate=a.bridge_rate, seconds=a.seconds, warmup_seconds=a.warmup,
        stream=not a.no_stream)),
    "restart": lambda work, a: restart.run(work, restart.RestartOptions(
        events=a.events, history_days=a.history_days, profile=_profile(a, "restart"))),
    "resend": lambda work, a: resend.run(work, resend.ResendOptions(messages=a.messages,
                                                                    profile=_profile(a, "resend"))),
    "floor": lambda work, a: relay.run(work, relay.FloorOptions(rates=tuple(a.rates), seconds=a.seconds,
                                                                warmup_seconds=a.warmup, profile=_profile(a, "floor"),
                                                                journal_sync=a.journal_sync)),
}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m fixgw.bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("scenario", choices=(*SCENARIOS, "all"))
    p.add_argument("--out", type=Path, default=Path("bench-results"), help="JSON results folder")
    p.add_argument("--work-dir", type=Path, help="keep state (journals, logs) here instead of a temp folder")
    p.add_argument("--profile-dir", type=Path, help="py-spy the gateway into <dir>/<scenario>.txt (collapsed)")
    p.add_argument("--seconds", type=float, default=10.0, help="measured seconds per load run")
    p.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds before each measured run")
    p.add_argument("--rate", type=int, default=1000, help="latency: orders per second")
    p.add_argument("--rounds", type=int, default=2, help="latency: alternating direct/fixgw rounds")
    p.add_argument("--rates", type=lambda text: [int(v) for v in text.split(",")],
                   default=[1000, 2000, 3000, 4000, 5000, 6000, 8000], help="throughput, floor: offered rates to step")
    p.add_argument("--p99-limit-ms", type=float, default=10.0, help="throughput: a step fails above this p99")
    p.add_argument("--rate-limit", type=float, default=25.0, help="bridge: the venue's requests per second")
    p.add_argument("--bridge-rate", type=int, default=15, help="bridge: offered orders per second")
    p.add_argument("--no-stream", action="store_true",
                   help="bridge: no orders WebSocket channel, every order polled over REST (as before it)")
    p.add_argument("--events", type=int, default=1_000_000, help="restart: journaled order events")
    p.add_argument("--history-days", type=int, default=0,
                   help="restart: spread the events over today and this many earlier days")
    p.add_argument("--journal-sync", choices=("full", "normal"), default="full",
                   help="floor: the gateway path's journal.sync (normal: not durable against power loss)")
    p.add_argument("--messages", type=int, default=100_000, help="resend: messages to resend")
    return p


def main(argv: list[str] | None = None) -> int:
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    from fixgw.logs import configure_logging

    configure_logging("WARNING", "json")
    console = Console() if sys.stdout.isatty() else Console(width=180)  # files keep whole numbers
    if args.profile_dir:
        args.profile_dir.mkdir(parents=True, exist_ok=True)
    failed = 0
    for scenario in SCENARIOS if args.scenario == "all" else (args.scenario,):
        console.rule(f"[bold]{scenario}")
        try:
            with tempfile.TemporaryDirectory(prefix=f"fixgw-bench-{scenario}-") as temp:
                work = args.work_dir / scenario if args.work_dir else Path(temp)
                result, tables = RUNNERS[scenario](work, args)
                emit(scenario, result, tables, args.out, console)
        except Exception as exc:
            failed += 1
            console.print(f"[bold red]{scenario} failed:[/] {exc!r}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
