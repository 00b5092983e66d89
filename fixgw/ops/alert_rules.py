"""Alert rules as a pure function of what the gateway looks like now (an `Observation`) and what came before.

`AlertEngine.evaluate` returns transitions only: an alert fires once when its condition has held long enough
and resolves once when it stops holding, keyed by `rule:subject` (the de-duplication key sinks see).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from fixgw.config import AlertsConfig, MarketHours
from fixgw.ops.controls import RiskState
from fixgw.venues.plugin import EndpointNotice

FIRING = "firing"
RESOLVED = "resolved"


@dataclass(frozen=True)
class Alert:
    rule: str
    subject: str
    status: str
    severity: str
    """"critical", "error", "warning" or "info" (PagerDuty's scale)."""
    summary: str
    at: datetime
    details: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.rule}:{self.subject}"


@dataclass(frozen=True)
class Observation:
    now: float
    """Wall-clock seconds (time.time())."""
    sessions: dict[str, bool]
    """Watched session -> logged on / connected."""
    open_orders: int | None = None
    last_execution_at: float | None = None
    new_orders_total: int = 0
    refusals_total: int = 0
    risk: RiskState | None = None
    open_recon_breaks: int = 0
    transfer_breaks: int = 0
    """Breaks of the latest transfer reconciliation (journal state recon.transfers.last)."""
    clock_skew: dict[str, float] = field(default_factory=dict)
    """Session or REST venue -> our clock minus theirs, seconds."""
    clock_skew_limits: dict[str, float] = field(default_factory=dict)
    """Per-subject limits (a REST venue's `clock_alert_threshold_s`); others use `clock_skew_max_s`."""
    unanswered_orders: int = 0
    """Orders the EMS heard nothing of within `risk.max_unanswered_s` that are still not settled."""
    security_failures_total: int = 0
    """EMS connections refused so far: logons refused, TLS handshakes failed, connections closed without a Logon."""
    endpoint_notices: tuple[tuple[str, EndpointNotice], ...] = ()
    """(venue, notice): endpoints answered with Deprecation / Sunset / Warning headers."""
    rate_headroom: dict[str, tuple[float, float]] = field(default_factory=dict)
    """REST venue -> (share of its documented rate used over its window, its alert share), while at or above it."""


@dataclass(frozen=True)
class _Condition:
    severity: str
    summary: str
    details: dict[str, str]


def in_market_hours(hours: MarketHours | None, now: float) -> bool:
    if hours is None:
        return True
    local = datetime.fromtimestamp(now, ZoneInfo(hours.timezone))
    return local.weekday() in hours.days and hours.start <= local.strftime("%H:%M") < hours.end


