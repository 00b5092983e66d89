"""Metrics of the present, read at scrape time: sessions, orders by status, risk state, REST venue buckets."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import structlog
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from fixgw.ops.view import RouterUnavailable
from fixgw.venues.base import Venue
from fixgw.venues.plugin import VenueStats
from fixgw.venues.registry import venue_stats

if TYPE_CHECKING:
    from fixgw.ops.runtime import OpsRuntime

log = structlog.get_logger("fixgw.ops.live")


def venue_statistics(venues: Mapping[str, Venue]) -> list[VenueStats]:
    """Rate-limit usage and request counts of every venue whose kind reports them (its plugin's stats hook)."""
    found: list[VenueStats] = []
    for name, venue in venues.items():
        try:
            stats = venue_stats(venue)
        except Exception as exc:
            log.warning("metrics.bridge_read_failed", venue=name, error=repr(exc))
            continue
        if stats is not None:
            found.append(stats)
    return found


def venue_clock_skew(stats: list[VenueStats]) -> dict[str, tuple[float, float]]:
    """REST venue -> (our clock minus the venue's, the venue's alert threshold), where measured; the sign is the
    FIX sessions' (receive time minus SendingTime: positive when the venue's clock is behind)."""
    return {s.venue: (-s.clock_offset_s, s.clock_alert_threshold_s) for s in stats if s.clock_samples}


def venue_rate_headroom(stats: list[VenueStats]) -> dict[str, tuple[float, float]]:
    """REST venues whose request rate is at or above their headroom alert share: venue -> (used, alert share)."""
    return {s.venue: (s.rate_used_share or 0.0, s.rate_alert_share) for s in stats if s.rate_headroom_low}


class LiveCollector(Collector):
    def __init__(self, ops: OpsRuntime) -> None:
        self._ops = ops

    def describe(self) -> list[Metric]:
        return []  # nothing is collected at registration

    def collect(self) -> Iterator[Metric]:
        ops = self._ops
        up = GaugeMetricFamily("fixgw_session_up", "1 when the session is logged on / the venue reachable",
                               labels=["session", "role"])
        out_seq = GaugeMetricFamily("fixgw_session_next_sender_seq", "Next MsgSeqNum we send", labels=["session"])
        in_seq = GaugeMetricFamily("fixgw_session_next_target_seq", "Next MsgSeqNum we expect", labels=["session"])
        for session in ops.view.sessions():
            up.add_metric([session.name, session.role], 1 if session.connected else 0)
            if session.next_sender_seq is not None:
                out_seq.add_metric([session.name], session.next_sender_seq)
            if session.next_target_seq is not None:
                in_seq.add_metric([session.name], session.next_target_seq)
        yield from (up, out_seq, in_seq)
        ready, _detail = ops.readiness()
        yield _gauge("fixgw_ready", "1 when /readyz answers ready", 1 if ready else 0)
        yield from _ha_metrics(ops.ha_status)
        runner = ops.gateway.runner
        if runner is not None:
            yield _counter("fixgw_journal_write_errors", "Failed journal commits (retried)", runner.journal_errors)
        yield from self._book()
        yield from self._security(getattr(ops.gateway, "security", None))
        venues = venue_statistics(getattr(ops.gateway, "venues", {}) or {})
        skew = GaugeMetricFamily("fixgw_clock_skew_seconds", "Our clock minus the counterparty's: receive time "
                                 "minus SendingTime (FIX), or the REST venue's measured clock offset, negated",
                                 labels=["session"])
        for peer, seconds in [*ops.metrics.clock_skew.items(), *((v, s) for v, (s, _) in
                                                                  venue_clock_skew(venues).items())]:
            skew.add_metric([peer], seconds)
        yield skew
        firing = GaugeMetricFamily("fixgw_alerts_firing", "Alerts firing now", labels=["rule"])
        by_rule: dict[str, int] = {}
        for alert in ops.firing_alerts():
            by_rule[alert.rule] = by_rule.get(alert.rule, 0) + 1
        for rule, count in by_rule.items():
            firing.add_metric([rule], count)
        yield firing
        yield from self._bridge(venues)

    @staticmethod
    def _security(security: Any) -> Iterator[Metric]:
        if security is None:
            return
        events = CounterMetricFamily("fixgw_security_events", "EMS logons accepted and refused (by reason), TLS "
                                     "handshakes failed, connections closed without a Logon", labels=["event"])
        for event, count in sorted(security.snapshot().items()):
            events.add_metric([event], count)
        yield events

    def _book(self) -> Iterator[Metric]:
        try:
            book = self._ops.view.book()
        except RouterUnavailable:
            yield _gauge("fixgw_router_up", "1 when the router thread answers", 0)
            return
        yield _gauge("fixgw_router_up", "1 when the router thread answers", 1)
        orders = GaugeMetricFamily("fixgw_orders", "Orders of record by status", labels=["status"])
        for status, count in sorted(book.by_status.items()):
            orders.add_metric([status], count)
        yield orders
        yield _gauge("fixgw_open_orders", "Open orders of record", book.open_orders)
        if book.risk is not None:
            switches = GaugeMetricFamily("fixgw_kill_switch_engaged", "1 while a kill switch is engaged",
                                         labels=["switch"])
            for switch in book.risk.kill_switches:
                switches.add_metric([switch.key], 1 if switch.engaged else 0)
            breakers = GaugeMetricFamily("fixgw_circuit_breaker_tripped", "1 while a breaker is tripped",
                                         labels=["breaker"])
            for breaker in book.risk.breakers:
                breakers.add_metric([breaker.name], 1 if breaker.tripped else 0)
            yield from (switches, breakers)

    @staticmethod
    def _bridge(found: list[VenueStats]) -> Iterator[Metric]:
        labels = ["venue", "key"]
        available = GaugeMetricFamily("fixgw_ratelimit_available_tokens", "Tokens left in the bucket", labels=labels)
        burst = GaugeMetricFamily("fixgw_ratelimit_burst_tokens", "Bucket size (our share of the venue's burst)",
                                  labels=labels)
        waiting = GaugeMetricFamily("fixgw_ratelimit_waiting_requests", "Requests waiting for a token",
                                    labels=labels)
        acquired = CounterMetricFamily("fixgw_ratelimit_acquired", "Tokens taken", labels=labels)
        waited = CounterMetricFamily("fixgw_ratelimit_waited_seconds", "Time spent waiting for tokens", labels=labels)
        penalties = CounterMetricFamily("fixgw_ratelimit_penalties", "Venue back-off orders (429)", labels=labels)
        requests = CounterMetricFamily("fixgw_venue_http_requests", "REST requests sent", labels=["venue"])
        retries = CounterMetricFamily("fixgw_venue_http_retries", "REST requests retried", labels=["venue"])
        unknown = CounterMetricFamily("fixgw_venue_http_unknown_outcomes", "REST commands with unknown outcome",
                                      labels=["venue"])
        offset = GaugeMetricFamily("fixgw_venue_clock_offset_seconds", "Venue clock minus ours", labels=["venue"])
        rtt = GaugeMetricFamily("fixgw_venue_probe_rtt_seconds", "Round trip of the last good health probe",
                                labels=["venue"])
        used = GaugeMetricFamily("fixgw_venue_rate_used_share", "Requests over the headroom window as a share of "
                                 "the venue's documented rate (alert at headroom_alert_share)", labels=["venue"])
        for stats in found:
            key = [stats.venue, stats.usage.key]
            available.add_metric(key, stats.usage.available)
            burst.add_metric(key, stats.usage.burst)
            waiting.add_metric(key, stats.usage.waiting)
            acquired.add_metric(key, stats.usage.acquired_total)
            waited.add_metric(key, stats.usage.waited_total_s)
            penalties.add_metric(key, stats.usage.penalties_total)
            requests.add_metric([stats.venue], stats.requests)
            retries.add_metric([stats.venue], stats.retries)
            unknown.add_metric([stats.venue], stats.unknown_outcomes)
            offset.add_metric([stats.venue], stats.clock_offset_s)
            if stats.probe_rtt_s is not None:
                rtt.add_metric([stats.venue], stats.probe_rtt_s)
            if stats.rate_used_share is not None:
                used.add_metric([stats.venue], stats.rate_used_share)
        yield from (available, burst, waiting, acquired, waited, penalties, requests, retries, unknown, offset, rtt,
                    used)
        yield from _api_versions(found)
        yield from _endpoint_notices(found)


def _api_versions(found: list[VenueStats]) -> Iterator[Metric]:
    """Venues speaking several API versions: calls answered per endpoint and version, fallbacks, withdrawals."""
    calls = CounterMetricFamily("fixgw_venue_api_calls", "Venue calls answered, per endpoint and API version",
                                labels=["venue", "endpoint", "version"])
    fallbacks = CounterMetricFamily("fixgw_venue_api_fallbacks",
                                    "Calls passed to the next API version after a 404/410",
                                    labels=["venue", "endpoint", "from_version", "to_version"])
    withdrawn = GaugeMetricFamily("fixgw_venue_api_version_withdrawn",
                                  "HTTP status (404/410) of an API version skipped for an endpoint until rechecked",
                                  labels=["venue", "endpoint", "version"])
    for stats in found:
        if stats.api_versions is None:
            continue
        for (endpoint, version), count in sorted(stats.api_versions.calls.items()):
            calls.add_metric([stats.venue, endpoint, version], count)
        for (endpoint, before, after), count in sorted(stats.api_versions.fallbacks.items()):
            fallbacks.add_metric([stats.venue, endpoint, before, after], count)
        for (endpoint, version), status in sorted(stats.api_versions.withdrawn.items()):
            withdrawn.add_metric([stats.venue, endpoint, version], status)
    yield from (calls, fallbacks, withdrawn)


def _endpoint_notices(found: list[VenueStats]) -> Iterator[Metric]:
    """Endpoints a venue answered with Deprecation / Sunset / Warning headers (RFC 9745, 8594, 7234)."""
    labels = ["venue", "endpoint"]
    deprecated = GaugeMetricFamily("fixgw_venue_endpoint_deprecated", "1 when the venue's last answer on the "
                                   "endpoint said it is deprecated or sunsetting (0: only a Warning)", labels=labels)
    since = GaugeMetricFamily("fixgw_venue_endpoint_deprecation_timestamp_seconds",
                              "When the venue says the endpoint is (was) deprecated (Deprecation header)",
                              labels=labels)
    sunset = GaugeMetricFamily("fixgw_venue_endpoint_sunset_timestamp_seconds",
                               "When the venue says the endpoint stops answering (Sunset header)", labels=labels)
    for stats in found:
        for notice in stats.endpoint_notices:
            key = [stats.venue, notice.endpoint]
            deprecated.add_metric(key, 1 if notice.deprecated else 0)
            if notice.deprecated_at is not None:
                since.add_metric(key, notice.deprecated_at.timestamp())
            if notice.sunset_at is not None:
                sunset.add_metric(key, notice.sunset_at.timestamp())
    yield from (deprecated, since, sunset)


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def _counter(name: str, documentation: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, documentation, value=value)


def _ha_metrics(status: Callable[[], dict[str, object]] | None) -> Iterator[Metric]:
    """The HA node: role, epoch, what is left of its lease on its own clock, messages recorded for the standby."""
    if status is None:
        return
    node = status()
    yield _gauge("fixgw_ha_active", "1 while this node holds the HA lease", 1 if node.get("role") == "active" else 0)
    epoch = node.get("epoch")
    if isinstance(epoch, int):
        yield _gauge("fixgw_ha_epoch", "The lease epoch this node holds (the fencing token)", epoch)
    left = node.get("own_lease_left_s")
    if isinstance(left, int | float):
        yield _gauge("fixgw_ha_lease_left_seconds", "Seconds of lease left on this node's own clock", left)
    age = node.get("lease_age_s")
    if isinstance(age, int | float):
        yield _gauge("fixgw_ha_lease_age_seconds", "Seconds since the holder last renewed the lease", age)
    lag = node.get("standby_lag_s")
    if isinstance(lag, int | float):
        yield _gauge("fixgw_ha_standby_lag_seconds", "How long the journal has been ahead of the standby's last read",
                     lag)
    recorded = node.get("recorded_messages")
    if isinstance(recorded, int):
        yield _counter("fixgw_ha_recorded_messages", "Outbound FIX messages recorded in PostgreSQL for takeover",
                       recorded)
