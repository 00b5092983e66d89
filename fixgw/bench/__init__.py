"""Benchmarks of the gateway against the direct path, run as `python -m fixgw.bench SCENARIO` (see scripts/bench).

Owns the open-loop EMS load generator (a lean QuickFIX initiator in its own process), the gateway and peer
processes it measures, one module per scenario, and the tables / JSON files they produce. Timings live here and
in BENCHMARKS.md, never in test assertions.
"""