class AlertEngine:
    def __init__(self, config: AlertsConfig, started_at: float) -> None:
        self.config = config
        self.started_at = started_at
        self.firing: dict[str, Alert] = {}
        self.evaluations = 0
        self._down_since: dict[str, float] = {}
        self._seen_up: set[str] = set()
        self._open_since: float | None = None
        self._samples: deque[tuple[float, int, int]] = deque()
        self._security: deque[tuple[float, int]] = deque()

    def evaluate(self, obs: Observation) -> list[Alert]:
        self.evaluations += 1
        conditions: dict[tuple[str, str], _Condition] = {}
        self._sessions(obs, conditions)
        self._executions(obs, conditions)
        self._reject_rate(obs, conditions)
        self._risk(obs.risk, conditions)
        if obs.open_recon_breaks > 0:
            conditions[("recon_breaks", "all")] = _Condition(
                "error", f"{obs.open_recon_breaks} open reconciliation break(s)",
                {"open_breaks": str(obs.open_recon_breaks)})
        if obs.transfer_breaks > 0:
            conditions[("transfer_breaks", "all")] = _Condition(
                "error", f"{obs.transfer_breaks} transfer break(s) in the latest transfer reconciliation",
                {"breaks": str(obs.transfer_breaks)})
        if obs.unanswered_orders > 0:
            conditions[("unanswered_orders", "all")] = _Condition(
                "error", f"{obs.unanswered_orders} order(s) without an answer from their venue",
                {"orders": str(obs.unanswered_orders)})
        self._security_burst(obs, conditions)
        for session, skew in obs.clock_skew.items():
            limit = obs.clock_skew_limits.get(session, self.config.clock_skew_max_s)
            if abs(skew) > limit:
                conditions[("clock_skew", session)] = _Condition(
                    "warning", f"clock skew with {session} is {skew:+.3f} s (limit {limit:g} s)",
                    {"skew_s": f"{skew:.3f}"})
        self._endpoint_notices(obs, conditions)
        for venue, (used, share) in obs.rate_headroom.items():
            conditions[("rate_headroom", venue)] = _Condition(
                "warning", f"{venue}: requests at {used:.0%} of its documented rate (alert at {share:.0%}): "
                           "plan for more capacity", {"used_share": f"{used:.3f}", "alert_share": f"{share:g}"})
        at = datetime.fromtimestamp(obs.now, UTC)
        transitions: list[Alert] = []
        for (rule, subject), condition in conditions.items():
            key = f"{rule}:{subject}"
            if key not in self.firing:
                alert = Alert(rule, subject, FIRING, condition.severity, condition.summary, at, condition.details)
                self.firing[key] = alert
                transitions.append(alert)
        current = {f"{rule}:{subject}" for rule, subject in conditions}
        for key in [key for key in self.firing if key not in current]:
            was = self.firing.pop(key)
            transitions.append(Alert(was.rule, was.subject, RESOLVED, was.severity, f"resolved: {was.summary}", at,
                                     was.details))
        return transitions

    @staticmethod
    def _endpoint_notices(obs: Observation, conditions: dict[tuple[str, str], _Condition]) -> None:
        """Once per endpoint per UTC day: the day is part of the subject, so each day fires anew (and the day
        before resolves) for as long as the venue keeps saying it."""
        day = datetime.fromtimestamp(obs.now, UTC).date().isoformat()
        for venue, notice in obs.endpoint_notices:
            said = [f"deprecated since {notice.deprecated_at.isoformat()}" if notice.deprecated_at is not None
                    else "deprecated" if notice.deprecated else "",
                    f"sunset {notice.sunset_at.isoformat()}" if notice.sunset_at is not None else "",
                    *(f"warning {text}" for text in notice.warnings)]
            details = {"venue": venue, "endpoint": notice.endpoint}
            if notice.deprecated_at is not None:
                details["deprecated_at"] = notice.deprecated_at.isoformat()
            if notice.sunset_at is not None:
                details["sunset_at"] = notice.sunset_at.isoformat()
            conditions[("venue_endpoint_deprecated", f"{venue} {notice.endpoint} {day}")] = _Condition(
                "warning", f"{venue} {notice.endpoint}: " + "; ".join(part for part in said if part), details)

    def _security_burst(self, obs: Observation, conditions: dict[tuple[str, str], _Condition]) -> None:
        """Refused connections (bad logons, failed TLS handshakes, no Logon in time) over the window: a scan,
        a password-guessing run or a misconfigured client; each is logged as a `security.*` event too."""
        window = self.config.security_burst_window_s
        samples = self._security
        samples.append((obs.now, obs.security_failures_total))
        while len(samples) > 1 and samples[1][0] <= obs.now - window:
            samples.popleft()
        failures = obs.security_failures_total - samples[0][1]
        if failures >= self.config.security_burst_threshold:
            conditions[("security_burst", "all")] = _Condition(
                "error", f"{failures} refused EMS connection(s) in the last {window:g} s (logons refused, TLS "
                         "handshakes failed, no Logon in time)", {"failures": str(failures)})

    def _sessions(self, obs: Observation, conditions: dict[tuple[str, str], _Condition]) -> None:
        for name, up in obs.sessions.items():
            if up:
                self._seen_up.add(name)
                self._down_since.pop(name, None)
                continue
            # Never up since we started: down since the start.
            since = self._down_since.setdefault(name, obs.now if name in self._seen_up else
                                                min(self.started_at, obs.now))
            down_for = obs.now - since
            if down_for >= self.config.session_down_after_s:
                conditions[("session_down", name)] = _Condition(
                    "critical", f"session {name} is down (for {down_for:.0f} s)", {"down_for_s": f"{down_for:.0f}"})

    def _executions(self, obs: Observation, conditions: dict[tuple[str, str], _Condition]) -> None:
        if not obs.open_orders:
            self._open_since = None
            return
        if self._open_since is None:
            self._open_since = obs.now
        quiet_since = max(self._open_since, obs.last_execution_at or 0.0)
        quiet_for = obs.now - quiet_since
        if quiet_for >= self.config.no_execution_updates_s and in_market_hours(self.config.market_hours, obs.now):
            conditions[("no_executions", "all")] = _Condition(
                "error", f"no execution update for {quiet_for:.0f} s with {obs.open_orders} open order(s)",
                {"quiet_for_s": f"{quiet_for:.0f}", "open_orders": str(obs.open_orders)})

    def _reject_rate(self, obs: Observation, conditions: dict[tuple[str, str], _Condition]) -> None:
        self._samples.append((obs.now, obs.new_orders_total, obs.refusals_total))
        while len(self._samples) > 1 and obs.now - self._samples[1][0] >= self.config.reject_rate_window_s:
            self._samples.popleft()
        _, orders_then, refusals_then = self._samples[0]
        orders = obs.new_orders_total - orders_then
        refusals = obs.refusals_total - refusals_then
        if orders >= self.config.reject_rate_min_orders and refusals / orders >= self.config.reject_rate_threshold:
            conditions[("reject_rate", "all")] = _Condition(
                "error", f"{refusals} rejects/denials for {orders} new orders in the last "
                         f"{self.config.reject_rate_window_s:g} s", {"orders": str(orders), "rejects": str(refusals)})

    @staticmethod
    def _risk(risk: RiskState | None, conditions: dict[tuple[str, str], _Condition]) -> None:
        if risk is None:
            return
        for switch in risk.kill_switches:
            if switch.engaged:
                conditions[("kill_switch", switch.key)] = _Condition(
                    "critical", f"kill switch {switch.key} engaged by {switch.actor or '?'}: {switch.reason}",
                    {"since": switch.since, "actor": switch.actor})
        for breaker in risk.breakers:
            if breaker.tripped:
                conditions[("circuit_breaker", breaker.name)] = _Condition(
                    "critical", f"circuit breaker {breaker.name} tripped: {breaker.reason}", {"since": breaker.since})
