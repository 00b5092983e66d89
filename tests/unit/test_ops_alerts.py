"""Alert rules (a table of observations -> transitions), sink payloads, and delivery to a real local webhook."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from webhook_receiver import WebhookReceiver

from fixgw.config import AlertsConfig, AlertSinkConfig, MarketHours
from fixgw.ops.alert_rules import FIRING, RESOLVED, Alert, AlertEngine, Observation, in_market_hours
from fixgw.ops.alert_sinks import AlertDispatcher, payload
from fixgw.ops.controls import BreakerState, KillSwitchState, RiskState

T0 = 1_800_000_000.0  # a Friday, 2027-01-15 08:00 UTC


def config(**values: Any) -> AlertsConfig:
    return AlertsConfig(**{"session_down_after_s": 10, "no_execution_updates_s": 300, **values})


def obs(at: float, **values: Any) -> Observation:
    return Observation(now=T0 + at, **{"sessions": {}, **values})


def keys(alerts: list[Alert]) -> list[tuple[str, str]]:
    return [(alert.key, alert.status) for alert in alerts]


def test_session_down_fires_after_the_delay_once_and_resolves_when_back() -> None:
    engine = AlertEngine(config(), started_at=T0)
    assert engine.evaluate(obs(0, sessions={"equities": True})) == []
    assert engine.evaluate(obs(1, sessions={"equities": False})) == []
    assert engine.evaluate(obs(10.9, sessions={"equities": False})) == []
    fired = engine.evaluate(obs(11, sessions={"equities": False}))
    assert keys(fired) == [("session_down:equities", FIRING)]
    assert fired[0].severity == "critical" and "equities" in fired[0].summary
    assert engine.evaluate(obs(60, sessions={"equities": False})) == []  # once
    assert keys(engine.evaluate(obs(61, sessions={"equities": True}))) == [("session_down:equities", RESOLVED)]
    assert engine.evaluate(obs(62, sessions={"equities": True})) == []


def test_a_session_never_up_counts_as_down_since_the_start() -> None:
    engine = AlertEngine(config(), started_at=T0)
    assert keys(engine.evaluate(obs(10, sessions={"equities": False}))) == [("session_down:equities", FIRING)]


def test_no_execution_updates_while_orders_are_open() -> None:
    engine = AlertEngine(config(), started_at=T0)
    assert engine.evaluate(obs(0, open_orders=0)) == []
    assert engine.evaluate(obs(100, open_orders=2)) == []  # quiet since the orders opened, not since the start
    assert engine.evaluate(obs(399, open_orders=2)) == []
    assert keys(engine.evaluate(obs(400, open_orders=2))) == [("no_executions:all", FIRING)]
    assert keys(engine.evaluate(obs(401, open_orders=2, last_execution_at=T0 + 401))) == [
        ("no_executions:all", RESOLVED)]
    assert engine.evaluate(obs(700, open_orders=2, last_execution_at=T0 + 401)) == []
    assert keys(engine.evaluate(obs(702, open_orders=2, last_execution_at=T0 + 401))) == [
        ("no_executions:all", FIRING)]
    assert keys(engine.evaluate(obs(703, open_orders=0, last_execution_at=T0 + 401))) == [
        ("no_executions:all", RESOLVED)]


def test_no_execution_rule_sleeps_outside_market_hours() -> None:
    hours = MarketHours(timezone="America/New_York", start="09:30", end="16:00")
    assert not in_market_hours(hours, T0)  # 03:00 in New York
    assert in_market_hours(hours, T0 + 7 * 3600)  # 10:00 in New York
    assert not in_market_hours(hours, T0 + 24 * 3600 + 7 * 3600)  # Saturday
    engine = AlertEngine(config(market_hours=hours), started_at=T0)
    engine.evaluate(obs(0, open_orders=1))
    assert engine.evaluate(obs(3600, open_orders=1)) == []
    assert keys(engine.evaluate(obs(7 * 3600, open_orders=1))) == [("no_executions:all", FIRING)]


def test_reject_rate_spike_over_the_window() -> None:
    engine = AlertEngine(config(reject_rate_window_s=60, reject_rate_threshold=0.5, reject_rate_min_orders=10),
                         started_at=T0)
    assert engine.evaluate(obs(0, new_orders_total=100, refusals_total=5)) == []
    assert engine.evaluate(obs(30, new_orders_total=109, refusals_total=14)) == []  # 9 orders: too few to judge
    assert keys(engine.evaluate(obs(40, new_orders_total=110, refusals_total=10))) == [("reject_rate:all", FIRING)]
    # A minute later the window holds only healthy traffic.
    assert keys(engine.evaluate(obs(101, new_orders_total=200, refusals_total=11))) == [("reject_rate:all", RESOLVED)]


def test_kill_switch_breaker_recon_and_clock_skew() -> None:
    engine = AlertEngine(config(clock_skew_max_s=2), started_at=T0)
    risk = RiskState((KillSwitchState("venue", "equities", True, "broker outage", "alice"),),
                     (BreakerState("instrument:AAPL", True, "price 30% off"),))
    fired = engine.evaluate(obs(0, risk=risk, open_recon_breaks=2, clock_skew={"equities": -2.5, "ems-a": 0.1}))
    assert sorted(keys(fired)) == [("circuit_breaker:instrument:AAPL", FIRING), ("clock_skew:equities", FIRING),
                                   ("kill_switch:venue:equities", FIRING), ("recon_breaks:all", FIRING)]
    assert engine.evaluate(obs(1, risk=risk, open_recon_breaks=2, clock_skew={"equities": -2.5})) == []
    cleared = RiskState((KillSwitchState("venue", "equities", False),), ())
    assert sorted(keys(engine.evaluate(obs(2, risk=cleared)))) == [
        ("circuit_breaker:instrument:AAPL", RESOLVED), ("clock_skew:equities", RESOLVED),
        ("kill_switch:venue:equities", RESOLVED), ("recon_breaks:all", RESOLVED)]


def test_low_rate_headroom_fires_once_per_episode_and_resolves_when_it_ends() -> None:
    engine = AlertEngine(config(), started_at=T0)
    fired = engine.evaluate(obs(0, rate_headroom={"crypto": (0.74, 0.7)}))
    assert keys(fired) == [("rate_headroom:crypto", FIRING)]
    assert "74%" in fired[0].summary and fired[0].details["used_share"] == "0.740"
    assert engine.evaluate(obs(1, rate_headroom={"crypto": (0.9, 0.7)})) == []  # the same episode
    assert keys(engine.evaluate(obs(2))) == [("rate_headroom:crypto", RESOLVED)]
    assert keys(engine.evaluate(obs(3, rate_headroom={"crypto": (0.71, 0.7)}))) == [("rate_headroom:crypto", FIRING)]


ALERT = Alert("session_down", "equities", FIRING, "critical", "session equities is down (for 31 s)",
              datetime(2027, 1, 15, 8, 0, tzinfo=UTC), {"down_for_s": "31"})


def test_payloads_per_sink_kind() -> None:
    generic = payload(AlertSinkConfig(kind="json", url="http://x"), ALERT, "gw1")
    assert generic == {"source": "gw1", "key": "session_down:equities", "rule": "session_down",
                       "subject": "equities", "status": "firing", "severity": "critical",
                       "summary": ALERT.summary, "at": "2027-01-15T08:00:00+00:00", "details": {"down_for_s": "31"}}
    slack = payload(AlertSinkConfig(kind="slack", url="http://x"), ALERT, "gw1")
    assert slack["text"].startswith(":rotating_light: [FIRING] gw1: session equities is down")
    pagerduty = AlertSinkConfig(kind="pagerduty", url="http://x", routing_key="R0UT1NG")
    trigger = payload(pagerduty, ALERT, "gw1")
    assert trigger["routing_key"] == "R0UT1NG" and trigger["event_action"] == "trigger"
    assert trigger["dedup_key"] == "gw1:session_down:equities"
    assert trigger["payload"]["severity"] == "critical" and trigger["payload"]["source"] == "gw1"
    assert trigger["payload"]["timestamp"] == "2027-01-15T08:00:00+00:00"
    resolve = payload(pagerduty, Alert(**{**ALERT.__dict__, "status": RESOLVED}), "gw1")
    assert resolve == {"routing_key": "R0UT1NG", "event_action": "resolve", "dedup_key": "gw1:session_down:equities"}


def test_pagerduty_sink_needs_a_routing_key() -> None:
    with pytest.raises(ValueError, match="routing_key"):
        AlertSinkConfig(kind="pagerduty", url="http://x")


def _dispatcher(url: str, **values: Any) -> tuple[AlertDispatcher, list[tuple[str, str, str]]]:
    outcomes: list[tuple[str, str, str]] = []
    alerts = AlertsConfig(sinks={"hook": AlertSinkConfig(url=url, token="s3cret")}, **values)
    dispatcher = AlertDispatcher(alerts, "gw1", lambda *outcome: outcomes.append(outcome))
    dispatcher.start()
    return dispatcher, outcomes


def test_delivery_is_retried_until_the_receiver_accepts() -> None:
    with WebhookReceiver(fail_first=2) as receiver:
        dispatcher, outcomes = _dispatcher(receiver.url, delivery_attempts=4)
        try:
            dispatcher.submit(ALERT)
            assert dispatcher.flush(15)
        finally:
            dispatcher.stop()
    assert receiver.attempts == 3
    assert [body["key"] for body in receiver.bodies] == ["session_down:equities"]
    assert receiver.headers[0]["Authorization"] == "Bearer s3cret"
    assert outcomes == [("hook", "sent", "firing")]


def test_retries_run_out_and_are_counted() -> None:
    with WebhookReceiver(fail_first=100) as receiver:
        dispatcher, outcomes = _dispatcher(receiver.url, delivery_attempts=2)
        try:
            dispatcher.submit(ALERT)
            assert dispatcher.flush(15)
        finally:
            dispatcher.stop()
    assert receiver.attempts == 2 and outcomes == [("hook", "dropped", "undeliverable")]


def test_duplicates_are_skipped_and_new_alerts_rate_limited() -> None:
    with WebhookReceiver() as receiver:
        dispatcher, outcomes = _dispatcher(receiver.url, max_per_minute=2)
        try:
            for subject in ("a", "a", "b", "c"):
                dispatcher.submit(Alert(**{**ALERT.__dict__, "subject": subject}))
            dispatcher.submit(Alert(**{**ALERT.__dict__, "subject": "c", "status": RESOLVED}))  # c never sent
            dispatcher.submit(Alert(**{**ALERT.__dict__, "subject": "a", "status": RESOLVED}))
            assert dispatcher.flush(15)
        finally:
            dispatcher.stop()
    assert [(body["subject"], body["status"]) for body in receiver.bodies] == [
        ("a", "firing"), ("b", "firing"), ("a", "resolved")]
    assert ("hook", "dropped", "rate_limited") in outcomes


def test_unanswered_orders_fire_while_any_is_overdue_and_resolve_when_settled() -> None:
    engine = AlertEngine(config(), started_at=T0)
    assert engine.evaluate(obs(0, unanswered_orders=0)) == []
    fired = engine.evaluate(obs(1, unanswered_orders=2))
    assert keys(fired) == [("unanswered_orders:all", FIRING)] and fired[0].details == {"orders": "2"}
    assert engine.evaluate(obs(2, unanswered_orders=1)) == []
    assert keys(engine.evaluate(obs(3, unanswered_orders=0))) == [("unanswered_orders:all", RESOLVED)]


def test_a_burst_of_refused_connections_fires_once_and_resolves_when_it_stops() -> None:
    """[field] 20: failed TLS handshakes, refused logons and silent connections are counted; a burst alerts."""
    engine = AlertEngine(config(security_burst_threshold=5, security_burst_window_s=60), started_at=T0)
    assert engine.evaluate(obs(0, security_failures_total=3)) == []        # what came before the first look
    assert engine.evaluate(obs(30, security_failures_total=7)) == []       # 4 in 30 s: below the threshold
    fired = engine.evaluate(obs(40, security_failures_total=8))            # 5 within the window
    assert keys(fired) == [("security_burst:all", FIRING)]
    assert fired[0].details == {"failures": "5"}
    assert engine.evaluate(obs(50, security_failures_total=9)) == []       # once
    assert keys(engine.evaluate(obs(200, security_failures_total=9))) == [("security_burst:all", RESOLVED)]


def test_a_slow_trickle_of_refused_connections_is_no_burst() -> None:
    engine = AlertEngine(config(security_burst_threshold=5, security_burst_window_s=60), started_at=T0)
    for minute in range(10):   # 2 a minute for ten minutes: 20 in all, never 5 within a minute
        assert engine.evaluate(obs(minute * 60, security_failures_total=minute * 2)) == []


def test_security_failures_count_everything_but_accepted_logons() -> None:
    from fixgw.ops.runtime import security_failures

    class Authenticator:
        @staticmethod
        def snapshot() -> dict[str, int]:
            return {"accepted": 40, "refused_bad_password": 3, "tls_handshake_failed": 5, "logon_timeout": 2}

    assert security_failures(Authenticator()) == 10
    assert security_failures(None) == 0
