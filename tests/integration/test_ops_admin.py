"""The admin API over loopback on a running gateway: health, auth, metrics after a flow, sessions, blotter,
risk controls (501 without them, delegated with them), OpenAPI, the status page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gateway_stack import Stack, new_order, report, status
from ops_stack import TOKEN, admin_client, ops_stack
from prometheus_client.parser import text_string_to_metric_families

from fixgw.ops.controls import KillSwitchState, RiskState
from fixgw.ops.runtime import OpsRuntime
from fixgw.router.effects import Effects


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[Stack, OpsRuntime]]:
    with ops_stack(tmp_path) as pair:
        yield pair


def metric_samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_health_is_open_everything_else_needs_the_token(running: tuple[Stack, OpsRuntime]) -> None:
    _stack, ops = running
    with admin_client(ops, token=None) as anonymous, admin_client(ops, token="wrong") as wrong:
        assert anonymous.get("/healthz").json() == {"status": "ok"}
        assert anonymous.get("/readyz").json() == {"ready": True}  # no session names without the token
        assert "/api/orders" in anonymous.get("/openapi.json").json()["paths"]
        for path in ("/metrics", "/api/sessions", "/api/orders", "/api/alerts", "/status"):
            assert anonymous.get(path).status_code == 401, path
            assert wrong.get(path).status_code == 401, path
        assert anonymous.post("/api/reload").status_code == 401
    with admin_client(ops) as client:
        ready = client.get("/readyz").json()
        assert ready["ready"] and ready["required_sessions"] == ["equities"] and ready["sessions_down"] == []


def test_metrics_after_a_flow_parse_and_hold_the_latency_histograms(running: tuple[Stack, OpsRuntime]) -> None:
    stack, ops = running
    ems = stack.ems()
    ems.send(new_order("M1", qty="200"))
    report(ems, "M1", status("2"))
    ems.send(new_order("M2", account="ACC9"))
    report(ems, "M2", status("8"))
    with admin_client(ops) as client:
        response = client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    found = metric_samples(response.text)
    for hop in ("ems_to_venue", "venue_to_ems"):
        assert found[("fixgw_hop_latency_seconds_count", (("hop", hop),))] >= 1, hop
        assert any(name == "fixgw_hop_latency_seconds_bucket" and ("hop", hop) in labels
                   for name, labels in found), hop
        for quantile in ("0.5", "0.95", "0.99"):
            assert found[("fixgw_hop_latency_quantile_seconds", (("hop", hop), ("quantile", quantile)))] > 0
    assert found[("fixgw_rejects_total", (("kind", "deny"), ("reason", "UNKNOWN_ACCOUNT")))] == 1
    assert found[("fixgw_messages_total", (("direction", "in"), ("msg_type", "D"), ("session", "ems-a")))] == 2
    assert found[("fixgw_messages_total", (("direction", "out"), ("msg_type", "D"), ("session", "equities")))] == 1
    assert found[("fixgw_orders", (("status", "FILLED"),))] == 1
    assert found[("fixgw_orders", (("status", "DENIED"),))] == 1
    assert found[("fixgw_open_orders", ())] == 0
    assert found[("fixgw_session_up", (("role", "broker"), ("session", "equities")))] == 1
    assert found[("fixgw_session_up", (("role", "ems"), ("session", "ems-a")))] == 1
    assert found[("fixgw_ready", ())] == 1
    assert found[("fixgw_journal_commit_seconds_count", ())] >= 1
    assert found[("fixgw_orders_received_total", (("ems_session", "ems-a"),))] == 2


def test_sessions_and_the_blotter_with_filters(running: tuple[Stack, OpsRuntime]) -> None:
    stack, ops = running
    ems = stack.ems()
    stack.broker.auto_fill = False
    ems.send(new_order("B1", qty="100"))
    report(ems, "B1", status("0"))
    ems.send(new_order("B2", account="ACC9"))
    report(ems, "B2", status("8"))
    with admin_client(ops) as client:
        sessions = {s["name"]: s for s in client.get("/api/sessions").json()}
        assert set(sessions) == {"ems-a", "ems-b", "equities"}
        assert sessions["equities"]["role"] == "broker" and sessions["equities"]["connected"]
        assert sessions["ems-a"]["next_target_seq"] >= 3 and sessions["ems-a"]["next_sender_seq"] >= 3
        everything = client.get("/api/orders").json()
        assert [row["cl_ord_id"] for row in everything] == ["B2", "B1"]  # newest first
        open_rows = client.get("/api/orders", params={"status": "open"}).json()
        assert [(row["cl_ord_id"], row["status"], row["order_qty"]) for row in open_rows] == [("B1", "NEW", "100")]
        assert [row["cl_ord_id"] for row in client.get("/api/orders", params={"status": "denied"}).json()] == ["B2"]
        assert client.get("/api/orders", params={"ems_session": "ems-b"}).json() == []
        assert [r["cl_ord_id"] for r in client.get("/api/orders", params={"cl_ord_id": "B1"}).json()] == ["B1"]
        assert len(client.get("/api/orders", params={"limit": 1}).json()) == 1
        order_id = open_rows[0]["order_id"]
        assert client.get(f"/api/orders/{order_id}").json()["venue"] == "equities"
        assert client.get("/api/orders/NOPE").status_code == 404
        assert client.get("/api/orders", params={"limit": 0}).status_code == 422
        page = client.get("/status")
    assert page.status_code == 200
    for text in ("ems-a", "ems-b", "equities", "B1", "UNKNOWN_ACCOUNT", "READY", "Kill switches and breakers"):
        assert text in page.text, text


class FakeRiskControls:
    """A stand-in for the risk engine behind the `RiskControls` interface: records calls, runs on the router."""

    def __init__(self) -> None:
        self.switches: dict[str, KillSwitchState] = {}
        self.threads: list[str] = []

    def risk_state(self) -> RiskState:
        return RiskState(tuple(self.switches.values()))

    def set_kill_switch(self, fx: Effects, *, scope: str, target: str | None, engaged: bool,
                        cancel_open: bool, actor: str, reason: str) -> RiskState:
        import threading

        self.threads.append(threading.current_thread().name)
        if scope not in ("global", "venue"):
            raise ValueError(f"unknown scope {scope}")
        switch = KillSwitchState(scope, target, engaged, reason, actor)
        self.switches[switch.key] = switch
        fx.state[f"test.kill:{switch.key}"] = str(engaged)
        return self.risk_state()

    def reset_breaker(self, fx: Effects, *, name: str, actor: str, reason: str) -> RiskState:
        raise ValueError(f"no tripped breaker {name!r}")


def test_risk_controls_are_501_without_risk_and_delegated_with_it(running: tuple[Stack, OpsRuntime]) -> None:
    stack, ops = running
    change: dict[str, Any] = {"scope": "venue", "target": "equities", "engaged": True, "actor": "alice",
                              "reason": "broker outage"}
    with admin_client(ops) as client:
        if ops.view.controls is None:
            assert client.get("/api/risk").status_code == 501
            assert client.post("/api/risk/kill-switch", json=change).status_code == 501
        fake = FakeRiskControls()
        own = getattr(stack.gateway, "risk", None)
        stack.gateway.risk = fake  # type: ignore[attr-defined]
        try:
            _exercise_fake_controls(ops, client, fake, change)
        finally:
            stack.gateway.risk = own  # type: ignore[attr-defined]


def _exercise_fake_controls(ops: OpsRuntime, client: Any, fake: FakeRiskControls, change: dict[str, Any]) -> None:
    with admin_client(ops, token=None) as anonymous:
        assert anonymous.post("/api/risk/kill-switch", json=change).status_code == 401
    assert client.post("/api/risk/kill-switch", json={**change, "reason": ""}).status_code == 422
    assert client.post("/api/risk/kill-switch", json={**change, "scope": "planet"}).status_code == 400
    answer = client.post("/api/risk/kill-switch", json=change)
    assert answer.status_code == 200, answer.text
    assert answer.json()["kill_switches"][0] | {"since": ""} == {
        "key": "venue:equities", "scope": "venue", "target": "equities", "engaged": True,
        "reason": "broker outage", "actor": "alice", "since": ""}
    assert set(fake.threads) == {"fixgw-router"}  # ran on the router thread, inside a pass
    assert ops.gateway.journal.get_state("test.kill:venue:equities") == "True"
    assert client.post("/api/risk/breakers/instrument:AAPL/reset",
                       json={"actor": "bob", "reason": "checked"}).status_code == 400
    assert "KILL SWITCH ENGAGED" in client.get("/status").text
    metrics = metric_samples(client.get("/metrics").text)
    assert metrics[("fixgw_kill_switch_engaged", (("switch", "venue:equities"),))] == 1


def test_status_page_cookie_login(running: tuple[Stack, OpsRuntime]) -> None:
    _stack, ops = running
    with admin_client(ops, token=None) as browser:
        assert browser.get("/status", params={"token": "wrong"}).status_code == 401
        login = browser.get("/status", params={"token": TOKEN}, follow_redirects=True)
        assert login.status_code == 200 and login.url.path == "/status" and "token" not in str(login.url)
        assert TOKEN not in str(browser.cookies.get("fixgw_status"))
        assert browser.get("/api/sessions").status_code == 200  # the cookie reads
        assert browser.post("/api/reload").status_code == 401  # but never writes


def test_reload_without_a_config_file_is_refused(running: tuple[Stack, OpsRuntime]) -> None:
    _stack, ops = running
    with admin_client(ops) as client:
        answer = client.post("/api/reload")
    assert answer.status_code == 422 and answer.json()["reason"] == "no configuration file to reload from"


def test_the_gateways_own_kill_switch_through_the_api(running: tuple[Stack, OpsRuntime]) -> None:
    stack, ops = running
    if ops.view.controls is None:
        pytest.skip("this gateway has no risk controls (fixgw/risk)")
    ems = stack.ems()
    engage = {"scope": "global", "engaged": True, "actor": "alice", "reason": "runaway algo"}
    with admin_client(ops) as client:
        answer = client.post("/api/risk/kill-switch", json=engage)
        assert answer.status_code == 200, answer.text
        assert [s["engaged"] for s in answer.json()["kill_switches"] if s["key"] == "global"] == [True]
        ems.send(new_order("K1"))
        report(ems, "K1", status("8"))
        assert "KILL SWITCH ENGAGED" in client.get("/status").text
        cleared = client.post("/api/risk/kill-switch", json={**engage, "engaged": False, "reason": "fixed"})
        assert [s["engaged"] for s in cleared.json()["kill_switches"] if s["key"] == "global"] == [False]
        ems.send(new_order("K2"))
        report(ems, "K2", status("0"))
