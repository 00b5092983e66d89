"""Alert delivery to webhooks: generic JSON, Slack-compatible, PagerDuty Events v2.

One worker thread per sink (a slow or dead sink delays no other). Per sink: a repeated status for the same
alert key is skipped (de-duplication), at most `max_per_minute` new alerts are sent (the rest are dropped and
counted; a resolve is sent exactly when its firing was), and each delivery is retried with exponential
backoff on connection errors, 429 and 5xx.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import httpx
import structlog

from fixgw.config import AlertsConfig, AlertSinkConfig
from fixgw.ops.alert_rules import FIRING, RESOLVED, Alert

log = structlog.get_logger("fixgw.ops.alerts")

BACKOFF_FIRST_S = 0.5
BACKOFF_MAX_S = 30.0
_SLACK_COLOURS = {"critical": "#d00000", "error": "#e07000", "warning": "#e0b000", "info": "#2080d0"}

Outcome = Callable[[str, str, str], None]
"""(sink name, "sent" | "dropped", status or reason) - for metrics."""


def payload(sink: AlertSinkConfig, alert: Alert, source: str) -> dict[str, Any]:
    """The JSON body one sink kind expects for one alert transition."""
    timestamp = alert.at.isoformat()
    if sink.kind == "pagerduty":
        assert sink.routing_key is not None
        body: dict[str, Any] = {
            "routing_key": sink.routing_key.get_secret_value(),
            "event_action": "trigger" if alert.status == FIRING else "resolve",
            "dedup_key": f"{source}:{alert.key}",
        }
        if alert.status == FIRING:
            body["payload"] = {"summary": alert.summary[:1024], "source": source, "severity": alert.severity,
                               "timestamp": timestamp, "component": alert.subject, "group": alert.rule,
                               "class": alert.rule, "custom_details": alert.details}
        return body
    if sink.kind == "slack":
        mark = ":rotating_light:" if alert.status == FIRING else ":white_check_mark:"
        text = f"{mark} [{alert.status.upper()}] {source}: {alert.summary}"
        colour = _SLACK_COLOURS.get(alert.severity, "#808080") if alert.status == FIRING else "#20a020"
        fields = [{"title": key, "value": value, "short": True} for key, value in alert.details.items()]
        return {"text": text, "attachments": [{"color": colour, "fields": fields, "ts": int(alert.at.timestamp())}]}
    return {"source": source, "key": alert.key, "rule": alert.rule, "subject": alert.subject,
            "status": alert.status, "severity": alert.severity, "summary": alert.summary, "at": timestamp,
            "details": alert.details}


class _SinkWorker:
    def __init__(self, name: str, sink: AlertSinkConfig, config: AlertsConfig, source: str, outcome: Outcome,
                 client: httpx.Client) -> None:
        self.name = name
        self.sink = sink
        self.config = config
        self.source = source
        self._outcome = outcome
        self._client = client
        self._queue: queue.SimpleQueue[Alert | None] = queue.SimpleQueue()
        self._last_status: dict[str, str] = {}
        self._sent_firing: set[str] = set()
        self._recent: deque[float] = deque()
        self._stopping = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._pending = 0
        self._lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, name=f"fixgw-alerts-{name}", daemon=True)

    def submit(self, alert: Alert) -> None:
        with self._lock:
            self._pending += 1
            self._idle.clear()
        self._queue.put(alert)

    def _run(self) -> None:
        while True:
            alert = self._queue.get()
            if alert is None:
                return
            try:
                self._handle(alert)
            except Exception as exc:  # a bad alert must not kill the worker
                log.exception("alert.sink_failed", sink=self.name, error=repr(exc))
            finally:
                with self._lock:
                    self._pending -= 1
                    if self._pending == 0:
                        self._idle.set()

    def _handle(self, alert: Alert) -> None:
        if self._last_status.get(alert.key) == alert.status:
            return  # duplicate
        self._last_status[alert.key] = alert.status
        if alert.status == RESOLVED:
            if alert.key not in self._sent_firing:
                return  # its firing was never sent: neither is the resolve
            self._sent_firing.discard(alert.key)
        else:
            now = time.monotonic()
            while self._recent and now - self._recent[0] >= 60.0:
                self._recent.popleft()
            if len(self._recent) >= self.config.max_per_minute:
                log.warning("alert.rate_limited", sink=self.name, key=alert.key)
                self._outcome(self.name, "dropped", "rate_limited")
                return
            self._recent.append(now)
        if self._deliver(alert):
            if alert.status == FIRING:
                self._sent_firing.add(alert.key)
            self._outcome(self.name, "sent", alert.status)
        else:
            self._outcome(self.name, "dropped", "undeliverable")

    def _deliver(self, alert: Alert) -> bool:
        body = payload(self.sink, alert, self.source)
        headers = {"Authorization": f"Bearer {self.sink.token.get_secret_value()}"} if self.sink.token else {}
        delay = BACKOFF_FIRST_S
        for attempt in range(1, self.config.delivery_attempts + 1):
            try:
                response = self._client.post(self.sink.url.get_secret_value(), json=body, headers=headers,
                                             timeout=self.config.delivery_timeout_s)
                if response.status_code < 300:
                    log.info("alert.delivered", sink=self.name, key=alert.key, status=alert.status, attempt=attempt)
                    return True
                retryable = response.status_code == 429 or response.status_code >= 500
                problem = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                retryable, problem = True, type(exc).__name__
            if not retryable or attempt == self.config.delivery_attempts:
                log.error("alert.undeliverable", sink=self.name, key=alert.key, problem=problem, attempts=attempt)
                return False
            log.warning("alert.retry", sink=self.name, key=alert.key, problem=problem, retry_in=delay)
            if self._stopping.wait(delay):
                return False
            delay = min(delay * 2, BACKOFF_MAX_S)
        return False

    def flush(self, timeout: float) -> bool:
        return self._idle.wait(timeout)

    def stop(self, timeout: float) -> None:
        self.flush(timeout)
        self._stopping.set()
        self._queue.put(None)
        if self.thread.is_alive():
            self.thread.join(timeout)


class AlertDispatcher:
    """Fans alert transitions out to every configured sink."""

    def __init__(self, config: AlertsConfig, source: str, outcome: Outcome | None = None) -> None:
        self._client = httpx.Client(follow_redirects=False)
        self.config = config
        record = outcome or (lambda _sink, _what, _detail: None)
        self.workers = [_SinkWorker(name, sink, config, source, record, self._client)
                        for name, sink in config.sinks.items()]

    def start(self) -> None:
        for worker in self.workers:
            worker.thread.start()

    def submit(self, alert: Alert) -> None:
        for worker in self.workers:
            worker.submit(alert)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every queued alert was delivered or given up (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        return all(worker.flush(max(0.0, deadline - time.monotonic())) for worker in self.workers)

    def stop(self, timeout: float = 2.0) -> None:
        for worker in self.workers:
            worker.stop(timeout)
        self._client.close()
