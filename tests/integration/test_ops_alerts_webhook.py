"""A broker session drops: the alert reaches local webhook receivers (generic JSON and PagerDuty Events v2)
exactly once, and clears when the session is back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gateway_stack import WAIT
from ops_stack import ops_stack
from webhook_receiver import WebhookReceiver

from fixgw.sim.fix_broker import FixBrokerSimulator

KEY = "session_down:equities"


def about_equities(bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [b for b in bodies if b.get("key") == KEY or str(b.get("dedup_key", "")).endswith(KEY)]


def test_broker_drop_alerts_once_and_clears(tmp_path: Path) -> None:
    with WebhookReceiver() as generic, WebhookReceiver() as pagerduty:
        alerts = {"evaluate_every_s": 0.1, "session_down_after_s": 1.0, "sinks": {
            "ops-json": {"kind": "json", "url": generic.url},
            "pager": {"kind": "pagerduty", "url": pagerduty.url, "routing_key": "R0UT1NG"}}}
        with ops_stack(tmp_path, alerts=alerts) as (stack, ops):
            assert ops.firing_alerts() == []
            broker_config = stack.broker.config
            stack.broker.stop()
            assert generic.wait_for(lambda bodies: len(about_equities(bodies)) >= 1), "no alert"
            (fired,) = about_equities(generic.bodies)
            assert fired["status"] == "firing" and fired["severity"] == "critical" and fired["source"] == "test-gw"
            assert pagerduty.wait_for(lambda bodies: len(bodies) >= 1)
            assert pagerduty.bodies[0]["event_action"] == "trigger"
            assert pagerduty.bodies[0]["dedup_key"] == f"test-gw:{KEY}"
            # Still down for many more evaluations: no second notification.
            evaluations = ops.alert_engine.evaluations
            assert stack.wait(lambda: ops.alert_engine.evaluations >= evaluations + 10)
            assert ops.dispatcher.flush(WAIT)
            assert len(about_equities(generic.bodies)) == 1 and len(pagerduty.bodies) == 1
            # The broker comes back (same port and store): the gateway logs on again and the alert clears.
            stack.broker = FixBrokerSimulator(broker_config)
            stack.broker.start()
            assert generic.wait_for(lambda bodies: len(about_equities(bodies)) >= 2), "no resolve"
            assert [b["status"] for b in about_equities(generic.bodies)] == ["firing", "resolved"]
            assert pagerduty.wait_for(lambda bodies: len(bodies) >= 2)
            assert [b["event_action"] for b in pagerduty.bodies] == ["trigger", "resolve"]
            assert pagerduty.bodies[1]["dedup_key"] == f"test-gw:{KEY}"
            assert ops.firing_alerts() == []
            assert {b["key"] for b in generic.bodies} == {KEY}  # every other session stayed up
