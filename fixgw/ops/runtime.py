"""Operations for one running gateway: metrics observer, readiness, alert evaluation, the admin server, reloads.

    ops = OpsRuntime(gateway, config_path=path)   # after gateway.start()
    ops.start()
    ...
    ops.stop()
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog

from fixgw.config import AlertsConfig, GatewayConfig
from fixgw.margin.report import MarginCollector
from fixgw.ops.alert_rules import FIRING, RESOLVED, Alert, AlertEngine, Observation
from fixgw.ops.alert_sinks import AlertDispatcher
from fixgw.ops.live import LiveCollector, venue_clock_skew, venue_rate_headroom, venue_statistics
from fixgw.ops.marketdata import MarketDataCollector
from fixgw.ops.metrics import GatewayMetrics, QuantileCollector
from fixgw.ops.recon_feed import ReconBoard
from fixgw.ops.reload import Apply, ReloadResult, reload_config
from fixgw.ops.view import GatewayLike, GatewayView, RouterUnavailable
from fixgw.recon.transfers.status import TransferCollector, transfer_breaks
from fixgw.router.core import RouterCore
from fixgw.router.effects import Effects

log = structlog.get_logger("fixgw.ops")

CLIENT_ROLES = ("ems", "dropcopy")
"""Sessions our clients open (and close at the end of their day): neither required for readiness nor watched by
default."""
RESOLVED_KEPT = 20
ROUTER_SILENCE_S = 10.0
"""The router loop turns at least every ~2 s when healthy; silent longer than this it is wedged."""


class OpsRuntime:
    def __init__(self, gateway: GatewayLike, *, config_path: Path | None = None) -> None:
        self.gateway = gateway
        self.config_path = config_path
        config: GatewayConfig = gateway.config  # type: ignore[attr-defined]
        self.metrics = GatewayMetrics()
        self.view = GatewayView(gateway)
        self.metrics.add_collector(LiveCollector(self))
        self.metrics.add_collector(QuantileCollector(self.metrics))
        self.metrics.add_collector(TransferCollector(lambda: gateway.journal))
        self.metrics.add_collector(MarketDataCollector(self))
        self.metrics.add_collector(MarginCollector(lambda: gateway.journal))
        self.started_at = time.time()
        self.recon_board = ReconBoard(self.metrics)
        self.alert_engine = AlertEngine(config.alerts, self.started_at)
        self.dispatcher = AlertDispatcher(config.alerts, config.name, self._alert_outcome)
        self.last_reload: ReloadResult | None = None
        self.resolved_alerts: deque[Alert] = deque(maxlen=RESOLVED_KEPT)
        """The latest resolutions, newest first (the console's "recently resolved")."""
        self._next_alerts_config: AlertsConfig | None = None
        self._reload_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fixgw-ops", daemon=True)
        self.admin: Any = None
        self.ha_status: Callable[[], dict[str, object]] | None = None
        """HA node status (fixgw/ha/runtime.py) when `[ha] enabled`: /api/ha and the fixgw_ha_* metrics."""

    @property
    def config(self) -> GatewayConfig:
        return self.gateway.config  # type: ignore[attr-defined, no-any-return]

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Attach the metrics observer to the (started) gateway, start alerting and the admin server."""
        if self.gateway.runner is not None:
            self.gateway.runner.observer = self.metrics
        self.dispatcher.start()
        sinks = self._risk_alert_sinks()
        if sinks is not None:
            sinks.append(self._on_risk_alert)
        recon = getattr(self.gateway, "recon", None)
        if recon is not None:  # scheduled reconciliation runs in this gateway
            recon.subscribe(self.recon_board)
        self._thread.start()
        if self.config.admin.enabled:
            from fixgw.ops.admin import AdminServer

            self.admin = AdminServer(self)
            self.admin.start()

    def stop(self, timeout: float = 3.0) -> None:
        self._stop.set()
        if self.admin is not None:
            self.admin.stop(timeout)
        if self._thread.is_alive():
            self._thread.join(timeout)
        sinks = self._risk_alert_sinks()
        if sinks is not None and self._on_risk_alert in sinks:
            sinks.remove(self._on_risk_alert)
        recon = getattr(self.gateway, "recon", None)
        if recon is not None:
            recon.unsubscribe(self.recon_board)
        self.dispatcher.stop(timeout)
        if self.gateway.runner is not None and self.gateway.runner.observer is self.metrics:
            self.gateway.runner.observer = None

    # ------------------------------------------------------------------ readiness

    def required_sessions(self) -> list[str]:
        configured = self.config.admin.required_sessions
        if configured is not None:
            return list(configured)
        return [s.name for s in self.view.sessions() if s.role not in CLIENT_ROLES]

    def healthy(self) -> bool:
        return self.view.router_alive(ROUTER_SILENCE_S)

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        """Ready = journal open, router thread turning, every required session logged on."""
        states = {s.name: s.connected for s in self.view.sessions()}
        required = self.required_sessions()
        missing = [name for name in required if not states.get(name, False)]
        journal = self.view.journal_open()
        router = self.healthy()
        detail = {"journal_open": journal, "router_alive": router, "required_sessions": required,
                  "sessions_down": missing, "unknown_sessions": [n for n in required if n not in states]}
        return journal and router and not missing, detail

    # ------------------------------------------------------------------ alerts

    def observe(self) -> Observation:
        sessions = {s.name: s.connected for s in self.view.sessions() if self._watched(s.name, s.role)}
        open_orders: int | None = None
        risk = None
        try:
            book = self.view.book()
            open_orders, risk = book.open_orders, book.risk
        except RouterUnavailable as exc:
            log.warning("alerts.no_book_snapshot", error=str(exc))
        metrics = self.metrics
        stats = venue_statistics(getattr(self.gateway, "venues", {}) or {})
        venues = venue_clock_skew(stats)
        skew = {**metrics.clock_skew, **{venue: seconds for venue, (seconds, _) in venues.items()}}
        return Observation(now=time.time(), sessions=sessions, open_orders=open_orders,
                           last_execution_at=metrics.last_execution_at, new_orders_total=metrics.new_orders_total,
                           refusals_total=metrics.refusals_total, risk=risk,
                           open_recon_breaks=metrics.open_recon_break_count(), clock_skew=skew,
                           clock_skew_limits={venue: limit for venue, (_, limit) in venues.items()},
                           transfer_breaks=transfer_breaks(self.gateway.journal),
                           unanswered_orders=len(getattr(getattr(self.gateway, "core", None), "overdue", ())),
                           security_failures_total=security_failures(getattr(self.gateway, "security", None)),
                           endpoint_notices=tuple((s.venue, n) for s in stats for n in s.endpoint_notices),
                           rate_headroom=venue_rate_headroom(stats))

    def _watched(self, name: str, role: str) -> bool:
        """Watched by the session-down rule: listed in `alerts.sessions`, opted in (`watch = true`), or, when no
        list is given, a session we open ourselves (broker, venue)."""
        config = self.config
        listed = config.alerts.sessions
        if listed is not None and name in listed:
            return True
        section = config.ems.get(name) if role == "ems" else config.dropcopy.get(name) if role == "dropcopy" else None
        if section is not None:
            return section.watch
        return listed is None and role not in CLIENT_ROLES

    def evaluate_alerts(self) -> list[Alert]:
        """One evaluation: log and dispatch every transition (the ops thread calls this periodically)."""
        if self._next_alerts_config is not None:
            self._swap_alerts(self._next_alerts_config)
        transitions = self.alert_engine.evaluate(self.observe())
        for alert in transitions:
            emit = log.warning if alert.status == FIRING else log.info
            emit(f"alert.{alert.status}", alert=alert.key, severity=alert.severity, summary=alert.summary)
            self.dispatcher.submit(alert)
            if alert.status == RESOLVED:
                self.resolved_alerts.appendleft(alert)
        return transitions

    def firing_alerts(self) -> list[Alert]:
        return list(self.alert_engine.firing.values())

    def _swap_alerts(self, config: AlertsConfig) -> None:
        self._next_alerts_config = None
        self.alert_engine.config = config
        if config != self.dispatcher.config:
            old = self.dispatcher
            self.dispatcher = AlertDispatcher(config, self.config.name, self._alert_outcome)
            self.dispatcher.start()
            old.stop(1.0)

    def _risk_alert_sinks(self) -> list[Any] | None:
        """fixgw/risk raises event alerts (slippage, ...) through `gateway.risk.checks.alerts.sinks`."""
        checks = getattr(getattr(self.gateway, "risk", None), "checks", None)
        sinks = getattr(getattr(checks, "alerts", None), "sinks", None)
        return sinks if isinstance(sinks, list) else None

    def _on_risk_alert(self, risk_alert: Any) -> None:
        """Router thread: forward a risk event alert (queue only). Kill switches and breakers are state rules."""
        if risk_alert.kind in ("kill_switch", "circuit_breaker"):
            return
        at = risk_alert.at if isinstance(risk_alert.at, datetime) else datetime.now(UTC)
        severity = str(dict(risk_alert.detail).get("severity", "warning"))   # margin: critical reaches every sink
        alert = Alert(risk_alert.kind, f"{risk_alert.scope}@{at.isoformat()}", FIRING, severity,
                      risk_alert.message, at, {k: str(v) for k, v in dict(risk_alert.detail).items()})
        log.warning(f"alert.{FIRING}", alert=alert.key, severity=alert.severity, summary=alert.summary)
        self.dispatcher.submit(alert)

    def _alert_outcome(self, sink: str, what: str, detail: str) -> None:
        if what == "sent":
            self.metrics.alerts_sent.labels(sink=sink, status=detail).inc()
        else:
            self.metrics.alerts_dropped.labels(sink=sink, why=detail).inc()

    def _run(self) -> None:
        while not self._stop.wait(self.alert_engine.config.evaluate_every_s):
            try:
                self.evaluate_alerts()
            except Exception as exc:  # keep evaluating
                log.exception("alerts.evaluation_failed", error=repr(exc))

    # ------------------------------------------------------------------ reload

    def reload(self) -> ReloadResult:
        """Re-read the config file (SIGHUP, POST /api/reload); all or nothing."""
        with self._reload_lock:
            if self.config_path is None:
                result = ReloadResult(False, [], "no configuration file to reload from")
            else:
                result = reload_config(self.gateway, self.config_path, extra=[_AlertsReloader(self)])
            self.last_reload = result
            return result


class _AlertsReloader:
    sections: tuple[str, ...] = ("alerts",)

    def __init__(self, ops: OpsRuntime) -> None:
        self._ops = ops

    def prepare(self, gateway: Any, old: GatewayConfig, new: GatewayConfig) -> Apply:
        def swap(_core: RouterCore, _fx: Effects) -> None:
            self._ops._next_alerts_config = new.alerts  # picked up by the ops thread

        return swap


def security_failures(security: Any) -> int:
    """Refused EMS connections so far (every counter of the authenticator but accepted logons)."""
    if security is None:
        return 0
    return sum(count for event, count in security.snapshot().items() if event != "accepted")
