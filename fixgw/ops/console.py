"""The operators' console, server side: the live snapshot streamed to the page, an hour of history for its charts,
session rates, and the controls (kill switch, breaker reset, ramp lift) with their audit.

Controls take the CLI's path (`new_switch` + `write_switch` into the journal, fixgw/risk/control.py), so the gateway
applies them within a second exactly as it applies `fixgw kill ...`; every action and every refused attempt is an
audit event of the pseudo order `risk` naming the operator and the token id.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import structlog

from fixgw.model.events import EventName
from fixgw.model.orders import utc_now
from fixgw.ops.live import venue_statistics
from fixgw.ops.view import RouterUnavailable
from fixgw.risk.control import write_switch
from fixgw.risk.switches import AUDIT_ORDER_ID, BREAKER, KILL, RAMP, Switch, new_switch
from fixgw.store.journal import EventRecord, JournalBatch
from fixgw.store.recon import ReconStore

if TYPE_CHECKING:
    from fixgw.ops.runtime import OpsRuntime

log = structlog.get_logger("fixgw.ops.console")

HISTORY_STEP_S = 5.0
HISTORY_POINTS = 720
"""One hour of samples, one every HISTORY_STEP_S."""
RECON_CACHE_S = 10.0
RECENT_REJECTS = 10
SNAPSHOT_MAX_AGE_S = 0.5
REFUSALS_JOURNALED_PER_MIN = 30
"""Refused attempts journaled per minute at most; beyond that they are logged only (a flood fills no journal)."""
MAX_NAME = 64
MAX_REASON = 200

# action -> (switch kind, active)
ACTIONS: dict[str, tuple[str, bool]] = {
    "kill_set": (KILL, True), "kill_clear": (KILL, False), "breaker_reset": (BREAKER, False),
    "ramp_lift": (RAMP, True), "ramp_restore": (RAMP, False)}


def token_id(token: str) -> str:
    """A short public name of a token for the audit trail (never the token)."""
    return hashlib.sha256(f"fixgw token id:{token}".encode()).hexdigest()[:8]


class ActionRefused(Exception):
    """A control that changes nothing: `status` is the HTTP answer, the message the reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ControlRequest:
    action: str
    scope: str
    operator: str
    reason: str
    confirm: str
    cancel_open: bool = False

    @classmethod
    def parse(cls, body: Any) -> ControlRequest:
        """Validate a posted action; ActionRefused(400/422) names what is wrong."""
        if not isinstance(body, dict):
            raise ActionRefused(400, "the body must be a JSON object")

        def text(key: str, limit: int) -> str:
            value = body.get(key, "")
            if not isinstance(value, str):
                raise ActionRefused(422, f"{key} must be text")
            value = value.strip()
            if not value:
                raise ActionRefused(422, f"{key} is required")
            if len(value) > limit or not value.isprintable():
                raise ActionRefused(422, f"{key} must be printable and at most {limit} characters")
            return value

        action = body.get("action")
        if action not in ACTIONS:
            raise ActionRefused(422, f"action must be one of {', '.join(ACTIONS)}")
        scope, operator, reason = text("scope", 160), text("operator", MAX_NAME), text("reason", MAX_REASON)
        confirm = body.get("confirm")
        if not isinstance(confirm, str) or confirm.strip() != scope:
            raise ActionRefused(422, f"not confirmed: type the scope {scope!r} to confirm")
        cancel_open = body.get("cancel_open", False)
        if not isinstance(cancel_open, bool):
            raise ActionRefused(422, "cancel_open must be true or false")
        return cls(str(action), scope, operator, reason, confirm.strip(), cancel_open)


