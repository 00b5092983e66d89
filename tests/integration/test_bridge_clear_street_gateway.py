"""A Clear Street venue inside the gateway: an EMS trades US equities over a real FIX 4.4 QuickFIX session on
loopback, the gateway reaches the simulated Studio API with an OAuth 2.0 bearer token, and the venue ends that
token mid-flow: one refresh, nothing lost or doubled."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from gateway_stack import WAIT, cancel, new_order, report, status_request
from waiting import wait_until

from fixgw.config import parse_config
from fixgw.engine.gateway import Gateway
from fixgw.engine.quickfix_support import free_port
from fixgw.sim.crypto_pb import CryptoPbSimulator
from fixgw.sim.fix_client import FixClient

pytestmark = pytest.mark.timeout(90)
ENV = {"client_id": "FIXGW_TEST_CS_CLIENT_ID", "client_secret": "FIXGW_TEST_CS_CLIENT_SECRET"}


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch) -> Iterator[CryptoPbSimulator]:
    with CryptoPbSimulator() as simulator:
        simulator.configure(limit_slices=2, slice_interval_s="0.15")
        client = simulator.settings.clear_street_client
        monkeypatch.setenv(ENV["client_id"], client.client_id)
        monkeypatch.setenv(ENV["client_secret"], client.client_secret)
        yield simulator


def venue_section(sim: CryptoPbSimulator) -> dict[str, Any]:
    return {
        "kind": "clear_street", "base_url": sim.clear_street_url, "token_url": sim.clear_street_token_url,
        "account_id": f"7{uuid.uuid4().int % 10**6:06d}",
        **{key: f"env:{variable}" for key, variable in ENV.items()},
        "poll_interval_s": 0.1, "timeout_s": 2.0, "retry_base_delay_s": 0.01, "retry_max_delay_s": 0.05,
    }


@pytest.fixture
def ems(tmp_path: Path, sim: CryptoPbSimulator) -> Iterator[tuple[FixClient, Gateway]]:
    port = free_port()
    config = parse_config({
        "name": "clear-street-test", "state_dir": str(tmp_path / "gw"), "acceptor": {"port": port},
        "ems": {"ems-a": {"target_comp_id": "EMS-A", "allowed_accounts": ["ACC1"]}},
        "venues": {"cs": venue_section(sim)}, "routing": {"default": "cs"},
    })
    gateway = Gateway(config)
    client = FixClient(port=port, begin_string="FIX.4.4", sender_comp_id="EMS-A", target_comp_id="FIXGW",
                       store_dir=tmp_path / "ems-store")
    try:
        gateway.start()
        client.start()
        assert client.wait_logged_on(WAIT)
        assert wait_until(lambda: gateway.venues_connected() == {"cs": True})
        yield client, gateway
    finally:
        client.stop()
        gateway.stop()


def grants(sim: CryptoPbSimulator) -> int:
    return sim.request_counts().get("clear_street.token", 0)


def test_equity_orders_through_fix_with_a_token_that_expires_mid_flow(ems, sim) -> None:  # type: ignore[no-untyped-def]
    client, gateway = ems
    # A marketable DAY limit (59=0 goes out as Clear Street's `day`): acknowledged, then filled in two slices.
    client.send(new_order("CS1", qty="100", price="191.00"))
    ack = report(client, "CS1", lambda m: m.get(39) == "0")
    assert ack.get(150) == "0" and ack.get(151) == "100"
    filled = report(client, "CS1", lambda m: m.get(39) == "2")
    assert Decimal(filled.get(14) or "0") == 100 and Decimal(filled.get(6) or "0") == Decimal("191")
    fills = [m for m in client.received if m.get(11) == "CS1" and m.get(150) == "F"]
    assert len(fills) == 2 and sum(Decimal(m.get(32) or "0") for m in fills) == 100
    before = grants(sim)
    assert before >= 1

    # The venue ends the bearer token early (revoked, or its lifetime ran out): the next request is refused
    # with 401, the token is fetched once more, and the request is sent again.
    assert sim.expire_clear_street_tokens() == before
    client.send(new_order("CS2", qty="10", price="180.00"))  # below the market: rests
    report(client, "CS2", lambda m: m.get(39) == "0")
    client.send(cancel("CS2-X", "CS2", qty="10"))
    canceled = report(client, "CS2-X", lambda m: m.get(39) == "4")
    assert canceled.get(41) == "CS2" and canceled.get(151) == "0"
    client.send(status_request("CS1"))
    assert report(client, "CS1", lambda m: m.get(150) == "I").get(39) == "2"

    assert grants(sim) == before + 1  # exactly one refresh for the expiry
    at_venue = sim.orders("clear_street")
    assert sorted(at_venue["counts"].values()) == [1, 1]  # one venue order each (under the gateway's own ids)
    assert sorted(o["status"] for o in at_venue["orders"]) == ["CANCELLED", "FILLED"]
    assert gateway.venues_connected() == {"cs": True}
    assert not [m for m in client.received if m.get(39) == "8"]
