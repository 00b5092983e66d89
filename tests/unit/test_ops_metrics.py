"""Metrics from router passes: messages, refusals, hop latency, journal timings, and the exposition format."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from fixgw.engine.observe import PassRecord
from fixgw.ops.metrics import HOP_EMS_TO_VENUE, HOP_VENUE_TO_EMS, GatewayMetrics, LatencyWindow, sending_time
from fixgw.router.effects import Effects, OrderEventRecord
from fixgw.store.records import MessageRecord

AT = datetime(2027, 1, 15, 8, 0, 0, 500000, tzinfo=UTC)


def message(session: str, direction: str, msg_type: str, order_id: str | None = None,
            sent: str = "20270115-08:00:00.250") -> MessageRecord:
    raw = f"8=FIX.4.4\x019=10\x0135={msg_type}\x0134=7\x0152={sent}\x0110=000\x01"
    return MessageRecord(session, direction, msg_type, raw, AT, order_id=order_id)


def samples(metrics: GatewayMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(metrics.render().decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_a_pass_is_counted_and_timed() -> None:
    metrics = GatewayMetrics(clock=lambda: 1234.0)
    fx = Effects()
    fx.events += [OrderEventRecord("O1", "new", "A", AT, {}), OrderEventRecord("O2", "new", "A", AT, {}),
                  OrderEventRecord("O2", "deny", "DENIED", AT, {"reason": "UNKNOWN_ACCOUNT", "text": "no"})]
    fx.to_venue += [("equities", object(), "O1")]  # type: ignore[list-item]
    fx.to_ems += [("ems-a", object(), "O2"), ("ems-a", object(), "O3")]  # type: ignore[list-item]
    # item 1: an EMS order that went to the venue; item 2: an EMS order denied (a report back);
    # item 3: a venue fill that produced a report.
    origins = [("ems", 10.0, 1, 0), ("ems", 10.5, 1, 1), ("venue_execution", 10.75, 1, 2)]
    messages = [message("ems-a", "in", "D"), message("ems-a", "in", "D"), message("ems-a", "out", "8", "O2"),
                message("ems-a", "out", "3"), message("equities", "in", "8", sent="20270115-08:00:03")]
    metrics.on_pass(PassRecord(fx, messages, origins, 3, journal_started=11.0, journal_done=11.002,
                               venue_sent=11.003, ems_sent=11.004))
    found = samples(metrics)
    assert found[("fixgw_messages_total", (("direction", "in"), ("msg_type", "D"), ("session", "ems-a")))] == 2
    assert found[("fixgw_messages_total", (("direction", "out"), ("msg_type", "3"), ("session", "ems-a")))] == 1
    assert found[("fixgw_rejects_total", (("kind", "deny"), ("reason", "UNKNOWN_ACCOUNT")))] == 1
    assert found[("fixgw_rejects_total", (("kind", "message_reject"), ("reason", "session_reject")))] == 1
    assert found[("fixgw_hop_latency_seconds_count", (("hop", HOP_EMS_TO_VENUE),))] == 1
    assert found[("fixgw_hop_latency_seconds_sum", (("hop", HOP_EMS_TO_VENUE),))] == 11.003 - 10.0
    assert found[("fixgw_hop_latency_seconds_count", (("hop", HOP_VENUE_TO_EMS),))] == 1
    assert found[("fixgw_hop_latency_seconds_sum", (("hop", HOP_VENUE_TO_EMS),))] == 11.004 - 10.75
    assert found[("fixgw_journal_batch_items_count", ())] == 1
    assert abs(found[("fixgw_journal_commit_seconds_sum", ())] - 0.002) < 1e-9
    assert abs(found[("fixgw_journal_lag_seconds_sum", ())] - 1.002) < 1e-9
    assert metrics.new_orders_total == 2 and metrics.refusals_total == 2
    assert metrics.last_execution_at == 1234.0
    assert metrics.clock_skew == {"ems-a": 0.25, "equities": -2.5}
    assert [entry[1:4] for entry in metrics.recent_refusals] == [("message_reject", "session_reject", ""),
                                                                 ("deny", "UNKNOWN_ACCOUNT", "O2")]


def test_latency_window_percentiles_within_hdrhistogram_precision() -> None:
    window = LatencyWindow(clock=lambda: 1000.0)
    assert window.quantiles() is None
    for value in range(1, 101):
        window.add(value / 1000)
    found = window.quantiles()
    assert found is not None and found.keys() == {0.5, 0.95, 0.99}
    for q, nearest_rank in {0.5: 0.05, 0.95: 0.095, 0.99: 0.099}.items():
        assert abs(found[q] - nearest_rank) <= nearest_rank / 1000  # 3 significant digits


def test_latency_window_forgets_samples_older_than_a_minute() -> None:
    now = [0.0]
    window = LatencyWindow(window_s=60.0, slices=6, clock=lambda: now[0])
    window.add(0.5, count=10)
    now[0] = 30.0
    window.add(0.001)
    assert window.quantiles() == pytest.approx({0.5: 0.5, 0.95: 0.5, 0.99: 0.5}, rel=1e-3)
    now[0] = 61.0  # the first slice left the window; the later sample stays
    assert window.quantiles() == pytest.approx({0.5: 0.001, 0.95: 0.001, 0.99: 0.001}, rel=1e-3)
    now[0] = 91.0
    assert window.quantiles() is None


def test_sending_time_parsing() -> None:
    assert sending_time("35=D\x0152=20270115-08:00:00\x01") == datetime(2027, 1, 15, 8, tzinfo=UTC)
    assert sending_time("35=D\x0152=20270115-08:00:00.123456789\x01") == (
        datetime(2027, 1, 15, 8, tzinfo=UTC) + timedelta(microseconds=123456))
    assert sending_time("35=D\x0152=garbage\x01") is None
    assert sending_time("35=D\x01") is None


def test_recon_hook() -> None:
    metrics = GatewayMetrics()
    metrics.report_recon_breaks("equities", {"missing_at_broker": 2, "price_mismatch": 1}, open_breaks=3)
    assert metrics.open_recon_break_count() == 3
    found = samples(metrics)
    assert found[("fixgw_recon_breaks_total", (("kind", "missing_at_broker"), ("venue", "equities")))] == 2


def test_recon_results_feed_the_break_metrics_a_persisting_drift_counted_once() -> None:
    from fixgw.ops.recon_feed import ReconBoard
    from fixgw.recon.results import DRIFT, EOD, ReconResult

    metrics = GatewayMetrics()
    board = ReconBoard(metrics)
    open_key = ("fixgw_recon_open_breaks", (("venue", "crypto"),))
    drift_key = ("fixgw_recon_breaks_total", (("kind", "balance_drift"), ("venue", "crypto")))
    board(ReconResult("crypto", EOD, AT, "2 break(s)", {"missing_internally": 2}))
    assert samples(metrics)[open_key] == 2 and metrics.open_recon_break_count() == 2
    for _ in range(3):   # every drift check while it lasts
        board(ReconResult("crypto", DRIFT, AT, "drift 3%", {"balance_drift": 1}))
    assert samples(metrics)[open_key] == 3 and samples(metrics)[drift_key] == 1
    board(ReconResult("crypto", EOD, AT, "failed: statement missing", failed=True))
    assert samples(metrics)[open_key] == 3   # a failed run proves nothing
    board(ReconResult("crypto", DRIFT, AT, "drift 0%"))
    board(ReconResult("crypto", EOD, AT, "clean"))
    assert samples(metrics)[open_key] == 0 and metrics.open_recon_break_count() == 0
    assert [(row["check"], row["open_breaks"], row["summary"]) for row in board.rows()] == [
        ("drift", 0, "drift 0%"), ("eod", 0, "clean")]
