"""Risk controls of a running gateway, and the control channel operators reach them through.

The channel is the journal. `fixgw kill ...`, `fixgw risk reset` and `fixgw risk lift-ramp` write a state row
`risk.<kind>:<scope>` (and an audit event) straight into the journal, whether or not a gateway runs. Every
running gateway polls the `risk.*` rows once a second (one query, on its own thread) and applies on the router
thread each row newer than what it holds; a starting gateway reads them before it accepts orders. So a change
survives restarts and reaches every gateway sharing one PostgreSQL journal, with no socket to secure.
`fixgw risk reload` writes `risk.reload:<gateway name>`; the gateway answers by raising SIGHUP in its own
process (the `fixgw run` daemon then reloads through fixgw.ops.reload) and acknowledges with
`risk.reload_ack:<name>`.

`RiskControl` is what the gateway exposes as `gateway.risk`: the checks (`.checks`: check chain, observer,
counters, alerts) and the operator controls the admin API calls (fixgw.ops.controls.RiskControls).
"""

from __future__ import annotations

import json
import os
import signal
import threading
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, Protocol

import structlog

from fixgw.config import GatewayConfig
from fixgw.marketdata.feeds import MarketDataFeeds, build_sources
from fixgw.marketdata.journaling import ReferenceJournal
from fixgw.model.events import EventName
from fixgw.model.orders import FillGroup, utc_now
from fixgw.model.state import Order
from fixgw.ops.controls import BreakerState, KillSwitchState, RiskState
from fixgw.risk.checks import THROTTLE_WINDOW_S, RiskChecks
from fixgw.risk.limits import RiskRules
from fixgw.risk.switches import (
    AUDIT_ORDER_ID,
    BREAKER,
    KEY_PREFIX,
    KILL,
    Switch,
    new_switch,
    supersede,
    switches_from_rows,
)
from fixgw.router.core import RouterCore
from fixgw.router.effects import Effects, OrderEventRecord
from fixgw.store.journal import EventRecord, Journal, JournalBatch

log = structlog.get_logger("fixgw.risk.control")

POLL_SECONDS = 1.0
RELOAD_REQUEST = f"{KEY_PREFIX}reload:"
RELOAD_ACK = f"{KEY_PREFIX}reload_ack:"


class _Runner(Protocol):
    def call(self, function: Callable[[RouterCore, Effects], object]) -> None: ...


# ---------------------------------------------------------------------- the journal side (CLI, any process)


def read_switches(journal: Journal) -> list[Switch]:
    return switches_from_rows(journal.state_with_prefix(KEY_PREFIX))


def write_switch(journal: Journal, switch: Switch) -> Switch:
    """Persist a change and its audit event in one transaction (running gateways pick it up within a second).

    Returns the row written: dated after the row it replaces (see `supersede`).
    """
    current = switches_from_rows({switch.key: row} if (row := journal.get_state(switch.key)) is not None else {})
    switch = supersede(switch, current[0] if current else None)
    audit = switch.audit()
    journal.write(JournalBatch(state={switch.key: switch.to_json()},
                               events=[EventRecord(audit.order_id, audit.event, audit.status, audit.at, audit.detail)]))
    return switch


def request_reload(journal: Journal, gateway_name: str, who: str) -> str:
    """Ask the gateway named `gateway_name` to reload its configuration file; returns the request id."""
    request_id = uuid.uuid4().hex
    at = utc_now()
    journal.write(JournalBatch(
        state={f"{RELOAD_REQUEST}{gateway_name}": json.dumps({"id": request_id, "who": who, "at": at.isoformat()})},
        events=[EventRecord(AUDIT_ORDER_ID, EventName.RELOAD_REQUESTED, "audit", at,
                            {"gateway": gateway_name, "who": who})]))
    return request_id


def reload_ack(journal: Journal, gateway_name: str) -> dict[str, Any] | None:
    value = journal.get_state(f"{RELOAD_ACK}{gateway_name}")
    return None if value is None else dict(json.loads(value))


# ---------------------------------------------------------------------- the gateway side


