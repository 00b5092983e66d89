"""The console's server side over loopback on a running gateway: the event stream, chart history, blotter paging,
an order's history, and the controls' guards (token, read-only token, confirmation, CSRF, origin), each refusal
journaled and changing nothing; an accepted action takes the CLI's journal path and the gateway applies it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from gateway_stack import Stack, new_order, report, status
from ops_stack import TOKEN, admin_client, ops_stack

from fixgw.model.events import EventName
from fixgw.ops.console import Console, token_id
from fixgw.ops.runtime import OpsRuntime
from fixgw.risk.switches import AUDIT_ORDER_ID
from fixgw.store.recon import BreakRecord, ReconRunRecord, ReconStore

READ_ONLY = "test-read-only-token"
KILL_GLOBAL = {"action": "kill_set", "scope": "global", "operator": "alice", "reason": "runaway algo",
               "confirm": "global"}


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[Stack, OpsRuntime]]:
    with ops_stack(tmp_path, admin={"read_only_tokens": [READ_ONLY]}) as pair:
        yield pair


def audit(ops: OpsRuntime) -> list[Any]:
    return list(ops.gateway.journal.iter_events(order_id=AUDIT_ORDER_ID))


def refusals(ops: OpsRuntime) -> list[dict[str, str]]:
    return [e.detail for e in audit(ops) if e.event == EventName.CONTROL_REFUSED]


def kill_rows(ops: OpsRuntime) -> dict[str, str]:
    return {k: v for k, v in ops.gateway.journal.state_with_prefix("risk.kill").items()}


@contextmanager
def browser_login(ops: OpsRuntime, token: str = TOKEN) -> Iterator[tuple[httpx.Client, str]]:
    """A client holding the console cookie, and the CSRF token its page carries."""
    with admin_client(ops, token=None) as browser:
        page = browser.get("/console", params={"token": token}, follow_redirects=True)
        assert page.status_code == 200, page.text
        found = re.search(r'<meta name="fixgw-csrf" content="([^"]*)">', page.text)
        assert found is not None
        yield browser, found.group(1)


def test_the_event_stream_sends_scopes_then_snapshots(running: tuple[Stack, OpsRuntime]) -> None:
    stack, ops = running
    ems = stack.ems()
    ems.send(new_order("S1", qty="100"))
    report(ems, "S1", status("2"))
    events: list[tuple[str, dict[str, Any]]] = []
    with admin_client(ops) as client, client.stream("GET", "/console/events") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        name = ""
        for line in stream.iter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                events.append((name, json.loads(line.removeprefix("data: "))))
                if len(events) == 3:
                    break
    assert [name for name, _ in events] == ["scopes", "snapshot", "snapshot"]
    scopes, snapshot = events[0][1], events[2][1]
    assert "global" in scopes["kill"] and "venue:equities" in scopes["kill"] and "session:ems-a" in scopes["kill"]
    assert scopes["accounts"] == ["ACC1", "ACC2"] and scopes["ems_sessions"] == ["ems-a", "ems-b"]
    sessions = {s["name"]: s for s in snapshot["sessions"]}
    assert sessions["equities"]["connected"] and sessions["equities"]["up_since"]
    assert snapshot["by_status"] == {"FILLED": 1} and snapshot["ready"] is True
    assert snapshot["point"]["latency"].keys() == {"ems_to_venue", "venue_to_ems"}


def test_the_blotter_pages_and_an_order_opens_its_history(running: tuple[Stack, OpsRuntime]) -> None:
    stack, ops = running
    ems = stack.ems()
    for n in range(5):
        ems.send(new_order(f"B{n}", qty="100"))
        report(ems, f"B{n}", status("2"))
    with admin_client(ops) as client:
        first = client.get("/api/orders", params={"limit": 2}).json()
        second = client.get("/api/orders", params={"limit": 2, "offset": 2}).json()
        last = client.get("/api/orders", params={"limit": 2, "offset": 4}).json()
        assert [o["cl_ord_id"] for o in first + second + last] == ["B4", "B3", "B2", "B1", "B0"]
        assert client.get("/api/orders", params={"offset": -1}).status_code == 422
        history = client.get(f"/api/orders/{last[0]['order_id']}/history").json()
        assert client.get("/api/orders/nope/history").status_code == 404
    assert history["order"]["cl_ord_id"] == "B0" and history["order"]["status"] == "FILLED"
    assert [e["event"] for e in history["events"]][:2] == ["new", "route"]
    assert sum(float(f["qty"]) for f in history["fills"]) == 100  # two slices from the simulator
    types = {(m["session"], m["direction"], m["msg_type"]) for m in history["messages"]}
    assert {("ems-a", "in", "D"), ("equities", "out", "D"), ("equities", "in", "8"), ("ems-a", "out", "8")} <= types
    assert all("\x01" not in m["raw"] for m in history["messages"])


def test_an_action_through_the_console_takes_the_cli_path_and_the_gateway_applies_it(
        running: tuple[Stack, OpsRuntime]) -> None:
    stack, ops = running
    ems = stack.ems()
    with browser_login(ops) as (browser, csrf):
        answer = browser.post("/console/actions", json=KILL_GLOBAL, headers={"X-CSRF-Token": csrf})
        assert answer.status_code == 200, answer.text
        who = f"alice (console, token {token_id(TOKEN)})"
        assert answer.json()["who"] == who
        # The CLI's row: the gateway polls it and denies new orders within a second or so.
        assert json.loads(kill_rows(ops)["risk.kill:global"])["who"] == who
        assert stack.wait(lambda: bool(ops.view.book().risk and ops.view.book().risk.any_engaged))
        ems.send(new_order("K1"))
        assert "kill" in report(ems, "K1", status("8")).get(58).lower()
        clear = {**KILL_GLOBAL, "action": "kill_clear", "reason": "fixed"}
        assert browser.post("/console/actions", json=clear, headers={"X-CSRF-Token": csrf}).status_code == 200
    assert [(e.event, e.detail["who"]) for e in audit(ops)] == [(EventName.KILL_SET, who),
                                                                (EventName.KILL_CLEARED, who)]


def test_refused_actions_change_nothing_and_are_journaled(running: tuple[Stack, OpsRuntime]) -> None:
    _stack, ops = running
    with browser_login(ops) as (browser, csrf), browser_login(ops, READ_ONLY) as (reader, reader_csrf), \
            admin_client(ops, token=None) as anonymous, admin_client(ops, token=READ_ONLY) as ro, \
            admin_client(ops, token="forged") as forged:
        assert reader_csrf == "" and 'data-role="read"' in reader.get("/console").text
        assert "frame-ancestors 'none'" in reader.get("/console").headers["content-security-policy"]
        attempts = [
            (anonymous.post("/console/actions", json=KILL_GLOBAL), 401, "not logged in"),
            (forged.post("/console/actions", json=KILL_GLOBAL), 401, "not logged in"),
            (ro.post("/console/actions", json=KILL_GLOBAL), 403, "read-only"),
            (reader.post("/console/actions", json=KILL_GLOBAL, headers={"X-CSRF-Token": csrf}), 403, "read-only"),
            (browser.post("/console/actions", json=KILL_GLOBAL), 403, "CSRF"),
            (browser.post("/console/actions", json=KILL_GLOBAL, headers={"X-CSRF-Token": "0" * 64}), 403, "CSRF"),
            (browser.post("/console/actions", json=KILL_GLOBAL,
                          headers={"X-CSRF-Token": csrf, "Origin": "http://evil.example"}), 403, "cross-origin"),
            (browser.post("/console/actions", json=KILL_GLOBAL,
                          headers={"X-CSRF-Token": csrf, "Sec-Fetch-Site": "cross-site"}), 403, "cross-site"),
            (browser.post("/console/actions", json={**KILL_GLOBAL, "confirm": ""},
                          headers={"X-CSRF-Token": csrf}), 422, "not confirmed"),
            (browser.post("/console/actions", json={**KILL_GLOBAL, "scope": "planet", "confirm": "planet"},
                          headers={"X-CSRF-Token": csrf}), 400, "scope 'planet'"),
            (browser.post("/console/actions", content=b"{not json", headers={"X-CSRF-Token": csrf}), 400, "JSON"),
            (ro.post("/api/risk/kill-switch", json={"scope": "global", "engaged": True, "actor": "a",
                                                    "reason": "b"}), 403, "read-only"),
        ]
        for answer, code, reason in attempts:
            assert answer.status_code == code and reason in answer.json()["detail"], answer.text
        assert ro.get("/api/orders").status_code == 200  # a read-only token reads
    assert kill_rows(ops) == {}
    found = refusals(ops)
    assert len(found) == len(attempts)
    assert {r["token"] for r in found} == {"", token_id(TOKEN), token_id(READ_ONLY)}
    assert all(TOKEN not in json.dumps(r) and READ_ONLY not in json.dumps(r) for r in found)
    assert all(reason in r["reason"] for r, (_, _, reason) in zip(found, attempts, strict=True))
    assert [(r["who"], r["scope"]) for r in found][-4:-2] == [("alice", "global"), ("alice", "planet")]


def test_the_charts_history_counts_orders_and_rejects_per_second(running: tuple[Stack, OpsRuntime]) -> None:
    stack, ops = running
    console = Console(ops)  # not started: no sampling thread takes a point between these two
    console.sample()  # the baseline the next point is measured from
    ems = stack.ems()
    for n in range(3):
        ems.send(new_order(f"H{n}", qty="100"))
        report(ems, f"H{n}", status("2"))
    ems.send(new_order("H9", account="ACC9"))
    report(ems, "H9", status("8"))
    # The metrics observer counts a pass after its reports went out: wait for it, not for the EMS.
    assert stack.wait(lambda: ops.metrics.refusals_total >= 1 and ops.metrics.new_orders_total >= 4)
    point = console.sample()
    assert point["orders_per_s"] > 0 and point["rejects_per_s"] > 0
    assert point["latency"]["ems_to_venue"]["p99"] >= point["latency"]["ems_to_venue"]["p50"] > 0
    assert console.history_points() == [console.history[0], point]
    with admin_client(ops) as client:
        history = client.get("/api/console/history").json()
    assert history and set(history[-1]) == set(point)  # the admin server's own console serves the same points
    sessions = {s["name"]: s for s in console.sessions()}
    assert sessions["ems-a"]["in_per_s"] > 0 and sessions["equities"]["out_per_s"] > 0


def test_the_recon_panel_shows_the_latest_run_per_venue_and_links_its_breaks(
        running: tuple[Stack, OpsRuntime]) -> None:
    _stack, ops = running
    store = ReconStore(ops.gateway.journal)
    at = datetime.now(UTC)
    store.record_run(ReconRunRecord("r1", "2026-12-06", "equities", "statement", at, at, "clean", {"breaks": 0}), [])
    store.record_run(ReconRunRecord("r2", "2026-12-07", "equities", "statement", at, at, "breaks",
                                    {"breaks": 1}),
                     [BreakRecord("trade", "missing_at_broker", "T1", "our fill is not in the statement", {})])
    with admin_client(ops) as client:
        runs = ops.admin.console.recon_runs()
        assert [(r["venue"], r["run_id"], r["breaks"]) for r in runs] == [("equities", "r2", 1)]
        found = client.get(runs[0]["report"]).json()
        assert client.get("/api/recon/runs/nope").status_code == 404
    assert [(b["kind"], b["ref"]) for b in found["breaks"]] == [("missing_at_broker", "T1")]


def test_alerts_firing_then_recently_resolved(running: tuple[Stack, OpsRuntime]) -> None:
    stack, ops = running
    with admin_client(ops) as client:
        assert client.post("/console/actions", json=KILL_GLOBAL).status_code == 200  # the bearer needs no CSRF
        assert stack.wait(lambda: bool(ops.evaluate_alerts() or "kill_switch:global" in
                                       {a.key for a in ops.firing_alerts()}))
        clear = {**KILL_GLOBAL, "action": "kill_clear"}
        assert client.post("/console/actions", json=clear).status_code == 200
        assert stack.wait(lambda: bool(ops.evaluate_alerts() or ops.resolved_alerts))
    snapshot = ops.admin.console.snapshot()
    assert snapshot["alerts"]["firing"] == []
    assert [a["key"] for a in snapshot["alerts"]["resolved"]] == ["kill_switch:global"]
