"""Issue 18 items 6 and 8 against the crypto PB simulator behind a real gateway:
- Deprecation / Sunset / Warning headers the simulator sends on one endpoint reach the metric, `fixgw venues
  status` and one alert through the ops alert path (a webhook sink);
- every request and answer lands in the venue wire archive and `fixgw audit export --format jsonl --venue V`
  shows them, with the API key, passphrase, signing key and every signature absent from the journal and export.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from gateway_stack import WAIT, new_order, report, status
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from waiting import wait_until
from webhook_receiver import WebhookReceiver

import fixgw.venues.bridge.coinbase_prime.http as coinbase_http
from fixgw.cli import main
from fixgw.config import parse_config
from fixgw.engine.gateway import Gateway
from fixgw.engine.quickfix_support import free_port
from fixgw.ops.runtime import OpsRuntime
from fixgw.sim.crypto_pb import CryptoPbSimulator
from fixgw.sim.fix_client import FixClient
from fixgw.store import Journal

pytestmark = pytest.mark.timeout(90)
ENV = {"access_key": "FIXGW_TEST_WIRE_CB_ACCESS_KEY", "passphrase": "FIXGW_TEST_WIRE_CB_PASSPHRASE",
       "signing_key": "FIXGW_TEST_WIRE_CB_SIGNING_KEY"}
TOKEN = "wire-admin-token"
CREATE = "POST /v1/portfolios/{id}/order"
SUNSET = "Sun, 01 Jan 2034 00:00:00 GMT"
WARNING = '299 - "create order v1 is deprecated"'


@contextmanager
def gateway_on_simulator(tmp_path: Path, sim: CryptoPbSimulator, monkeypatch: pytest.MonkeyPatch, *,
                         journal_url: str | None = None, alerts: dict[str, Any] | None = None,
                         ) -> Iterator[tuple[Gateway, OpsRuntime, FixClient]]:
    for field, variable in ENV.items():
        monkeypatch.setenv(variable, getattr(sim.credentials, field))
    port = free_port()
    venue = {"kind": "coinbase_prime", "base_url": sim.coinbase_url,
             "portfolio_id": f"pf-{uuid.uuid4().hex[:8]}0",
             **{field: f"env:{variable}" for field, variable in ENV.items()}, "poll_interval_s": 0.1}
    data: dict[str, Any] = {
        "name": "wire-gw", "state_dir": str(tmp_path / "gw"), "acceptor": {"port": port},
        "ems": {"ems-a": {"target_comp_id": "EMS-A"}}, "venues": {"crypto": venue}, "routing": {"default": "crypto"},
        "admin": {"enabled": True, "port": 0, "token": TOKEN}, "alerts": alerts or {"evaluate_every_s": 3600}}
    if journal_url is not None:
        data["journal"] = {"url": journal_url}
    gateway = Gateway(parse_config(data))
    client = FixClient(port=port, begin_string="FIX.4.4", sender_comp_id="EMS-A", target_comp_id="FIXGW",
                       store_dir=tmp_path / "ems-store")
    gateway.start()
    ops = OpsRuntime(gateway)
    ops.start()
    client.start()
    try:
        assert client.wait_logged_on(WAIT)
        yield gateway, ops, client
    finally:
        client.stop()
        ops.stop()
        gateway.stop()


def metric_samples(ops: OpsRuntime) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(ops.metrics.render().decode()) for s in family.samples}


def test_deprecation_headers_reach_the_metric_the_cli_and_one_alert_a_day(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    with CryptoPbSimulator() as sim, WebhookReceiver() as webhook:
        sim.set_notice("coinbase.create_order", deprecation="@1688169599", sunset=SUNSET, warning=WARNING)
        alerts = {"evaluate_every_s": 0.1, "sinks": {"ops-json": {"kind": "json", "url": webhook.url}}}
        with gateway_on_simulator(tmp_path, sim, monkeypatch, alerts=alerts) as (_gateway, ops, client):
            client.send(new_order("D1", symbol="BTC/USD", qty="0.25", price=None))
            report(client, "D1", status("2"))
            labels = (("endpoint", CREATE), ("venue", "crypto"))
            found = wait_until(lambda: (lambda m: m if ("fixgw_venue_endpoint_deprecated", labels) in m else None)(
                metric_samples(ops)), WAIT, "the deprecated-endpoint metric")
            assert found[("fixgw_venue_endpoint_deprecated", labels)] == 1
            assert found[("fixgw_venue_endpoint_deprecation_timestamp_seconds", labels)] == 1688169599
            assert found[("fixgw_venue_endpoint_sunset_timestamp_seconds", labels)] == datetime(
                2034, 1, 1, tzinfo=UTC).timestamp()
            # Only the endpoint that said so: the order lookups and balances carry no notice.
            assert [labels for (name, labels) in found if name == "fixgw_venue_endpoint_deprecated"] == [labels]

            def deprecation_alerts() -> list[dict[str, Any]]:
                return [b for b in webhook.bodies if str(b.get("key", "")).startswith("venue_endpoint_deprecated:")]

            assert webhook.wait_for(lambda _bodies: len(deprecation_alerts()) >= 1), "no deprecation alert"
            (fired,) = deprecation_alerts()
            day = datetime.now(UTC).date().isoformat()
            assert fired["key"] == f"venue_endpoint_deprecated:crypto {CREATE} {day}"
            assert fired["status"] == "firing" and "sunset 2034-01-01T00:00:00+00:00" in fired["summary"]
            # More orders hit the endpoint and many evaluations pass: still one alert that day.
            client.send(new_order("D2", symbol="BTC/USD", qty="0.25", price=None))
            report(client, "D2", status("2"))
            evaluations = ops.alert_engine.evaluations
            wait_until(lambda: ops.alert_engine.evaluations >= evaluations + 10, WAIT, "ten more evaluations")
            assert ops.dispatcher.flush(WAIT)
            assert len(deprecation_alerts()) == 1

            monkeypatch.setenv("FIXGW_TEST_WIRE_TOKEN", TOKEN)
            config = tmp_path / "cli.toml"
            config.write_text(f'[admin]\nenabled = true\nport = {ops.admin.port}\n'
                              'token = "env:FIXGW_TEST_WIRE_TOKEN"\n')
            capsys.readouterr()
            assert main(["venues", "status", "--config", str(config), "--json"]) == 0
            (venue,) = json.loads(capsys.readouterr().out)
            assert venue["venue"] == "crypto" and venue["up"] is True
            (endpoint,) = venue["endpoints"]
            assert endpoint["endpoint"] == CREATE and endpoint["deprecated"] is True
            assert endpoint["deprecated_at"] == "2023-06-30T23:59:59+00:00"
            assert endpoint["sunset_at"] == "2034-01-01T00:00:00+00:00"
            assert endpoint["warnings"] == [WARNING]
            assert main(["venues", "status", "--config", str(config)]) == 0
            lines = capsys.readouterr().out.splitlines()
            assert lines[0].startswith("crypto (coinbase_prime): up")
            assert lines[1].startswith(f"  {CREATE}: deprecated since 2023-06-30T23:59:59+00:00; sunset 2034-01-01")


def test_every_request_and_answer_is_archived_masked_and_exported_by_venue(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, journal_url: str) -> None:
    signatures: list[str] = []
    real_make_signer = coinbase_http.make_signer

    def recording_signer(config: Any) -> Any:
        sign = real_make_signer(config)

        def signer(request: Any, venue_now: float) -> Any:
            signed = sign(request, venue_now)
            signatures.append(signed.headers["X-CB-ACCESS-SIGNATURE"])
            return signed

        return signer

    monkeypatch.setattr(coinbase_http, "make_signer", recording_signer)
    with CryptoPbSimulator() as sim:
        with gateway_on_simulator(tmp_path, sim, monkeypatch, journal_url=journal_url) as (gateway, _ops, client):
            client.send(new_order("W1", symbol="BTC/USD", qty="0.25", price=None))
            report(client, "W1", status("2"))
            assert gateway.runner is not None and gateway.runner.drain(WAIT)
        secrets = [sim.credentials.access_key, sim.credentials.passphrase, sim.credentials.signing_key, *signatures]
        assert len(signatures) >= 2

    out = tmp_path / "wire.jsonl"
    today = datetime.now(UTC).date().isoformat()
    assert main(["audit", "export", "--journal", journal_url, "--from", today, "--to", today, "--format", "jsonl",
                 "--venue", "crypto", "--output", str(out)]) == 0
    exported = out.read_text(encoding="utf-8")
    records = [json.loads(line) for line in exported.splitlines()]
    wire = [r for r in records if r.get("record") == "venue_wire"]
    creates = [r for r in wire if r["endpoint"] == CREATE]
    assert len(creates) == 1
    (create,) = creates
    assert create["status"] == 200 and create["venue"] == "crypto" and create["latency_us"] > 0
    assert create["request"]["headers"]["X-CB-ACCESS-SIGNATURE"] == "***"
    assert create["request"]["headers"]["X-CB-ACCESS-KEY"] == "***"
    assert create["request"]["headers"]["X-CB-ACCESS-PASSPHRASE"] == "***"
    assert json.loads(create["request"]["body"])["client_order_id"]
    assert json.loads(create["response"]["body"])["order_id"]
    assert "date" in create["response"]["headers"]
    # Every signed request is in the archive (one signature each), in time order among the FIX messages.
    assert len(wire) == len(signatures)
    assert any("msg_type" in r for r in records)
    assert [r["at"] for r in records] == sorted(r["at"] for r in records)
    for secret in secrets:
        assert secret not in exported
    with Journal(journal_url) as journal, journal.engine.connect() as connection:
        stored = [str(row) for table in ("venue_wire", "messages", "events", "state")
                  for row in connection.execute(text(f"SELECT * FROM {table}"))]
    assert len([row for row in stored if "/order'" in row or "/order," in row]) >= 1
    for secret in secrets:
        assert not any(secret in row for row in stored)
    if journal_url.startswith("sqlite:///"):
        database = Path(journal_url.removeprefix("sqlite:///"))
        files = b"".join(path.read_bytes() for path in database.parent.glob(database.name + "*"))
        for secret in secrets:
            assert secret.encode() not in files


def test_the_readers_own_clients_are_archived_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reconciliation (and margin, market data) read through clients their plugin hooks build: in a running gateway
    their requests land in the same archive as the order path's."""
    import asyncio

    from fixgw.model.instruments import SymbolMaster
    from fixgw.venues.registry import plugin_for

    with CryptoPbSimulator() as sim, gateway_on_simulator(tmp_path, sim, monkeypatch) as (gateway, _ops, _client):
        section = gateway.config.venues["crypto"]
        symbols = SymbolMaster.from_toml(gateway.config.symbols_path.read_text(encoding="utf-8"))
        hook = plugin_for(section.kind).recon_reader
        assert hook is not None
        reader = hook(section, symbols)

        async def read() -> None:  # an order id no order-path request ever names
            try:
                await reader.fills("recon-probe-7", "recon-probe-7", symbols.get("BTC/USD"))
            except Exception:
                pass
            finally:
                await reader.aclose()

        asyncio.run(read())
        assert gateway.runner is not None and gateway.runner.drain(WAIT)
        journal_url = gateway.journal.url
    with Journal(journal_url) as journal, journal.engine.connect() as connection:
        paths = [row[0] for row in connection.execute(text("SELECT path FROM venue_wire"))]
    assert any("recon-probe-7" in path for path in paths), paths
