"""Every benchmark scenario runs briefly (tiny counts) so the harness cannot rot. Structure only: never timings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fixgw.bench import bridge, relay, resend, restart, throughput
from fixgw.bench.__main__ import main
from fixgw.sim.executor import locate_executor

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module", autouse=True)
def _executor_available(tmp_path_factory: pytest.TempPathFactory) -> None:
    if locate_executor(tmp_path_factory.mktemp("executor-probe")) is None:
        pytest.skip("QuickFIX executor binary not available (libquickfix-doc / libquickfix17 missing)")


def _percentiles(summary: dict[str, object]) -> None:
    assert {"count", "p50", "p90", "p99", "p99.9", "max"} <= summary.keys()
    assert isinstance(summary["count"], int) and summary["count"] > 0
    assert all(isinstance(summary[k], int) and summary[k] > 0 for k in ("p50", "p99"))  # type: ignore[operator]


def test_latency_direct_and_through_fixgw_via_the_command_line(tmp_path: Path) -> None:
    out = tmp_path / "results"
    code = main(["latency", "--rate", "200", "--seconds", "0.5", "--warmup", "0.25", "--rounds", "1",
                 "--out", str(out), "--work-dir", str(tmp_path / "work")])
    assert code == 0
    [written] = out.glob("latency-*.json")
    document = json.loads(written.read_text())
    assert document["scenario"] == "latency" and document["machine"]["cpus"] >= 1
    for path in ("direct", "fixgw"):
        _percentiles(document["paths"][path]["round_trip_us"])
        assert document["paths"][path]["lost"] == 0
    assert set(document["added"]) == {"p50", "p90", "p99", "p99.9"}
    stages = document["gateway"]["stages_us"]
    assert set(stages) == {f"{leg}.{stage}" for leg in ("order", "report")
                           for stage in ("queued_to_journal", "journal", "journal_to_sent")}
    for summary in stages.values():
        assert summary["count"] >= 150  # every order of the fixgw round, warm-up included, on each leg


def test_throughput_steps(tmp_path: Path) -> None:
    result, tables = throughput.run(tmp_path, throughput.ThroughputOptions(
        rates=(200,), seconds=0.5, warmup_seconds=0.2, p99_limit_ms=60_000))
    [step] = result["steps"]
    assert step["offered_rate"] == 200 and step["lost"] == 0 and step["ok"]
    _percentiles(step["round_trip_us"])
    assert step["cpu_s_per_1000_orders"] > 0 and result["peak_rss_mb"] > 0
    # Whether 200/s was *kept up* (>= 90% achieved in half a second) depends on the machine's load: a timing, so
    # only its consistency with the step is checked here (figures belong in scripts/bench).
    assert result["max_sustained_rate"] == 200 and tables
    assert result["max_rate_nothing_lost"] == (200 if step["keeps_up"] else 0)


def test_bridge_orders_reach_the_crypto_simulator(tmp_path: Path) -> None:
    result, tables = bridge.run(tmp_path, bridge.BridgeOptions(rate=4, seconds=1.0, warmup_seconds=0.5))
    _percentiles(result["direct_rest"]["round_trip_us"])
    _percentiles(result["fixgw_ack_us"])
    assert result["unacked"] == 0 and result["direct_rest"]["errors"] == 0 and tables
    assert result["venue_requests"]["coinbase.create_order"] >= 6  # the orders channel on: a submit per order
    assert result["venue_requests_per_order"] > 0


def test_restart_on_a_generated_journal(tmp_path: Path) -> None:
    result, tables = restart.run(tmp_path, restart.RestartOptions(events=2000))
    assert result["journal_rows"]["events"] == 2000
    assert 0 < result["gateway_start_s"] <= result["ready_s"]
    assert {"venues_connected_s", "ems_logged_on_s"} <= result.keys() and tables


def test_resend_to_a_reconnecting_ems(tmp_path: Path) -> None:
    result, tables = resend.run(tmp_path, resend.ResendOptions(messages=200))
    assert result["in_sequence"] and result["messages"] == 200
    assert result["back_in_sequence_s"] > 0 and tables


def test_floor_relays_and_the_disk(tmp_path: Path) -> None:
    result, tables = relay.run(tmp_path, relay.FloorOptions(rates=(200,), seconds=0.5, warmup_seconds=0.2,
                                                            fsyncs=20))
    assert result["fdatasync_4k_us"]["count"] == 20 and result["two_durable_points_p50_us"] > 0
    for mode in relay.MODES:
        [step] = result["relays"][mode]
        assert step["offered_rate"] == 200 and step["lost"] == 0 and step["keeps_up"]
        _percentiles(step["round_trip_us"])
        assert (step["cpu_s_per_1000_orders"] is None) == (mode == "direct")
    assert result["relays"]["bare"][0]["cpu_s_per_1000_orders"] > 0
    assert result["max_rate_kept_up"] == {mode: 200 for mode in relay.MODES} and len(tables) == 3
    [against] = result["gateway_against_floor"]
    assert against["offered_rate"] == 200 and against["gateway_keeps_up"]
    assert against["floor_us"] == against["fields_added_p50_us"] + result["two_durable_points_p50_us"]
    assert against["gateway_added_p50_us"] == against["gateway_p50_us"] - against["direct_p50_us"]
    assert against["added_over_floor"] is not None and against["cpu_over_fields"] is not None
    assert set(result["max_rate_kept_up_p99_10ms"]) == set(relay.MODES)
