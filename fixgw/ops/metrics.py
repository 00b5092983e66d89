"""Prometheus metrics of one gateway, fed by the router's `PassRecord` after each pass.

Counters and histograms are updated on the router thread (a few label lookups per pass); everything that
describes the present (sessions, orders by status, rate-limit buckets, kill switches) is read at scrape time
from a snapshot. Latency per hop is both a Prometheus histogram (for Grafana's histogram_quantile) and a
last minute's HdrHistogram whose p50/p95/p99 the status page and `fixgw_hop_latency_quantile_seconds` show.
"""

from __future__ import annotations

import threading
import time
from collections import Counter as Tally
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from hdrh.histogram import HdrHistogram
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from fixgw.engine.observe import PassRecord
from fixgw.model.events import EventName
from fixgw.store.records import MessageRecord

HOP_EMS_TO_VENUE = "ems_to_venue"
HOP_VENUE_TO_EMS = "venue_to_ems"
HOPS = (HOP_EMS_TO_VENUE, HOP_VENUE_TO_EMS)
QUANTILES = (0.5, 0.95, 0.99)
LATENCY_BUCKETS = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                   1.0, 2.5, 5.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096)
WINDOW_S = 60.0
WINDOW_SLICES = 6
_LOWEST_US, _HIGHEST_US, _DIGITS = 1, 60_000_000, 3
SKEW_SAMPLE_S = 1.0
"""Clock skew is read from at most one inbound message per session per second."""

# Router events that count as a refusal, and the detail key holding their reason.
_REFUSALS = {EventName.DENY: "deny", EventName.REJECT: "venue_reject", EventName.CANCEL_REJECTED: "cancel_reject",
             EventName.REPLACE_REJECTED: "replace_reject"}
# Replies to EMS messages that never became (or found) an order of record: decode failures, duplicates, unknowns.
_MESSAGE_REJECTS = {"3": "session_reject", "j": "business_reject", "8": "invalid_order", "9": "unknown_order"}
_VENUE_EVENT_KINDS = ("venue_execution", "venue_cancel_reject")


