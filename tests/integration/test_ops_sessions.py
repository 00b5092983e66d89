"""Which sessions operators see and which ones page them: drop-copy clients are sessions like the others
(`/api/sessions`, `fixgw_session_up`, the status page), and clients' sessions (EMS, drop copy) are watched by the
session-down rule only when opted in - they log off at the end of their day."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from gateway_stack import WAIT, Stack
from ops_stack import admin_client, ops_stack
from test_ops_admin import metric_samples

from fixgw.config import GatewayConfig
from fixgw.dropcopy.settings import DropCopySessionConfig
from fixgw.engine.quickfix_support import free_port
from fixgw.ops.runtime import OpsRuntime
from fixgw.sim.fix_client import FixClient

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[Stack, OpsRuntime, int]]:
    port = free_port()

    def with_dropcopy_and_watched_ems(config: GatewayConfig) -> GatewayConfig:
        ems = {**config.ems, "ems-a": config.ems["ems-a"].model_copy(update={"watch": True})}
        dropcopy = {"compliance": DropCopySessionConfig(port=port, target_comp_id="COMPLIANCE")}
        return config.model_copy(update={"ems": ems, "dropcopy": dropcopy})

    with ops_stack(tmp_path, configure=with_dropcopy_and_watched_ems) as (stack, ops):
        yield stack, ops, port


def session_up(ops: OpsRuntime) -> dict[tuple[str, str], float]:
    with admin_client(ops) as client:
        found = metric_samples(client.get("/metrics").text)
    return {(dict(labels)["session"], dict(labels)["role"]): value for (name, labels), value in found.items()
            if name == "fixgw_session_up"}


def test_the_drop_copy_session_is_listed_measured_and_shown(running: tuple[Stack, OpsRuntime, int],
                                                            tmp_path: Path) -> None:
    stack, ops, port = running
    with admin_client(ops) as client:
        sessions = {s["name"]: s for s in client.get("/api/sessions").json()}
        assert sessions["compliance"]["role"] == "dropcopy" and not sessions["compliance"]["connected"]
        assert client.get("/readyz").json()["required_sessions"] == ["equities"]  # a client is never required
    assert session_up(ops)[("compliance", "dropcopy")] == 0
    compliance = FixClient(port=port, begin_string="FIX.4.4", sender_comp_id="COMPLIANCE",
                           target_comp_id="FIXGW", store_dir=tmp_path / "dc-store")
    compliance.start()
    try:
        assert compliance.wait_logged_on(WAIT)
        assert stack.wait(lambda: session_up(ops)[("compliance", "dropcopy")] == 1)
        with admin_client(ops) as client:
            page = client.get("/status").text
            sessions = {s["name"]: s for s in client.get("/api/sessions").json()}
        assert "compliance" in page and "dropcopy" in page
        assert sessions["compliance"]["connected"] and sessions["compliance"]["next_sender_seq"] >= 2
    finally:
        compliance.stop()


def test_client_sessions_are_watched_only_when_opted_in(running: tuple[Stack, OpsRuntime, int]) -> None:
    _stack, ops, _port = running
    # ems-a: watch = true; ems-b and the drop-copy client: not watched; the broker: watched by default.
    assert sorted(ops.observe().sessions) == ["ems-a", "equities"]


def test_a_session_listed_in_alerts_sessions_is_watched_whatever_its_role(tmp_path: Path) -> None:
    def listed(config: GatewayConfig) -> GatewayConfig:
        return config.model_copy(update={"alerts": config.alerts.model_copy(update={"sessions": ["ems-b"]})})

    with ops_stack(tmp_path, configure=listed) as (_stack, ops):
        assert sorted(ops.observe().sessions) == ["ems-b"]