class RiskControl:
    """The risk checks of one gateway, restored from the journal, and its control loop."""

    def __init__(self, config: GatewayConfig, journal: Journal, orders: Iterable[Order],
                 closed_fills: Iterable[FillGroup] = ()) -> None:
        self.name = config.name
        self.journal = journal
        self.checks = RiskChecks(config.risk, marketdata=config.marketdata)
        references = self.checks.market.references
        self.feeds = MarketDataFeeds(build_sources(config.marketdata, config.venues), references)
        """Market-data sources feeding the checks' reference prices (fixgw/marketdata/feeds.py)."""
        self._reference_journal = ReferenceJournal(references, journal, config.marketdata.journal_period_s)
        rows = journal.state_with_prefix(KEY_PREFIX)
        self.checks.restore(orders, switches_from_rows(rows), closed_fills)
        self.checks.restore_throttle(recent_arrivals(journal))
        self._seen = rows
        self._runner: _Runner | None = None
        self._core: RouterCore | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        _register_reloader()

    # ------------------------------------------------------------------ lifecycle

    def start(self, runner: _Runner, core: RouterCore) -> None:
        self._runner, self._core = runner, core
        self.checks.market.symbols = core.symbols   # P&L books each instrument in its currency
        self.feeds.start()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="fixgw-risk-control", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.feeds.stop(timeout)

    def _run(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            try:
                self.poll_once()
            except Exception as exc:  # a journal hiccup: try again next second
                log.warning("risk.poll_failed", error=repr(exc))
            try:
                self._reference_journal.maybe_write()
            except Exception as exc:  # evidence only: order flow goes on, the next period tries again
                log.warning("marketdata.journal_failed", error=repr(exc))

    def poll_once(self) -> None:
        """Read the `risk.*` rows; hand what changed since the last poll (and the once-a-second tick) to the router."""
        rows = self.journal.state_with_prefix(KEY_PREFIX)
        changed = {key: value for key, value in rows.items() if self._seen.get(key) != value}
        self._seen = rows
        switches = switches_from_rows(changed)
        runner = self._runner
        if runner is None:
            return
        checks = self.checks

        def apply(core: RouterCore, fx: Effects) -> None:
            if switches:
                checks.apply_persisted(switches, core, fx)
            checks.on_tick(core, fx)

        runner.call(apply)
        request = changed.get(f"{RELOAD_REQUEST}{self.name}")
        if request is not None:
            self._on_reload_request(json.loads(request), runner)

    def _on_reload_request(self, request: dict[str, Any], runner: _Runner) -> None:
        handler = signal.getsignal(signal.SIGHUP)
        handled = callable(handler)  # `fixgw run` installs one; elsewhere SIGHUP would kill the process
        if handled:
            log.warning("risk.reload_requested", who=request.get("who"), request_id=request.get("id"))
            os.kill(os.getpid(), signal.SIGHUP)
        else:
            log.error("risk.reload_request_ignored", who=request.get("who"), request_id=request.get("id"),
                      reason="no SIGHUP reload handler in this process (not `fixgw run`)")
        ack = json.dumps({"id": request.get("id"), "pid": os.getpid(), "signalled": handled,
                          "at": utc_now().isoformat()})
        runner.call(lambda _core, fx: fx.state.__setitem__(f"{RELOAD_ACK}{self.name}", ack))

    # ------------------------------------------------------------------ operator controls (router thread)

    def risk_state(self) -> RiskState:
        """fixgw.ops.controls.RiskControls: every kill switch and breaker we know of, in force or not."""
        kills, breakers = [], []
        for switch in self.checks.switches.all():
            since = switch.at.isoformat()
            if switch.kind == KILL:
                kind, _, target = switch.scope.partition(":")
                kills.append(KillSwitchState("ems_session" if kind == "session" else kind, target or None,
                                             switch.active, switch.reason, switch.who, since))
            elif switch.kind == BREAKER:
                breakers.append(BreakerState(switch.scope, switch.active, switch.reason, since))
        return RiskState(tuple(kills), tuple(breakers))

    def set_kill_switch(self, fx: Effects, *, scope: str, target: str | None, engaged: bool, cancel_open: bool,
                        actor: str, reason: str) -> RiskState:
        """Set or clear a kill switch from inside the gateway (admin API); ValueError for a bad scope."""
        text = scope if target is None else f"{scope}:{target}"
        self.checks.set_switch(new_switch(KILL, text, engaged, who=actor, reason=reason, cancel_open=cancel_open),
                               self._router_core(), fx)
        return self.risk_state()

    def reset_breaker(self, fx: Effects, *, name: str, actor: str, reason: str) -> RiskState:
        if self.checks.switches.get(BREAKER, name) is None:
            raise ValueError(f"no circuit breaker {name!r}")
        self.checks.set_switch(new_switch(BREAKER, name, False, who=actor, reason=reason), self._router_core(), fx)
        return self.risk_state()

    def _router_core(self) -> RouterCore:
        if self._core is None:
            raise ValueError("the gateway is not running")
        return self._core


class RiskReloader:
    """fixgw.ops.reload plug-in: the `[risk]` section is reloadable (SIGHUP, POST /api/reload, `fixgw risk reload`).

    The new limits are resolved off the router thread, then swapped in one `runner.call` together with the
    other reloaded sections (routing); an invalid file never gets here (ops validates it in full first).
    """

    sections: tuple[str, ...] = ("risk",)

    def prepare(self, gateway: Any, old: GatewayConfig, new: GatewayConfig) -> Callable[[RouterCore, Effects], None]:
        control = getattr(gateway, "risk", None)
        if not isinstance(control, RiskControl):
            from fixgw.ops.reload import ReloadRefused

            raise ReloadRefused("this gateway has no risk engine")
        rules = RiskRules(new.risk)

        def swap(_core: RouterCore, fx: Effects) -> None:
            control.checks.set_rules(rules)
            fx.events.append(OrderEventRecord(AUDIT_ORDER_ID, EventName.RISK_RELOADED, "audit", utc_now(),
                                              {"who": "reload", "enabled": str(new.risk.enabled).lower()}))
            log.warning("risk.reloaded", enabled=new.risk.enabled)

        return swap


def _register_reloader() -> None:
    from fixgw.ops.reload import register_reloader

    register_reloader(RiskReloader())


def recent_arrivals(journal: Journal, window_s: float = THROTTLE_WINDOW_S) -> dict[str, list[datetime]]:
    """EMS session -> arrival times of its orders and replace requests journaled within the last `window_s`."""
    arrivals: dict[str, list[datetime]] = {}
    since = utc_now() - timedelta(seconds=window_s)
    for message in journal.iter_messages(direction="in", since=since, msg_types=("D", "G")):
        arrivals.setdefault(message.session, []).append(message.at)
    return arrivals