class LatencyWindow:
    """One hop's latency over the last minute, every sample: an HdrHistogram per time slice (1 us to 1 min,
    3 significant digits), merged when read; a slice leaves the window whole. Constant memory at any rate."""

    def __init__(self, window_s: float = WINDOW_S, slices: int = WINDOW_SLICES,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._slice_s = window_s / slices
        self._count = slices
        self._clock = clock
        self._slices: deque[tuple[int, HdrHistogram]] = deque()
        self._lock = threading.Lock()

    def add(self, seconds: float, count: int = 1) -> None:
        micros = min(max(round(seconds * 1_000_000), _LOWEST_US), _HIGHEST_US)
        index = int(self._clock() // self._slice_s)
        with self._lock:
            if not self._slices or self._slices[-1][0] != index:  # a new slice: old ones may leave
                self._expire()
                self._slices.append((index, HdrHistogram(_LOWEST_US, _HIGHEST_US, _DIGITS)))
            self._slices[-1][1].record_value(micros, count)

    def quantiles(self, qs: tuple[float, ...] = QUANTILES) -> dict[float, float] | None:
        merged = HdrHistogram(_LOWEST_US, _HIGHEST_US, _DIGITS)
        with self._lock:
            self._expire()
            for _index, histogram in self._slices:
                merged.add(histogram)
        if merged.get_total_count() == 0:
            return None
        return {q: merged.get_value_at_percentile(q * 100) / 1_000_000 for q in qs}

    def _expire(self) -> int:
        index = int(self._clock() // self._slice_s)
        while self._slices and self._slices[0][0] <= index - self._count:
            self._slices.popleft()
        return index


class GatewayMetrics:
    """The gateway's metric registry; `on_pass` is the runner's observer."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._clock = clock
        r = self.registry
        self.messages = Counter("fixgw_messages", "FIX application messages journaled, by session, direction "
                                "and MsgType", ["session", "direction", "msg_type"], registry=r)
        self.orders_received = Counter("fixgw_orders_received", "New orders from EMS sessions", ["ems_session"],
                                       registry=r)
        self.refusals = Counter("fixgw_rejects", "Denials (ours), rejects (counterparty's) and message rejects, "
                                "by kind and reason", ["kind", "reason"], registry=r)
        self.hop_latency = Histogram("fixgw_hop_latency_seconds", "Latency per hop: queued at the router -> "
                                     "handed to the venue / EMS session", ["hop"], buckets=LATENCY_BUCKETS,
                                     registry=r)
        self.journal_commit = Histogram("fixgw_journal_commit_seconds", "Journal group commit duration",
                                        buckets=LATENCY_BUCKETS, registry=r)
        self.journal_lag = Histogram("fixgw_journal_lag_seconds", "Oldest item of a pass: queued -> committed",
                                     buckets=LATENCY_BUCKETS, registry=r)
        self.journal_batch = Histogram("fixgw_journal_batch_items", "Work items per group commit",
                                       buckets=BATCH_BUCKETS, registry=r)
        self.recon_breaks = Counter("fixgw_recon_breaks", "Reconciliation breaks found (fed by recon)",
                                    ["venue", "kind"], registry=r)
        self.open_recon_breaks = Gauge("fixgw_recon_open_breaks", "Unresolved reconciliation breaks",
                                       ["venue"], registry=r)
        self.alerts_sent = Counter("fixgw_alerts_sent", "Alert notifications delivered", ["sink", "status"],
                                   registry=r)
        self.alerts_dropped = Counter("fixgw_alerts_dropped", "Alert notifications not delivered (rate limit "
                                      "or retries exhausted)", ["sink", "why"], registry=r)
        self.windows = {hop: LatencyWindow() for hop in HOPS}
        # Plain numbers the alert rules read (any thread; ints and floats are swapped atomically).
        self.new_orders_total = 0
        self.refusals_total = 0
        self.last_execution_at: float | None = None
        self.recent_refusals: deque[tuple[str, str, str, str, str]] = deque(maxlen=50)
        """(UTC time, kind, reason, order id, text) of the latest refusals, newest last."""
        self.clock_skew: dict[str, float] = {}
        self._skew_sampled: dict[str, float] = {}
        self._message_children: dict[tuple[str, str, str], Any] = {}
        self._hop_children = {hop: self.hop_latency.labels(hop=hop) for hop in HOPS}
        """Per session: our receive time minus the counterparty's SendingTime(52), seconds (last message)."""

    # ------------------------------------------------------------------ the router's observer

    def on_pass(self, record: PassRecord) -> None:
        self._count_messages(record.messages)
        self._count_events(record)
        self._measure_hops(record)
        self.journal_commit.observe(record.journal_done - record.journal_started)
        self.journal_batch.observe(record.items)
        if record.origins:
            self.journal_lag.observe(record.journal_done - min(origin[1] for origin in record.origins))

    def _count_messages(self, messages: Sequence[MessageRecord]) -> None:
        tally: Tally[tuple[str, str, str]] = Tally()
        last_in: dict[str, MessageRecord] = {}
        for message in messages:
            tally[(message.session, message.direction, message.msg_type)] += 1
            if message.direction == "in":
                last_in[message.session] = message
            elif message.order_id is None and message.msg_type in _MESSAGE_REJECTS:
                self._refused("message_reject", _MESSAGE_REJECTS[message.msg_type], "", message.session)
        children = self._message_children
        for key, count in tally.items():
            child = children.get(key)
            if child is None:
                child = children[key] = self.messages.labels(session=key[0], direction=key[1], msg_type=key[2])
            child.inc(count)
        now = time.monotonic()
        for session, message in last_in.items():
            if now - self._skew_sampled.get(session, -SKEW_SAMPLE_S) < SKEW_SAMPLE_S:
                continue
            self._skew_sampled[session] = now
            sent = sending_time(message.raw)
            if sent is not None:
                self.clock_skew[session] = (message.at - sent).total_seconds()

    def _count_events(self, record: PassRecord) -> None:
        for event in record.fx.events:
            if event.event == EventName.NEW:
                self.new_orders_total += 1
                order = record.fx.orders.get(event.order_id)
                self.orders_received.labels(ems_session=order.ems_session if order else "").inc()
            kind = _REFUSALS.get(event.event)
            if kind is not None:
                reason = event.detail.get("reason") or "none"
                self._refused(kind, reason.rpartition(".")[2], event.order_id, event.detail.get("text", ""))
        if any(origin[0] in _VENUE_EVENT_KINDS for origin in record.origins):
            self.last_execution_at = self._clock()

    def _refused(self, kind: str, reason: str, order_id: str, text: str) -> None:
        self.refusals_total += 1
        self.refusals.labels(kind=kind, reason=reason).inc()
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
        self.recent_refusals.append((now, kind, reason, order_id, text[:200]))

    def _measure_hops(self, record: PassRecord) -> None:
        venue_start = ems_start = 0
        for kind, queued_at, venue_end, ems_end in record.origins:
            if kind == "ems" and venue_end > venue_start:
                self._observe(HOP_EMS_TO_VENUE, record.venue_sent - queued_at, venue_end - venue_start)
            elif kind in _VENUE_EVENT_KINDS and ems_end > ems_start:
                self._observe(HOP_VENUE_TO_EMS, record.ems_sent - queued_at, ems_end - ems_start)
            venue_start, ems_start = venue_end, ems_end

    def _observe(self, hop: str, seconds: float, count: int) -> None:
        histogram = self._hop_children[hop]
        window = self.windows[hop]
        for _ in range(count):
            histogram.observe(seconds)
        window.add(seconds, count)

    # ------------------------------------------------------------------ for other components

    def report_recon_breaks(self, venue: str, kinds: dict[str, int], open_breaks: int) -> None:
        """Recon's hook: breaks found in a run (by kind) and how many are still open at that venue."""
        for kind, count in kinds.items():
            self.recon_breaks.labels(venue=venue, kind=kind).inc(count)
        self.open_recon_breaks.labels(venue=venue).set(open_breaks)

    def open_recon_break_count(self) -> int:
        return int(sum(sample.value for metric in self.open_recon_breaks.collect() for sample in metric.samples))

    def latency_quantiles(self) -> dict[str, dict[float, float] | None]:
        return {hop: window.quantiles() for hop, window in self.windows.items()}

    def add_collector(self, collector: Collector) -> None:
        self.registry.register(collector)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class QuantileCollector(Collector):
    """p50/p95/p99 of each hop over the last minute, as gauges."""

    def __init__(self, metrics: GatewayMetrics) -> None:
        self._metrics = metrics

    def describe(self) -> list[Metric]:
        return []  # nothing is collected at registration

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily("fixgw_hop_latency_quantile_seconds",
                                   f"Latency per hop over the last {WINDOW_S:g} seconds",
                                   labels=["hop", "quantile"])
        for hop, quantiles in self._metrics.latency_quantiles().items():
            for q, value in (quantiles or {}).items():
                family.add_metric([hop, str(q)], value)
        yield family


def sending_time(raw: str) -> datetime | None:
    """SendingTime(52) of a FIX message's text, as an aware UTC datetime; None when absent or malformed."""
    start = raw.find("\x0152=")
    if start < 0:
        return None
    end = raw.find("\x01", start + 4)
    text = raw[start + 4:end if end >= 0 else None]
    # YYYYMMDD-HH:MM:SS[.fraction]: sliced by hand, strptime costs ten times more.
    if len(text) < 17 or text[8] != "-" or text[11] != ":" or text[14] != ":":
        return None
    fraction = text[18:24] if len(text) > 18 and text[17] == "." else ""
    digits = (text[0:4], text[4:6], text[6:8], text[9:11], text[12:14], text[15:17])
    if not all(part.isdigit() for part in digits) or (fraction and not fraction.isdigit()):
        return None
    year, month, day, hour, minute, second = (int(part) for part in digits)
    try:
        return datetime(year, month, day, hour, minute, second, int(fraction.ljust(6, "0")) if fraction else 0,
                        tzinfo=UTC)
    except ValueError:
        return None
