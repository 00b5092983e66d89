"""The daemon's scheduled reconciliation reaches operators: breaks found by the recon service of a running gateway
show in `/metrics` (fixgw_recon_breaks_total, fixgw_recon_open_breaks), fire `recon_breaks:all` and fill the
status page's reconciliation table; a clean rerun closes them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from gateway_stack import Stack
from ops_stack import admin_client, ops_stack
from test_ops_admin import metric_samples

from fixgw.config import GatewayConfig
from fixgw.ops.alert_rules import FIRING, RESOLVED
from fixgw.ops.runtime import OpsRuntime
from fixgw.recon.settings import ReconConfig

pytestmark = pytest.mark.timeout(90)
HEADER = "record_type,trade_id,instrument,side,qty,price,time\n"


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[Stack, OpsRuntime, Path]]:
    drop = tmp_path / "drop"
    drop.mkdir()
    today = datetime.now(UTC).date().isoformat()
    statement = drop / f"equities-{today}.csv"
    statement.write_text(HEADER + f"trade,B-1,AAPL,buy,1,190,{today}T00:00:01Z\n")   # a trade we never made

    def with_recon(config: GatewayConfig) -> GatewayConfig:
        # Midnight UTC today is a scheduled run not covered yet: the service runs it at once on start.
        recon = ReconConfig.model_validate({
            "enabled": True, "timezone": "UTC", "eod_cron": "0 0 * * *", "catch_up_hours": 24,
            "drift": {"enabled": False}, "venues": {"equities": {"statement_dir": str(drop)}}})
        return config.model_copy(update={"recon": recon})

    # Alerts are evaluated by the test alone (no periodic evaluation taking the transitions first).
    with ops_stack(tmp_path, alerts={"evaluate_every_s": 3600}, configure=with_recon) as (stack, ops):
        yield stack, ops, statement


def recon_samples(ops: OpsRuntime) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with admin_client(ops) as client:
        found = metric_samples(client.get("/metrics").text)
    return {key: value for key, value in found.items() if key[0].startswith("fixgw_recon_")}


def test_scheduled_breaks_reach_metrics_alerts_and_the_status_page(
        running: tuple[Stack, OpsRuntime, Path]) -> None:
    stack, ops, statement = running
    assert stack.wait(lambda: bool(ops.recon_board.rows()))
    samples = recon_samples(ops)
    assert samples[("fixgw_recon_open_breaks", (("venue", "equities"),))] == 1
    assert samples[("fixgw_recon_breaks_total", (("kind", "missing_internally"), ("venue", "equities")))] == 1
    fired = [(alert.key, alert.status) for alert in ops.evaluate_alerts()]
    assert ("recon_breaks:all", FIRING) in fired
    with admin_client(ops) as client:
        page = client.get("/status").text
    table = page[page.index('id="recon"'):]
    assert "equities" in table and "1 OPEN" in table and "1 break(s)" in table

    # The broker's corrected statement: a rerun is clean, the breaks close and the alert resolves.
    statement.write_text(HEADER)
    recon = stack.gateway.recon
    assert recon is not None
    recon.eod_job("equities", datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0))
    assert recon_samples(ops)[("fixgw_recon_open_breaks", (("venue", "equities"),))] == 0
    assert ("recon_breaks:all", RESOLVED) in [(alert.key, alert.status) for alert in ops.evaluate_alerts()]
    assert ops.recon_board.rows()[0]["summary"] == "clean"
