"""What risk tells the outside: counters of its decisions and alerts (breaker trips, kill switches, slippage)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

import structlog

from fixgw.model.orders import utc_now

log = structlog.get_logger("fixgw.risk")


class RiskCounters:
    """Monotonic counters, written on the router thread only; `snapshot()` is safe from any thread."""

    def __init__(self) -> None:
        self._values: dict[str, int] = {}

    def incr(self, name: str, amount: int = 1) -> None:
        self._values[name] = self._values.get(name, 0) + amount

    def get(self, name: str) -> int:
        return self._values.get(name, 0)

    def snapshot(self) -> dict[str, int]:
        """A copy of every counter, e.g. {"checked": 120, "denied": 3, "denied.max_order_qty": 2, ...}."""
        return self._values.copy()  # dict.copy is atomic under the GIL


@dataclass(frozen=True, slots=True)
class Alert:
    kind: str
    """circuit_breaker | kill_switch | slippage"""
    scope: str
    message: str
    detail: Mapping[str, str] = field(default_factory=dict)
    at: datetime = field(default_factory=utc_now)


AlertSink = Callable[[Alert], None]
"""Called on the router thread: must return at once (queue the delivery, never do I/O inline)."""


class Alerts:
    """Logs every alert as an `alert` event and hands it to each registered sink (webhooks, metrics)."""

    def __init__(self, counters: RiskCounters) -> None:
        self.sinks: list[AlertSink] = []
        self._counters = counters

    def raise_alert(self, kind: str, scope: str, message: str, **detail: str) -> Alert:
        alert = Alert(kind, scope, message, detail)
        self._counters.incr(f"alerts.{kind}")
        log.warning("alert", kind=kind, scope=scope, message=message, **detail)
        for sink in list(self.sinks):
            try:
                sink(alert)
            except Exception as exc:  # a broken sink must not stop the router
                log.exception("alert.sink_failed", kind=kind, error=repr(exc))
        return alert
