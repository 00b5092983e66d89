"""Every metric family the ops layer exposes, read through a stand-in gateway, and the Grafana dashboard's
queries only name metrics that exist."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from fixgw.config import parse_config
from fixgw.engine.observe import SessionState
from fixgw.ops.controls import BreakerState, KillSwitchState, RiskState
from fixgw.ops.runtime import OpsRuntime
from fixgw.router.book import OrderBook
from fixgw.router.effects import Effects
from fixgw.store import Journal

ROOT = Path(__file__).resolve().parents[2]


class _Core:
    def __init__(self) -> None:
        self.book = OrderBook()


class _InlineRunner:
    """Runs calls at once on the caller's thread: enough for reading an empty book."""

    def __init__(self) -> None:
        self.core = _Core()
        self.observer: Any = None
        self.journal_errors = 0
        self.heartbeat = 0.0

    def call(self, function: Callable[[Any, Effects], object]) -> None:
        function(self.core, Effects())


class _RiskAlerts:
    def __init__(self) -> None:
        self.sinks: list[Callable[[Any], None]] = []


class _RiskChecks:
    def __init__(self) -> None:
        self.alerts = _RiskAlerts()


class _Risk:
    def __init__(self) -> None:
        self.checks = _RiskChecks()

    def risk_state(self) -> RiskState:
        return RiskState((KillSwitchState("global", None, False),), (BreakerState("venue:equities", False),))

    def set_kill_switch(self, fx: Effects, **_change: Any) -> RiskState:
        return self.risk_state()

    def reset_breaker(self, fx: Effects, **_change: Any) -> RiskState:
        return self.risk_state()


class _Gateway:
    def __init__(self, journal: Journal) -> None:
        self.config = parse_config({})
        self.risk = _Risk()
        self.runner = _InlineRunner()
        self.journal = journal
        self.venues: dict[str, Any] = {}

    def sessions(self) -> list[SessionState]:
        return [SessionState("equities", "broker", True, 5, 7), SessionState("ems-a", "ems", False)]


@pytest.fixture(scope="module")
def journal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Journal]:
    """A real, empty journal: the view counts the day book of record there."""
    with Journal(f"sqlite:///{tmp_path_factory.mktemp('journal') / 'journal.db'}") as opened:
        yield opened


def exposed(journal: Journal) -> dict[str, set[str]]:
    ops = OpsRuntime(_Gateway(journal))  # not started: no threads, no server
    ops.metrics.report_recon_breaks("equities", {"missing_at_broker": 1}, 1)
    found: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(ops.metrics.render().decode()):
        found.setdefault(family.name, set()).update(sample.name for sample in family.samples)
    return found


def test_live_metrics_through_a_stand_in_gateway(journal: Journal) -> None:
    families = exposed(journal)
    for name in ("fixgw_kill_switch_engaged", "fixgw_circuit_breaker_tripped",
                 "fixgw_session_up", "fixgw_session_next_sender_seq", "fixgw_ready", "fixgw_router_up",
                 "fixgw_orders", "fixgw_open_orders", "fixgw_hop_latency_seconds", "fixgw_journal_commit_seconds",
                 "fixgw_rejects", "fixgw_messages", "fixgw_ratelimit_available_tokens", "fixgw_recon_open_breaks"):
        assert name in families, name


def test_the_dashboard_queries_existing_metrics(journal: Journal) -> None:
    dashboard = json.loads((ROOT / "systemd" / "grafana-fixgw.json").read_text(encoding="utf-8"))
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    assert len(exprs) >= 20
    families = exposed(journal)
    samples = {sample for names in families.values() for sample in names} | set(families)
    for expr in exprs:
        for name in re.findall(r"\bfixgw_[a-z_]+", expr):
            family = re.sub(r"_(bucket|sum|count|total)$", "", name)
            assert name in samples or family in families, (name, expr)


def test_risk_event_alerts_are_forwarded_while_running(journal: Journal) -> None:
    from datetime import UTC, datetime

    from fixgw.ops.alert_rules import Alert

    gateway = _Gateway(journal)
    ops = OpsRuntime(gateway)
    sent: list[Alert] = []
    ops.dispatcher.submit = sent.append  # type: ignore[method-assign]
    ops.start()
    try:
        (sink,) = gateway.risk.checks.alerts.sinks
        at = datetime(2027, 1, 15, tzinfo=UTC)
        raised = type("RiskAlert", (), {"kind": "slippage", "scope": "account:ACC1", "message": "slipped 2%",
                                        "detail": {"bps": "200"}, "at": at})
        sink(raised)
        sink(type("RiskAlert", (), {"kind": "kill_switch", "scope": "global", "message": "x", "detail": {}, "at": at}))
    finally:
        ops.stop()
    assert gateway.risk.checks.alerts.sinks == []
    assert [(a.rule, a.subject, a.status, a.summary) for a in sent] == [
        ("slippage", "account:ACC1@2027-01-15T00:00:00+00:00", "firing", "slipped 2%")]