class Console:
    """Samples the gateway every HISTORY_STEP_S on its own thread (the charts' hour) and answers the page."""

    def __init__(self, ops: OpsRuntime, *, step_s: float = HISTORY_STEP_S, points: int = HISTORY_POINTS) -> None:
        self.ops = ops
        self.step_s = step_s
        self.history: deque[dict[str, Any]] = deque(maxlen=points)
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fixgw-console", daemon=True)
        self._previous: tuple[float, int, int, dict[str, int], dict[tuple[str, str], float]] | None = None
        self._message_rates: dict[tuple[str, str], float] = {}
        self._up_since: dict[str, float] = {}
        self._down_since: dict[str, float] = {}
        self._recon_cache: tuple[float, list[dict[str, Any]]] = (0.0, [])
        self._refusal_times: deque[float] = deque()
        self._snapshot_lock = threading.Lock()
        self._snapshot: tuple[float, dict[str, Any] | None] = (0.0, None)

    def start(self) -> None:
        self._sample_safely()
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self.stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self.stopping.wait(self.step_s):
            self._sample_safely()

    def _sample_safely(self) -> None:
        try:
            self.sample()
        except Exception as exc:  # a missed sample is a gap in a chart, never a dead console
            log.warning("console.sample_failed", error=repr(exc))

    # ------------------------------------------------------------------ history

    def sample(self) -> dict[str, Any]:
        """One point of the charts: latency p50/p99 per hop (ms), orders and rejects per second, REST venue request
        rate against its limit; also updates session rates and logon times."""
        metrics = self.ops.metrics
        now = time.time()
        orders, refusals = metrics.new_orders_total, metrics.refusals_total
        venues = {s.venue: s for s in venue_statistics(getattr(self.ops.gateway, "venues", {}) or {})}
        requests = {name: s.requests for name, s in venues.items()}
        messages = _message_counts(metrics)
        point: dict[str, Any] = {"t": round(now, 3), "latency": {}, "orders_per_s": 0.0, "rejects_per_s": 0.0,
                                 "venues": {}}
        for hop, quantiles in metrics.latency_quantiles().items():
            point["latency"][hop] = None if quantiles is None else {
                "p50": quantiles[0.5] * 1000, "p99": quantiles[0.99] * 1000}
        with self._lock:
            previous = self._previous
            if previous is not None and now > previous[0]:
                elapsed = now - previous[0]
                point["orders_per_s"] = max(0, orders - previous[1]) / elapsed
                point["rejects_per_s"] = max(0, refusals - previous[2]) / elapsed
                for name, count in requests.items():
                    point["venues"][name] = {"rate": max(0, count - previous[3].get(name, count)) / elapsed,
                                             "limit": venues[name].usage.rate}
                self._message_rates = {key: max(0.0, count - previous[4].get(key, 0.0)) / elapsed
                                       for key, count in messages.items()}
            self._previous = (now, orders, refusals, requests, messages)
            self.history.append(point)
        self._track_sessions(now)
        return point

    def _track_sessions(self, now: float) -> None:
        for session in self.ops.view.sessions():
            if session.connected:
                self._up_since.setdefault(session.name, now)
                self._down_since.pop(session.name, None)
            else:
                self._down_since.setdefault(session.name, now)
                self._up_since.pop(session.name, None)

    def history_points(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.history)

    # ------------------------------------------------------------------ the live snapshot

    def sessions(self) -> list[dict[str, Any]]:
        self._track_sessions(time.time())
        last_errors: dict[str, str] = {}
        for at, kind, reason, _order_id, text in self.ops.metrics.recent_refusals:
            if kind == "message_reject":  # text holds the session name for message rejects
                last_errors[text] = f"{at} {reason}"
        rows = []
        for s in self.ops.view.sessions():
            up, down = self._up_since.get(s.name), self._down_since.get(s.name)
            rows.append({
                "name": s.name, "role": s.role, "connected": s.connected, "next_sender_seq": s.next_sender_seq,
                "next_target_seq": s.next_target_seq, "up_since": _iso(up), "down_since": _iso(down),
                "in_per_s": round(self._message_rates.get((s.name, "in"), 0.0), 2),
                "out_per_s": round(self._message_rates.get((s.name, "out"), 0.0), 2),
                "last_error": last_errors.get(s.name, f"down since {_iso(down)}" if down else "")})
        return rows

    def recon_runs(self) -> list[dict[str, Any]]:
        """The latest end-of-day reconciliation per venue from the journal (cached a few seconds)."""
        taken, rows = self._recon_cache
        if time.monotonic() - taken < RECON_CACHE_S:
            return rows
        latest: dict[str, Any] = {}
        for run in ReconStore(self.ops.gateway.journal).runs():
            latest[run.venue] = run  # ordered by start time: the last one wins
        rows = [{"venue": r.venue, "run_id": r.run_id, "day": r.recon_date, "result": r.result,
                 "breaks": r.counts.get("breaks", 0),
                 "finished_at": r.finished_at.isoformat(timespec="seconds"),
                 "report": f"/api/recon/runs/{r.run_id}"} for r in latest.values()]
        self._recon_cache = (time.monotonic(), rows)
        return rows

    def snapshot(self) -> dict[str, Any]:
        """Everything the page shows besides the blotter, JSON-ready (sent every second on the event stream); one
        snapshot serves every open page for SNAPSHOT_MAX_AGE_S, so ten operators cost what one does."""
        with self._snapshot_lock:
            taken, cached = self._snapshot
            if cached is None or time.monotonic() - taken > SNAPSHOT_MAX_AGE_S:
                cached = self._take_snapshot()
                self._snapshot = (time.monotonic(), cached)
            return cached

    def _take_snapshot(self) -> dict[str, Any]:
        ops = self.ops
        ready, _detail = ops.readiness()
        error = None
        try:
            book = ops.view.book()
            by_status, open_orders, risk = book.by_status, book.open_orders, book.risk
        except RouterUnavailable as exc:
            by_status, open_orders, risk, error = {}, None, None, str(exc)
        try:
            recon_runs = self.recon_runs()
        except Exception as exc:  # recon tables may be absent in an old journal
            recon_runs, error = [], error or f"reconciliation runs unreadable: {exc}"
        history = self.history_points()
        return {
            "at": datetime.now(UTC).isoformat(timespec="seconds"), "name": ops.config.name, "ready": ready,
            "error": error, "sessions": self.sessions(), "open_orders": open_orders, "by_status": by_status,
            "risk": None if risk is None else {
                "kill_switches": [{"key": s.key, "engaged": s.engaged, "reason": s.reason, "actor": s.actor,
                                   "since": s.since} for s in risk.kill_switches],
                "breakers": [{"name": b.name, "tripped": b.tripped, "reason": b.reason, "since": b.since}
                             for b in risk.breakers]},
            "alerts": {"firing": [_alert(a) for a in ops.firing_alerts()],
                       "resolved": [_alert(a) for a in ops.resolved_alerts]},
            "recon": {"runs": recon_runs, "checks": ops.recon_board.rows()},
            "refusals": [{"at": at, "kind": kind, "reason": reason, "order_id": order_id, "text": text} for
                         at, kind, reason, order_id, text in reversed(ops.metrics.recent_refusals)][:RECENT_REJECTS],
            "point": history[-1] if history else None,
        }

    def scopes(self) -> dict[str, Any]:
        """What the controls offer (kill-switch scopes, venues whose ramp can move), the blotter's filter choices and
        each margin venue's thresholds (`margin.venues.<v>`: the margin chart's lines)."""
        config = self.ops.config
        venues = sorted({*config.brokers, *(getattr(self.ops.gateway, "venues", {}) or {})})
        accounts = sorted({a for ems in config.ems.values() for a in (ems.allowed_accounts or [])})
        ramps = sorted(name for name, rules in config.risk.venues.items() if rules.ramp_notional_cap is not None)
        margin = {name: {"warn": str(v.warn), "reduce_only": str(v.reduce_only), "critical": str(v.critical)}
                  for name, v in config.margin.venues.items()}
        return {"kill": ["global", *(f"venue:{v}" for v in venues), *(f"account:{a}" for a in accounts),
                         *(f"session:{s}" for s in sorted(config.ems))],
                "ramp": [f"venue:{v}" for v in ramps], "venues": venues, "accounts": accounts,
                "ems_sessions": sorted(config.ems), "margin_thresholds": margin}

    # ------------------------------------------------------------------ controls

    def act(self, request: ControlRequest, tid: str) -> Switch:
        """Apply a validated, confirmed, authorised control through the CLI's path; ActionRefused(400) for a scope the
        switch kind does not take."""
        kind, active = ACTIONS[request.action]
        scope = request.scope
        if kind == RAMP and not scope.startswith("venue:"):
            scope = f"venue:{scope}"
        who = f"{request.operator} (console, token {tid})"
        try:
            switch = new_switch(kind, scope, active, who=who, reason=request.reason,
                                cancel_open=request.cancel_open)
        except ValueError as exc:
            raise ActionRefused(400, str(exc)) from None
        switch = write_switch(self.ops.gateway.journal, switch)
        log.warning("console.action", action=request.action, scope=switch.scope, who=who, reason=request.reason)
        return switch

    def refused(self, action: str, why: str, *, scope: str = "", who: str = "", tid: str = "",
                client: str = "") -> None:
        """Journal a refused attempt (bounded per minute); it changed nothing. `fixgw kill status` lists it."""
        log.warning("console.refused", action=action, scope=scope, why=why, who=who, token=tid, client=client)
        now = time.monotonic()
        with self._lock:
            while self._refusal_times and now - self._refusal_times[0] > 60:
                self._refusal_times.popleft()
            if len(self._refusal_times) >= REFUSALS_JOURNALED_PER_MIN:
                return
            self._refusal_times.append(now)
        detail = {"action": action[:80], "scope": scope[:160], "who": who[:MAX_NAME], "reason": why[:200],
                  "token": tid, "client": client}
        try:
            self.ops.gateway.journal.write(JournalBatch(events=[EventRecord(
                AUDIT_ORDER_ID, EventName.CONTROL_REFUSED, "audit", utc_now(), detail)]))
        except Exception as exc:
            log.error("console.refusal_not_journaled", error=repr(exc))


def _message_counts(metrics: Any) -> dict[tuple[str, str], float]:
    counts: dict[tuple[str, str], float] = {}
    for family in metrics.messages.collect():
        for sample in family.samples:
            if sample.name.endswith("_total"):
                key = (sample.labels["session"], sample.labels["direction"])
                counts[key] = counts.get(key, 0.0) + sample.value
    return counts


def _iso(epoch: float | None) -> str | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


def _alert(alert: Any) -> dict[str, Any]:
    return {"key": alert.key, "severity": alert.severity, "summary": alert.summary, "status": alert.status,
            "at": alert.at.isoformat(timespec="seconds")}
