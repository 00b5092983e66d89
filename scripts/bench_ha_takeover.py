#!/usr/bin/env python3
"""Takeover time of an HA pair: kill -9 (or SIGSTOP past its lease, --mode stop) of the active at a random moment
under load (200 orders/s), until every session is logged on at the new active (the EMS through its alternate
address, the broker and drop-copy sessions). N trials,
each on a fresh PostgreSQL schema; a table on stdout and JSON in bench-results/ha-takeover-<mode>.json.

    FIXGW_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \\
        .venv/bin/python scripts/bench_ha_takeover.py --trials 10
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "integration"), str(ROOT / "tests")]

from gateway_stack import new_order  # noqa: E402
from ha_stack import LEASE_S, POSTGRES_URL_ENV, HaPair, postgres_schema  # noqa: E402
from waiting import wait_until  # noqa: E402

RATE = 200.0
ORDERS = 60


def trial(base: str, seed: int, mode: str) -> dict[str, float]:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="fixgw-ha-bench-") as folder, postgres_schema(base) as url:
        pair = HaPair(Path(folder), url)
        try:
            pair.start()
            a = pair.nodes["a"]
            logons, dc_logons = pair.ems.logon_count, pair.compliance.logon_count
            moment = rng.randrange(10, ORDERS - 10)
            killed = killed_wall = 0.0
            period, next_at = 1.0 / RATE, time.monotonic()
            for index in range(ORDERS):
                pair.ems.send(new_order(f"T{index}", qty="200", price="190.00", account="ACC1"))
                if index == moment:
                    a.signal(signal.SIGKILL if mode == "kill" else signal.SIGSTOP)
                    killed, killed_wall = time.monotonic(), time.time()
                next_at += period
                time.sleep(max(0.0, next_at - time.monotonic()))
            marks: dict[str, float] = {}

            def seen() -> bool:
                now = time.monotonic()
                if "lease" not in marks and pair.active() == "b":
                    marks["lease"] = now
                if "ems" not in marks and pair.ems.logon_count > logons and pair.ems.logged_on:
                    marks["ems"] = now
                if "dropcopy" not in marks and pair.compliance.logon_count > dc_logons and pair.compliance.logged_on:
                    marks["dropcopy"] = now
                if "broker" not in marks and pair.nodes["b"].events("broker.logon"):
                    # The new active's own log: the simulator may not have noticed the old connection close yet.
                    logon = pair.nodes["b"].events("broker.logon")[0]["timestamp"]
                    marks["broker"] = killed + (_wall(str(logon)) - killed_wall)
                return len(marks) == 4

            try:
                wait_until(seen, LEASE_S + 30, "every session logged on at the new active")
            except AssertionError as exc:
                raise RuntimeError(f"{exc}: {marks}\n{pair.nodes['b'].tail()}") from None
            if mode == "stop":
                a.signal(signal.SIGCONT)
                if a.wait(30) != 3:
                    raise RuntimeError(f"the paused node did not exit fenced:\n{a.tail()}")
            return {"lease_s": marks["lease"] - killed, "ems_s": marks["ems"] - killed,
                    "broker_s": marks["broker"] - killed, "dropcopy_s": marks["dropcopy"] - killed,
                    "all_sessions_s": max(marks["ems"], marks["broker"], marks["dropcopy"]) - killed,
                    "killed_after_order": moment}
        finally:
            pair.stop()


def _wall(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--mode", choices=["kill", "stop"], default="kill",
                        help="kill -9 the active (default), or SIGSTOP it past its lease (then SIGCONT: it exits 3)")
    args = parser.parse_args()
    base = os.environ.get(POSTGRES_URL_ENV)
    if not base:
        print(f"{POSTGRES_URL_ENV} is not set", file=sys.stderr)
        return 2
    results = []
    for number in range(args.trials):
        result = trial(base, args.seed + number, args.mode)
        results.append(result)
        print(f"trial {number + 1:2d}: killed after order {result['killed_after_order']:2.0f}; lease taken "
              f"{result['lease_s']:.3f} s, broker logged on {result['broker_s']:.3f} s, EMS logged on "
              f"{result['ems_s']:.3f} s, drop copy {result['dropcopy_s']:.3f} s, all sessions "
              f"{result['all_sessions_s']:.3f} s", flush=True)
    summary = {}
    for key in ("lease_s", "broker_s", "ems_s", "dropcopy_s", "all_sessions_s"):
        values = sorted(r[key] for r in results)
        summary[key] = {"min": values[0], "median": statistics.median(values), "max": values[-1]}
    print(f"{'':16s} {'min':>7s} {'median':>7s} {'max':>7s}")
    for key, row in summary.items():
        print(f"{key:16s} {row['min']:7.3f} {row['median']:7.3f} {row['max']:7.3f}")
    out = ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    report = {"mode": args.mode, "lease_s": LEASE_S, "rate": RATE, "orders": ORDERS, "trials": results,
              "summary": summary}
    (out / f"ha-takeover-{args.mode}.json").write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
